/**
 * Real Redis and PostgreSQL for the shared token store tests: one fresh namespace (Redis key
 * prefix / PostgreSQL schema) per test run, dropped afterwards.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { TokenStoreBackendKind } from '@c7auth/core'

export const REDIS_TARGET = { host: '127.0.0.1', port: 6379 }
export const POSTGRES_TARGET = { host: '127.0.0.1', port: 5432 }
export const BACKENDS: readonly TokenStoreBackendKind[] = ['redis', 'postgres']

export function targetOf(kind: TokenStoreBackendKind): { host: string; port: number } {
  return kind === 'redis' ? REDIS_TARGET : POSTGRES_TARGET
}

/** The store URL of `kind` on `port` (default: the real server's). */
export function storeUrl(kind: TokenStoreBackendKind, port = targetOf(kind).port): string {
  return kind === 'redis'
    ? `redis://127.0.0.1:${port}`
    : `postgres://postgres@127.0.0.1:${port}/test`
}

export function freshNamespace(): string {
  return `c7t_${randomBytes(6).toString('hex')}`
}

/** A key ring entry with a random 32-byte key. */
export function randomKey(id: string): { id: string; secret: Uint8Array } {
  return { id, secret: new Uint8Array(randomBytes(32)) }
}

/** The same key in `C7AUTH_TOKEN_STORE_KEYS` form. */
export function keyEnv(keys: readonly { id: string; secret: Uint8Array }[]): string {
  return keys.map((k) => `${k.id}:${Buffer.from(k.secret).toString('base64')}`).join(',')
}

/** Direct access to what the store wrote, to check what an attacker with the database sees. */
export interface RawStore {
  entries(): Promise<Map<string, string>>
  put(id: string, value: string): Promise<void>
  drop(): Promise<void>
}

/**
 * The token store's entries (`table` token_entry, Redis prefix `tok`) or the on-behalf-of vault's
 * (`vault_entry`, `vault`).
 */
export function rawStore(
  kind: TokenStoreBackendKind,
  namespace: string,
  keyspace: 'token' | 'vault' = 'token',
): RawStore {
  const table = keyspace === 'token' ? 'token_entry' : 'vault_entry'
  if (kind === 'redis') {
    const redis = new Redis(storeUrl('redis'), { lazyConnect: false })
    const prefix = `${namespace}:${keyspace === 'token' ? 'tok' : 'vault'}:`
    return {
      async entries() {
        const keys = await scan(redis, `${prefix}*`)
        const values = keys.length > 0 ? await redis.mget(...keys) : []
        return new Map(keys.map((k, i) => [k.slice(prefix.length), values[i] ?? '']))
      },
      async put(id, value) {
        await redis.set(`${prefix}${id}`, value, 'PX', 60_000)
      },
      async drop() {
        const keys = await scan(redis, `${namespace}:*`)
        if (keys.length > 0) await redis.del(...keys)
        await redis.quit()
      },
    }
  }
  const pool = new pg.Pool({ connectionString: storeUrl('postgres'), max: 2 })
  return {
    async entries() {
      try {
        const res = await pool.query<{ id: string; value: string }>(
          `SELECT id, value FROM "${namespace}".${table}`,
        )
        return new Map(res.rows.map((r) => [r.id, r.value]))
      } catch (error) {
        // The store creates its schema on first connect; before that there is nothing.
        if ((error as { code?: string }).code === '42P01') return new Map()
        throw error
      }
    },
    async put(id, value) {
      // Overwrites a row's value only: tags and expiry stay the target row's.
      await pool.query(
        keyspace === 'token'
          ? `INSERT INTO "${namespace}".token_entry (id, value, expires_at) VALUES ($1, $2, now() + interval '1 minute')
             ON CONFLICT (id) DO UPDATE SET value = excluded.value`
          : `UPDATE "${namespace}".vault_entry SET value = $2 WHERE id = $1`,
        [id, value],
      )
    },
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`)
      await pool.end()
    },
  }
}

async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  // Bounded: a test namespace holds a handful of keys.
  for (let i = 0; i < 1000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
    if (cursor === '0') return found
  }
  throw new Error('SCAN did not finish')
}

import type { Pool } from 'pg'
import { ConfigError } from '../../errors.js'
import type { BackendOptions, TokenStoreBackend } from './backend.js'

/** How often expired rows are swept (on a write, at most this often per process). */
const SWEEP_EVERY_MS = 60_000

/**
 * A pg pool for a store (pg is an optional peer dependency, imported only when a `postgres://`
 * store is configured), after running `ddl` (idempotent `CREATE … IF NOT EXISTS` statements) in the
 * schema named by the namespace, under an advisory lock so replicas starting together do not race.
 */
export async function openPostgres(
  options: BackendOptions,
  ddl: (schema: string) => readonly string[],
): Promise<Pool> {
  const mod = await import('pg').catch((cause: unknown) => {
    const error = new ConfigError([
      'C7AUTH_TOKEN_STORE: a postgres:// store needs the pg package (npm install pg)',
    ])
    ;(error as { cause?: unknown }).cause = cause
    throw error
  })
  const PoolClass = mod.default?.Pool ?? (mod as unknown as { Pool: typeof mod.Pool }).Pool
  const pool = new PoolClass({
    connectionString: options.url,
    max: 4,
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  })
  // A pooled connection that dies while idle emits here; without a listener it would crash.
  pool.on('error', () => undefined)
  const schema = `"${options.namespace}"`
  try {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `c7auth:${options.namespace}`,
      ])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
      for (const statement of ddl(schema)) await client.query(statement)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw error
  }
  return pool
}

/**
 * PostgreSQL backend of the shared token store: tables `token_entry` and `token_lease` in the
 * namespace's schema, created on first connect. Expiry uses the database clock, so replicas with
 * skewed clocks agree.
 */
export async function connectPostgres(options: BackendOptions): Promise<TokenStoreBackend> {
  const schema = `"${options.namespace}"`
  const entries = `${schema}.token_entry`
  const leases = `${schema}.token_lease`
  const pool = await openPostgres(options, () => [
    `CREATE TABLE IF NOT EXISTS ${entries} (id text PRIMARY KEY, value text NOT NULL, expires_at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${leases} (id text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)`,
  ])
  let lastSweep = 0
  const sweep = () => {
    const now = Date.now()
    if (now - lastSweep < SWEEP_EVERY_MS) return
    lastSweep = now
    void pool
      .query(`DELETE FROM ${entries} WHERE expires_at <= now()`)
      .then(() => pool.query(`DELETE FROM ${leases} WHERE expires_at <= now()`))
      .catch(() => undefined)
  }
  return {
    async get(ids) {
      if (ids.length === 0) return []
      const res = await pool.query<{ id: string; value: string }>(
        `SELECT id, value FROM ${entries} WHERE id = ANY($1) AND expires_at > now()`,
        [ids],
      )
      const byId = new Map(res.rows.map((r) => [r.id, r.value]))
      return ids.map((id) => byId.get(id))
    },
    async set(id, value, ttlMs) {
      await pool.query(
        `INSERT INTO ${entries} (id, value, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
        [id, value, Math.max(1, Math.ceil(ttlMs))],
      )
      sweep()
    },
    async delete(ids) {
      if (ids.length > 0) await pool.query(`DELETE FROM ${entries} WHERE id = ANY($1)`, [ids])
    },
    async acquire(id, owner, ttlMs) {
      const res = await pool.query(
        `INSERT INTO ${leases} (id, owner, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE ${leases}.expires_at <= now()`,
        [id, owner, Math.max(1, Math.ceil(ttlMs))],
      )
      return res.rowCount === 1
    },
    async release(id, owner) {
      await pool.query(`DELETE FROM ${leases} WHERE id = $1 AND owner = $2`, [id, owner])
    },
    async close() {
      await pool.end()
    },
  }
}

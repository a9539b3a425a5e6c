import type { Redis } from 'ioredis'
import { ConfigError } from '../../errors.js'
import type { BackendOptions, TokenStoreBackend } from './backend.js'

/** Compare-and-delete: only the lease's owner releases it. */
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

/**
 * A connected ioredis client for a store (an optional peer dependency, imported only when a
 * `redis://` store is configured). Commands fail at once while disconnected (no offline queue, no
 * retries per command), so callers fall back or fail instead of waiting; the client reconnects on
 * its own.
 */
export async function openRedis(options: BackendOptions): Promise<Redis> {
  const mod = await import('ioredis').catch((cause: unknown) => {
    const error = new ConfigError([
      'C7AUTH_TOKEN_STORE: a redis:// store needs the ioredis package (npm install ioredis)',
    ])
    ;(error as { cause?: unknown }).cause = cause
    throw error
  })
  const redis = new mod.Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.timeoutMs,
    commandTimeout: options.timeoutMs,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    // Errors surface on the commands; an 'error' event without a listener would crash the process.
    showFriendlyErrorStack: false,
  })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return redis
}

/** Quits, or drops the connection when quitting fails. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit()
  } catch {
    redis.disconnect()
  }
}

/**
 * Redis backend of the shared token store: entries under `<namespace>:tok:`, leases under
 * `<namespace>:lease:`.
 */
export async function connectRedis(options: BackendOptions): Promise<TokenStoreBackend> {
  const redis = await openRedis(options)
  const tok = (id: string) => `${options.namespace}:tok:${id}`
  const lease = (id: string) => `${options.namespace}:lease:${id}`
  return {
    async get(ids) {
      if (ids.length === 0) return []
      const values = await redis.mget(...ids.map(tok))
      return values.map((v) => v ?? undefined)
    },
    async set(id, value, ttlMs) {
      await redis.set(tok(id), value, 'PX', Math.max(1, Math.ceil(ttlMs)))
    },
    async delete(ids) {
      if (ids.length > 0) await redis.del(...ids.map(tok))
    },
    async acquire(id, owner, ttlMs) {
      return (await redis.set(lease(id), owner, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'
    },
    async release(id, owner) {
      await redis.eval(RELEASE, 1, lease(id), owner)
    },
    close: () => closeRedis(redis),
  }
}

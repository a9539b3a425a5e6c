import { randomBytes } from 'node:crypto'
import { ConfigError } from '../../errors.js'
import type { TokenStoreConfig, TokenStoreKey } from '../../config/types.js'
import { createMemoryTokenStore } from '../token-store.js'
import type { StoredToken, TokenStore, TokenStoreLease } from '../token-store.js'
import { NAMESPACE_PATTERN } from './backend.js'
import type { BackendOptions, TokenStoreBackend } from './backend.js'
import { backendKindOf } from './backend-kind.js'
import type { TokenStoreBackendKind } from './backend-kind.js'
import { KeyRing } from './key-ring.js'
import { connectPostgres } from './postgres-backend.js'
import { connectRedis } from './redis-backend.js'

/** A state change of a shared store, for logs and metrics. Never carries a URL, key or token. */
export interface TokenStoreEvent {
  /**
   * `down`: the backend failed or timed out, this process now serves from its memory cache;
   * `up`: the backend answers again, tokens are shared again; `rejected`: an entry failed to
   * decrypt (altered, moved between keys or tenants, or sealed with a key no longer in the ring)
   * and was ignored.
   */
  readonly type: 'down' | 'up' | 'rejected'
  readonly backend: TokenStoreBackendKind
  /** `down`: the error's name or code. */
  readonly reason?: string
}

/** Options of {@link createSharedTokenStore}. */
export interface SharedTokenStoreOptions {
  /** `redis://`, `rediss://`, `postgres://` or `postgresql://`. */
  url: string
  /** Key ring: the first key encrypts and names ids, every key decrypts and is looked up. */
  keys: readonly TokenStoreKey[]
  /** Redis key prefix / PostgreSQL schema (`[a-z_][a-z0-9_]*`). Default: `c7auth`. */
  namespace?: string
  /** Connect and per-operation timeout; past it the operation falls back to memory. Default: 1000. */
  timeoutMs?: number
  /** While the backend is down, it is tried again at most this often. Default: 2000. */
  retryIntervalMs?: number
  /** State changes; exceptions it throws are ignored. */
  onEvent?: (event: TokenStoreEvent) => void
}

/** A connection to a shared store, with one {@link TokenStore} view per tenant. */
export interface SharedTokenStore {
  /**
   * The store of one tenant: its entries are encrypted with the tenant bound as associated data,
   * under ids no other tenant's view computes. Pass it as `store` of that tenant's token client.
   */
  forTenant(tenant: string): TokenStore
  /** False while this process serves from its memory fallback. */
  readonly shared: boolean
  /** Closes the connection (token clients do not close a store they were given). */
  close(): Promise<void>
}

/** Handed out while the backend is down: this process fetches for itself. */
const LOCAL_LEASE: TokenStoreLease = { release: () => Promise.resolve() }

/**
 * A token store shared by the replicas of a worker or gateway: tokens encrypted with AES-256-GCM
 * (tenant and cache key as associated data, so an entry cannot be moved to another key or tenant),
 * ids HMAC-hashed, a key ring with ids for rotation, leases for single-flight across processes.
 * When the backend fails or is slower than `timeoutMs`, each process keeps working on its own
 * memory cache and tries the backend again every `retryIntervalMs`.
 *
 * @example
 * ```ts
 * const shared = createSharedTokenStore({ url: 'redis://127.0.0.1:6379', keys: [{ id: 'k1', secret }] })
 * const tokens = createTokenClient({ ...acme.client, store: shared.forTenant('acme') })
 * // …
 * tokens.close()
 * await shared.close()
 * ```
 */
export function createSharedTokenStore(options: SharedTokenStoreOptions): SharedTokenStore {
  return new SharedStore(options)
}

/**
 * The shared store `C7AUTH_TOKEN_STORE` names, or undefined for `memory` (each token client then
 * keeps its own cache).
 *
 * @example
 * ```ts
 * const config = loadConfigFromEnv(process.env, { role: 'worker' })
 * const shared = createTokenStoreFromConfig(config.tokenStore)
 * const store = shared?.forTenant('acme')
 * ```
 */
export function createTokenStoreFromConfig(
  config: TokenStoreConfig | undefined,
  options: Pick<SharedTokenStoreOptions, 'onEvent' | 'retryIntervalMs'> = {},
): SharedTokenStore | undefined {
  if (config === undefined || config.kind === 'memory') return undefined
  return createSharedTokenStore({
    url: config.url,
    keys: config.keys,
    namespace: config.namespace,
    timeoutMs: config.timeoutMs,
    ...options,
  })
}

class SharedStore implements SharedTokenStore {
  readonly #kind: TokenStoreBackendKind
  readonly #ring: KeyRing
  readonly #backendOptions: BackendOptions
  readonly #timeoutMs: number
  readonly #retryMs: number
  readonly #onEvent: SharedTokenStoreOptions['onEvent']
  readonly #memory = createMemoryTokenStore()
  #backend: Promise<TokenStoreBackend> | undefined
  #down = false
  #retryAt = 0
  #closed = false

  constructor(options: SharedTokenStoreOptions) {
    const kind = backendKindOf(options.url)
    const namespace = options.namespace ?? 'c7auth'
    const issues: string[] = []
    if (kind === undefined) {
      issues.push('url: must be redis://, rediss://, postgres:// or postgresql://')
    }
    if (!NAMESPACE_PATTERN.test(namespace)) issues.push('namespace: must match [a-z_][a-z0-9_]*')
    if (issues.length > 0) throw new ConfigError(issues)
    this.#kind = kind!
    this.#ring = new KeyRing(options.keys)
    this.#timeoutMs = options.timeoutMs ?? 1000
    this.#retryMs = options.retryIntervalMs ?? 2000
    this.#onEvent = options.onEvent
    this.#backendOptions = { url: options.url, namespace, timeoutMs: this.#timeoutMs }
    // Connect now, so the first token request finds the store ready.
    this.#connect().catch(() => undefined)
  }

  get shared(): boolean {
    return !this.#down && !this.#closed
  }

  forTenant(tenant: string): TokenStore {
    if (typeof tenant !== 'string' || tenant === '') {
      throw new ConfigError(['tenant: a non-empty tenant id is required'])
    }
    const ring = this.#ring
    const local = (key: string) => JSON.stringify([tenant, key])
    return {
      get: (key) =>
        this.#run(
          async (backend) => {
            const values = await backend.get(ring.ids(tenant, key))
            for (const value of values) {
              if (value === undefined) continue
              const plain = ring.open(tenant, key, value)
              const token = plain === undefined ? undefined : parseStoredToken(plain)
              if (token !== undefined) return token
              this.#emit({ type: 'rejected', backend: this.#kind })
            }
            return undefined
          },
          () => this.#memory.get(local(key)) as StoredToken | undefined,
        ),
      set: (key, token, ttlMs) =>
        this.#run(
          (backend) =>
            backend.set(
              ring.ids(tenant, key)[0]!,
              ring.seal(tenant, key, JSON.stringify(token)),
              ttlMs,
            ),
          () => this.#memory.set(local(key), token, ttlMs) as void,
        ),
      delete: (key) => {
        void this.#memory.delete(local(key))
        return this.#run(
          (backend) => backend.delete(ring.ids(tenant, key)),
          () => undefined,
        )
      },
      lease: (key, ttlMs) => {
        const id = `lease.${ring.ids(tenant, key)[0]!}`
        const owner = randomBytes(16).toString('base64url')
        return this.#run(
          async (backend) =>
            (await backend.acquire(id, owner, ttlMs))
              ? {
                  release: () =>
                    this.#run(
                      (b) => b.release(id, owner),
                      () => undefined,
                    ).catch(() => undefined),
                }
              : undefined,
          () => LOCAL_LEASE,
        )
      },
      // The connection belongs to the shared store, not to one tenant's client.
      close: () => undefined,
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    void this.#memory.close?.()
    const backend = this.#backend
    this.#backend = undefined
    if (backend) await backend.then((b) => b.close()).catch(() => undefined)
  }

  /** Runs `op` on the backend, or `fallback` on the memory cache while the backend is down. */
  async #run<T>(
    op: (backend: TokenStoreBackend) => Promise<T>,
    fallback: () => T | Promise<T>,
  ): Promise<T> {
    if (this.#closed || (this.#down && Date.now() < this.#retryAt)) return fallback()
    try {
      const backend = await withTimeout(this.#connect(), this.#timeoutMs)
      const result = await withTimeout(op(backend), this.#timeoutMs)
      if (this.#down) {
        this.#down = false
        this.#emit({ type: 'up', backend: this.#kind })
      }
      return result
    } catch (error) {
      // A missing driver is a deployment error, not an outage: fail loudly.
      if (error instanceof ConfigError) throw error
      this.#retryAt = Date.now() + this.#retryMs
      if (!this.#down) {
        this.#down = true
        this.#emit({ type: 'down', backend: this.#kind, reason: reasonOf(error) })
      }
      return fallback()
    }
  }

  #connect(): Promise<TokenStoreBackend> {
    if (this.#backend) return this.#backend
    const connect = this.#kind === 'redis' ? connectRedis : connectPostgres
    const promise = connect(this.#backendOptions)
    this.#backend = promise
    promise.then(
      (backend) => {
        // Closed while connecting: nobody else will close it.
        if (this.#closed) void backend.close().catch(() => undefined)
      },
      () => {
        // A failed connect is not kept: the next try after `retryIntervalMs` connects afresh.
        if (this.#backend === promise) this.#backend = undefined
      },
    )
    return promise
  }

  #emit(event: TokenStoreEvent): void {
    try {
      this.#onEvent?.(event)
    } catch {
      // A metrics hook must not break token delivery.
    }
  }
}

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError'
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError()), ms)
    timer.unref()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error('store error'))
      },
    )
  })
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return code
  return error instanceof Error ? error.name : 'Error'
}

/** The decrypted JSON, if it has the shape of a {@link StoredToken}. */
function parseStoredToken(json: string): StoredToken | undefined {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  const optionalString = (k: string) => v[k] === undefined || typeof v[k] === 'string'
  if (
    typeof v.accessToken !== 'string' ||
    typeof v.tokenType !== 'string' ||
    typeof v.expiresAt !== 'number' ||
    !Number.isFinite(v.expiresAt) ||
    typeof v.obtainedAt !== 'number' ||
    !Number.isFinite(v.obtainedAt) ||
    !optionalString('refreshToken') ||
    !optionalString('scope') ||
    !optionalString('issuedTokenType')
  ) {
    return undefined
  }
  return value as StoredToken
}

import NodeCache from 'node-cache'

/** One cached token as the store keeps it. Never logged. */
export interface StoredToken {
  readonly accessToken: string
  /** `token_type` as the IdP answered (`Bearer`, `DPoP`, …). */
  readonly tokenType: string
  /** Epoch ms after which the token must not be used. */
  readonly expiresAt: number
  /** Epoch ms when the token was obtained. */
  readonly obtainedAt: number
  readonly refreshToken?: string
  readonly scope?: string
  /** RFC 8693 `issued_token_type`. */
  readonly issuedTokenType?: string
}

/** A held {@link TokenStore.lease}: this process fetches the key; the others wait for its token. */
export interface TokenStoreLease {
  /** Gives the lease back (after the new token is stored). Never rejects. */
  release(): Promise<void>
}

/**
 * Where tokens are kept between calls. The in-memory store is the default; a shared store
 * (`createSharedTokenStore`: Redis, PostgreSQL) implements the same interface. Methods may answer
 * synchronously or with a promise; the client keeps timers and in-process single-flight itself.
 */
export interface TokenStore {
  get(key: string): StoredToken | undefined | Promise<StoredToken | undefined>
  /** `ttlMs`: how long the entry may be kept (the token's remaining lifetime). */
  set(key: string, token: StoredToken, ttlMs: number): void | Promise<void>
  delete(key: string): void | Promise<void>
  /**
   * Single-flight across processes, for stores that several processes share: resolves to a lease
   * when this process should ask the IdP for `key`, or to undefined while another process holds
   * it (the client then waits for that process's token to appear in the store, at most `ttlMs`).
   * Without it, single-flight is per process.
   */
  lease?(key: string, ttlMs: number): Promise<TokenStoreLease | undefined>
  /** Releases timers/connections. */
  close?(): void | Promise<void>
}

/** Options of {@link createMemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /** Most entries kept; the oldest is evicted first. Default: 10,000. */
  maxKeys?: number
  /** Seconds between expiry sweeps. Default: 60. */
  checkPeriodSeconds?: number
}

/**
 * The default {@link TokenStore}: node-cache with `useClones: false` (no deep copy per get), TTLs
 * converted from ms to node-cache's seconds, and oldest-first eviction instead of node-cache's
 * `ECACHEFULL` error.
 *
 * @example
 * ```ts
 * const client = createTokenClient({ ...oauth, store: createMemoryTokenStore({ maxKeys: 1000 }) })
 * ```
 */
export function createMemoryTokenStore(options: MemoryTokenStoreOptions = {}): TokenStore {
  const maxKeys = options.maxKeys ?? 10_000
  const cache = new NodeCache({
    useClones: false,
    stdTTL: 0,
    checkperiod: options.checkPeriodSeconds ?? 60,
    deleteOnExpire: true,
  })
  return {
    get: (key) => cache.get<StoredToken>(key),
    set(key, token, ttlMs) {
      if (!cache.has(key) && cache.getStats().keys >= maxKeys) {
        // node-cache keeps insertion order; drop the oldest entry.
        const oldest = cache.keys()[0]
        if (oldest !== undefined) cache.del(oldest)
      }
      cache.set(key, token, Math.max(1, Math.ceil(ttlMs / 1000)))
    },
    delete: (key) => {
      cache.del(key)
    },
    close: () => cache.close(),
  }
}

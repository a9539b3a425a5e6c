import { createHash } from 'node:crypto'
import NodeCache from 'node-cache'
import type { VerifiedToken } from './authenticator.js'

/**
 * The verified-token cache: SHA-256 of the token → its principal and claims ({@link VerifiedToken}). An entry lives at most
 * until the token's `exp` and at most `maxTtlSeconds`; the cache holds at most `maxKeys` entries
 * (node-cache refuses inserts when full, so the oldest tenth is evicted first).
 */
export class TokenCache {
  readonly #cache: NodeCache
  readonly #maxKeys: number
  readonly #maxTtlSeconds: number
  #hits = 0
  #misses = 0

  constructor(options: { maxKeys: number; maxTtlSeconds: number }) {
    this.#maxKeys = options.maxKeys
    this.#maxTtlSeconds = options.maxTtlSeconds
    this.#cache = new NodeCache({
      useClones: false,
      maxKeys: options.maxKeys,
      checkperiod: 60,
      deleteOnExpire: true,
    })
  }

  /** The key of a token; the token itself is never stored. */
  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url')
  }

  get(key: string, nowSeconds: number): VerifiedToken | undefined {
    const e = this.#cache.get<{ verified: VerifiedToken; until: number }>(key)
    if (e !== undefined && e.until > nowSeconds) {
      this.#hits++
      return e.verified
    }
    this.#misses++
    return undefined
  }

  /**
   * Caches a verified token until its `exp`, `maxTtlSeconds` and `notAfterSeconds` (an extra epoch
   * bound, e.g. when a maximum `iat` age ends the token's acceptance before its `exp`).
   */
  set(key: string, verified: VerifiedToken, nowSeconds: number, notAfterSeconds?: number): void {
    const until = Math.min(verified.principal.expiresAt, notAfterSeconds ?? Infinity)
    const ttl = Math.min(until - nowSeconds, this.#maxTtlSeconds)
    if (ttl <= 0) return
    if (this.#cache.getStats().keys >= this.#maxKeys) {
      this.#cache.del(this.#cache.keys().slice(0, Math.max(1, Math.ceil(this.#maxKeys / 10))))
    }
    this.#cache.set(key, { verified, until }, ttl)
  }

  get stats(): { size: number; hits: number; misses: number } {
    return { size: this.#cache.getStats().keys, hits: this.#hits, misses: this.#misses }
  }

  close(): void {
    this.#cache.flushAll()
    this.#cache.close()
  }
}

import type { Principal } from '@c7auth/core'

interface Entry {
  readonly principal: Principal
  /** Epoch seconds after which the entry is not served. */
  readonly until: number
  /** What the entry counts against `maxBytes`. */
  readonly cost: number
}

/**
 * Bytes an entry is charged besides its token: the Map slot, the entry object and the principal
 * (ids, groups, tenants, scopes) — a generous estimate so `maxBytes` bounds the real heap.
 */
const ENTRY_OVERHEAD_BYTES = 1024

/**
 * The verified-token cache: token → its {@link Principal}, in a `Map` keyed by the token string
 * itself. A hit costs one string hash and one compare (V8 hashes the string once; no SHA-256 per
 * request), and an exact-string key cannot collide, so a hit is the same token that was verified.
 * The price is that verified tokens stay in the heap until their entry ends (they are in memory
 * while a request is served anyway); nothing here logs or exposes them.
 *
 * Memory is bounded twice: at most `maxKeys` entries and at most `maxBytes` of token text plus a
 * fixed per-entry charge, so 10,000 tokens at the 16 KB length limit cannot take 160 MB. Entries
 * leave oldest-first (Map insertion order): with every entry living at most `maxTtlSeconds`, the
 * oldest is also the nearest to its end. An entry lives at most until the token's `exp` and an
 * optional extra bound; an ended entry is dropped when it is next looked up. No timer runs.
 */
export class TokenCache {
  readonly #map = new Map<string, Entry>()
  readonly #maxKeys: number
  readonly #maxBytes: number
  readonly #maxTtlSeconds: number
  #bytes = 0
  #hits = 0
  #misses = 0

  constructor(options: { maxKeys: number; maxTtlSeconds: number; maxBytes?: number | undefined }) {
    this.#maxKeys = Math.max(1, options.maxKeys)
    this.#maxTtlSeconds = options.maxTtlSeconds
    this.#maxBytes = options.maxBytes ?? 32 * 1024 * 1024
  }

  get(token: string, nowSeconds: number): Principal | undefined {
    const e = this.#map.get(token)
    if (e !== undefined) {
      if (e.until > nowSeconds) {
        this.#hits++
        return e.principal
      }
      this.#delete(token, e)
    }
    this.#misses++
    return undefined
  }

  /**
   * Caches a principal until its `exp`, `maxTtlSeconds` and `notAfterSeconds` (an extra epoch
   * bound, e.g. when a maximum `iat` age ends the token's acceptance before its `exp`).
   */
  set(token: string, principal: Principal, nowSeconds: number, notAfterSeconds?: number): void {
    const until = Math.min(
      principal.expiresAt,
      notAfterSeconds ?? Infinity,
      nowSeconds + this.#maxTtlSeconds,
    )
    if (until <= nowSeconds) return
    const cost = token.length + ENTRY_OVERHEAD_BYTES
    if (cost > this.#maxBytes) return
    const old = this.#map.get(token)
    if (old !== undefined) this.#delete(token, old)
    while (this.#map.size >= this.#maxKeys || this.#bytes + cost > this.#maxBytes) {
      const oldest = this.#map.entries().next()
      if (oldest.done === true) break
      this.#delete(oldest.value[0], oldest.value[1])
    }
    this.#map.set(token, { principal, until, cost })
    this.#bytes += cost
  }

  #delete(token: string, e: Entry): void {
    this.#map.delete(token)
    this.#bytes -= e.cost
  }

  get stats(): { size: number; bytes: number; hits: number; misses: number } {
    return { size: this.#map.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses }
  }

  close(): void {
    this.#map.clear()
    this.#bytes = 0
  }
}

import type { VerifiedToken } from './authenticator.js'

interface Entry {
  readonly token: string
  readonly verified: VerifiedToken
  /** Epoch seconds after which the entry is not served. */
  readonly until: number
  /** What the entry counts against `maxBytes`. */
  readonly cost: number
  /** Insertion order, oldest first: the neighbours in the eviction list. */
  older: Entry | undefined
  newer: Entry | undefined
}

/**
 * Bytes an entry is charged besides its token: the Map slot, the entry object and the principal
 * (ids, groups, tenants, scopes) — a generous estimate so `maxBytes` bounds the real heap.
 */
const ENTRY_OVERHEAD_BYTES = 1024

/**
 * The verified-token cache: token → its principal and verified claims ({@link VerifiedToken}), in a `Map` keyed by the token string
 * itself. A hit costs one string hash and one compare (V8 hashes the string once; no SHA-256 per
 * request), and an exact-string key cannot collide, so a hit is the same token that was verified.
 * The price is that verified tokens stay in the heap until their entry ends (they are in memory
 * while a request is served anyway); nothing here logs or exposes them.
 *
 * Memory is bounded twice: at most `maxKeys` entries and at most `maxBytes` of token text, its claims (charged at the token's length) and a
 * fixed per-entry charge, so 10,000 tokens at the 16 KB length limit cannot take 160 MB. Entries
 * leave oldest-first: with every entry living at most `maxTtlSeconds`, the oldest is also the
 * nearest to its end. An entry lives at most until the token's `exp` and an optional extra bound;
 * an ended entry is dropped when it is next looked up. No timer runs.
 *
 * The eviction order is a list threaded through the entries, not the `Map`'s own iteration order:
 * V8 leaves a deleted `Map` slot as a hole until the table is rebuilt and an iterator walks over
 * every hole, so "first key of the Map" after many oldest-first deletions cost ≈ 9 µs per
 * eviction — as much as a third of an RS256 verification — on a cache that is full and turning
 * over (more distinct tokens than `maxKeys`). Unlinking from the list is O(1).
 */
export class TokenCache {
  readonly #map = new Map<string, Entry>()
  readonly #maxKeys: number
  readonly #maxBytes: number
  readonly #maxTtlSeconds: number
  #oldest: Entry | undefined
  #newest: Entry | undefined
  #bytes = 0
  #hits = 0
  #misses = 0

  constructor(options: { maxKeys: number; maxTtlSeconds: number; maxBytes?: number | undefined }) {
    this.#maxKeys = Math.max(1, options.maxKeys)
    this.#maxTtlSeconds = options.maxTtlSeconds
    this.#maxBytes = options.maxBytes ?? 32 * 1024 * 1024
  }

  get(token: string, nowSeconds: number): VerifiedToken | undefined {
    const e = this.#map.get(token)
    if (e !== undefined) {
      if (e.until > nowSeconds) {
        this.#hits++
        return e.verified
      }
      this.#delete(e)
    }
    this.#misses++
    return undefined
  }

  /**
   * Caches a verified token until its `exp`, `maxTtlSeconds` and `notAfterSeconds` (an extra epoch
   * bound, e.g. when a maximum `iat` age ends the token's acceptance before its `exp`).
   */
  set(token: string, verified: VerifiedToken, nowSeconds: number, notAfterSeconds?: number): void {
    const until = Math.min(
      verified.principal.expiresAt,
      notAfterSeconds ?? Infinity,
      nowSeconds + this.#maxTtlSeconds,
    )
    if (until <= nowSeconds) return
    // The token text, plus its decoded claims, which a JWS payload bounds by the token's length.
    const cost = 2 * token.length + ENTRY_OVERHEAD_BYTES
    if (cost > this.#maxBytes) return
    const old = this.#map.get(token)
    if (old !== undefined) this.#delete(old)
    while (this.#map.size >= this.#maxKeys || this.#bytes + cost > this.#maxBytes) {
      const oldest = this.#oldest
      if (oldest === undefined) break
      this.#delete(oldest)
    }
    const e: Entry = { token, verified, until, cost, older: this.#newest, newer: undefined }
    if (this.#newest === undefined) this.#oldest = e
    else this.#newest.newer = e
    this.#newest = e
    this.#map.set(token, e)
    this.#bytes += cost
  }

  #delete(e: Entry): void {
    this.#map.delete(e.token)
    this.#bytes -= e.cost
    if (e.older === undefined) this.#oldest = e.newer
    else e.older.newer = e.newer
    if (e.newer === undefined) this.#newest = e.older
    else e.newer.older = e.older
    e.older = undefined
    e.newer = undefined
  }

  get stats(): { size: number; bytes: number; hits: number; misses: number } {
    return { size: this.#map.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses }
  }

  close(): void {
    this.#map.clear()
    this.#oldest = undefined
    this.#newest = undefined
    this.#bytes = 0
  }
}

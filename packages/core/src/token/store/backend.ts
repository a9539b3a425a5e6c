/**
 * What a shared token store needs from its database: opaque values under opaque ids, with a TTL,
 * and a lease per id. Values arrive encrypted and ids hashed (see `KeyRing`); a backend never sees
 * a token, a tenant or a cache key.
 */
export interface TokenStoreBackend {
  /** The values of these ids, in order; undefined where absent or expired. */
  get(ids: readonly string[]): Promise<(string | undefined)[]>
  set(id: string, value: string, ttlMs: number): Promise<void>
  delete(ids: readonly string[]): Promise<void>
  /** Takes the lease of `id` for `owner` unless another owner holds an unexpired one. */
  acquire(id: string, owner: string, ttlMs: number): Promise<boolean>
  /** Gives the lease back if `owner` still holds it. */
  release(id: string, owner: string): Promise<void>
  close(): Promise<void>
}

/** Options every backend gets. */
export interface BackendOptions {
  readonly url: string
  /** Redis key prefix / PostgreSQL schema. */
  readonly namespace: string
  /** Connect and query timeout, ms. */
  readonly timeoutMs: number
}

/** Namespaces are used as Redis key prefixes and PostgreSQL schema names: keep them plain. */
export const NAMESPACE_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/

import type { Tracer } from '@opentelemetry/api'
import { inSpan } from '../observability/tracing.js'
import { createPublicKey } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import jwksRsa from 'jwks-rsa'
import { HttpAuthError, UpstreamError } from '@c7auth/core'
import { keyFitsAlgorithm } from './jws.js'
import type { JwsAlgorithm } from './jws.js'
import type { LoggerLike } from './options.js'

/** One imported verification key. */
export interface ImportedKey {
  readonly kid: string | undefined
  readonly key: KeyObject
  /** The JWK's `alg`, when it names one: the token's `alg` must then equal it. */
  readonly alg: string | undefined
}

/** Timing knobs of a {@link KeyStore}, all in milliseconds. */
export interface KeyStoreTimings {
  /** Timeout of one JWKS or discovery request. */
  readonly timeoutMs: number
  /** Minimum time between two refetches caused by unknown `kid`s (rate limit), and between retries after a failure. */
  readonly refetchCooldownMs: number
  /** After this age the set is refreshed in the background while the cached keys keep serving. */
  readonly maxAgeMs: number
  /** How long a `kid` that a fresh fetch did not contain is refused without a refetch. */
  readonly negativeCacheMs: number
  /** With no keys at all, how long a failed fetch is remembered before the next attempt. */
  readonly coldRetryMs: number
}

/** Health of one key set, for `stats`. */
export interface KeyStoreStats {
  /** The key set's name without its URL: `issuers[i]` of the first issuer using it. */
  readonly source: string
  readonly keys: number
  readonly fetches: number
  readonly fetchFailures: number
  readonly lastSuccessAt: number | undefined
  readonly lastFailureAt: number | undefined
  readonly negativeKids: number
}

const MAX_KEYS = 100
const MAX_NEGATIVE = 1000
const MIN_RSA_BITS = 2048

/**
 * The keys of one issuer's JWKS, imported once into `KeyObject`s and cached as a whole set.
 * jwks-rsa fetches; this class imports, rate-limits refetches on unknown `kid`s, negatively caches
 * `kid`s that a fresh fetch did not contain, and keeps the last good set when the endpoint fails.
 * The JWKS location comes only from configuration or the configured issuer's discovery document.
 */
export class KeyStore {
  readonly #issuer: string
  readonly #label: string
  readonly #timings: KeyStoreTimings
  readonly #now: () => number
  readonly #logger: LoggerLike | undefined
  #jwksUri: string | undefined
  #client: jwksRsa.JwksClient | undefined
  #keys: Map<string, ImportedKey[]> | undefined
  #count = 0
  #loadedAt = 0
  #lastAttemptAt = 0
  #lastKidRefetchAt = Number.NEGATIVE_INFINITY
  #lastSuccessAt: number | undefined
  #lastFailureAt: number | undefined
  #fetches = 0
  #failures = 0
  #inflight: Promise<void> | undefined
  readonly #tracer: Tracer | undefined
  readonly #negative = new Map<string, number>()

  constructor(options: {
    issuer: string
    /** Names the key set in logs and stats without its URL (`issuers[0]`). */
    label: string
    jwksUri: string | undefined
    timings: KeyStoreTimings
    now: () => number
    logger: LoggerLike | undefined
    tracer?: Tracer | undefined
  }) {
    this.#issuer = options.issuer
    this.#label = options.label
    this.#jwksUri = options.jwksUri
    this.#timings = options.timings
    this.#now = options.now
    this.#logger = options.logger
    this.#tracer = options.tracer
  }

  /**
   * Keys that may verify a token with this `kid` and `alg`. Throws 401 `invalid_token` for a `kid`
   * the issuer does not publish, and 503 when no key set could be loaded at all.
   */
  async getKeys(kid: string | undefined, alg: JwsAlgorithm, realm: string): Promise<ImportedKey[]> {
    const now = this.#now()
    if (this.#keys === undefined) {
      if (
        this.#lastFailureAt !== undefined &&
        now - this.#lastFailureAt < this.#timings.coldRetryMs
      ) {
        throw unavailable('JWKS cold and recently failing')
      }
      await this.#refresh().catch((cause: unknown) => {
        throw unavailable('JWKS fetch failed with no cached keys', cause)
      })
    } else if (now - this.#loadedAt >= this.#timings.maxAgeMs && this.#mayFetch(now)) {
      // Stale-while-revalidate: serve the cached set, refresh in the background.
      this.#refresh().catch(() => undefined)
    }
    let found = this.#lookup(kid, alg)
    if (found.length > 0) return found
    const negKey = kid ?? ''
    const until = this.#negative.get(negKey)
    if (until !== undefined && until > now) {
      throw new HttpAuthError('C7AUTH_TOKEN_INVALID', { realm, detail: 'unknown kid (cached)' })
    }
    // The budget for unknown-kid refetches is separate from scheduled loads, so a key that
    // appears right after a load (rotation) is still fetched once.
    if (
      this.#inflight !== undefined ||
      now - this.#lastKidRefetchAt >= this.#timings.refetchCooldownMs
    ) {
      if (this.#inflight === undefined) this.#lastKidRefetchAt = now
      try {
        await this.#refresh()
      } catch (cause) {
        throw unavailable('JWKS refetch for an unknown kid failed', cause)
      }
      found = this.#lookup(kid, alg)
      if (found.length > 0) return found
      if (this.#negative.size >= MAX_NEGATIVE) this.#negative.clear()
      this.#negative.set(negKey, this.#now() + this.#timings.negativeCacheMs)
    }
    throw new HttpAuthError('C7AUTH_TOKEN_INVALID', { realm, detail: 'unknown kid' })
  }

  /** Loads the set now (startup warm-up); rejects with a 503 error when it cannot. */
  async warmUp(): Promise<void> {
    await this.#refresh().catch((cause: unknown) => {
      throw unavailable('JWKS warm-up failed', cause)
    })
  }

  get stats(): KeyStoreStats {
    return {
      source: this.#label,
      keys: this.#count,
      fetches: this.#fetches,
      fetchFailures: this.#failures,
      lastSuccessAt: this.#lastSuccessAt,
      lastFailureAt: this.#lastFailureAt,
      negativeKids: this.#negative.size,
    }
  }

  #mayFetch(now: number): boolean {
    return now - this.#lastAttemptAt >= this.#timings.refetchCooldownMs
  }

  #lookup(kid: string | undefined, alg: JwsAlgorithm): ImportedKey[] {
    const keys = this.#keys
    if (keys === undefined) return []
    const fits = (k: ImportedKey): boolean =>
      (k.alg === undefined || k.alg === alg) && keyFitsAlgorithm(alg, k.key)
    if (kid !== undefined) return (keys.get(kid) ?? []).filter(fits)
    const all: ImportedKey[] = []
    for (const list of keys.values()) for (const k of list) if (fits(k)) all.push(k)
    return all
  }

  /** Single-flight: concurrent callers share one fetch. */
  #refresh(): Promise<void> {
    const tracer = this.#tracer
    this.#inflight ??= (
      tracer === undefined
        ? this.#fetch()
        : inSpan(tracer, 'c7auth.jwks.fetch', { 'c7auth.key_set': this.#label }, () =>
            this.#fetch(),
          )
    ).finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #fetch(): Promise<void> {
    this.#lastAttemptAt = this.#now()
    this.#fetches++
    try {
      const client = await this.#getClient()
      const raw = await client.getKeys()
      const imported = importJwks(raw)
      if (imported.count === 0) throw new KeySetError('JWKS holds no usable signing key')
      this.#keys = imported.keys
      this.#count = imported.count
      this.#loadedAt = this.#now()
      this.#lastSuccessAt = this.#loadedAt
      for (const kid of imported.keys.keys()) this.#negative.delete(kid)
      this.#logger?.debug?.({ keySet: this.#label, keys: imported.count }, 'c7auth: JWKS loaded')
    } catch (err) {
      this.#failures++
      this.#lastFailureAt = this.#now()
      this.#logger?.warn(
        { keySet: this.#label, cached: this.#count, reason: reasonOf(err) },
        'c7auth: JWKS fetch failed',
      )
      throw err
    }
  }

  async #getClient(): Promise<jwksRsa.JwksClient> {
    if (this.#client !== undefined) return this.#client
    this.#jwksUri ??= await discoverJwksUri(this.#issuer, this.#timings.timeoutMs)
    this.#client = new jwksRsa.JwksClient({
      jwksUri: this.#jwksUri,
      cache: false,
      rateLimit: false,
      timeout: this.#timings.timeoutMs,
    })
    return this.#client
  }
}

/**
 * Imports a JWKS `keys` array into `KeyObject`s grouped by `kid`. Skips what cannot verify
 * signatures: symmetric and private-only entries, `use` other than `sig`, `key_ops` without
 * `verify`, RSA keys under 2048 bits, and anything node:crypto cannot import.
 */
export function importJwks(raw: unknown): { keys: Map<string, ImportedKey[]>; count: number } {
  if (!Array.isArray(raw)) throw new KeySetError('JWKS has no keys array')
  const keys = new Map<string, ImportedKey[]>()
  let count = 0
  for (const jwk of raw.slice(0, MAX_KEYS) as unknown[]) {
    if (typeof jwk !== 'object' || jwk === null) continue
    const j = jwk as Record<string, unknown>
    if (j.kty !== 'RSA' && j.kty !== 'EC' && j.kty !== 'OKP') continue
    if (j.use !== undefined && j.use !== 'sig') continue
    if (j.key_ops !== undefined && !(Array.isArray(j.key_ops) && j.key_ops.includes('verify'))) {
      continue
    }
    const kid = typeof j.kid === 'string' ? j.kid : undefined
    const alg = typeof j.alg === 'string' ? j.alg : undefined
    let key: KeyObject
    try {
      const pub = publicPart(j)
      key = createPublicKey({ key: pub, format: 'jwk' })
    } catch {
      continue
    }
    const bits = key.asymmetricKeyDetails?.modulusLength
    if (key.asymmetricKeyType === 'rsa' && (bits === undefined || bits < MIN_RSA_BITS)) continue
    const list = keys.get(kid ?? '') ?? []
    list.push({ kid, key, alg })
    keys.set(kid ?? '', list)
    count++
  }
  return { keys, count }
}

function publicPart(j: Record<string, unknown>): JsonWebKey {
  const pick = j.kty === 'RSA' ? ['kty', 'n', 'e'] : ['kty', 'crv', 'x', 'y']
  const out: Record<string, unknown> = {}
  for (const k of pick) if (j[k] !== undefined) out[k] = j[k]
  return out as JsonWebKey
}

/** Reads `jwks_uri` from the configured issuer's discovery document; its `issuer` must match. */
async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
    redirect: 'error',
  })
  if (!res.ok) throw new KeySetError(`discovery answered ${res.status}`)
  const doc = (await res.json()) as Record<string, unknown> | null
  if (doc?.issuer !== issuer) throw new KeySetError('discovery issuer does not match')
  if (typeof doc.jwks_uri !== 'string') throw new KeySetError('discovery has no jwks_uri')
  const jwks = new URL(doc.jwks_uri)
  if (jwks.protocol !== 'https:' && jwks.protocol !== new URL(issuer).protocol) {
    throw new KeySetError('discovery jwks_uri downgrades the scheme')
  }
  return jwks.href
}

function unavailable(detail: string, cause?: unknown): UpstreamError {
  return new UpstreamError('C7AUTH_JWKS_UNAVAILABLE', {
    detail,
    ...(cause === undefined ? {} : { cause }),
  })
}

/** A key-set problem whose message is safe to log (no URL, no key material). */
class KeySetError extends Error {}

function reasonOf(err: unknown): string {
  if (err instanceof KeySetError) return err.message
  if (err instanceof SyntaxError) return 'JWKS is not JSON'
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; name?: unknown; errorMsg?: unknown }
    if (typeof e.code === 'string') return e.code
    if (typeof e.errorMsg === 'string') return `HTTP error`
    if (typeof e.name === 'string') return e.name
  }
  return 'unknown'
}

import { createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ConfigError, HttpAuthError, TENANT_MODES, isC7AuthError } from '@c7auth/core'
import type { Principal, TenantMode } from '@c7auth/core'
import { extractBearerToken } from './bearer.js'
import type { AuthRequestLike } from './bearer.js'
import { createEngineIdMapper, createUserIdMapper, DEFAULT_ENGINE_ID_PATTERN } from './engine-id.js'
import { audiences, mapClaims } from './identity-mapper.js'
import type { IssuerMapping, MapperContext } from './identity-mapper.js'
import {
  DEFAULT_ALGORITHMS,
  decodeJws,
  isHmacAlgorithm,
  isJwsAlgorithm,
  verifySignature,
} from './jws.js'
import type { JwsAlgorithm } from './jws.js'
import { KeyStore } from './key-store.js'
import type { KeyStoreStats } from './key-store.js'
import type { AuthenticatorOptions, Claims, IssuerOptions, TenantOptions } from './options.js'
import { isClientScopedClaimPath, resolveClaimMapping } from './presets.js'
import { TokenCache } from './token-cache.js'

/** Counters and key-set health of an {@link Authenticator}. */
export interface AuthenticatorStats {
  readonly verified: number
  readonly rejected: number
  readonly cache: {
    readonly size: number
    /** Bytes charged against the cache's `maxBytes` (token text plus a per-entry estimate). */
    readonly bytes: number
    readonly hits: number
    readonly misses: number
  }
  readonly keySets: readonly KeyStoreStats[]
}

/** A verified access token: the mapped caller and the token's verified claim set. */
export interface VerifiedToken {
  readonly principal: Principal
  /** The verified JWT claims (frozen). Never log them: they may carry personal data. */
  readonly claims: Claims
}

/** Framework-free bearer authentication: extraction, verification, mapping, caching. */
export interface Authenticator {
  /**
   * Authenticates an HTTP request by its `Authorization: Bearer` header.
   * Rejects with `HttpAuthError` (400/401/403) or `UpstreamError` `C7AUTH_JWKS_UNAVAILABLE` (503).
   */
  authenticate(req: AuthRequestLike): Promise<Principal>
  /**
   * Like {@link authenticateRequest}, without a promise on a cache hit: the verified token itself
   * when it was verified before, else a promise of it. Throws (synchronously) when the request has
   * no usable bearer token. For request handlers on the hot path.
   */
  lookup(req: AuthRequestLike): VerifiedToken | Promise<VerifiedToken>
  /** Like {@link authenticate}, also giving the token's verified claims (what `req.auth` carries). */
  authenticateRequest(req: AuthRequestLike): Promise<VerifiedToken>
  /** Verifies a raw access token and maps it to a principal; rejects like {@link authenticate}. */
  verify(token: string): Promise<Principal>
  /** Like {@link verify}, also giving the token's verified claims. */
  verifyToken(token: string): Promise<VerifiedToken>
  /**
   * False when no `tenants` were configured (a plain JWT check): principals then carry no tenant,
   * and the engine proxy refuses them.
   */
  readonly mapsTenants: boolean
  /** Loads every issuer's JWKS now (readiness); rejects with 503 when one cannot be loaded. */
  warmUp(): Promise<void>
  /** The `realm` used in `WWW-Authenticate` challenges. */
  readonly realm: string
  /** A snapshot of counters and key-set health. */
  readonly stats: AuthenticatorStats
  /** Releases the verified-token cache's timer. */
  close(): void
}

interface ResolvedIssuer {
  readonly issuer: string
  readonly template: RegExp | undefined
  readonly allowedTids: ReadonlySet<string> | undefined
  readonly audience: readonly string[]
  readonly algorithms: ReadonlySet<JwsAlgorithm>
  readonly secret: KeyObject | undefined
  readonly keyStore: KeyStore | undefined
  readonly requireTyp: boolean
  readonly requiredClaims: readonly string[]
  readonly mapping: IssuerMapping
}

const TEMPLATE = '{tenantid}'
const MAX_CANDIDATE_KEYS = 5

/**
 * Creates the framework-free authenticator shared by the Express and Koa adapters.
 *
 * @example
 * ```ts
 * const auth = createAuthenticator({
 *   issuers: [{ issuer: 'https://kc.example.com/realms/acme', audience: 'engine-rest', preset: 'keycloak' }],
 *   tenants: ['acme'],
 * })
 * const principal = await auth.authenticate({ headers: req.headers, url: req.url })
 * ```
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const issues: string[] = []
  const realm = options.realm ?? 'c7auth'
  const now = options.now ?? Date.now
  const tolerance = options.clockToleranceSeconds ?? 60
  const maxTokenLength = options.maxTokenLength ?? 16_384
  const logger = options.logger
  const tracer = options.tracer
  if (!(tolerance >= 0)) issues.push('clockToleranceSeconds must be >= 0')
  const maxLifetime = options.maxTokenLifetimeSeconds ?? 86_400
  const maxAge = options.maxTokenAgeSeconds
  if (!(maxLifetime > 0)) issues.push('maxTokenLifetimeSeconds must be > 0')
  if (maxAge !== undefined && !(maxAge > 0)) issues.push('maxTokenAgeSeconds must be > 0')

  const mapsTenants = options.tenants !== undefined
  const tenants: TenantOptions[] = (options.tenants ?? []).map((t) =>
    typeof t === 'string' ? { id: t } : t,
  )
  const tenantIds = new Set(tenants.map((t) => t.id))
  const jwks = options.jwks ?? {}
  const timings = {
    timeoutMs: jwks.timeoutMs ?? 5000,
    refetchCooldownMs: (jwks.refetchCooldownSeconds ?? 10) * 1000,
    maxAgeMs: (jwks.maxAgeSeconds ?? 600) * 1000,
    negativeCacheMs: (jwks.negativeCacheSeconds ?? 60) * 1000,
    coldRetryMs: jwks.coldRetryMs ?? 1000,
  }

  const stores = new Map<string, KeyStore>()
  const exact = new Map<string, ResolvedIssuer>()
  const templated: ResolvedIssuer[] = []
  if (options.issuers.length === 0) issues.push('issuers: at least one issuer is required')
  // With several issuers, admin is opt-in per issuer: otherwise any tenant's IdP could issue a
  // token carrying an admin group name.
  if ((options.adminGroups ?? []).length > 0 && options.issuers.length > 1) {
    for (const [i, cfg] of options.issuers.entries()) {
      if (cfg.claims?.adminGroupClaims === undefined) {
        issues.push(
          `issuers[${i}].claims.adminGroupClaims must be set when adminGroups is set and there are several issuers (the claim paths that may carry admin groups, or [] if this issuer never makes an admin)`,
        )
      }
    }
  }
  for (const [i, cfg] of options.issuers.entries()) {
    const resolved = resolveIssuer(cfg, i)
    if (resolved === undefined) continue
    if (resolved.template !== undefined) templated.push(resolved)
    else if (exact.has(resolved.issuer)) issues.push(`issuers[${i}]: duplicate issuer`)
    else exact.set(resolved.issuer, resolved)
  }
  if (issues.length > 0) throw new ConfigError(issues)

  const toEngineId = createEngineIdMapper(options.idPattern ?? DEFAULT_ENGINE_ID_PATTERN)
  const adminGroups = options.adminGroups ?? []
  const ctx: MapperContext = {
    tenants,
    mapsTenants,
    toEngineId,
    toUserEngineId: createUserIdMapper(),
    // Names are compared as engine ids: `camunda-admin` and its engine id both match a token's
    // `camunda-admin`; a mapped id never equals a kept one, so accepting both is unambiguous.
    adminGroups: new Set([...adminGroups, ...adminGroups.map(toEngineId)]),
    defaultGroups: {
      app: options.defaultGroups?.app ?? [],
      user: options.defaultGroups?.user ?? [],
    },
    realm,
  }
  const cacheOptions = options.cache === false ? { enabled: false } : (options.cache ?? {})
  const cache =
    cacheOptions.enabled === false
      ? undefined
      : new TokenCache({
          maxKeys: cacheOptions.maxKeys ?? 10_000,
          maxTtlSeconds: cacheOptions.maxTtlSeconds ?? 300,
          maxBytes: cacheOptions.maxBytes,
        })
  let verified = 0
  let rejected = 0

  function resolveIssuer(cfg: IssuerOptions, i: number): ResolvedIssuer | undefined {
    const at = `issuers[${i}]`
    const before = issues.length
    const audience = typeof cfg.audience === 'string' ? [cfg.audience] : [...(cfg.audience ?? [])]
    if (typeof cfg.issuer !== 'string' || cfg.issuer.length === 0) {
      issues.push(`${at}.issuer is required`)
    }
    if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) {
      issues.push(`${at}.audience is required (non-empty strings)`)
    }
    const secretBytes =
      typeof cfg.secret === 'string' ? Buffer.byteLength(cfg.secret) : cfg.secret?.byteLength
    if (secretBytes !== undefined && secretBytes < 32) {
      issues.push(`${at}.secret must have at least 32 bytes`)
    }
    const algorithms = new Set(cfg.algorithms ?? DEFAULT_ALGORITHMS)
    for (const alg of algorithms) {
      if (!isJwsAlgorithm(alg)) issues.push(`${at}.algorithms: unsupported algorithm`)
      else if (isHmacAlgorithm(alg) && cfg.secret === undefined) {
        issues.push(`${at}.algorithms: HS* needs an explicitly configured secret`)
      }
    }
    const asymmetric = [...algorithms].some((a) => isJwsAlgorithm(a) && !isHmacAlgorithm(a))
    const isTemplate = typeof cfg.issuer === 'string' && cfg.issuer.includes(TEMPLATE)
    if (isTemplate && asymmetric && cfg.jwksUri === undefined) {
      issues.push(`${at}.jwksUri is required for a templated issuer`)
    }
    // Fail closed: without a tid allowlist a templated issuer accepts every Entra directory.
    if (
      isTemplate &&
      (cfg.allowedTenantIds === undefined ||
        cfg.allowedTenantIds.length === 0 ||
        cfg.allowedTenantIds.some((t) => typeof t !== 'string' || t.length === 0))
    ) {
      issues.push(
        `${at}.allowedTenantIds is required for a templated issuer (non-empty list of directory ids)`,
      )
    }
    if (cfg.claims?.adminGroupClaims?.some(isClientScopedClaimPath) === true) {
      issues.push(
        `${at}.claims.adminGroupClaims may not contain {clientId} or {audience}; name a literal path`,
      )
    }
    const tenantMode: TenantMode = cfg.tenantMode ?? options.tenantMode ?? 'app'
    if (!(TENANT_MODES as readonly string[]).includes(tenantMode))
      issues.push(`${at}.tenantMode is invalid`)
    const fixedTenant = cfg.fixedTenant ?? options.fixedTenant
    if (tenantMode === 'fixed' && (fixedTenant === undefined || !tenantIds.has(fixedTenant))) {
      issues.push(`${at}.fixedTenant must name a configured tenant`)
    }
    if (issues.length > before) return undefined

    let keyStore: KeyStore | undefined
    if (asymmetric) {
      const storeKey = cfg.jwksUri ?? cfg.issuer
      keyStore = stores.get(storeKey)
      if (keyStore === undefined) {
        keyStore = new KeyStore({
          issuer: cfg.issuer,
          label: at,
          jwksUri: cfg.jwksUri,
          timings,
          now,
          logger,
          tracer,
        })
        stores.set(storeKey, keyStore)
      }
    }
    return {
      issuer: cfg.issuer,
      template: isTemplate ? templateRegExp(cfg.issuer) : undefined,
      allowedTids: cfg.allowedTenantIds === undefined ? undefined : new Set(cfg.allowedTenantIds),
      audience,
      algorithms: algorithms as Set<JwsAlgorithm>,
      secret:
        cfg.secret === undefined
          ? undefined
          : createSecretKey(
              typeof cfg.secret === 'string' ? Buffer.from(cfg.secret, 'utf8') : cfg.secret,
            ),
      keyStore,
      requireTyp: cfg.requireTypAtJwt ?? options.requireTypAtJwt ?? false,
      requiredClaims: cfg.requiredClaims ?? [],
      mapping: {
        issuer: cfg.issuer,
        audience,
        claims: resolveClaimMapping(cfg.preset ?? 'generic', cfg.claims),
        tenantMode,
        tenantClaim: (cfg.tenantClaim ?? options.tenantClaim ?? 'tenant').split('.'),
        tenantClaimMap: cfg.tenantClaimMap,
        fixedTenant,
      },
    }
  }

  function invalid(detail: string): HttpAuthError {
    return new HttpAuthError('C7AUTH_TOKEN_INVALID', { realm, detail })
  }

  function selectIssuer(iss: string, payload: Claims): ResolvedIssuer | undefined {
    const hit = exact.get(iss)
    if (hit !== undefined) return hit
    for (const r of templated) {
      const tid = r.template?.exec(iss)?.[1]
      if (tid === undefined) continue
      // The tenant in a templated `iss` must be the token's own `tid` (Entra multi-tenant rule).
      if (payload.tid !== tid) continue
      if (r.allowedTids !== undefined && !r.allowedTids.has(tid)) continue
      return r
    }
    return undefined
  }

  async function verifyUncached(
    token: string,
  ): Promise<{ verified: VerifiedToken; notAfter: number | undefined }> {
    const jws = decodeJws(token)
    if (jws === undefined) throw invalid('not a compact JWS')
    const { header, payload } = jws
    const alg = header.alg
    if (!isJwsAlgorithm(alg)) throw invalid('algorithm not accepted')
    if (header.crit !== undefined) throw invalid('crit header not supported')
    const iss = payload.iss
    if (typeof iss !== 'string') throw invalid('no iss')
    const issuer = selectIssuer(iss, payload)
    if (issuer === undefined) {
      throw new HttpAuthError('C7AUTH_ISSUER_UNKNOWN', { realm, detail: 'iss not configured' })
    }
    if (!issuer.algorithms.has(alg)) throw invalid('algorithm not allowed for issuer')
    if (issuer.requireTyp && !isAtJwt(header.typ)) throw invalid('typ is not at+jwt')
    const kid = header.kid
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
      throw invalid('malformed kid')
    }

    let keys: readonly KeyObject[]
    if (isHmacAlgorithm(alg)) {
      keys = issuer.secret === undefined ? [] : [issuer.secret]
    } else if (issuer.keyStore !== undefined) {
      keys = (await issuer.keyStore.getKeys(kid, alg, realm)).map((k) => k.key)
    } else {
      keys = []
    }
    let ok = false
    for (const key of keys.slice(0, MAX_CANDIDATE_KEYS)) {
      try {
        ok = verifySignature(alg, key, jws.signingInput, jws.signature)
      } catch {
        ok = false
      }
      if (ok) break
    }
    if (!ok) throw invalid('signature verification failed')

    const notAfter = checkClaims(payload, issuer)
    const principal = mapClaims(payload, issuer.mapping, ctx, iss)
    return { verified: { principal, claims: Object.freeze(payload) }, notAfter }
  }

  /**
   * Checks the time and audience claims; returns the epoch second at which a maximum `iat` age
   * ends the token's acceptance before its `exp` (bounds the cache entry), if one is configured.
   */
  function checkClaims(payload: Claims, issuer: ResolvedIssuer): number | undefined {
    const nowSec = now() / 1000
    const { exp, nbf, iat } = payload
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('exp missing')
    if (nowSec - tolerance >= exp) {
      throw new HttpAuthError('C7AUTH_TOKEN_EXPIRED', { realm, detail: 'exp passed' })
    }
    if (nbf !== undefined && (typeof nbf !== 'number' || nowSec + tolerance < nbf)) {
      throw invalid('nbf in the future')
    }
    if (iat !== undefined && (typeof iat !== 'number' || nowSec + tolerance < iat)) {
      throw invalid('iat in the future')
    }
    // A signing key that leaks, or an issuer misconfigured to mint near-eternal tokens, must not
    // yield a credential that outlives every rotation: the lifetime counts from `iat` when the
    // token has one, else from now (an `iat`-less token is re-checked on every uncached use).
    if (exp - (iat ?? nowSec) > maxLifetime + tolerance) throw invalid('token lifetime too long')
    let notAfter: number | undefined
    if (maxAge !== undefined) {
      if (iat === undefined) throw invalid('iat missing')
      notAfter = iat + maxAge + tolerance
      if (nowSec >= notAfter) throw invalid('token too old')
    }
    const aud = audiences(payload)
    if (!aud.some((a) => issuer.audience.includes(a))) throw invalid('aud not accepted')
    if (payload.sub !== undefined && typeof payload.sub !== 'string') throw invalid('sub malformed')
    for (const name of issuer.requiredClaims) {
      if (payload[name] === undefined) throw invalid('required claim missing')
    }
    return notAfter
  }

  /**
   * The verified token, synchronously on a cache hit (no async frame, no promise: this is every
   * request of a caller that reuses its token), else a promise of the full verification.
   */
  function lookupToken(token: string): VerifiedToken | Promise<VerifiedToken> {
    if (cache !== undefined && token.length <= maxTokenLength) {
      const hit = cache.get(token, now() / 1000)
      if (hit !== undefined) {
        verified++
        return hit
      }
    }
    return verifyMiss(token)
  }

  async function verifyMiss(token: string): Promise<VerifiedToken> {
    try {
      if (token.length > maxTokenLength) throw invalid('token too large')
      const { verified: result, notAfter } = await verifyUncached(token)
      cache?.set(token, result, now() / 1000, notAfter)
      verified++
      return result
    } catch (err) {
      rejected++
      throw toAuthError(err)
    }
  }

  function toAuthError(err: unknown): unknown {
    if (isC7AuthError(err)) {
      const level = err.status >= 500 ? 'warn' : 'debug'
      logger?.[level]?.({ code: err.code, detail: err.detail }, 'c7auth: authentication failed')
      return err
    }
    logger?.error?.({ code: 'C7AUTH_INTERNAL' }, 'c7auth: unexpected verification error')
    return new HttpAuthError('C7AUTH_TOKEN_INVALID', { realm, detail: 'unexpected', cause: err })
  }

  const bearerOptions = { realm, maxTokenLength }

  /** Like {@link lookupToken} for a request; throws (synchronously) when it has no usable token. */
  function lookupRequest(req: AuthRequestLike): VerifiedToken | Promise<VerifiedToken> {
    let token: string
    try {
      token = extractBearerToken(req, bearerOptions)
    } catch (err) {
      rejected++
      throw toAuthError(err)
    }
    return lookupToken(token)
  }

  return {
    realm,
    mapsTenants,
    // Not `async`: a cache hit costs one resolved promise, not an async frame per layer.
    authenticate(req) {
      try {
        const v = lookupRequest(req)
        return v instanceof Promise ? v.then(principalOf) : Promise.resolve(v.principal)
      } catch (err) {
        return Promise.reject(err as Error)
      }
    },
    lookup: lookupRequest,
    authenticateRequest(req) {
      try {
        return Promise.resolve(lookupRequest(req))
      } catch (err) {
        return Promise.reject(err as Error)
      }
    },
    verify(token) {
      const v = lookupToken(token)
      return v instanceof Promise ? v.then(principalOf) : Promise.resolve(v.principal)
    },
    verifyToken(token) {
      return Promise.resolve(lookupToken(token))
    },
    async warmUp() {
      await Promise.all([...stores.values()].map((s) => s.warmUp()))
    },
    get stats(): AuthenticatorStats {
      return {
        verified,
        rejected,
        cache: cache?.stats ?? { size: 0, bytes: 0, hits: 0, misses: 0 },
        keySets: [...stores.values()].map((s) => s.stats),
      }
    },
    close() {
      cache?.close()
    },
  }
}

function principalOf(v: VerifiedToken): Principal {
  return v.principal
}

function isAtJwt(typ: unknown): boolean {
  if (typeof typ !== 'string') return false
  const t = typ.toLowerCase()
  return t === 'at+jwt' || t === 'application/at+jwt'
}

function templateRegExp(issuer: string): RegExp {
  const [before = '', after = ''] = issuer.split(TEMPLATE)
  return new RegExp(`^${escapeRe(before)}([0-9a-fA-F-]{36})${escapeRe(after)}$`)
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

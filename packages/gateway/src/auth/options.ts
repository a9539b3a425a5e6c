import type { Tracer } from '@opentelemetry/api'
import type { IdpPreset, TenantMode } from '@c7auth/core'
import type { JwsAlgorithm } from './jws.js'

/** A pino-compatible logger; c7auth never passes it a token, secret or claim set. */
export interface LoggerLike {
  warn(obj: object, msg?: string): void
  debug?(obj: object, msg?: string): void
  error?(obj: object, msg?: string): void
}

/** Claims as they come out of a verified token. */
export type Claims = Readonly<Record<string, unknown>>

/** Claim-by-claim overrides of a preset (every field optional). */
export interface ClaimMappingOptions {
  /** Claims naming the OAuth client, first present wins. Default: `azp`, `client_id`, `appid`, `cid`. */
  clientIdClaims?: readonly string[]
  /** Claims (dot paths) giving a user's Camunda id, first present wins. */
  userIdClaims?: readonly string[]
  /** Claim (dot path) giving an app's Camunda id. Default: the client id. */
  appIdClaim?: string
  /**
   * Claims (dot paths) holding group or role names. `{clientId}` in a segment is the token's
   * client id, `{audience}` each configured audience (Keycloak `resource_access.{clientId}.roles`).
   */
  groupClaims?: readonly string[]
  /**
   * Claims (dot paths) whose groups or roles may make a principal a gateway admin (a mapped name
   * in `adminGroups`). Default: the {@link groupClaims} without `{clientId}` or `{audience}`
   * (realm-level `groups`, `realm_access.roles`, `roles`, …), because whoever manages a client can
   * give it a role named like an admin group. These paths may not contain the placeholders; `[]`
   * means this issuer never makes an admin. Names pass the same prefix, pattern and engine id
   * mapping as groups.
   *
   * With `adminGroups` set and more than one issuer, every issuer must set this explicitly
   * (startup fails otherwise): admin is opt-in per issuer, so a tenant's own IdP cannot mint
   * gateway admins. Give the operators' issuer its admin claim paths and every other issuer `[]`.
   *
   * @example
   * ```ts
   * issuers: [
   *   { issuer: OPS_IDP, audience: 'engine-rest', preset: 'keycloak', claims: { adminGroupClaims: ['realm_access.roles'] } },
   *   { issuer: TENANT_IDP, audience: 'engine-rest', preset: 'keycloak', claims: { adminGroupClaims: [] } },
   * ]
   * ```
   */
  adminGroupClaims?: readonly string[]
  /** Only names starting with this prefix are kept. */
  groupPrefix?: string
  /** Remove {@link groupPrefix} before mapping. Default: false. */
  stripGroupPrefix?: boolean
  /** Only names fully matching this pattern are kept. */
  groupPattern?: string | RegExp
  /** Claims holding scopes: a space-separated string or an array. Default: `scope`, `scp`. */
  scopeClaims?: readonly string[]
  /** Overrides app-versus-user detection entirely. */
  kind?: (claims: Claims, clientId: string | undefined) => 'app' | 'user'
}

/** One trusted token issuer. Keys are only ever taken from its configured or discovered JWKS. */
export interface IssuerOptions {
  /**
   * The exact `iss`. May contain `{tenantid}` once (Entra ID multi-tenant apps,
   * `https://login.microsoftonline.com/{tenantid}/v2.0`): the token's `tid` must then equal the
   * value in its `iss`. A templated issuer needs `jwksUri` and a non-empty `allowedTenantIds`.
   */
  issuer: string
  /** Accepted `aud` values; a token must carry at least one. Required (fail closed). */
  audience: string | readonly string[]
  /** The JWKS location. Default: `jwks_uri` from the issuer's discovery document. */
  jwksUri?: string
  /** Claim preset. Default: `generic`. */
  preset?: IdpPreset
  /** Overrides of the preset, claim by claim. */
  claims?: ClaimMappingOptions
  /** Algorithm allowlist. Default: every asymmetric algorithm. `none` is never accepted. */
  algorithms?: readonly JwsAlgorithm[]
  /** Shared secret; only with it may `HS*` appear in {@link algorithms}. */
  secret?: string | Uint8Array
  /** Tenant mode for this issuer. Default: the authenticator's `tenantMode`. */
  tenantMode?: TenantMode
  /** Claim path for `claim` mode, e.g. `tid`, `org_id`, `organization`. */
  tenantClaim?: string
  /** Claim value → tenant id, for claim values that are not tenant ids (Entra `tid` GUIDs). */
  tenantClaimMap?: Readonly<Record<string, string>>
  /** The tenant of every token of this issuer in `fixed` mode. */
  fixedTenant?: string
  /**
   * Templated issuers: the accepted `tid` values (Entra directory ids). Required and non-empty
   * for a templated issuer (fail closed: otherwise every Entra directory could sign in).
   */
  allowedTenantIds?: readonly string[]
  /** Require header `typ: at+jwt` (RFC 9068). Default: the authenticator's setting. */
  requireTypAtJwt?: boolean
  /** Claims every token must carry (beyond `iss`, `aud`, `exp`). */
  requiredClaims?: readonly string[]
}

/** A tenant tokens may map to. A bare string is a tenant id with no further binding. */
export interface TenantOptions {
  /** The Camunda tenant id. */
  id: string
  /** App mode: client ids acting in this tenant. When empty, a client whose id equals `id`. */
  clientIds?: readonly string[]
  /** When set, only tokens from this issuer (as configured) may map to the tenant. */
  issuer?: string
  /** When set, only tokens carrying one of these `aud` values may map to the tenant. */
  audience?: readonly string[]
  /** Engine group ids every principal acting in this tenant gets. */
  defaultGroups?: readonly string[]
}

/** JWKS fetching and caching. */
export interface JwksOptions {
  /** Timeout of one JWKS or discovery request. Default: 5000. */
  timeoutMs?: number
  /** Minimum seconds between refetches caused by unknown `kid`s. Default: 10. */
  refetchCooldownSeconds?: number
  /** Background refresh after this many seconds; cached keys keep serving. Default: 600. */
  maxAgeSeconds?: number
  /** Seconds a `kid` missing from a fresh fetch is refused without refetching. Default: 60. */
  negativeCacheSeconds?: number
  /** With no keys yet, milliseconds before retrying a failed fetch. Default: 1000. */
  coldRetryMs?: number
}

/** The verified-token cache (a bounded `Map` keyed by the token string). */
export interface TokenCacheOptions {
  /** Default: true. */
  enabled?: boolean
  /** Maximum entries. Default: 10000. */
  maxKeys?: number
  /**
   * Maximum bytes of cached token text plus a 1 KB charge per entry; oldest entries leave first.
   * Default: 32 MiB.
   */
  maxBytes?: number
  /** Upper bound of an entry's life; the token's own `exp` bounds it too. Default: 300. */
  maxTtlSeconds?: number
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  /** Trusted issuers; the token's (unverified) `iss` selects one, unknown → 401 with no network. */
  issuers: readonly IssuerOptions[]
  /** Configured tenants; a token mapping to none is refused (403) unless its principal is admin. */
  tenants: readonly (string | TenantOptions)[]
  /** Default tenant mode of issuers. Default: `app`. */
  tenantMode?: TenantMode
  /** Default claim path for `claim` mode. Default: `tenant`. */
  tenantClaim?: string
  /** Default tenant for `fixed` mode. */
  fixedTenant?: string
  /** Tolerance for `exp`, `nbf`, `iat`. Default: 60. */
  clockToleranceSeconds?: number
  /**
   * Longest accepted token lifetime: `exp − iat`, or `exp − now` for a token without `iat`.
   * Default: 86400 (24 h).
   */
  maxTokenLifetimeSeconds?: number
  /** When set, tokens must carry `iat` and are refused once `now − iat` exceeds it. */
  maxTokenAgeSeconds?: number
  /** Require `typ: at+jwt` for every issuer. Default: false. */
  requireTypAtJwt?: boolean
  /** Protection space in `WWW-Authenticate`. Default: `c7auth`. */
  realm?: string
  /** Engine id pattern for user and group ids. Default: `[a-zA-Z0-9]+`. */
  idPattern?: string
  /**
   * Groups that make a principal a gateway admin, as raw names (`camunda-admin`) or engine ids
   * (`camundaadmin`). Only groups read from an issuer's `claims.adminGroupClaims` count; default
   * groups and client-scoped roles (`resource_access.{clientId}.roles`) never do. With more than
   * one issuer, each issuer must opt in or out by setting `claims.adminGroupClaims` (possibly
   * `[]`), else {@link createAuthenticator} throws a `ConfigError`; a single issuer keeps the
   * default (its realm-level group claims).
   */
  adminGroups?: readonly string[]
  /** Engine group ids every principal of a kind gets. */
  defaultGroups?: { app?: readonly string[]; user?: readonly string[] }
  /** Longest accepted token in characters. Default: 16384. */
  maxTokenLength?: number
  jwks?: JwksOptions
  /** Verified-token cache; `false` disables it. */
  cache?: TokenCacheOptions | false
  logger?: LoggerLike
  /** Traces JWKS fetches (a span each, child of the request's span). Off when absent. */
  tracer?: Tracer
  /** Clock in epoch milliseconds (tests). Default: `Date.now`. */
  now?: () => number
}

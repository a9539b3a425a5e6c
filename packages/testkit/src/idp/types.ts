import type { ClientAuthMethod } from '@c7auth/core'
import type { JWK } from 'jose'

/** How a test client authenticates at the token endpoint (the gateway's own vocabulary). */
export type TestClientAuthMethod = ClientAuthMethod

/** Signing algorithms the test IdP can use for its own keys. */
export type TestIdpSigningAlg = 'RS256' | 'PS256' | 'ES256'

/** The RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** The testkit-only grant that issues a user's token (and a refresh token) to a configured client. */
export const TESTKIT_USER_GRANT = 'urn:c7auth:testkit:user'
/** RFC 8693 token type of an access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
/** RFC 8693 token type of a JWT. */
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
/** RFC 8693 token type of a refresh token: the testkit IdP's delegation grant. */
export const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token'
/** The audience tokens get when a request names none. */
export const DEFAULT_AUDIENCE = 'urn:c7auth:engine-rest'
/** API scopes of the default audience when `scopes` is not given. */
export const DEFAULT_API_SCOPES: readonly string[] = ['engine:read', 'engine:write', 'engine:admin']

/** One OAuth client registered at the test IdP. */
export interface TestIdpClientOptions {
  clientId: string
  /** Required for `client_secret_basic` / `client_secret_post`. */
  clientSecret?: string
  /** Default: `client_secret_basic` with a secret, `private_key_jwt` with `jwks`, else `none`. */
  authMethod?: TestClientAuthMethod
  /** Public JWKs for `private_key_jwt`. */
  jwks?: { keys: JWK[] }
  /** Subject DN the client certificate must have for `tls_client_auth`. Default: `CN=<clientId>`. */
  tlsSubjectDn?: string
  /** Added as the `tenant` claim to every token this client gets. */
  tenant?: string
  /** Added to every token this client gets (cannot override registered claims). */
  extraClaims?: Record<string, unknown>
  /** Scopes the client may request (space-separated). Default: every configured scope. */
  scope?: string
  /**
   * Grant types the client may use. Default: client credentials, refresh token, token exchange and
   * the testkit user grant (public clients: only the last two).
   */
  grantTypes?: string[]
}

/** A resource server (API) that tokens can be issued for. */
export interface TestIdpAudienceOptions {
  /** The `aud` value and the RFC 8707 `resource` / Auth0 `audience` identifier (absolute URI). */
  audience: string
  /** Scopes this API accepts; requested scopes outside it are dropped from its tokens. */
  scopes?: string[]
  /** Access-token lifetime for this API. Default: the IdP's `accessTokenTtlSeconds`. */
  accessTokenTtlSeconds?: number
  /**
   * `jwt` (default): signed `at+jwt` tokens. `opaque`: random reference tokens (not JWTs) that only
   * the IdP can resolve, e.g. at {@link TestIdp.introspectionEndpoint}; responses still carry
   * `expires_in`.
   */
  accessTokenFormat?: 'jwt' | 'opaque'
}

/** Options of {@link startTestIdp}. */
export interface TestIdpOptions {
  clients?: TestIdpClientOptions[]
  /**
   * Extra resource servers. The default audience is always present (with `scopes`), unless an
   * entry here configures it explicitly.
   */
  audiences?: TestIdpAudienceOptions[]
  /** Audience used when a request names none. Default: `urn:c7auth:engine-rest`. */
  defaultAudience?: string
  /** API scopes of the default audience. Default: `engine:read engine:write engine:admin`. */
  scopes?: string[]
  /** Default access-token lifetime. Default: 300. */
  accessTokenTtlSeconds?: number
  /** Refresh-token lifetime. Default: 3600. */
  refreshTokenTtlSeconds?: number
  /** Signing algorithm of the IdP's keys. Default: `RS256`. */
  signingAlg?: TestIdpSigningAlg
  /** Path appended to the issuer, e.g. `/realms/acme`. Default: none. */
  issuerPath?: string
  /** Rotate the refresh token on every use. Default: false. */
  rotateRefreshToken?: boolean
  /**
   * Accept a delegation grant (refresh token) as `subject_token` of a token exchange. `false`
   * refuses it with `invalid_request`, as Keycloak 26's standard token exchange does (it takes
   * access tokens only): the grant then has to be refreshed and its access token exchanged.
   * Default: true.
   */
  refreshTokenSubjects?: boolean
  /**
   * Serve an additional https listener that requests client certificates, enabling
   * `tls_client_auth` at {@link TestIdp.mtls}. Needs the `openssl` CLI. Default: false.
   */
  mtls?: boolean
}

/** Which endpoints a fault applies to. `discovery` covers both well-known documents. */
export type FaultPath = 'token' | 'jwks' | 'discovery'

/** A fault injected in front of the IdP. */
export type IdpFault =
  | {
      kind: 'status'
      status: number
      /** Sets `Retry-After`. */
      retryAfterSeconds?: number
      /** Response body (JSON-encoded unless a string). Default: an OAuth error object. */
      body?: unknown
    }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'garbage' }

/** Where and how often a fault applies. */
export interface FaultOptions {
  /** Default: every endpoint in {@link FaultPath}. */
  paths?: FaultPath[]
  /** Apply to this many matching requests, then clear itself. Default: until changed. */
  times?: number
}

/** Request counters. Requests answered by an injected fault do not count (they never reached it). */
export interface IdpCounts {
  token: number
  /** By `grant_type` (`unknown` when the body could not be read). */
  tokenByGrant: Record<string, number>
  jwks: number
  discovery: number
}

/** Options of {@link TestIdp.issueUserToken}. */
export interface IssueUserTokenOptions {
  sub: string
  /** The client the token is issued to (`azp`, `client_id`). */
  clientId: string
  /** User claims such as `preferred_username`, `email`, `groups`, `realm_access`, `tenant`. */
  claims?: Record<string, unknown>
  /** Space-separated. Default: every scope of the audience. */
  scope?: string
  /** Default: the default audience. */
  audience?: string | string[]
  /** Default: the audience's access-token lifetime. */
  ttlSeconds?: number
}

/** Options of {@link TestIdp.signToken}. */
export interface SignTokenOptions {
  /**
   * Signing algorithm; defaults to the header's `alg`, else the current key's. `none` produces an
   * unsigned token; `HS*` needs `hmacKey`.
   */
  alg?: string
  /** Secret for `HS*` (e.g. the public key's PEM, for algorithm-confusion tests). */
  hmacKey?: string | Uint8Array
  /** Sign with the key of this `kid` (current or retained old key). Default: the current key. */
  signWithKid?: string
}

/** Options of {@link TestIdp.rotateKeys}. */
export interface RotateKeysOptions {
  /** Drop all previous keys from the JWKS at once. Default: false. */
  dropOld?: boolean
  /** Drop previous keys after this many ms (timer is unref'd). Default: keep until the next rotation with `dropOld`. */
  overlapMs?: number
}

/** The https listener for `tls_client_auth` (when started with `mtls: true`). */
export interface TestIdpMtls {
  /** Token endpoint on the https listener (same issuer, same keys). */
  tokenEndpoint: string
  /** PEM of the CA that issued the server and client certificates. */
  caPem: string
  /** Issues a client certificate signed by the CA with subject `CN=<commonName>`. */
  issueClientCertificate(commonName: string): Promise<{ certPem: string; keyPem: string }>
}

/** A running test IdP. */
export interface TestIdp {
  readonly issuer: string
  readonly tokenEndpoint: string
  readonly jwksUri: string
  readonly discoveryUrl: string
  /** RFC 7662 introspection (client authentication as registered), e.g. for opaque tokens. */
  readonly introspectionEndpoint: string
  /** RFC 7009 revocation (client authentication as registered); revoking a refresh token ends its grant. */
  readonly revocationEndpoint: string
  readonly port: number
  readonly defaultAudience: string
  /** Present when started with `mtls: true`. */
  readonly mtls: TestIdpMtls | undefined
  /** A snapshot of the counters. */
  readonly counts: IdpCounts
  /** Kid of the key that signs new tokens. */
  readonly currentKid: string
  resetCounts(): void
  /** Signs a user's access token in-process, shaped like the IdP's own. */
  issueUserToken(options: IssueUserTokenOptions): Promise<string>
  /**
   * The claims {@link TestIdp.issueUserToken} would sign (fresh `jti`, `iat`, `exp`): a valid base
   * for hostile tokens made with {@link TestIdp.signToken}.
   *
   * @example
   * ```ts
   * const { exp: _, ...noExp } = idp.userTokenClaims({ sub: 'alice', clientId: 'app' })
   * const token = await idp.signToken({}, noExp)
   * ```
   */
  userTokenClaims(options: IssueUserTokenOptions): Record<string, unknown>
  /**
   * Signs an arbitrary JWT with the IdP's current (or a named) private key. The header defaults to
   * `{ alg: <key alg>, typ: 'at+jwt', kid: <current kid> }`; set a field to `undefined` to omit it.
   * Nothing is validated, so `crit`, `alg: 'none'`, `HS256` (with `hmacKey`) etc. are possible.
   */
  signToken(
    header: Record<string, unknown>,
    payload: Record<string, unknown> | string,
    options?: SignTokenOptions,
  ): Promise<string>
  /** The JWKS currently served (public keys only). */
  publicJwks(): { keys: JWK[] }
  /** Sets (or with `null` clears) the injected fault. */
  setFault(fault: IdpFault | null, options?: FaultOptions): void
  /**
   * Requests an injected fault has taken over since start (answered, delayed or held open): the
   * event a test waits for instead of sleeping, e.g. "the hung request has arrived".
   */
  readonly faultedRequests: number
  /** Makes a new key current; previous keys stay published unless dropped. Returns the new kid. */
  rotateKeys(options?: RotateKeysOptions): Promise<string>
  /** Stops listening and drops every connection; state (keys, refresh tokens) is kept. */
  stop(): Promise<void>
  /** Listens again on the same port (stops first if running). */
  restart(): Promise<void>
  /** Stops for good. */
  close(): Promise<void>
}

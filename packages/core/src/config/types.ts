import type * as Vocabulary from './vocabulary.js'

/** How an OAuth client authenticates at the token endpoint. */
export type ClientAuthMethod = (typeof Vocabulary.CLIENT_AUTH_METHODS)[number]

/** Claim-mapping presets for the common IdPs. */
export type IdpPreset = (typeof Vocabulary.IDP_PRESETS)[number]

/** How a verified token is mapped to tenants. */
export type TenantMode = (typeof Vocabulary.TENANT_MODES)[number]

/** How the gateway authenticates to engine-rest. */
export type EngineAuthMode = (typeof Vocabulary.ENGINE_AUTH_MODES)[number]

/**
 * Which engine authorizations the gateway bootstrap grants to the default groups
 * (`C7AUTH_ENGINE_AUTHORIZATIONS`): none, the app groups, or the app and the user groups.
 */
export type EngineAuthorizationsMode = (typeof Vocabulary.ENGINE_AUTHORIZATIONS_MODES)[number]

/** Default request parameters for a token request (IdP dialects differ here). */
export interface TokenRequestParams {
  /** Space-separated scope (Keycloak, Okta; Entra: `api://x/.default`). */
  scope?: string
  /** Auth0's `audience` parameter. */
  audience?: string
  /** RFC 8707 resource indicator(s). */
  resource?: string | string[]
}

/** One OAuth client (an app's own credentials) for the token client. */
export interface OAuthClientConfig {
  /** Issuer for discovery; one of `issuer` / `tokenEndpoint` is required. */
  issuer?: string
  /** Explicit token endpoint (skips discovery). */
  tokenEndpoint?: string
  clientId: string
  clientSecret?: string
  /** Default: `client_secret_basic` with a secret, `private_key_jwt` with a private key. */
  authMethod: ClientAuthMethod
  /** PEM private key for `private_key_jwt`. */
  privateKeyPem?: string
  /** `kid` to put in the client assertion header. */
  privateKeyId?: string
  /**
   * `aud` of the `private_key_jwt` assertion: the token endpoint URL (RFC 7523 §3; Entra ID, Okta)
   * or the issuer (Auth0). Default: `token_endpoint`.
   */
  assertionAudience?: 'token_endpoint' | 'issuer'
  /** PEM certificate + key for `tls_client_auth`. */
  tlsCertPem?: string
  tlsKeyPem?: string
  /** Default request parameters. */
  params: TokenRequestParams
  /** Extra PEM trust anchor(s) for the IdP's TLS certificate (private CAs). */
  caPem?: string
  /**
   * Allow `http:` issuer / token endpoint URLs on non-loopback hosts. `http:` on `127.0.0.1`,
   * `::1` and `localhost` is always allowed (tests, sidecars); anywhere else it is refused unless
   * this is true. Default: false.
   */
  allowInsecureHttp?: boolean
}

/** Settings of one tenant (one block `C7AUTH_TENANT_<ENVID>_*`). */
export interface TenantConfig {
  /** The real Camunda tenant id (case-sensitive). */
  id: string
  /** The env-safe form used in variable names. */
  envId: string
  /** Display name for the engine's tenant record. Default: the id. */
  name: string
  /** Issuer whose tokens may act in this tenant (verification). */
  issuer?: string
  /** Accepted `aud` values. */
  audience?: string[]
  /** Explicit JWKS URI (else discovered from the issuer). */
  jwksUri?: string
  /** Claim preset of this tenant's issuer. Default: `generic`. */
  preset?: IdpPreset
  /** App mode: the OAuth client ids whose tokens act in this tenant. Default: the client's id. */
  clientIds: string[]
  /** The tenant app's own credentials (workers, downstream calls). */
  client?: OAuthClientConfig
  /** JWS algorithms accepted from this tenant's issuer. Default (gateway): every asymmetric algorithm; `none` never. */
  algorithms?: string[]
  /** Claim-path overrides on top of the preset (dot paths). */
  claims?: ClaimMappingOverrides
  /** Extra Camunda groups every principal of this tenant gets (besides the global defaults). */
  defaultGroups: string[]
  /**
   * Who may deploy in this tenant (`C7AUTH_TENANT_<ENVID>_DEPLOYERS`): `scope:<s>`, `group:<g>`,
   * `client:<id>` entries, any one suffices. Absent or empty: nobody.
   */
  deployers?: string[]
  /** What deployments may contain (`_DEPLOY_PROFILE`). Absent: `strict`. */
  deployProfile?: DeployProfile
  /** `objectTypeName`s allowed in `Object`-typed variable writes (`_OBJECT_TYPES`). Absent: none. */
  objectTypes?: string[]
  /** On-behalf-of calls (`_ON_BEHALF_OF*`, docs/on-behalf-of.md). Absent: off. */
  onBehalfOf?: OnBehalfOfConfig
}

/** Which instances of a tenant keep their acting user's delegation grant, and for how long. */
export interface OnBehalfOfConfig {
  /** Process definition keys; `*` stands for every key. */
  processDefinitionKeys: string[]
  /** Longest a grant stays in the vault, seconds. Default: 86400. */
  maxLifetimeSeconds: number
}

/**
 * Deployment profile of a tenant: `strict` accepts only models whose code runs outside the engine;
 * `trusted` accepts engine-side code (see docs/security-model.md).
 */
export type DeployProfile = (typeof Vocabulary.DEPLOY_PROFILES)[number]

/** Claim paths (dot notation) that override what the tenant's {@link IdpPreset} reads. */
export interface ClaimMappingOverrides {
  /** Where the user id comes from (e.g. `preferred_username`, `oid`). */
  userId?: string
  /** Where the groups/roles come from (e.g. `realm_access.roles`, `groups`). */
  groups?: string
  /** Where the OAuth client id comes from (e.g. `azp`, `appid`). */
  clientId?: string
  /** Where the scopes come from (e.g. `scope`, `scp`). */
  scopes?: string
}

/** `assertion` mode: how the gateway signs the assertions the engine plugin verifies. */
export interface EngineAssertionConfig {
  /** `iss` of every assertion. */
  issuer: string
  /** `aud` of every assertion (the engine). */
  audience: string
  /** PEM private key (RSA ≥ 2048 bits or EC P-256). */
  privateKeyPem: string
  /** `kid`; default: the key's RFC 7638 thumbprint. */
  keyId?: string
  /** Default: `RS256` for RSA, `ES256` for EC. */
  algorithm?: 'RS256' | 'PS256' | 'ES256'
  /** PEM public keys published next to the signing key (rotation overlap). */
  extraPublicKeysPem?: string
  /** Where the standalone server serves the JWKS. Default `/.well-known/jwks.json`. */
  jwksPath: string
}

/** Settings of the gateway's engine connection. */
export interface EngineConfig {
  /** Base URL of engine-rest, e.g. `http://camunda:8080/engine-rest`. */
  url: string
  auth: EngineAuthMode
  /** Admin account used by the bridge for provisioning (bridge mode). */
  adminUser?: string
  adminPassword?: string
  /** Technical account (service mode). */
  serviceUser?: string
  servicePassword?: string
  /** HMAC secret from which bridged users' passwords are derived (bridge mode). */
  bridgeSecret?: string
  /** The engine's admin group. Default: `camunda-admin` (Operaton: `operaton-admin`). */
  adminGroup: string
  /** Header trusted by the engine in `header` mode. Default: `Context-User-ID`. */
  userHeader: string
  /** Signing settings of `assertion` mode (set by the loader in that mode only). */
  assertion?: EngineAssertionConfig
  /** Regex every engine id must fully match. Default: `[a-zA-Z0-9]+`. */
  idPattern: string
  /** Upstream request timeout in ms. Default: 30000. */
  timeoutMs: number
  /** Cap for `asyncResponseTimeout` of fetchAndLock, ms. Default: 60000. */
  maxLongPollMs: number
  /** Most keep-alive connections to engine-rest. Default: `DEFAULT_ENGINE_CONNECTIONS` (64). */
  connections?: number
  /**
   * Authorizations the gateway bootstrap grants to the default groups. The loader always sets it;
   * absent means `none`.
   */
  authorizations?: EngineAuthorizationsMode
}

/** One key of a shared token store's key ring. */
export interface TokenStoreKey {
  /** Key id, stored with every entry it encrypts (`[A-Za-z0-9._-]`, at most 64 characters). */
  id: string
  /** 32 random bytes. */
  secret: Uint8Array
}

/** Where token clients keep tokens (`C7AUTH_TOKEN_STORE`). */
export type TokenStoreConfig =
  | { kind: 'memory' }
  | {
      kind: 'redis' | 'postgres'
      /** `redis://`, `rediss://`, `postgres://` or `postgresql://` URL (may hold a password). */
      url: string
      /** Key ring; the first key encrypts, every key decrypts. */
      keys: TokenStoreKey[]
      /** Redis key prefix / PostgreSQL schema. Default: `c7auth`. */
      namespace: string
      /** Connect and query timeout, ms; past it the process falls back to its memory cache. */
      timeoutMs: number
    }

/** Whole-product configuration produced by {@link loadConfigFromEnv}. */
/** Where the standalone gateway serves `/metrics` (`C7AUTH_GATEWAY_METRICS_*`). */
export interface MetricsConfig {
  /** Interface of the separate listener. Default `127.0.0.1`. */
  host: string
  /** A separate listener on this port (0: any free port); absent: the gateway's own listener. */
  port?: number
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. Never logged. */
  token?: string
}

export interface C7AuthConfig {
  tenants: TenantConfig[]
  engine: EngineConfig
  gateway: {
    host: string
    port: number
    /** Mount prefix. Default: `/engine-rest`. */
    basePath: string
    /** Public base URL used to rewrite `links[].href`. */
    publicUrl?: string
    tenantMode: TenantMode
    /** Claim path for `claim` mode (dot path). Default: `tenant`. */
    tenantClaim: string
    /** Tenant for `fixed` mode. */
    fixedTenant?: string
    /** Audiences accepted for every tenant, in addition to each tenant's own `audience`. */
    audience?: string[]
    clockToleranceSeconds: number
    /** Longest accepted `exp − iat` (or `exp − now`), seconds. Default: 86400. */
    maxTokenLifetimeSeconds: number
    /** When set, tokens need `iat` and are refused once older than this, seconds. */
    maxTokenAgeSeconds?: number
    requireTypAtJwt: boolean
    /**
     * Groups (mapped ids) that make a principal a gateway admin, read only from tokens of an
     * {@link adminIssuers} issuer.
     */
    adminGroups: string[]
    /**
     * Issuers (each exactly some tenant's `issuer`) whose tokens may carry {@link adminGroups};
     * tokens of every other issuer are never admin. Required when `adminGroups` is non-empty. The
     * loader always sets it; absent means none.
     */
    adminIssuers?: string[]
    /** Default Camunda groups per principal kind. */
    defaultGroups: { app: string[]; user: string[] }
    /** Only these mapped groups are provisioned (allowlist); empty = none. */
    groupAllowlist: string[]
    actingUserVariable: string
    maxBodyBytes: number
    /** Cap for list queries (`C7AUTH_GATEWAY_QUERY_MAX_RESULTS`); absent: no cap. */
    queryMaxResults?: number
    tlsCertPem?: string
    tlsKeyPem?: string
    /** Where Prometheus `/metrics` is served, and its bearer token. Absent: the gateway's listener, open. */
    metrics?: MetricsConfig
  }
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Where token clients keep tokens. The loader always sets it; absent means memory. */
  tokenStore?: TokenStoreConfig
}

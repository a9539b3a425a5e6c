/**
 * The environment schema as data: every key the loader reads, once. The loader, the env
 * table of docs/configuration.md ({@link renderEnvTable}) and its drift test all come from this list.
 */

import {
  CLIENT_AUTH_METHODS,
  DEPLOY_PROFILES,
  ENGINE_AUTHORIZATIONS_MODES,
  ENGINE_AUTH_MODES,
  IDP_PRESETS,
  TENANT_MODES,
} from './vocabulary.js'

/** How a value is parsed. */
export type ConfigValueType =
  | 'string'
  | 'url'
  | 'list'
  | 'uri-list'
  | 'enum'
  | 'port'
  | 'duration-ms'
  | 'duration-s'
  | 'bool'
  | 'bytes'
  | 'count'
  | 'regex'
  | 'pem'

/** One environment key. */
export interface ConfigKeySpec {
  /** Suffix after `C7AUTH_` (global) or `C7AUTH_TENANT_<ENVID>_` (tenant). */
  readonly name: string
  readonly scope: 'global' | 'tenant'
  readonly type: ConfigValueType
  /** Allowed values of an `enum`. */
  readonly values?: readonly string[]
  /** Default, as it would be written in the environment. */
  readonly default?: string
  /** When the key is required (`always`, `bridge mode`, …); absent = optional. */
  readonly required?: string
  readonly description: string
  /** Never logged or echoed; a `<KEY>_FILE` variant is accepted. */
  readonly secret?: boolean
  /** A `<KEY>_FILE` variant (path to a file holding the value) is accepted. */
  readonly file?: boolean
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const AUTH_METHODS = CLIENT_AUTH_METHODS

const g = (spec: Omit<ConfigKeySpec, 'scope'>): ConfigKeySpec => ({ ...spec, scope: 'global' })
const t = (spec: Omit<ConfigKeySpec, 'scope'>): ConfigKeySpec => ({ ...spec, scope: 'tenant' })

/**
 * Most keep-alive connections to engine-rest when none are configured: the default of
 * `C7AUTH_ENGINE_CONNECTIONS` and of the gateway's engine endpoint (one value for both).
 */
export const DEFAULT_ENGINE_CONNECTIONS = 64

/** Global keys, `C7AUTH_<NAME>`. */
export const GLOBAL_KEYS = {
  TENANTS: g({
    name: 'TENANTS',
    type: 'list',
    required: 'always',
    description:
      'Comma-separated Camunda tenant ids; each gets a block `C7AUTH_TENANT_<ENVID>_*` (ENVID: id upper-cased, non-alphanumerics as `_`).',
  }),
  LOG_LEVEL: g({
    name: 'LOG_LEVEL',
    type: 'enum',
    values: LOG_LEVELS,
    default: 'info',
    description: 'Log level.',
  }),
  ENGINE_URL: g({
    name: 'ENGINE_URL',
    type: 'url',
    required: 'gateway role',
    description:
      'Base URL of the engine’s engine-rest that the gateway forwards to (never read by workers: see `C7AUTH_WORKER_GATEWAY_URL`).',
  }),
  WORKER_GATEWAY_URL: g({
    name: 'WORKER_GATEWAY_URL',
    type: 'url',
    required: 'worker role',
    description:
      'Base URL of the gateway’s engine-rest that workers fetch and complete tasks through (never read by the gateway).',
  }),
  ENGINE_AUTH: g({
    name: 'ENGINE_AUTH',
    type: 'enum',
    values: ENGINE_AUTH_MODES,
    default: 'bridge',
    description:
      'How the gateway authenticates to the engine (`assertion`: a short-lived JWS per principal that the c7auth engine plugin verifies).',
  }),
  ENGINE_ADMIN_USER: g({
    name: 'ENGINE_ADMIN_USER',
    type: 'string',
    required: 'bridge mode',
    description: 'Engine admin account the bridge provisions users with.',
  }),
  ENGINE_ADMIN_PASSWORD: g({
    name: 'ENGINE_ADMIN_PASSWORD',
    type: 'string',
    required: 'bridge mode',
    secret: true,
    file: true,
    description: 'Password of the engine admin account.',
  }),
  ENGINE_SERVICE_USER: g({
    name: 'ENGINE_SERVICE_USER',
    type: 'string',
    required: 'service mode',
    description: 'Technical engine account (service mode).',
  }),
  ENGINE_SERVICE_PASSWORD: g({
    name: 'ENGINE_SERVICE_PASSWORD',
    type: 'string',
    required: 'service mode',
    secret: true,
    file: true,
    description: 'Password of the technical engine account.',
  }),
  BRIDGE_SECRET: g({
    name: 'BRIDGE_SECRET',
    type: 'string',
    required: 'bridge mode',
    secret: true,
    file: true,
    description: 'HMAC secret (at least 32 characters) from which bridged users’ passwords derive.',
  }),
  ENGINE_ADMIN_GROUP: g({
    name: 'ENGINE_ADMIN_GROUP',
    type: 'string',
    default: 'camunda-admin',
    description: 'The engine’s admin group (Operaton: `operaton-admin`).',
  }),
  ENGINE_USER_HEADER: g({
    name: 'ENGINE_USER_HEADER',
    type: 'string',
    default: 'Context-User-ID',
    description: 'Header the engine trusts for the user id (`header` mode).',
  }),
  ENGINE_ASSERTION_ISSUER: g({
    name: 'ENGINE_ASSERTION_ISSUER',
    type: 'string',
    required: 'assertion mode',
    description:
      '`iss` of the engine assertions; the engine plugin’s `C7AUTH_PLUGIN_ISSUER` must be the same.',
  }),
  ENGINE_ASSERTION_AUDIENCE: g({
    name: 'ENGINE_ASSERTION_AUDIENCE',
    type: 'string',
    required: 'assertion mode',
    description:
      '`aud` of the engine assertions, naming the engine; the plugin’s `C7AUTH_PLUGIN_AUDIENCE` must be the same.',
  }),
  ENGINE_ASSERTION_KEY: g({
    name: 'ENGINE_ASSERTION_KEY',
    type: 'pem',
    required: 'assertion mode',
    secret: true,
    file: true,
    description: 'PEM private key (RSA ≥ 2048 bits or EC P-256) the gateway signs assertions with.',
  }),
  ENGINE_ASSERTION_KEY_ID: g({
    name: 'ENGINE_ASSERTION_KEY_ID',
    type: 'string',
    default: '(JWK thumbprint)',
    description: '`kid` of the signing key in the JWKS and the assertions.',
  }),
  ENGINE_ASSERTION_ALGORITHM: g({
    name: 'ENGINE_ASSERTION_ALGORITHM',
    type: 'enum',
    values: ['RS256', 'PS256', 'ES256'],
    default: '(from the key)',
    description: 'Signature algorithm; default `RS256` for an RSA key, `ES256` for an EC key.',
  }),
  ENGINE_ASSERTION_EXTRA_KEYS: g({
    name: 'ENGINE_ASSERTION_EXTRA_KEYS',
    type: 'pem',
    file: true,
    description:
      'PEM public keys published in the JWKS next to the signing key, never used to sign: the next key before a rotation, the previous one after it.',
  }),
  ENGINE_ASSERTION_JWKS_PATH: g({
    name: 'ENGINE_ASSERTION_JWKS_PATH',
    type: 'string',
    default: '/.well-known/jwks.json',
    description:
      'Path where the standalone gateway serves the assertion keys (JWKS), unauthenticated.',
  }),
  ENGINE_ID_PATTERN: g({
    name: 'ENGINE_ID_PATTERN',
    type: 'regex',
    default: '[a-zA-Z0-9]+',
    description: 'Regex every engine id (users, groups, tenants) must fully match.',
  }),
  ENGINE_TIMEOUT: g({
    name: 'ENGINE_TIMEOUT',
    type: 'duration-ms',
    default: '30s',
    description: 'Upstream request timeout (`30s`, `500ms`; a bare number is ms).',
  }),
  ENGINE_CONNECTIONS: g({
    name: 'ENGINE_CONNECTIONS',
    type: 'count',
    default: String(DEFAULT_ENGINE_CONNECTIONS),
    description:
      "Most keep-alive connections the gateway opens to engine-rest; more concurrent requests wait in the gateway's queue. Match it to what the engine serves at once (its HTTP threads and database pool).",
  }),
  ENGINE_MAX_LONG_POLL: g({
    name: 'ENGINE_MAX_LONG_POLL',
    type: 'duration-ms',
    default: '60s',
    description: 'Cap for fetchAndLock `asyncResponseTimeout` (a bare number is ms).',
  }),
  ENGINE_AUTHORIZATIONS: g({
    name: 'ENGINE_AUTHORIZATIONS',
    type: 'enum',
    values: ENGINE_AUTHORIZATIONS_MODES,
    default: 'none',
    description:
      'Engine authorizations the gateway bootstrap creates or extends (GRANTs on `*`, for engines with authorization checks on; needs the admin account). `apps`: each `C7AUTH_GATEWAY_DEFAULT_APP_GROUPS` group gets what an app needs (process definitions: read, start, read/update instances and tasks, task work, history; process instances: create, read, update; tasks: read, update, task work; deployments: create, read; decision definitions: read, evaluate). `apps+users`: also each `C7AUTH_GATEWAY_DEFAULT_USER_GROUPS` group gets task-worker rights (process definitions: read, read tasks, task work, read instances; tasks: read, task work; process instances: read). `none`: nothing.',
  }),
  GATEWAY_HOST: g({
    name: 'GATEWAY_HOST',
    type: 'string',
    default: '0.0.0.0',
    description: 'Listen address.',
  }),
  GATEWAY_PORT: g({
    name: 'GATEWAY_PORT',
    type: 'port',
    default: '8080',
    description: 'Listen port.',
  }),
  GATEWAY_METRICS_PORT: g({
    name: 'GATEWAY_METRICS_PORT',
    type: 'port',
    description:
      'Serve Prometheus `/metrics` on a listener of its own on this port, and not on the gateway’s. Default: on the gateway’s listener.',
  }),
  GATEWAY_METRICS_HOST: g({
    name: 'GATEWAY_METRICS_HOST',
    type: 'string',
    default: '127.0.0.1',
    description: 'Interface of the separate metrics listener (`C7AUTH_GATEWAY_METRICS_PORT`).',
  }),
  GATEWAY_METRICS_TOKEN: g({
    name: 'GATEWAY_METRICS_TOKEN',
    type: 'string',
    secret: true,
    file: true,
    description:
      'When set, `/metrics` answers only `Authorization: Bearer <token>` (401 otherwise), on whichever listener serves it. At least 32 characters.',
  }),
  GATEWAY_BASE_PATH: g({
    name: 'GATEWAY_BASE_PATH',
    type: 'string',
    default: '/engine-rest',
    description: 'Mount prefix (starts with `/`, no trailing `/`).',
  }),
  GATEWAY_PUBLIC_URL: g({
    name: 'GATEWAY_PUBLIC_URL',
    type: 'url',
    description: 'Public base URL used to rewrite `links[].href`.',
  }),
  GATEWAY_TENANT_MODE: g({
    name: 'GATEWAY_TENANT_MODE',
    type: 'enum',
    values: TENANT_MODES,
    default: 'app',
    description: 'How a token maps to tenants: by client id, by a claim, or one fixed tenant.',
  }),
  GATEWAY_TENANT_CLAIM: g({
    name: 'GATEWAY_TENANT_CLAIM',
    type: 'string',
    default: 'tenant',
    description: 'Claim (dot path) holding the tenant ids in `claim` mode.',
  }),
  GATEWAY_FIXED_TENANT: g({
    name: 'GATEWAY_FIXED_TENANT',
    type: 'string',
    required: 'fixed mode',
    description: 'The tenant of `fixed` mode (one of `C7AUTH_TENANTS`).',
  }),
  GATEWAY_AUDIENCE: g({
    name: 'GATEWAY_AUDIENCE',
    type: 'list',
    description: 'Audiences accepted for every tenant, besides each tenant’s own.',
  }),
  GATEWAY_CLOCK_TOLERANCE: g({
    name: 'GATEWAY_CLOCK_TOLERANCE',
    type: 'duration-s',
    default: '60s',
    description: 'Clock skew allowed on `exp`/`nbf`/`iat` (a bare number is seconds).',
  }),
  GATEWAY_MAX_TOKEN_LIFETIME: g({
    name: 'GATEWAY_MAX_TOKEN_LIFETIME',
    type: 'duration-s',
    default: '24h',
    description:
      'Longest accepted token lifetime, `exp − iat` (or `exp − now` without `iat`); longer-lived tokens are refused (401).',
  }),
  GATEWAY_MAX_TOKEN_AGE: g({
    name: 'GATEWAY_MAX_TOKEN_AGE',
    type: 'duration-s',
    description:
      'When set, tokens must carry `iat` and are refused (401) once older than this, whatever their `exp`.',
  }),
  GATEWAY_REQUIRE_TYP_AT_JWT: g({
    name: 'GATEWAY_REQUIRE_TYP_AT_JWT',
    type: 'bool',
    default: 'false',
    description: 'Require the RFC 9068 `typ: at+jwt` header.',
  }),
  GATEWAY_ADMIN_GROUPS: g({
    name: 'GATEWAY_ADMIN_GROUPS',
    type: 'list',
    description:
      'Mapped groups that make a principal a gateway administrator, read only from tokens of the `C7AUTH_GATEWAY_ADMIN_ISSUERS` issuers (realm-level group claims, never client roles); requires `C7AUTH_GATEWAY_ADMIN_ISSUERS`.',
  }),
  GATEWAY_ADMIN_ISSUERS: g({
    name: 'GATEWAY_ADMIN_ISSUERS',
    type: 'uri-list',
    required: 'with `GATEWAY_ADMIN_GROUPS`',
    description:
      'Issuers whose tokens may make gateway administrators (each exactly some tenant’s `ISSUER`). Tokens of any other issuer are never admin, whatever groups they carry: with per-tenant IdPs, list only the operators’ IdP.',
  }),
  GATEWAY_DEFAULT_APP_GROUPS: g({
    name: 'GATEWAY_DEFAULT_APP_GROUPS',
    type: 'list',
    description: 'Camunda groups every app principal gets.',
  }),
  GATEWAY_DEFAULT_USER_GROUPS: g({
    name: 'GATEWAY_DEFAULT_USER_GROUPS',
    type: 'list',
    description: 'Camunda groups every user principal gets.',
  }),
  GATEWAY_GROUP_ALLOWLIST: g({
    name: 'GATEWAY_GROUP_ALLOWLIST',
    type: 'list',
    description: 'Only these mapped groups are provisioned; empty = none.',
  }),
  GATEWAY_ACTING_USER_VARIABLE: g({
    name: 'GATEWAY_ACTING_USER_VARIABLE',
    type: 'string',
    default: 'c7authActingUser',
    description: 'Process variable holding the acting user.',
  }),
  GATEWAY_MAX_BODY: g({
    name: 'GATEWAY_MAX_BODY',
    type: 'bytes',
    default: '1mb',
    description: 'Largest request body (`512kb`, `1mb`, or bytes).',
  }),
  GATEWAY_QUERY_MAX_RESULTS: g({
    name: 'GATEWAY_QUERY_MAX_RESULTS',
    type: 'count',
    description:
      "Cap for list queries, like the engine's `queryMaxResultsLimit`: a list without `maxResults`, or with more, is refused. Unset: no cap.",
  }),
  GATEWAY_TLS_CERT: g({
    name: 'GATEWAY_TLS_CERT',
    type: 'pem',
    file: true,
    description: 'PEM certificate chain to serve HTTPS (with `GATEWAY_TLS_KEY`).',
  }),
  GATEWAY_TLS_KEY: g({
    name: 'GATEWAY_TLS_KEY',
    type: 'pem',
    secret: true,
    file: true,
    description: 'PEM private key to serve HTTPS (with `GATEWAY_TLS_CERT`).',
  }),
  TOKEN_STORE: g({
    name: 'TOKEN_STORE',
    type: 'string',
    default: 'memory',
    secret: true,
    file: true,
    description:
      'Where token clients keep tokens: `memory` (each process its own), or a store the replicas share, `redis://…` / `rediss://…` (needs the `ioredis` package) or `postgres://…` (needs `pg`). Shared entries are encrypted; the replicas make one token request per key between them; when the store fails, each process falls back to its memory cache and shares again once the store answers. See docs/token-store.md.',
  }),
  TOKEN_STORE_KEYS: g({
    name: 'TOKEN_STORE_KEYS',
    type: 'string',
    secret: true,
    file: true,
    required: 'shared token store',
    description:
      'Key ring of the shared token store: `<id>:<base64 of 32 random bytes>` entries, comma- or newline-separated. The first encrypts (AES-256-GCM) and names entries; every key decrypts, so a new key is added second, then moved first, and the old one dropped after a token lifetime.',
  }),
  TOKEN_STORE_NAMESPACE: g({
    name: 'TOKEN_STORE_NAMESPACE',
    type: 'string',
    default: 'c7auth',
    description:
      'Redis key prefix / PostgreSQL schema of the shared token store (`[a-z_][a-z0-9_]*`; the schema and its tables are created on first use).',
  }),
  TOKEN_STORE_TIMEOUT: g({
    name: 'TOKEN_STORE_TIMEOUT',
    type: 'duration-ms',
    default: '1s',
    description:
      'Connect and per-operation timeout of the shared token store; past it the process serves from its memory cache (a bare number is ms).',
  }),
} as const satisfies Record<string, ConfigKeySpec>

/** Per-tenant keys, `C7AUTH_TENANT_<ENVID>_<NAME>`. */
export const TENANT_KEYS = {
  NAME: t({ name: 'NAME', type: 'string', default: '(the id)', description: 'Display name.' }),
  ISSUER: t({
    name: 'ISSUER',
    type: 'url',
    required: 'always',
    description: 'Issuer (`iss`) of this tenant’s tokens; also used for discovery.',
  }),
  AUDIENCE: t({ name: 'AUDIENCE', type: 'list', description: 'Accepted `aud` values.' }),
  JWKS_URI: t({
    name: 'JWKS_URI',
    type: 'url',
    description: 'Explicit JWKS URI (else discovered from the issuer).',
  }),
  PRESET: t({
    name: 'PRESET',
    type: 'enum',
    values: IDP_PRESETS,
    default: 'generic',
    description: 'Claim-mapping preset of the issuer.',
  }),
  ALGORITHMS: t({
    name: 'ALGORITHMS',
    type: 'list',
    description: 'Accepted JWS algorithms (asymmetric only); default RS256, PS256, ES256.',
  }),
  CLAIM_USER_ID: t({
    name: 'CLAIM_USER_ID',
    type: 'string',
    description: 'Claim path of the user id (overrides the preset).',
  }),
  CLAIM_GROUPS: t({
    name: 'CLAIM_GROUPS',
    type: 'string',
    description: 'Claim path of the groups (overrides the preset).',
  }),
  CLAIM_CLIENT_ID: t({
    name: 'CLAIM_CLIENT_ID',
    type: 'string',
    description: 'Claim path of the client id (overrides the preset).',
  }),
  CLAIM_SCOPES: t({
    name: 'CLAIM_SCOPES',
    type: 'string',
    description: 'Claim path of the scopes (overrides the preset).',
  }),
  DEFAULT_GROUPS: t({
    name: 'DEFAULT_GROUPS',
    type: 'list',
    description: 'Extra Camunda groups for every principal of this tenant.',
  }),
  ALLOWED_CLIENTS: t({
    name: 'ALLOWED_CLIENTS',
    type: 'list',
    default: '(CLIENT_ID)',
    description:
      'Gateway, `app` mode: the allowlist of OAuth client ids whose tokens act in this tenant (not a credential: that is `CLIENT_ID`).',
  }),
  CLIENT_ID: t({
    name: 'CLIENT_ID',
    type: 'string',
    required: 'worker role; any client key',
    description: 'The tenant app’s own OAuth client id (token client).',
  }),
  CLIENT_SECRET: t({
    name: 'CLIENT_SECRET',
    type: 'string',
    secret: true,
    file: true,
    required: 'client_secret_basic/post',
    description: 'Client secret.',
  }),
  AUTH_METHOD: t({
    name: 'AUTH_METHOD',
    type: 'enum',
    values: AUTH_METHODS,
    default: '(from credentials)',
    description:
      'Token endpoint client authentication; default: secret → `client_secret_basic`, key → `private_key_jwt`, certificate → `tls_client_auth`.',
  }),
  TOKEN_ENDPOINT: t({
    name: 'TOKEN_ENDPOINT',
    type: 'url',
    description: 'Explicit token endpoint (skips discovery).',
  }),
  TOKEN_SCOPE: t({
    name: 'TOKEN_SCOPE',
    type: 'string',
    description: '`scope` request parameter (Keycloak, Okta; Entra: `api://x/.default`).',
  }),
  TOKEN_AUDIENCE: t({
    name: 'TOKEN_AUDIENCE',
    type: 'string',
    description: '`audience` request parameter (Auth0).',
  }),
  TOKEN_RESOURCE: t({
    name: 'TOKEN_RESOURCE',
    type: 'uri-list',
    description: 'RFC 8707 `resource` request parameter(s) (absolute URIs).',
  }),
  PRIVATE_KEY: t({
    name: 'PRIVATE_KEY',
    type: 'pem',
    secret: true,
    file: true,
    required: 'private_key_jwt',
    description: 'PEM private key signing the RFC 7523 client assertion.',
  }),
  PRIVATE_KEY_ID: t({
    name: 'PRIVATE_KEY_ID',
    type: 'string',
    description: '`kid` of the client assertion key.',
  }),
  ASSERTION_AUDIENCE: t({
    name: 'ASSERTION_AUDIENCE',
    type: 'enum',
    values: ['token_endpoint', 'issuer'],
    default: 'token_endpoint',
    description: '`aud` of the `private_key_jwt` assertion (Auth0 wants `issuer`).',
  }),
  TLS_CERT: t({
    name: 'TLS_CERT',
    type: 'pem',
    file: true,
    required: 'tls_client_auth',
    description: 'PEM client certificate (mTLS).',
  }),
  TLS_KEY: t({
    name: 'TLS_KEY',
    type: 'pem',
    secret: true,
    file: true,
    required: 'tls_client_auth',
    description: 'PEM key of the client certificate.',
  }),
  CA: t({
    name: 'CA',
    type: 'pem',
    file: true,
    description: 'Extra PEM trust anchor(s) for the IdP’s TLS certificate.',
  }),
  // ---- deployments and typed variables (issue 15: deployment profiles, object variables)
  DEPLOYERS: t({
    name: 'DEPLOYERS',
    type: 'list',
    description:
      'Who may deploy (`POST /deployment/create`, `…/redeploy`) in this tenant: entries `scope:<scope>`, `group:<engine group id>` or `client:<client id>` (that app, not the users logging in through it); a caller needs one. Unset: nobody (403 `C7AUTH_DEPLOY_FORBIDDEN`).',
  }),
  DEPLOY_PROFILE: t({
    name: 'DEPLOY_PROFILE',
    type: 'enum',
    values: DEPLOY_PROFILES,
    default: 'strict',
    description:
      'What a deployment may contain (docs/security-model.md): `strict` only models whose code runs outside the engine; `trusted` any code, but no `latest`-bound forms and no signal throws while shared signal subscriptions exist.',
  }),
  OBJECT_TYPES: t({
    name: 'OBJECT_TYPES',
    type: 'list',
    description:
      '`objectTypeName`s (exact Java class names, `java.util.ArrayList`) that `Object`-typed variable writes may name; any other is refused (400 `C7AUTH_VARIABLE_TYPE_FORBIDDEN`). Java serialization is always refused.',
  }),
  ON_BEHALF_OF: t({
    name: 'ON_BEHALF_OF',
    type: 'list',
    description:
      'Process definition keys (`*`: every key) whose instances keep the acting user’s delegation grant: when a user starts one or completes one of its user tasks, the gateway exchanges the user’s token (RFC 8693) for a grant of the tenant app (needs `CLIENT_ID`) and stores it encrypted in the vault on `C7AUTH_TOKEN_STORE`, for `ctx.fetch(url, { onBehalfOf })` in workers. Unset: off. See docs/on-behalf-of.md.',
  }),
  ON_BEHALF_OF_MAX_LIFETIME: t({
    name: 'ON_BEHALF_OF_MAX_LIFETIME',
    type: 'duration-s',
    default: '24h',
    description:
      'Longest a delegation grant stays in the vault (a bare number is seconds); it goes earlier when the instance ends, the grant is revoked or the grant itself expires.',
  }),
  ALLOW_INSECURE_HTTP: t({
    name: 'ALLOW_INSECURE_HTTP',
    type: 'bool',
    default: 'false',
    description: 'Allow `http:` IdP URLs on non-loopback hosts.',
  }),
} as const satisfies Record<string, ConfigKeySpec>

/** Every key the loader reads. */
export const CONFIG_SCHEMA: readonly ConfigKeySpec[] = [
  ...Object.values(GLOBAL_KEYS),
  ...Object.values(TENANT_KEYS),
]

/** A key that was renamed: the loader answers the old name with an error naming the new one. */
export interface RenamedKey {
  /** The old suffix (after `C7AUTH_` or `C7AUTH_TENANT_<ENVID>_`). */
  readonly oldName: string
  /** The key that replaces it. */
  readonly replacement: ConfigKeySpec
  /** Only in this role is the old name an error (a shared env file may still feed the other role). */
  readonly role?: 'gateway' | 'worker'
  /** Why it was renamed, for the error and the migration table (`docs/migration.md`). */
  readonly why: string
}

/**
 * Renamed keys. Old names are never read as values: a set old name is a configuration error that
 * names the replacement, so a stale deployment fails at start instead of silently losing a setting.
 */
export const RENAMED_KEYS: readonly RenamedKey[] = [
  {
    oldName: 'CLIENT_IDS',
    replacement: TENANT_KEYS.ALLOWED_CLIENTS,
    why: 'differed by one letter from CLIENT_ID, the tenant app’s own credential',
  },
  {
    oldName: 'ENGINE_URL',
    replacement: GLOBAL_KEYS.WORKER_GATEWAY_URL,
    role: 'worker',
    why: 'C7AUTH_ENGINE_URL names the engine for the gateway; a worker calls the gateway',
  },
]

/**
 * The env-safe form of a tenant id: upper-cased, every non-alphanumeric as `_`.
 *
 * @example
 * ```ts
 * envIdOf('acme-eu') // 'ACME_EU'
 * ```
 */
export function envIdOf(tenantId: string): string {
  return tenantId.toUpperCase().replace(/[^A-Z0-9]/g, '_')
}

/** The full variable name of a key (`envId` is required for tenant keys). */
export function envKeyOf(spec: ConfigKeySpec, envId?: string): string {
  if (spec.scope === 'global') return `C7AUTH_${spec.name}`
  return `C7AUTH_TENANT_${envId ?? '<ENVID>'}_${spec.name}`
}

const TYPE_LABEL: Record<ConfigValueType, string> = {
  string: 'string',
  url: 'URL',
  list: 'list',
  'uri-list': 'list of URIs',
  enum: 'enum',
  port: 'port',
  'duration-ms': 'duration',
  'duration-s': 'duration',
  bool: 'boolean',
  bytes: 'size',
  count: 'integer',
  regex: 'regex',
  pem: 'PEM',
}

/**
 * The environment table of docs/configuration.md, generated from {@link CONFIG_SCHEMA} (a test
 * keeps the doc in sync).
 *
 * @example
 * ```ts
 * console.log(renderEnvTable())
 * ```
 */
export function renderEnvTable(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|')
  const rows = CONFIG_SCHEMA.map((spec) => {
    const key = `\`${envKeyOf(spec)}\`${spec.file ? ' (`_FILE`)' : ''}`
    const type = spec.values
      ? spec.values.map((v) => `\`${v}\``).join(' \\| ')
      : TYPE_LABEL[spec.type]
    const def = spec.default === undefined ? '' : `\`${spec.default}\``
    const req = spec.required ?? ''
    const secret = spec.secret ? 'yes' : ''
    return `| ${key} | ${spec.scope} | ${type} | ${def} | ${esc(req)} | ${secret} | ${esc(spec.description)} |`
  })
  return [
    '| Variable | Scope | Type | Default | Required | Secret | Description |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}

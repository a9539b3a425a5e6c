import { readFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto'
import { ConfigError } from '../errors.js'
import { ASYMMETRIC_JWS_ALGORITHMS } from '../jws-algorithms.js'
import {
  DEFAULT_ENGINE_CONNECTIONS,
  GLOBAL_KEYS as G,
  RENAMED_KEYS,
  TENANT_KEYS as T,
  envIdOf,
  envKeyOf,
} from './schema.js'
import type { ConfigKeySpec } from './schema.js'
import type {
  C7AuthConfig,
  ClaimMappingOverrides,
  ClientAuthMethod,
  DeployProfile,
  EngineAuthMode,
  EngineAssertionConfig,
  EngineAuthorizationsMode,
  EngineConfig,
  IdpPreset,
  MetricsConfig,
  OAuthClientConfig,
  TenantConfig,
  TenantMode,
  TokenRequestParams,
  TokenStoreConfig,
  TokenStoreKey,
} from './types.js'
import { CLIENT_AUTH_CREDENTIALS, impliedClientAuthMethod } from './client-auth.js'
import type { ClientCredentialField } from './client-auth.js'
import { refusesPlainHttp } from './url-safety.js'
import { keyRingIssues, parseKeyRing } from '../token/store/key-ring.js'
import { NAMESPACE_PATTERN } from '../token/store/backend.js'
import { backendKindOf } from '../token/store/backend-kind.js'

/** The environment as a plain object (e.g. `process.env`). Only named keys are read. */
export type EnvSource = Readonly<Record<string, string | undefined>>

/** Options of {@link loadConfigFromEnv}. */
export interface LoadConfigOptions {
  /** Reads a `<KEY>_FILE` path. Default: `fs.readFileSync(path, 'utf8')`. */
  readFile?: (path: string) => string
  /**
   * `gateway` (default) enforces the engine-auth requirements (bridge/service credentials);
   * `worker` skips them and requires every tenant to have its own client (`CLIENT_ID`).
   */
  role?: 'gateway' | 'worker'
}

const ASYMMETRIC_ALGS: ReadonlySet<string> = new Set(ASYMMETRIC_JWS_ALGORITHMS)
const MIN_BRIDGE_SECRET = 32

type Raw = { state: 'unset' } | { state: 'bad' } | { state: 'set'; value: string; key: string }

/** Reads and validates keys, collecting every problem instead of stopping at the first. */
class EnvReader {
  readonly issues: string[] = []
  constructor(
    private readonly env: EnvSource,
    private readonly readFile: (path: string) => string,
  ) {}

  issue(message: string): void {
    this.issues.push(message)
  }

  /** True when the key or its `_FILE` variant is present (no validation, no issue). */
  /** True when the variable of this exact name is present (for renamed keys, never read as values). */
  has(name: string): boolean {
    return nonEmpty(this.env[name]) !== undefined
  }

  isSet(spec: ConfigKeySpec, envId?: string): boolean {
    const key = envKeyOf(spec, envId)
    return (
      nonEmpty(this.env[key]) !== undefined ||
      (spec.file === true && nonEmpty(this.env[`${key}_FILE`]) !== undefined)
    )
  }

  raw(spec: ConfigKeySpec, envId?: string): Raw {
    const key = envKeyOf(spec, envId)
    const direct = nonEmpty(this.env[key])
    if (!spec.file)
      return direct === undefined ? { state: 'unset' } : { state: 'set', value: direct, key }
    const fileKey = `${key}_FILE`
    const path = nonEmpty(this.env[fileKey])
    if (path === undefined) {
      return direct === undefined ? { state: 'unset' } : { state: 'set', value: direct, key }
    }
    if (direct !== undefined) {
      this.issue(`${key} and ${fileKey} are both set; set only one`)
      return { state: 'bad' }
    }
    let content: string
    try {
      content = this.readFile(path)
    } catch {
      this.issue(`${fileKey}: the file cannot be read`)
      return { state: 'bad' }
    }
    // Secret files usually end with a newline the secret does not contain.
    const value = spec.type === 'pem' ? content : content.replace(/[\r\n]+$/, '')
    if (value.trim() === '') {
      this.issue(`${fileKey}: the file is empty`)
      return { state: 'bad' }
    }
    return { state: 'set', value, key: fileKey }
  }

  private missing(spec: ConfigKeySpec, envId: string | undefined, why?: string): void {
    const key = envKeyOf(spec, envId)
    const alt = spec.file ? ` (or ${key}_FILE)` : ''
    this.issue(`${key}${alt}: required${why ? ` ${why}` : ''}`)
  }

  string(spec: ConfigKeySpec, envId?: string, required?: string | false): string | undefined {
    const r = this.raw(spec, envId)
    if (r.state === 'set') return r.value
    if (r.state === 'unset') {
      if (required !== undefined && required !== false) this.missing(spec, envId, required)
      else if (spec.default !== undefined && !spec.default.startsWith('(')) return spec.default
    }
    return undefined
  }

  required(spec: ConfigKeySpec, envId?: string, why = ''): string | undefined {
    return this.string(spec, envId, why)
  }

  /** A string that must hold (bad values are reported, `undefined` returned). */
  private check<V>(
    spec: ConfigKeySpec,
    envId: string | undefined,
    required: string | false | undefined,
    parse: (value: string) => V | undefined,
    expected: string,
  ): V | undefined {
    const r = this.raw(spec, envId)
    let value: string | undefined
    if (r.state === 'set') value = r.value
    else if (r.state === 'bad') return undefined
    else if (required !== undefined && required !== false) {
      this.missing(spec, envId, required)
      return undefined
    } else if (spec.default !== undefined && !spec.default.startsWith('(')) value = spec.default
    if (value === undefined) return undefined
    const parsed = parse(value)
    if (parsed === undefined) {
      this.issue(`${r.state === 'set' ? r.key : envKeyOf(spec, envId)}: ${expected}`)
    }
    return parsed
  }

  url(spec: ConfigKeySpec, envId?: string, required?: string | false): string | undefined {
    return this.check(spec, envId, required, parseUrl, 'must be an absolute http(s) URL')
  }

  uriList(spec: ConfigKeySpec, envId?: string): string[] | undefined {
    return this.check(
      spec,
      envId,
      undefined,
      (v) => {
        const items = splitList(v)
        return items.every(isAbsoluteUri) ? items : undefined
      },
      'must be a comma-separated list of absolute URIs without fragment',
    )
  }

  list(spec: ConfigKeySpec, envId?: string, required?: string | false): string[] {
    const v = this.string(spec, envId, required)
    return v === undefined ? [] : splitList(v)
  }

  enum<E extends string>(spec: ConfigKeySpec, envId?: string): E | undefined {
    const values = spec.values ?? []
    return this.check(
      spec,
      envId,
      undefined,
      (v) => (values.includes(v) ? (v as E) : undefined),
      `must be one of ${values.join(', ')}`,
    )
  }

  port(spec: ConfigKeySpec): number | undefined {
    return this.check(
      spec,
      undefined,
      undefined,
      (v) => {
        if (!/^\d{1,5}$/.test(v)) return undefined
        const n = Number(v)
        return n <= 65535 ? n : undefined
      },
      'must be an integer from 0 to 65535',
    )
  }

  duration(spec: ConfigKeySpec, unit: 'ms' | 's', envId?: string): number | undefined {
    return this.check(
      spec,
      envId,
      undefined,
      (v) => parseDuration(v, unit),
      'must be a duration such as 500ms, 30s, 5m or 1h',
    )
  }

  bool(spec: ConfigKeySpec, envId?: string): boolean | undefined {
    return this.check(
      spec,
      envId,
      undefined,
      (v) => {
        const s = v.toLowerCase()
        if (['true', '1', 'yes', 'on'].includes(s)) return true
        if (['false', '0', 'no', 'off'].includes(s)) return false
        return undefined
      },
      'must be true or false',
    )
  }

  bytes(spec: ConfigKeySpec): number | undefined {
    return this.check(
      spec,
      undefined,
      undefined,
      (v) => {
        const m = /^(\d+)\s*(b|kb|mb)?$/i.exec(v)
        if (!m) return undefined
        const mult = { b: 1, kb: 1024, mb: 1024 * 1024 }[(m[2] ?? 'b').toLowerCase() as 'b']
        const n = Number(m[1]) * mult
        return n > 0 && Number.isSafeInteger(n) ? n : undefined
      },
      'must be a positive size such as 512kb, 1mb or a number of bytes',
    )
  }

  count(spec: ConfigKeySpec): number | undefined {
    return this.check(
      spec,
      undefined,
      undefined,
      (v) => {
        if (!/^\d+$/.test(v)) return undefined
        const n = Number(v)
        return n > 0 && Number.isSafeInteger(n) ? n : undefined
      },
      'must be a positive integer',
    )
  }

  regex(spec: ConfigKeySpec): string | undefined {
    return this.check(
      spec,
      undefined,
      undefined,
      (v) => {
        try {
          new RegExp(`^(?:${v})$`)
          return v
        } catch {
          return undefined
        }
      },
      'must be a valid regular expression',
    )
  }

  pem(
    spec: ConfigKeySpec,
    kind: 'private-key' | 'public-key' | 'certificate',
    envId?: string,
  ): string | undefined {
    return this.check(
      spec,
      envId,
      undefined,
      (v) => (isPem(v, kind) ? v : undefined),
      kind === 'private-key'
        ? 'must be a PEM private key'
        : kind === 'public-key'
          ? 'must hold PEM public keys'
          : 'must be a PEM certificate',
    )
  }
}

/**
 * Builds the whole c7auth configuration from an environment object. Pure: reads only the keys
 * of {@link CONFIG_SCHEMA} (never scans by prefix) and files named by `<KEY>_FILE` through
 * `readFile`. Every problem is collected and thrown at once as a {@link ConfigError} that names
 * keys, never values.
 *
 * @example
 * ```ts
 * const config = loadConfigFromEnv(process.env)
 * const acme = config.tenants.find((t) => t.id === 'acme')
 * ```
 */
export function loadConfigFromEnv(env: EnvSource, options: LoadConfigOptions = {}): C7AuthConfig {
  const r = new EnvReader(env, options.readFile ?? ((path) => readFileSync(path, 'utf8')))
  const role = options.role ?? 'gateway'

  const logLevel = r.enum<C7AuthConfig['logLevel']>(G.LOG_LEVEL) ?? 'info'
  const engine = readEngine(r, role)
  const idRegex = compileIdPattern(engine.idPattern)
  const tenants = readTenants(r, role, idRegex)
  const gateway = readGateway(r, tenants)
  const tokenStore = readTokenStore(r)
  reportRenamedKeys(r, role, tenants)

  if (r.issues.length > 0) throw new ConfigError(r.issues)
  return { tenants, engine, gateway, logLevel, tokenStore }
}

function readTokenStore(r: EnvReader): TokenStoreConfig {
  const url = r.string(G.TOKEN_STORE) ?? 'memory'
  const storeKey = envKeyOf(G.TOKEN_STORE)
  const keysKey = envKeyOf(G.TOKEN_STORE_KEYS)
  const namespace = r.string(G.TOKEN_STORE_NAMESPACE) ?? 'c7auth'
  const timeoutMs = r.duration(G.TOKEN_STORE_TIMEOUT, 'ms') ?? 1000
  if (url.trim() === 'memory') {
    if (r.isSet(G.TOKEN_STORE_KEYS)) {
      r.issue(`${keysKey}: only used with a shared ${storeKey} (redis:// or postgres://)`)
    }
    return { kind: 'memory' }
  }
  const kind = backendKindOf(url)
  if (kind === undefined) {
    // Names the key only: the value may hold a password.
    r.issue(`${storeKey}: must be memory, redis://…, rediss://…, postgres://… or postgresql://…`)
  }
  if (!NAMESPACE_PATTERN.test(namespace)) {
    r.issue(
      `${envKeyOf(G.TOKEN_STORE_NAMESPACE)}: must match [a-z_][a-z0-9_]* (at most 48 characters)`,
    )
  }
  if (timeoutMs <= 0) r.issue(`${envKeyOf(G.TOKEN_STORE_TIMEOUT)}: must be positive`)
  const rawKeys = r.string(G.TOKEN_STORE_KEYS, undefined, 'with a shared token store')
  let keys: TokenStoreKey[] = []
  if (rawKeys !== undefined) {
    const parsed = parseKeyRing(rawKeys)
    if (parsed === undefined) {
      r.issue(
        `${keysKey}: entries must be <id>:<base64 of 32 bytes>, separated by commas or newlines`,
      )
    } else {
      for (const issue of keyRingIssues(parsed, keysKey)) r.issue(issue)
      keys = parsed
    }
  }
  return { kind: kind ?? 'redis', url: url.trim(), keys, namespace, timeoutMs }
}

/**
 * An old key name that is still set is an error naming its replacement (values never echoed). A
 * role-bound rename (the worker's gateway URL) is an error only when its replacement is unset, so one
 * env file may still feed both the gateway and its workers.
 */
function reportRenamedKeys(
  r: EnvReader,
  role: 'gateway' | 'worker',
  tenants: readonly TenantConfig[],
): void {
  for (const renamed of RENAMED_KEYS) {
    if (renamed.role !== undefined && renamed.role !== role) continue
    const envIds =
      renamed.replacement.scope === 'global' ? [undefined] : tenants.map((t) => t.envId)
    for (const envId of envIds) {
      const replacement = envKeyOf(renamed.replacement, envId)
      const old = replacement.slice(0, -renamed.replacement.name.length) + renamed.oldName
      if (!r.has(old)) continue
      if (renamed.role !== undefined && r.isSet(renamed.replacement, envId)) continue
      r.issue(
        `${old}: renamed to ${replacement} (${renamed.why}); set ${replacement} instead (see docs/migration.md)`,
      )
    }
  }
}

function readEngine(r: EnvReader, role: 'gateway' | 'worker'): EngineConfig {
  // The gateway forwards to the engine; a worker calls the gateway. Two keys, so neither changes
  // meaning by role. A worker with only the old name set gets the rename error instead.
  const urlKey = role === 'gateway' ? G.ENGINE_URL : G.WORKER_GATEWAY_URL
  const renamedAway = role === 'worker' && r.has(envKeyOf(G.ENGINE_URL))
  const url =
    r.url(urlKey, undefined, renamedAway ? false : role === 'worker' ? 'in the worker role' : '') ??
    ''
  const auth = r.enum<EngineAuthMode>(G.ENGINE_AUTH) ?? 'bridge'
  const enforce = role === 'gateway'
  const bridge = enforce && auth === 'bridge' ? 'in bridge mode' : false
  const service = enforce && auth === 'service' ? 'in service mode' : false
  const engine: EngineConfig = {
    url,
    auth,
    adminGroup: r.string(G.ENGINE_ADMIN_GROUP) ?? 'camunda-admin',
    userHeader: r.string(G.ENGINE_USER_HEADER) ?? 'Context-User-ID',
    idPattern: r.regex(G.ENGINE_ID_PATTERN) ?? '[a-zA-Z0-9]+',
    timeoutMs: r.duration(G.ENGINE_TIMEOUT, 'ms') ?? 30_000,
    maxLongPollMs: r.duration(G.ENGINE_MAX_LONG_POLL, 'ms') ?? 60_000,
    connections: r.count(G.ENGINE_CONNECTIONS) ?? DEFAULT_ENGINE_CONNECTIONS,
    authorizations: r.enum<EngineAuthorizationsMode>(G.ENGINE_AUTHORIZATIONS) ?? 'none',
  }
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(engine.userHeader)) {
    r.issue(`${envKeyOf(G.ENGINE_USER_HEADER)}: must be a valid HTTP header name`)
  }
  assign(engine, 'adminUser', r.string(G.ENGINE_ADMIN_USER, undefined, bridge))
  assign(engine, 'adminPassword', r.string(G.ENGINE_ADMIN_PASSWORD, undefined, bridge))
  assign(engine, 'serviceUser', r.string(G.ENGINE_SERVICE_USER, undefined, service))
  assign(engine, 'servicePassword', r.string(G.ENGINE_SERVICE_PASSWORD, undefined, service))
  const bridgeSecret = r.string(G.BRIDGE_SECRET, undefined, bridge)
  if (bridgeSecret !== undefined && bridgeSecret.length < MIN_BRIDGE_SECRET) {
    r.issue(`${envKeyOf(G.BRIDGE_SECRET)}: must be at least ${MIN_BRIDGE_SECRET} characters long`)
  }
  assign(engine, 'bridgeSecret', bridgeSecret)
  if (auth === 'assertion' && enforce) assign(engine, 'assertion', readAssertion(r))
  return engine
}

function readAssertion(r: EnvReader): EngineAssertionConfig | undefined {
  const why = 'in assertion mode'
  const issuer = r.string(G.ENGINE_ASSERTION_ISSUER, undefined, why)
  const audience = r.string(G.ENGINE_ASSERTION_AUDIENCE, undefined, why)
  if (!r.isSet(G.ENGINE_ASSERTION_KEY)) {
    r.issue(
      `${envKeyOf(G.ENGINE_ASSERTION_KEY)} (or ${envKeyOf(G.ENGINE_ASSERTION_KEY)}_FILE): required ${why}`,
    )
  }
  const privateKeyPem = r.pem(G.ENGINE_ASSERTION_KEY, 'private-key')
  const extra = r.pem(G.ENGINE_ASSERTION_EXTRA_KEYS, 'public-key')
  const jwksPath = r.string(G.ENGINE_ASSERTION_JWKS_PATH) ?? '/.well-known/jwks.json'
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(jwksPath)) {
    r.issue(`${envKeyOf(G.ENGINE_ASSERTION_JWKS_PATH)}: must be an absolute URL path`)
  }
  // Read every key before giving up, so one run reports every problem.
  const keyId = r.string(G.ENGINE_ASSERTION_KEY_ID)
  const algorithm = r.enum<'RS256' | 'PS256' | 'ES256'>(G.ENGINE_ASSERTION_ALGORITHM)
  if (issuer === undefined || audience === undefined || privateKeyPem === undefined)
    return undefined
  const out: EngineAssertionConfig = { issuer, audience, privateKeyPem, jwksPath }
  assign(out, 'keyId', keyId)
  assign(out, 'algorithm', algorithm)
  assign(out, 'extraPublicKeysPem', extra)
  return out
}

function compileIdPattern(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`)
  } catch {
    return /^[a-zA-Z0-9]+$/
  }
}

function readTenants(r: EnvReader, role: 'gateway' | 'worker', idRegex: RegExp): TenantConfig[] {
  const ids = r.list(G.TENANTS, undefined, '')
  const tenantsKey = envKeyOf(G.TENANTS)
  if (ids.length === 0 && r.isSet(G.TENANTS))
    r.issue(`${tenantsKey}: must name at least one tenant`)
  const seenIds = new Map<string, number>()
  const seenEnvIds = new Map<string, number>()
  const tenants: TenantConfig[] = []
  ids.forEach((id, index) => {
    const n = index + 1
    const envId = envIdOf(id)
    const firstId = seenIds.get(id)
    if (firstId !== undefined) {
      r.issue(`${tenantsKey}: entries #${firstId} and #${n} name the same tenant`)
      return
    }
    seenIds.set(id, n)
    const firstEnv = seenEnvIds.get(envId)
    if (firstEnv !== undefined) {
      r.issue(
        `${tenantsKey}: entries #${firstEnv} and #${n} both map to C7AUTH_TENANT_${envId}_* (ids must differ after upper-casing and replacing non-alphanumerics with _)`,
      )
      return
    }
    seenEnvIds.set(envId, n)
    if (!idRegex.test(id)) {
      r.issue(`${tenantsKey}: entry #${n} does not match ${envKeyOf(G.ENGINE_ID_PATTERN)}`)
    }
    tenants.push(readTenant(r, role, id, envId))
  })
  return tenants
}

function readTenant(
  r: EnvReader,
  role: 'gateway' | 'worker',
  id: string,
  envId: string,
): TenantConfig {
  const allowInsecureHttp = r.bool(T.ALLOW_INSECURE_HTTP, envId) ?? false
  const issuer = r.url(T.ISSUER, envId, '')
  const tenant: TenantConfig = {
    id,
    envId,
    name: r.string(T.NAME, envId) ?? id,
    preset: r.enum<IdpPreset>(T.PRESET, envId) ?? 'generic',
    clientIds: [],
    defaultGroups: r.list(T.DEFAULT_GROUPS, envId),
  }
  assign(tenant, 'issuer', issuer)
  requireTls(r, T.ISSUER, envId, issuer, allowInsecureHttp)
  const audience = r.list(T.AUDIENCE, envId)
  if (audience.length > 0) tenant.audience = audience
  const jwksUri = r.url(T.JWKS_URI, envId)
  requireTls(r, T.JWKS_URI, envId, jwksUri, allowInsecureHttp)
  assign(tenant, 'jwksUri', jwksUri)
  const algorithms = r.list(T.ALGORITHMS, envId)
  if (algorithms.length > 0) {
    if (!algorithms.every((a) => ASYMMETRIC_ALGS.has(a))) {
      r.issue(
        `${envKeyOf(T.ALGORITHMS, envId)}: only asymmetric algorithms are accepted (RS*, PS*, ES*, EdDSA)`,
      )
    }
    tenant.algorithms = algorithms
  }
  const claims: ClaimMappingOverrides = {}
  assign(claims, 'userId', r.string(T.CLAIM_USER_ID, envId))
  assign(claims, 'groups', r.string(T.CLAIM_GROUPS, envId))
  assign(claims, 'clientId', r.string(T.CLAIM_CLIENT_ID, envId))
  assign(claims, 'scopes', r.string(T.CLAIM_SCOPES, envId))
  if (Object.keys(claims).length > 0) tenant.claims = claims

  const client = readClient(r, role, envId, issuer, allowInsecureHttp)
  if (client) tenant.client = client
  const clientIds = r.list(T.ALLOWED_CLIENTS, envId)
  tenant.clientIds = clientIds.length > 0 ? clientIds : client ? [client.clientId] : []
  readTenantDeployments(r, envId, tenant)
  readOnBehalfOf(r, role, envId, tenant)
  return tenant
}

/** Default of `C7AUTH_TENANT_<ENVID>_ON_BEHALF_OF_MAX_LIFETIME`, seconds. */
const ON_BEHALF_OF_MAX_LIFETIME_S = 24 * 3600

/** On-behalf-of opt-in of one tenant (issue 14): which process definitions, how long. */
function readOnBehalfOf(
  r: EnvReader,
  role: 'gateway' | 'worker',
  envId: string,
  tenant: TenantConfig,
): void {
  const keys = r.list(T.ON_BEHALF_OF, envId)
  const maxLifetime = r.duration(T.ON_BEHALF_OF_MAX_LIFETIME, 's', envId)
  if (keys.length === 0) {
    if (r.isSet(T.ON_BEHALF_OF_MAX_LIFETIME, envId)) {
      r.issue(
        `${envKeyOf(T.ON_BEHALF_OF_MAX_LIFETIME, envId)}: only used with ${envKeyOf(T.ON_BEHALF_OF, envId)}`,
      )
    }
    return
  }
  if (maxLifetime !== undefined && maxLifetime <= 0) {
    r.issue(`${envKeyOf(T.ON_BEHALF_OF_MAX_LIFETIME, envId)}: must be positive`)
  }
  // The gateway obtains the grant with the tenant app's credentials: the grant is the app's.
  if (role === 'gateway' && tenant.client === undefined) {
    r.issue(`${envKeyOf(T.ON_BEHALF_OF, envId)}: requires ${envKeyOf(T.CLIENT_ID, envId)}`)
  }
  tenant.onBehalfOf = {
    processDefinitionKeys: keys,
    maxLifetimeSeconds: maxLifetime ?? ON_BEHALF_OF_MAX_LIFETIME_S,
  }
}

const DEPLOYER = /^(scope|group|client):\S+$/

/** Deployment grants, profile and object-type allowlist of one tenant (one block, issue 15). */
function readTenantDeployments(r: EnvReader, envId: string, tenant: TenantConfig): void {
  const deployers = r.list(T.DEPLOYERS, envId)
  if (deployers.some((d) => !DEPLOYER.test(d))) {
    r.issue(
      `${envKeyOf(T.DEPLOYERS, envId)}: every entry must be scope:<scope>, group:<group> or client:<client id>`,
    )
  }
  if (deployers.length > 0) tenant.deployers = deployers
  tenant.deployProfile = r.enum<DeployProfile>(T.DEPLOY_PROFILE, envId) ?? 'strict'
  const objectTypes = r.list(T.OBJECT_TYPES, envId)
  if (objectTypes.length > 0) tenant.objectTypes = objectTypes
}

function readClient(
  r: EnvReader,
  role: 'gateway' | 'worker',
  envId: string,
  issuer: string | undefined,
  allowInsecureHttp: boolean,
): OAuthClientConfig | undefined {
  const clientId = r.string(T.CLIENT_ID, envId, role === 'worker' ? 'in the worker role' : false)
  const secret = r.string(T.CLIENT_SECRET, envId)
  const privateKey = r.pem(T.PRIVATE_KEY, 'private-key', envId)
  const privateKeyId = r.string(T.PRIVATE_KEY_ID, envId)
  const assertionAudience = r.enum<'token_endpoint' | 'issuer'>(T.ASSERTION_AUDIENCE, envId)
  const tlsCert = r.pem(T.TLS_CERT, 'certificate', envId)
  const tlsKey = r.pem(T.TLS_KEY, 'private-key', envId)
  const ca = r.pem(T.CA, 'certificate', envId)
  const method = r.enum<ClientAuthMethod>(T.AUTH_METHOD, envId)
  const tokenEndpoint = r.url(T.TOKEN_ENDPOINT, envId)
  requireTls(r, T.TOKEN_ENDPOINT, envId, tokenEndpoint, allowInsecureHttp)
  const params: TokenRequestParams = {}
  assign(params, 'scope', r.string(T.TOKEN_SCOPE, envId))
  assign(params, 'audience', r.string(T.TOKEN_AUDIENCE, envId))
  const resource = r.uriList(T.TOKEN_RESOURCE, envId)
  if (resource && resource.length > 0)
    params.resource = resource.length === 1 ? resource[0]! : resource

  const clientKeys = [
    T.CLIENT_SECRET,
    T.PRIVATE_KEY,
    T.TLS_CERT,
    T.TLS_KEY,
    T.AUTH_METHOD,
    T.TOKEN_ENDPOINT,
  ]
  if (clientId === undefined) {
    const stray = clientKeys.filter((spec) => r.isSet(spec, envId))
    for (const spec of stray) {
      r.issue(`${envKeyOf(spec, envId)}: requires ${envKeyOf(T.CLIENT_ID, envId)}`)
    }
    return undefined
  }

  const fields: Record<ClientCredentialField, { spec: ConfigKeySpec; value: string | undefined }> =
    {
      clientSecret: { spec: T.CLIENT_SECRET, value: secret },
      privateKeyPem: { spec: T.PRIVATE_KEY, value: privateKey },
      tlsCertPem: { spec: T.TLS_CERT, value: tlsCert },
      tlsKeyPem: { spec: T.TLS_KEY, value: tlsKey },
    }
  // The default method follows the credential present (even if that credential is invalid).
  const authMethod: ClientAuthMethod | undefined =
    method ?? impliedClientAuthMethod((field) => r.isSet(fields[field].spec, envId))
  if (authMethod === undefined) {
    if (!r.isSet(T.AUTH_METHOD, envId)) {
      r.issue(
        `${envKeyOf(T.CLIENT_ID, envId)}: a credential is required (CLIENT_SECRET, PRIVATE_KEY or TLS_CERT + TLS_KEY, or AUTH_METHOD=none)`,
      )
    }
  } else {
    for (const field of CLIENT_AUTH_CREDENTIALS[authMethod]) {
      const { spec, value } = fields[field]
      if (value === undefined && !r.isSet(spec, envId)) {
        r.issue(
          `${envKeyOf(spec, envId)} (or ${envKeyOf(spec, envId)}_FILE): required for ${authMethod}`,
        )
      }
    }
  }
  const client: OAuthClientConfig = {
    clientId,
    authMethod: authMethod ?? 'none',
    params,
  }
  assign(client, 'issuer', issuer)
  assign(client, 'tokenEndpoint', tokenEndpoint)
  assign(client, 'clientSecret', secret)
  assign(client, 'privateKeyPem', privateKey)
  assign(client, 'privateKeyId', privateKeyId)
  if (assertionAudience === 'issuer') client.assertionAudience = 'issuer'
  assign(client, 'tlsCertPem', tlsCert)
  assign(client, 'tlsKeyPem', tlsKey)
  assign(client, 'caPem', ca)
  if (allowInsecureHttp) client.allowInsecureHttp = true
  return client
}

const MIN_METRICS_TOKEN = 32

/** Where `/metrics` is served and whether it needs a bearer token. */
function readMetrics(r: EnvReader): MetricsConfig {
  const metrics: MetricsConfig = { host: r.string(G.GATEWAY_METRICS_HOST) ?? '127.0.0.1' }
  assign(metrics, 'port', r.port(G.GATEWAY_METRICS_PORT))
  const token = r.string(G.GATEWAY_METRICS_TOKEN)
  if (token !== undefined && token.length < MIN_METRICS_TOKEN) {
    r.issue(
      `${envKeyOf(G.GATEWAY_METRICS_TOKEN)}: must be at least ${MIN_METRICS_TOKEN} characters long`,
    )
  }
  assign(metrics, 'token', token)
  return metrics
}

function readGateway(r: EnvReader, tenants: TenantConfig[]): C7AuthConfig['gateway'] {
  const tenantMode = r.enum<TenantMode>(G.GATEWAY_TENANT_MODE) ?? 'app'
  const basePath = r.string(G.GATEWAY_BASE_PATH) ?? '/engine-rest'
  if (!/^\/[^?#\s]*$/.test(basePath) || (basePath.length > 1 && basePath.endsWith('/'))) {
    r.issue(`${envKeyOf(G.GATEWAY_BASE_PATH)}: must start with / and not end with /`)
  }
  const gateway: C7AuthConfig['gateway'] = {
    host: r.string(G.GATEWAY_HOST) ?? '0.0.0.0',
    port: r.port(G.GATEWAY_PORT) ?? 8080,
    basePath,
    tenantMode,
    tenantClaim: r.string(G.GATEWAY_TENANT_CLAIM) ?? 'tenant',
    clockToleranceSeconds: r.duration(G.GATEWAY_CLOCK_TOLERANCE, 's') ?? 60,
    maxTokenLifetimeSeconds: r.duration(G.GATEWAY_MAX_TOKEN_LIFETIME, 's') ?? 86_400,
    requireTypAtJwt: r.bool(G.GATEWAY_REQUIRE_TYP_AT_JWT) ?? false,
    adminGroups: r.list(G.GATEWAY_ADMIN_GROUPS),
    defaultGroups: {
      app: r.list(G.GATEWAY_DEFAULT_APP_GROUPS),
      user: r.list(G.GATEWAY_DEFAULT_USER_GROUPS),
    },
    groupAllowlist: r.list(G.GATEWAY_GROUP_ALLOWLIST),
    actingUserVariable: r.string(G.GATEWAY_ACTING_USER_VARIABLE) ?? 'c7authActingUser',
    maxBodyBytes: r.bytes(G.GATEWAY_MAX_BODY) ?? 1024 * 1024,
  }
  gateway.metrics = readMetrics(r)
  assign(gateway, 'publicUrl', r.url(G.GATEWAY_PUBLIC_URL))
  assign(gateway, 'queryMaxResults', r.count(G.GATEWAY_QUERY_MAX_RESULTS))
  assign(gateway, 'maxTokenAgeSeconds', r.duration(G.GATEWAY_MAX_TOKEN_AGE, 's'))
  const fixed = r.string(
    G.GATEWAY_FIXED_TENANT,
    undefined,
    tenantMode === 'fixed' ? 'in fixed mode' : false,
  )
  if (fixed !== undefined) {
    if (!tenants.some((t) => t.id === fixed)) {
      r.issue(`${envKeyOf(G.GATEWAY_FIXED_TENANT)}: must be one of ${envKeyOf(G.TENANTS)}`)
    }
    gateway.fixedTenant = fixed
  }
  gateway.adminIssuers = readAdminIssuers(r, tenants, gateway.adminGroups)
  const audience = r.list(G.GATEWAY_AUDIENCE)
  if (audience.length > 0) gateway.audience = audience
  const cert = r.pem(G.GATEWAY_TLS_CERT, 'certificate')
  const key = r.pem(G.GATEWAY_TLS_KEY, 'private-key')
  const certSet = r.isSet(G.GATEWAY_TLS_CERT)
  const keySet = r.isSet(G.GATEWAY_TLS_KEY)
  if (certSet !== keySet) {
    r.issue(
      `${envKeyOf(G.GATEWAY_TLS_CERT)} and ${envKeyOf(G.GATEWAY_TLS_KEY)}: set both or neither`,
    )
  }
  assign(gateway, 'tlsCertPem', cert)
  assign(gateway, 'tlsKeyPem', key)
  return gateway
}

/**
 * Admin is opt-in per issuer: with per-tenant IdPs, any tenant's IdP could otherwise issue a
 * token carrying an admin group name.
 */
function readAdminIssuers(r: EnvReader, tenants: TenantConfig[], adminGroups: string[]): string[] {
  const key = envKeyOf(G.GATEWAY_ADMIN_ISSUERS)
  const parsed = r.uriList(G.GATEWAY_ADMIN_ISSUERS)
  const issuers = parsed ?? []
  const invalid = parsed === undefined && r.isSet(G.GATEWAY_ADMIN_ISSUERS)
  if (adminGroups.length > 0 && issuers.length === 0 && !invalid) {
    r.issue(
      `${envKeyOf(G.GATEWAY_ADMIN_GROUPS)}: requires ${key} (the issuers whose tokens may carry admin groups; every other issuer's tokens are never admin)`,
    )
  }
  const known = new Set(tenants.map((t) => t.issuer).filter((i) => i !== undefined))
  issuers.forEach((issuer, index) => {
    if (!known.has(issuer)) {
      r.issue(
        `${key}: entry #${index + 1} is not the C7AUTH_TENANT_<ENVID>_ISSUER of any tenant (it must match exactly)`,
      )
    }
  })
  return [...new Set(issuers)]
}

function requireTls(
  r: EnvReader,
  spec: ConfigKeySpec,
  envId: string,
  url: string | undefined,
  allowInsecureHttp: boolean,
): void {
  if (url !== undefined && refusesPlainHttp(url, allowInsecureHttp)) {
    r.issue(
      `${envKeyOf(spec, envId)}: must use https (http is accepted only on loopback hosts or with ${envKeyOf(T.ALLOW_INSECURE_HTTP, envId)}=true)`,
    )
  }
}

function assign<O extends object, K extends keyof O>(
  target: O,
  key: K,
  value: O[K] | undefined,
): void {
  if (value !== undefined) target[key] = value
}

function nonEmpty(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : value
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function parseUrl(value: string): string | undefined {
  try {
    const url = new URL(value.trim())
    return url.protocol === 'http:' || url.protocol === 'https:' ? value.trim() : undefined
  } catch {
    return undefined
  }
}

function isAbsoluteUri(value: string): boolean {
  try {
    return new URL(value).hash === '' && /^[a-z][a-z0-9+.-]*:/i.test(value)
  } catch {
    return false
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

function parseDuration(value: string, unit: 'ms' | 's'): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim())
  if (!m) return undefined
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? unit]!
  const result = unit === 'ms' ? Math.round(ms) : ms / 1000
  return Number.isFinite(result) ? result : undefined
}

function isPem(value: string, kind: 'private-key' | 'public-key' | 'certificate'): boolean {
  try {
    if (kind === 'public-key') return splitPublicKeyPems(value) !== undefined
    if (kind === 'private-key') createPrivateKey(value)
    else new X509Certificate(value)
    return true
  } catch {
    return false
  }
}

/**
 * The `PUBLIC KEY` blocks of a PEM bundle, each parseable; undefined when the bundle holds anything
 * else (a private key or certificate by mistake) or nothing.
 */
export function splitPublicKeyPems(value: string): string[] | undefined {
  const blocks = value.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? []
  const rest = value.replace(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g, '')
  if (blocks.length === 0 || rest.trim() !== '') return undefined
  try {
    for (const b of blocks) createPublicKey(b)
  } catch {
    return undefined
  }
  return blocks
}

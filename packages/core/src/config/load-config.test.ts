import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { loadConfigFromEnv } from './load-config.js'
import { CONFIG_SCHEMA, RENAMED_KEYS, envIdOf, renderEnvTable } from './schema.js'

const SECRET = 'sup3r-s3cret:+%value'
const BRIDGE = 'b'.repeat(40)
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

function base(): Record<string, string> {
  return {
    C7AUTH_TENANTS: 'acme,globex',
    C7AUTH_ENGINE_URL: 'http://camunda:8080/engine-rest',
    C7AUTH_WORKER_GATEWAY_URL: 'https://gateway.example/engine-rest',
    C7AUTH_ENGINE_ADMIN_USER: 'admin',
    C7AUTH_ENGINE_ADMIN_PASSWORD: 'admin-pw',
    C7AUTH_BRIDGE_SECRET: BRIDGE,
    C7AUTH_TENANT_ACME_ISSUER: 'https://idp.example/realms/acme',
    C7AUTH_TENANT_ACME_CLIENT_ID: 'acme-app',
    C7AUTH_TENANT_ACME_CLIENT_SECRET: SECRET,
    C7AUTH_TENANT_GLOBEX_ISSUER: 'https://globex.eu.auth0.com/',
  }
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfigFromEnv', () => {
  it('builds a full config with documented defaults', () => {
    const config = loadConfigFromEnv(base())
    expect(config.logLevel).toBe('info')
    expect(config.engine).toEqual({
      url: 'http://camunda:8080/engine-rest',
      auth: 'bridge',
      adminUser: 'admin',
      adminPassword: 'admin-pw',
      bridgeSecret: BRIDGE,
      adminGroup: 'camunda-admin',
      userHeader: 'Context-User-ID',
      idPattern: '[a-zA-Z0-9]+',
      timeoutMs: 30_000,
      maxLongPollMs: 60_000,
      connections: 64,
      authorizations: 'none',
    })
    expect(config.gateway).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      basePath: '/engine-rest',
      tenantMode: 'app',
      tenantClaim: 'tenant',
      clockToleranceSeconds: 60,
      requireTypAtJwt: false,
      actingUserVariable: 'c7authActingUser',
      maxBodyBytes: 1024 * 1024,
    })
    const [acme, globex] = config.tenants
    expect(acme).toEqual({
      id: 'acme',
      envId: 'ACME',
      name: 'acme',
      issuer: 'https://idp.example/realms/acme',
      preset: 'generic',
      clientIds: ['acme-app'],
      defaultGroups: [],
      deployProfile: 'strict',
      client: {
        clientId: 'acme-app',
        clientSecret: SECRET,
        authMethod: 'client_secret_basic',
        issuer: 'https://idp.example/realms/acme',
        params: {},
      },
    })
    expect(globex).toMatchObject({ id: 'globex', clientIds: [] })
    expect(globex?.client).toBeUndefined()
  })

  it('reads every tenant key: request params, presets, claims, algorithms', () => {
    const config = loadConfigFromEnv({
      ...base(),
      C7AUTH_TENANTS: 'acme-eu',
      C7AUTH_ENGINE_ID_PATTERN: '[a-z0-9-]+',
      C7AUTH_TENANT_ACME_EU_ISSUER: 'https://login.microsoftonline.com/t/v2.0',
      C7AUTH_TENANT_ACME_EU_AUDIENCE: 'api://c7, https://c7',
      C7AUTH_TENANT_ACME_EU_PRESET: 'entra',
      C7AUTH_TENANT_ACME_EU_ALGORITHMS: 'RS256,PS256',
      C7AUTH_TENANT_ACME_EU_CLAIM_USER_ID: 'oid',
      C7AUTH_TENANT_ACME_EU_CLAIM_GROUPS: 'roles',
      C7AUTH_TENANT_ACME_EU_DEFAULT_GROUPS: 'acmeUsers',
      C7AUTH_TENANT_ACME_EU_CLIENT_ID: 'app',
      C7AUTH_TENANT_ACME_EU_ALLOWED_CLIENTS: 'app,app2',
      C7AUTH_TENANT_ACME_EU_CLIENT_SECRET: 's',
      C7AUTH_TENANT_ACME_EU_AUTH_METHOD: 'client_secret_post',
      C7AUTH_TENANT_ACME_EU_TOKEN_ENDPOINT: 'https://login.microsoftonline.com/t/oauth2/v2.0/token',
      C7AUTH_TENANT_ACME_EU_TOKEN_SCOPE: 'api://downstream/.default',
      C7AUTH_TENANT_ACME_EU_TOKEN_AUDIENCE: 'https://api.acme',
      C7AUTH_TENANT_ACME_EU_TOKEN_RESOURCE: 'https://a.example, https://b.example',
      C7AUTH_GATEWAY_TENANT_MODE: 'fixed',
      C7AUTH_GATEWAY_FIXED_TENANT: 'acme-eu',
      C7AUTH_GATEWAY_CLOCK_TOLERANCE: '2m',
      C7AUTH_ENGINE_TIMEOUT: '1500',
      C7AUTH_GATEWAY_MAX_BODY: '512kb',
      C7AUTH_GATEWAY_REQUIRE_TYP_AT_JWT: 'yes',
      C7AUTH_LOG_LEVEL: 'debug',
    })
    const [t] = config.tenants
    expect(t).toMatchObject({
      id: 'acme-eu',
      envId: 'ACME_EU',
      audience: ['api://c7', 'https://c7'],
      preset: 'entra',
      algorithms: ['RS256', 'PS256'],
      claims: { userId: 'oid', groups: 'roles' },
      defaultGroups: ['acmeUsers'],
      clientIds: ['app', 'app2'],
      client: {
        authMethod: 'client_secret_post',
        tokenEndpoint: 'https://login.microsoftonline.com/t/oauth2/v2.0/token',
        params: {
          scope: 'api://downstream/.default',
          audience: 'https://api.acme',
          resource: ['https://a.example', 'https://b.example'],
        },
      },
    })
    expect(config.gateway).toMatchObject({
      tenantMode: 'fixed',
      fixedTenant: 'acme-eu',
      clockToleranceSeconds: 120,
      maxBodyBytes: 512 * 1024,
      requireTypAtJwt: true,
    })
    expect(config.engine.timeoutMs).toBe(1500)
    expect(config.logLevel).toBe('debug')
  })

  it('lists every bad or missing key at once and never echoes a value', () => {
    const env = {
      C7AUTH_TENANTS: 'acme,globex',
      C7AUTH_ENGINE_URL: 'not a url',
      C7AUTH_ENGINE_ADMIN_PASSWORD: SECRET,
      C7AUTH_BRIDGE_SECRET: 'short-but-secret',
      C7AUTH_GATEWAY_PORT: '70000',
      C7AUTH_GATEWAY_TENANT_MODE: 'sometimes',
      C7AUTH_GATEWAY_CLOCK_TOLERANCE: 'soon',
      C7AUTH_LOG_LEVEL: 'loud',
      C7AUTH_TENANT_ACME_ISSUER: 'http://idp.example/realms/acme',
      C7AUTH_TENANT_ACME_CLIENT_ID: 'acme-app',
      C7AUTH_TENANT_ACME_AUTH_METHOD: 'private_key_jwt',
      C7AUTH_TENANT_GLOBEX_CLIENT_SECRET: SECRET,
      C7AUTH_TENANT_GLOBEX_ALGORITHMS: 'HS256',
    }
    const err = configError(() => loadConfigFromEnv(env))
    expect(err.code).toBe('C7AUTH_CONFIG_INVALID')
    const keys = err.issues.map((i) => i.split(/[: ]/)[0])
    expect(keys).toEqual(
      expect.arrayContaining([
        'C7AUTH_ENGINE_URL',
        'C7AUTH_ENGINE_ADMIN_USER',
        'C7AUTH_BRIDGE_SECRET',
        'C7AUTH_GATEWAY_PORT',
        'C7AUTH_GATEWAY_TENANT_MODE',
        'C7AUTH_GATEWAY_CLOCK_TOLERANCE',
        'C7AUTH_LOG_LEVEL',
        'C7AUTH_TENANT_ACME_ISSUER',
        'C7AUTH_TENANT_ACME_PRIVATE_KEY',
        'C7AUTH_TENANT_GLOBEX_ISSUER',
        'C7AUTH_TENANT_GLOBEX_CLIENT_SECRET',
        'C7AUTH_TENANT_GLOBEX_ALGORITHMS',
      ]),
    )
    expect(err.issues).toHaveLength(12)
    for (const v of [SECRET, 'short-but-secret', 'not a url', '70000', 'sometimes', 'loud']) {
      expect(err.message).not.toContain(v)
      expect(JSON.stringify(err)).not.toContain(v)
    }
    expect(err.message).toContain('12 problems')
  })

  it('requires TENANTS and ENGINE_URL even with an empty environment', () => {
    const err = configError(() => loadConfigFromEnv({}))
    expect(err.issues).toEqual([
      'C7AUTH_ENGINE_URL: required',
      'C7AUTH_ENGINE_ADMIN_USER: required in bridge mode',
      'C7AUTH_ENGINE_ADMIN_PASSWORD (or C7AUTH_ENGINE_ADMIN_PASSWORD_FILE): required in bridge mode',
      'C7AUTH_BRIDGE_SECRET (or C7AUTH_BRIDGE_SECRET_FILE): required in bridge mode',
      'C7AUTH_TENANTS: required',
    ])
  })

  it('rejects a tenant list without tenants', () => {
    const err = configError(() => loadConfigFromEnv({ ...base(), C7AUTH_TENANTS: ' , ' }))
    expect(err.issues).toEqual(['C7AUTH_TENANTS: must name at least one tenant'])
  })

  it('applies per-mode requirements (service, worker role)', () => {
    const service = configError(() =>
      loadConfigFromEnv({ ...base(), C7AUTH_ENGINE_AUTH: 'service' }),
    )
    expect(service.issues).toEqual([
      'C7AUTH_ENGINE_SERVICE_USER: required in service mode',
      'C7AUTH_ENGINE_SERVICE_PASSWORD (or C7AUTH_ENGINE_SERVICE_PASSWORD_FILE): required in service mode',
    ])
    const env = base()
    delete env.C7AUTH_ENGINE_ADMIN_USER
    delete env.C7AUTH_BRIDGE_SECRET
    const worker = configError(() => loadConfigFromEnv(env, { role: 'worker' }))
    expect(worker.issues).toEqual(['C7AUTH_TENANT_GLOBEX_CLIENT_ID: required in the worker role'])
  })

  it('answers renamed keys with the new name, all at once, values never echoed', () => {
    const old = {
      ...base(),
      C7AUTH_TENANT_ACME_CLIENT_IDS: SECRET,
      C7AUTH_TENANT_GLOBEX_CLIENT_IDS: 'globex-web',
      C7AUTH_LOG_LEVEL: 'loud',
    }
    const err = configError(() => loadConfigFromEnv(old))
    expect(err.issues).toEqual([
      'C7AUTH_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      expect.stringMatching(
        /^C7AUTH_TENANT_ACME_CLIENT_IDS: renamed to C7AUTH_TENANT_ACME_ALLOWED_CLIENTS \(.+CLIENT_ID.+\); set C7AUTH_TENANT_ACME_ALLOWED_CLIENTS instead/,
      ),
      expect.stringMatching(
        /^C7AUTH_TENANT_GLOBEX_CLIENT_IDS: renamed to C7AUTH_TENANT_GLOBEX_ALLOWED_CLIENTS /,
      ),
    ])
    expect(JSON.stringify(err)).not.toContain(SECRET)
    expect(err.message).not.toContain('globex-web')

    // A worker reads the gateway's URL from its own key; the engine URL alone is the rename error.
    const workerEnv: Record<string, string> = {
      ...base(),
      C7AUTH_TENANT_GLOBEX_CLIENT_ID: 'g',
      C7AUTH_TENANT_GLOBEX_AUTH_METHOD: 'none',
    }
    expect(loadConfigFromEnv(workerEnv, { role: 'worker' }).engine.url).toBe(
      'https://gateway.example/engine-rest',
    )
    expect(loadConfigFromEnv(workerEnv).engine.url).toBe('http://camunda:8080/engine-rest')
    delete workerEnv.C7AUTH_WORKER_GATEWAY_URL
    const worker = configError(() => loadConfigFromEnv(workerEnv, { role: 'worker' }))
    expect(worker.issues).toEqual([
      expect.stringMatching(
        /^C7AUTH_ENGINE_URL: renamed to C7AUTH_WORKER_GATEWAY_URL \(.+\); set C7AUTH_WORKER_GATEWAY_URL instead \(see docs\/migration.md\)$/,
      ),
    ])
    delete workerEnv.C7AUTH_ENGINE_URL
    expect(configError(() => loadConfigFromEnv(workerEnv, { role: 'worker' })).issues).toEqual([
      'C7AUTH_WORKER_GATEWAY_URL: required in the worker role',
    ])
  })

  it('reads _FILE variants through the injected readFile and trims a trailing newline', () => {
    const files: Record<string, string> = {
      '/run/secrets/acme': `${SECRET}\n`,
      '/run/secrets/bridge': `${BRIDGE}\r\n`,
      '/run/secrets/key.pem': KEY_PEM,
    }
    const readFile = (path: string) => {
      const content = files[path]
      if (content === undefined) throw new Error(`ENOENT ${path}`)
      return content
    }
    const env = base()
    delete env.C7AUTH_TENANT_ACME_CLIENT_SECRET
    delete env.C7AUTH_BRIDGE_SECRET
    const config = loadConfigFromEnv(
      {
        ...env,
        C7AUTH_TENANT_ACME_CLIENT_SECRET_FILE: '/run/secrets/acme',
        C7AUTH_BRIDGE_SECRET_FILE: '/run/secrets/bridge',
        C7AUTH_TENANT_GLOBEX_CLIENT_ID: 'globex-app',
        C7AUTH_TENANT_GLOBEX_PRIVATE_KEY_FILE: '/run/secrets/key.pem',
        C7AUTH_TENANT_GLOBEX_PRIVATE_KEY_ID: 'k1',
      },
      { readFile },
    )
    expect(config.tenants[0]?.client?.clientSecret).toBe(SECRET)
    expect(config.engine.bridgeSecret).toBe(BRIDGE)
    expect(config.tenants[1]?.client).toMatchObject({
      authMethod: 'private_key_jwt',
      privateKeyPem: KEY_PEM,
      privateKeyId: 'k1',
    })
  })

  it('rejects a key set both directly and as _FILE, unreadable/empty files and bad PEM', () => {
    const readFile = (path: string) => {
      if (path === '/empty') return '\n'
      if (path === '/garbage')
        return `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n`
      throw new Error(`EACCES ${path}`)
    }
    const err = configError(() =>
      loadConfigFromEnv(
        {
          ...base(),
          C7AUTH_TENANT_ACME_CLIENT_SECRET_FILE: '/run/secrets/acme',
          C7AUTH_ENGINE_ADMIN_PASSWORD: '',
          C7AUTH_ENGINE_ADMIN_PASSWORD_FILE: '/nope',
          C7AUTH_BRIDGE_SECRET: '',
          C7AUTH_BRIDGE_SECRET_FILE: '/empty',
          C7AUTH_TENANT_GLOBEX_CLIENT_ID: 'g',
          C7AUTH_TENANT_GLOBEX_PRIVATE_KEY_FILE: '/garbage',
        },
        { readFile },
      ),
    )
    expect(err.issues).toEqual([
      'C7AUTH_ENGINE_ADMIN_PASSWORD_FILE: the file cannot be read',
      'C7AUTH_BRIDGE_SECRET_FILE: the file is empty',
      'C7AUTH_TENANT_ACME_CLIENT_SECRET and C7AUTH_TENANT_ACME_CLIENT_SECRET_FILE are both set; set only one',
      'C7AUTH_TENANT_GLOBEX_PRIVATE_KEY_FILE: must be a PEM private key',
    ])
    expect(err.message).not.toContain(SECRET)
    expect(err.message).not.toContain('/run/secrets')
  })

  it('rejects tenant ids that collide after mapping to ENVID, duplicates and bad ids', () => {
    const err = configError(() =>
      loadConfigFromEnv({
        ...base(),
        C7AUTH_ENGINE_ID_PATTERN: '[a-zA-Z0-9._-]+',
        C7AUTH_TENANTS: 'acme-eu,acme.eu,Acme_EU,acme-eu,ok,bad id',
        C7AUTH_TENANT_ACME_EU_ISSUER: 'https://idp.example',
        C7AUTH_TENANT_OK_ISSUER: 'https://idp.example',
        C7AUTH_TENANT_BAD_ID_ISSUER: 'https://idp.example',
      }),
    )
    expect(err.issues).toEqual([
      'C7AUTH_TENANTS: entries #1 and #2 both map to C7AUTH_TENANT_ACME_EU_* (ids must differ after upper-casing and replacing non-alphanumerics with _)',
      'C7AUTH_TENANTS: entries #1 and #3 both map to C7AUTH_TENANT_ACME_EU_* (ids must differ after upper-casing and replacing non-alphanumerics with _)',
      'C7AUTH_TENANTS: entries #1 and #4 name the same tenant',
      'C7AUTH_TENANTS: entry #6 does not match C7AUTH_ENGINE_ID_PATTERN',
    ])
    expect(envIdOf('acme-eu')).toBe('ACME_EU')
  })

  it('never reads keys it does not know (no prefix scan)', () => {
    const seen = new Set<string>()
    const env = new Proxy(base(), {
      get(target, key) {
        if (typeof key === 'string') seen.add(key)
        return Reflect.get(target, key)
      },
      ownKeys() {
        throw new Error('the loader must not enumerate the environment')
      },
    })
    loadConfigFromEnv(env)
    const known = new Set<string>()
    for (const spec of CONFIG_SCHEMA) {
      for (const envId of spec.scope === 'global' ? [undefined] : ['ACME', 'GLOBEX']) {
        const key =
          spec.scope === 'global' ? `C7AUTH_${spec.name}` : `C7AUTH_TENANT_${envId}_${spec.name}`
        known.add(key)
        known.add(`${key}_FILE`)
      }
    }
    // Old names are looked up by exact name only to answer them with the new one.
    for (const renamed of RENAMED_KEYS) {
      const envIds = renamed.replacement.scope === 'global' ? [undefined] : ['ACME', 'GLOBEX']
      for (const envId of envIds) {
        known.add(
          envId === undefined
            ? `C7AUTH_${renamed.oldName}`
            : `C7AUTH_TENANT_${envId}_${renamed.oldName}`,
        )
      }
    }
    expect([...seen].filter((k) => !known.has(k))).toEqual([])
  })

  it('accepts http only for loopback issuers unless ALLOW_INSECURE_HTTP is set', () => {
    const env = {
      ...base(),
      C7AUTH_TENANT_ACME_ISSUER: 'http://127.0.0.1:4000',
      C7AUTH_TENANT_GLOBEX_ISSUER: 'http://idp.internal',
    }
    expect(configError(() => loadConfigFromEnv(env)).issues).toEqual([
      'C7AUTH_TENANT_GLOBEX_ISSUER: must use https (http is accepted only on loopback hosts or with C7AUTH_TENANT_GLOBEX_ALLOW_INSECURE_HTTP=true)',
    ])
    const ok = loadConfigFromEnv({ ...env, C7AUTH_TENANT_GLOBEX_ALLOW_INSECURE_HTTP: 'true' })
    expect(ok.tenants[1]?.issuer).toBe('http://idp.internal')
  })

  it('reads C7AUTH_ENGINE_AUTHORIZATIONS and rejects unknown values', () => {
    for (const mode of ['none', 'apps', 'apps+users'] as const) {
      const config = loadConfigFromEnv({ ...base(), C7AUTH_ENGINE_AUTHORIZATIONS: mode })
      expect(config.engine.authorizations).toBe(mode)
    }
    const err = configError(() =>
      loadConfigFromEnv({ ...base(), C7AUTH_ENGINE_AUTHORIZATIONS: 'users' }),
    )
    expect(err.issues.some((i) => i.startsWith('C7AUTH_ENGINE_AUTHORIZATIONS'))).toBe(true)
  })

  it('reads the deployment grants, profile and object-type allowlist of each tenant', () => {
    const config = loadConfigFromEnv({
      ...base(),
      C7AUTH_TENANT_ACME_DEPLOYERS: 'scope:engine:deploy, group:deployers,client:acme-app',
      C7AUTH_TENANT_ACME_DEPLOY_PROFILE: 'trusted',
      C7AUTH_TENANT_ACME_OBJECT_TYPES: 'java.util.ArrayList,com.acme.Order',
    })
    const [acme, globex] = config.tenants
    expect(acme?.deployers).toEqual(['scope:engine:deploy', 'group:deployers', 'client:acme-app'])
    expect(acme?.deployProfile).toBe('trusted')
    expect(acme?.objectTypes).toEqual(['java.util.ArrayList', 'com.acme.Order'])
    // nobody deploys, strict, no object types unless configured
    expect(globex?.deployers).toBeUndefined()
    expect(globex?.deployProfile).toBe('strict')
    expect(globex?.objectTypes).toBeUndefined()
    const err = configError(() =>
      loadConfigFromEnv({
        ...base(),
        C7AUTH_TENANT_ACME_DEPLOYERS: 'engine:deploy',
        C7AUTH_TENANT_GLOBEX_DEPLOY_PROFILE: 'lenient',
      }),
    )
    expect(err.issues.some((i) => i.startsWith('C7AUTH_TENANT_ACME_DEPLOYERS'))).toBe(true)
    expect(err.issues.some((i) => i.startsWith('C7AUTH_TENANT_GLOBEX_DEPLOY_PROFILE'))).toBe(true)
    expect(err.message).not.toContain('lenient')
  })

  it('reads the on-behalf-of opt-in per tenant and process definition key', () => {
    const config = loadConfigFromEnv({
      ...base(),
      C7AUTH_TENANT_ACME_ON_BEHALF_OF: 'invoice, payout',
      C7AUTH_TENANT_ACME_ON_BEHALF_OF_MAX_LIFETIME: '2h',
    })
    const [acme, globex] = config.tenants
    expect(acme?.onBehalfOf).toEqual({
      processDefinitionKeys: ['invoice', 'payout'],
      maxLifetimeSeconds: 7200,
    })
    expect(globex?.onBehalfOf).toBeUndefined()
    const defaults = loadConfigFromEnv({ ...base(), C7AUTH_TENANT_ACME_ON_BEHALF_OF: '*' })
    expect(defaults.tenants[0]?.onBehalfOf?.maxLifetimeSeconds).toBe(86_400)
    const err = configError(() =>
      loadConfigFromEnv({
        ...base(),
        // globex has no app credentials to obtain grants with; a lifetime alone opts nobody in
        C7AUTH_TENANT_GLOBEX_ON_BEHALF_OF: 'invoice',
        C7AUTH_TENANT_ACME_ON_BEHALF_OF_MAX_LIFETIME: '1h',
      }),
    )
    expect(err.issues).toEqual([
      'C7AUTH_TENANT_ACME_ON_BEHALF_OF_MAX_LIFETIME: only used with C7AUTH_TENANT_ACME_ON_BEHALF_OF',
      'C7AUTH_TENANT_GLOBEX_ON_BEHALF_OF: requires C7AUTH_TENANT_GLOBEX_CLIENT_ID',
    ])
  })

  it('reads C7AUTH_GATEWAY_QUERY_MAX_RESULTS as a positive integer, absent by default', () => {
    expect(loadConfigFromEnv(base()).gateway.queryMaxResults).toBeUndefined()
    const config = loadConfigFromEnv({ ...base(), C7AUTH_GATEWAY_QUERY_MAX_RESULTS: '500' })
    expect(config.gateway.queryMaxResults).toBe(500)
    for (const bad of ['0', '-1', '2.5', 'many']) {
      const err = configError(() =>
        loadConfigFromEnv({ ...base(), C7AUTH_GATEWAY_QUERY_MAX_RESULTS: bad }),
      )
      expect(err.issues).toEqual(['C7AUTH_GATEWAY_QUERY_MAX_RESULTS: must be a positive integer'])
    }
  })

  it('reads C7AUTH_ENGINE_CONNECTIONS as a positive integer, 64 by default', () => {
    expect(loadConfigFromEnv(base()).engine.connections).toBe(64)
    const config = loadConfigFromEnv({ ...base(), C7AUTH_ENGINE_CONNECTIONS: '128' })
    expect(config.engine.connections).toBe(128)
    for (const bad of ['0', '-1', '2.5', 'many']) {
      const err = configError(() =>
        loadConfigFromEnv({ ...base(), C7AUTH_ENGINE_CONNECTIONS: bad }),
      )
      expect(err.issues).toEqual(['C7AUTH_ENGINE_CONNECTIONS: must be a positive integer'])
    }
  })

  it('reads C7AUTH_GATEWAY_ADMIN_ISSUERS: only tenant issuers, exact match, none by default', () => {
    expect(loadConfigFromEnv(base()).gateway.adminIssuers).toEqual([])
    const config = loadConfigFromEnv({
      ...base(),
      C7AUTH_GATEWAY_ADMIN_GROUPS: 'ops',
      C7AUTH_GATEWAY_ADMIN_ISSUERS: ' https://idp.example/realms/acme ',
    })
    expect(config.gateway).toMatchObject({
      adminGroups: ['ops'],
      adminIssuers: ['https://idp.example/realms/acme'],
    })
    const unknown = configError(() =>
      loadConfigFromEnv({
        ...base(),
        C7AUTH_GATEWAY_ADMIN_GROUPS: 'ops',
        C7AUTH_GATEWAY_ADMIN_ISSUERS:
          'https://globex.eu.auth0.com/,https://idp.example/realms/acme/,https://evil.example/',
      }),
    )
    // Entry #2 differs only by a trailing slash: issuers match exactly, like `iss`.
    expect(unknown.issues).toEqual([
      'C7AUTH_GATEWAY_ADMIN_ISSUERS: entry #2 is not the C7AUTH_TENANT_<ENVID>_ISSUER of any tenant (it must match exactly)',
      'C7AUTH_GATEWAY_ADMIN_ISSUERS: entry #3 is not the C7AUTH_TENANT_<ENVID>_ISSUER of any tenant (it must match exactly)',
    ])
    expect(unknown.message).not.toContain('evil.example')
    const bad = configError(() =>
      loadConfigFromEnv({ ...base(), C7AUTH_GATEWAY_ADMIN_ISSUERS: 'not a uri' }),
    )
    expect(bad.issues).toEqual([
      'C7AUTH_GATEWAY_ADMIN_ISSUERS: must be a comma-separated list of absolute URIs without fragment',
    ])
  })

  it('refuses C7AUTH_GATEWAY_ADMIN_GROUPS without C7AUTH_GATEWAY_ADMIN_ISSUERS (admin is opt-in per issuer)', () => {
    for (const issuers of [undefined, ' , ']) {
      const env: Record<string, string> = { ...base(), C7AUTH_GATEWAY_ADMIN_GROUPS: 'ops' }
      if (issuers !== undefined) env.C7AUTH_GATEWAY_ADMIN_ISSUERS = issuers
      for (const role of ['gateway', 'worker'] as const) {
        const err = configError(() =>
          loadConfigFromEnv(
            role === 'worker'
              ? {
                  ...env,
                  C7AUTH_TENANT_GLOBEX_CLIENT_ID: 'g',
                  C7AUTH_TENANT_GLOBEX_AUTH_METHOD: 'none',
                }
              : env,
            { role },
          ),
        )
        expect(err.issues).toHaveLength(1)
        expect(err.issues[0]).toMatch(
          /^C7AUTH_GATEWAY_ADMIN_GROUPS: requires C7AUTH_GATEWAY_ADMIN_ISSUERS /,
        )
      }
    }
  })

  it('renders a table row for every schema key, secrets flagged', () => {
    const table = renderEnvTable()
    const lines = table.split('\n')
    expect(lines).toHaveLength(CONFIG_SCHEMA.length + 2)
    expect(table).toContain('| `C7AUTH_TENANT_<ENVID>_CLIENT_SECRET` (`_FILE`) | tenant | string |')
    const secrets = CONFIG_SCHEMA.filter((s) => s.secret)
    expect(secrets.length).toBeGreaterThan(3)
    for (const spec of secrets) {
      expect(spec.file).toBe(true)
    }
  })
})

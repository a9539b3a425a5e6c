import { loadConfigFromEnv } from '@c7auth/core'
import { authenticatorOptionsFromConfig } from '@c7auth/gateway'
try {
const c = loadConfigFromEnv({ C7AUTH_TENANTS: 'tenantA', C7AUTH_ENGINE_URL: 'http://e', C7AUTH_ENGINE_AUTH: 'none',
 C7AUTH_TENANT_TENANTA_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0', C7AUTH_TENANT_TENANTA_AUDIENCE: 'api://gw',
 C7AUTH_TENANT_TENANTA_PRESET: 'entra', C7AUTH_TENANT_TENANTA_JWKS_URI: 'https://login.microsoftonline.com/common/discovery/v2.0/keys', C7AUTH_TENANT_TENANTA_CLIENT_IDS: 'appA' })
const o = authenticatorOptionsFromConfig(c)
console.log(JSON.stringify(o.issuers, null, 0), JSON.stringify(o.tenants))
} catch (e) { console.log('ERR', (e as Error).message) }

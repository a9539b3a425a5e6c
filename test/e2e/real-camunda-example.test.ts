/**
 * `examples/real-camunda` without Docker: its gateway configuration passes the loader as compose
 * would pass it, the compose file keeps the engine behind the gateway, and the realm export keeps
 * Keycloak's default scopes and declares the `tenant` attribute. (The recipe itself runs against a
 * real Keycloak and Camunda 7.24 in `test/live/real-stack.test.ts`.)
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadConfigFromEnv } from '@c7auth/core'
import { readEnvFile } from '../live/env-file.js'

const dir = new URL('../../examples/real-camunda/', import.meta.url)
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8')
const gatewayEnv = readEnvFile(fileURLToPath(new URL('gateway.env', dir)))
const compose = read('compose.yaml')

interface Mapper {
  protocolMapper: string
  config: Record<string, string>
}
interface Client {
  clientId: string
  defaultClientScopes?: string[]
  protocolMappers?: Mapper[]
  serviceAccountsEnabled?: boolean
  standardFlowEnabled?: boolean
  directAccessGrantsEnabled?: boolean
  attributes?: Record<string, string>
}
const realm = JSON.parse(read('keycloak/c7auth-realm.json')) as {
  clientScopes?: unknown
  clients: Client[]
  users: { username: string; attributes?: Record<string, string[]> }[]
  components: Record<string, { config: Record<string, string[]> }[]>
}

/** The service's block of the compose file (up to the next top-level service). */
function service(name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`)
  expect(start, name).toBeGreaterThan(0)
  const rest = compose.slice(start + name.length + 5)
  const next = rest.search(/\n {2}[a-z][\w-]*:\n/)
  return next < 0 ? rest : rest.slice(0, next)
}

describe('examples/real-camunda', () => {
  it('its gateway.env plus the secrets compose passes loads without a problem', () => {
    const config = loadConfigFromEnv({
      ...gatewayEnv,
      C7AUTH_ENGINE_ADMIN_PASSWORD: 'a-long-engine-admin-password',
      C7AUTH_BRIDGE_SECRET: 'a-bridge-secret-of-at-least-32-characters!',
    })
    expect(config.engine.auth).toBe('bridge')
    expect(config.tenants.map((t) => t.id)).toEqual(['acme', 'globex'])
    // one issuer for host and containers (KC_HOSTNAME), keys over the compose network
    for (const t of config.tenants) {
      expect(t.issuer).toBe('http://localhost:8081/realms/c7auth')
    }
    expect(gatewayEnv.C7AUTH_GATEWAY_TENANT_MODE).toBe('claim')
    expect(compose).toContain('KC_HOSTNAME: http://localhost:8081')
    // compose passes exactly the secrets gateway.env leaves out
    for (const key of ['C7AUTH_ENGINE_ADMIN_PASSWORD', 'C7AUTH_BRIDGE_SECRET']) {
      expect(gatewayEnv[key]).toBeUndefined()
      expect(service('gateway')).toContain(`${key}: \${${key}`)
    }
  })

  it('keeps the engine behind the gateway and starts in order', () => {
    const camunda = service('camunda')
    expect(camunda).not.toMatch(/\n\s+ports:/)
    expect(camunda).toContain("CAMUNDA_BPM_RUN_EXAMPLE_ENABLED: 'false'")
    expect(camunda).toContain('healthcheck:')
    expect(service('keycloak')).toContain('healthcheck:')
    const gateway = service('gateway')
    expect(gateway).toContain('keycloak: { condition: service_healthy }')
    expect(gateway).toContain('camunda: { condition: service_healthy }')
    expect(gateway).toContain('env_file: gateway.env')
    // an image with the published package: no checkout mounted, no install at start
    expect(gateway).not.toContain('volumes:')
    expect(gateway).not.toContain('pnpm install')
    expect(gatewayEnv.C7AUTH_ENGINE_URL).toBe('http://camunda:8080/engine-rest')
  })

  it("keeps Keycloak's default client scopes and gives every token a tenant", () => {
    // declaring clientScopes or defaultClientScopes would replace basic/profile/roles
    expect(realm.clientScopes).toBeUndefined()
    for (const client of realm.clients) {
      expect(client.defaultClientScopes, client.clientId).toBeUndefined()
    }
    // every client that obtains tokens names the engine first (`billing` obtains none)
    const tokenClients = realm.clients.filter(
      (c) =>
        c.serviceAccountsEnabled === true ||
        c.directAccessGrantsEnabled === true ||
        c.standardFlowEnabled !== false,
    )
    expect(tokenClients.map((c) => c.clientId)).toEqual(['acme', 'globex', 'tasklist'])
    for (const client of tokenClients) {
      const audience = client.protocolMappers?.find(
        (m) => m.protocolMapper === 'oidc-audience-mapper',
      )
      expect(audience?.config['included.custom.audience'], client.clientId).toBe(
        gatewayEnv.C7AUTH_TENANT_ACME_AUDIENCE,
      )
    }
    // apps: a hard-coded tenant claim naming a configured tenant
    const tenants = (gatewayEnv.C7AUTH_TENANTS ?? '').split(',')
    const apps = realm.clients.filter((c) => c.serviceAccountsEnabled === true)
    expect(apps.map((c) => c.clientId)).toEqual(tenants)
    for (const app of apps) {
      const tenant = app.protocolMappers?.find(
        (m) => m.protocolMapper === 'oidc-hardcoded-claim-mapper',
      )
      expect(tenant?.config, app.clientId).toMatchObject({
        'claim.name': gatewayEnv.C7AUTH_GATEWAY_TENANT_CLAIM,
        'claim.value': app.clientId,
      })
    }
  })

  it('lets acme exchange tasklist tokens for later on-behalf-of calls to billing', () => {
    const byId = new Map(realm.clients.map((c) => [c.clientId, c]))
    expect(byId.get('acme')?.attributes).toEqual({
      'standard.token.exchange.enabled': 'true',
      'standard.token.exchange.enableRefreshRequestedTokenType': 'SAME_SESSION',
    })
    expect(byId.get('globex')?.attributes).toBeUndefined()
    const audiences = (clientId: string) =>
      (byId.get(clientId)?.protocolMappers ?? [])
        .filter((m) => m.protocolMapper === 'oidc-audience-mapper')
        .map((m) => m.config['included.client.audience'] ?? m.config['included.custom.audience'])
    expect(audiences('tasklist')).toEqual(['engine-rest', 'acme'])
    expect(audiences('acme')).toEqual(['engine-rest', 'billing'])
    expect(byId.get('billing')).toMatchObject({
      serviceAccountsEnabled: false,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
    })
  })

  it("declares the users' tenant attribute in the user profile, editable by admins only", () => {
    const provider = realm.components['org.keycloak.userprofile.UserProfileProvider']?.[0]
    const profile = JSON.parse(provider?.config['kc.user.profile.config']?.[0] ?? '{}') as {
      attributes: { name: string; permissions: { view: string[]; edit: string[] } }[]
    }
    const names = profile.attributes.map((a) => a.name)
    expect(names).toEqual(expect.arrayContaining(['username', 'email', 'firstName', 'lastName']))
    expect(profile.attributes.find((a) => a.name === 'tenant')?.permissions.edit).toEqual(['admin'])
    expect(realm.users.find((u) => u.username === 'alice')?.attributes?.tenant).toEqual(['acme'])
  })
})

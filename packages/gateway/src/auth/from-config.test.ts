import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfigFromEnv } from '@c7auth/core'
import type { C7AuthConfig } from '@c7auth/core'
import { authenticatorOptionsFromConfig } from './from-config.js'
import { createAuthenticator } from './authenticator.js'
import { toEngineId } from './engine-id.js'
import { startLocalIssuer } from './__tests__/local-issuer.js'

const baseEnv = {
  C7AUTH_ENGINE_URL: 'http://127.0.0.1:8080/engine-rest',
  C7AUTH_ENGINE_AUTH: 'none',
}

describe('authenticatorOptionsFromConfig', () => {
  it('groups tenants sharing an issuer (one Auth0 tenant for all apps) and binds each tenant', () => {
    const config = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme,globex,initech',
      C7AUTH_GATEWAY_AUDIENCE: 'https://engine.example.com',
      C7AUTH_GATEWAY_ADMIN_GROUPS: 'ops',
      C7AUTH_GATEWAY_ADMIN_ISSUERS: 'https://kc.example.com/realms/initech',
      C7AUTH_TENANT_ACME_ISSUER: 'https://shared.eu.auth0.com/',
      C7AUTH_TENANT_ACME_PRESET: 'auth0',
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme-web,acme-worker',
      C7AUTH_TENANT_GLOBEX_ISSUER: 'https://shared.eu.auth0.com/',
      C7AUTH_TENANT_GLOBEX_PRESET: 'auth0',
      C7AUTH_TENANT_GLOBEX_AUDIENCE: 'urn:globex',
      C7AUTH_TENANT_INITECH_ISSUER: 'https://kc.example.com/realms/initech',
      C7AUTH_TENANT_INITECH_PRESET: 'keycloak',
      C7AUTH_TENANT_INITECH_CLAIM_USER_ID: 'email',
    })
    const o = authenticatorOptionsFromConfig(config)
    expect(o.issuers).toEqual([
      {
        issuer: 'https://shared.eu.auth0.com/',
        audience: ['https://engine.example.com', 'urn:globex'],
        preset: 'auth0',
        // Not an admin issuer: never makes an admin, whatever groups its tokens carry.
        claims: { adminGroupClaims: [] },
      },
      {
        issuer: 'https://kc.example.com/realms/initech',
        audience: ['https://engine.example.com'],
        preset: 'keycloak',
        // The preset's realm-level group claims, made explicit (never resource_access.{clientId}).
        claims: { userIdClaims: ['email'], adminGroupClaims: ['groups', 'realm_access.roles'] },
      },
    ])
    expect(o.tenants).toEqual([
      {
        id: 'acme',
        clientIds: ['acme-web', 'acme-worker'],
        issuer: 'https://shared.eu.auth0.com/',
      },
      {
        id: 'globex',
        clientIds: [],
        issuer: 'https://shared.eu.auth0.com/',
        audience: ['urn:globex', 'https://engine.example.com'],
      },
      { id: 'initech', clientIds: [], issuer: 'https://kc.example.com/realms/initech' },
    ])
    expect(o).toMatchObject({ tenantMode: 'app', adminGroups: ['ops'], idPattern: '[a-zA-Z0-9]+' })
    createAuthenticator(o).close()
  })

  it('names the env keys of an issuer without audience and of conflicting presets', () => {
    const config = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme,globex',
      C7AUTH_TENANT_ACME_ISSUER: 'https://idp.example.com',
      C7AUTH_TENANT_ACME_AUDIENCE: 'engine',
      C7AUTH_TENANT_GLOBEX_ISSUER: 'https://idp.example.com',
      C7AUTH_TENANT_GLOBEX_AUDIENCE: 'engine',
      C7AUTH_TENANT_GLOBEX_PRESET: 'okta',
    })
    expect(() => authenticatorOptionsFromConfig(config)).toThrow(/C7AUTH_TENANT_GLOBEX_PRESET/)
    const noAud = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme',
      C7AUTH_TENANT_ACME_ISSUER: 'https://idp.example.com',
    })
    expect(() => authenticatorOptionsFromConfig(noAud)).toThrow(/C7AUTH_TENANT_ACME_AUDIENCE/)
  })

  it('refuses a templated Entra issuer from the environment (no tid allowlist there)', () => {
    const config = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme',
      C7AUTH_TENANT_ACME_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      C7AUTH_TENANT_ACME_AUDIENCE: 'api://engine',
      C7AUTH_TENANT_ACME_JWKS_URI: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
      C7AUTH_TENANT_ACME_PRESET: 'entra',
    })
    try {
      authenticatorOptionsFromConfig(config)
      expect.unreachable()
    } catch (err) {
      const e = err as { code: string; issues: string[] }
      expect(e.code).toBe('C7AUTH_CONFIG_INVALID')
      expect(e.issues).toHaveLength(1)
      expect(e.issues[0]).toMatch(/^C7AUTH_TENANT_ACME_ISSUER: /)
      expect(e.issues[0]).toContain('one tenant block per directory')
      expect(e.issues[0]).toContain('https://login.microsoftonline.com/<tid>/v2.0')
      expect(e.issues[0]).toContain('allowedTenantIds')
    }
  })

  it('accepts one tenant block per Entra directory, each with its own concrete issuer', () => {
    const tid = (n: number) => `${n}${n}${n}${n}${n}${n}${n}${n}-0000-4000-8000-000000000000`
    const config = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme,globex',
      C7AUTH_GATEWAY_AUDIENCE: 'api://engine',
      C7AUTH_TENANT_ACME_ISSUER: `https://login.microsoftonline.com/${tid(1)}/v2.0`,
      C7AUTH_TENANT_ACME_PRESET: 'entra',
      C7AUTH_TENANT_GLOBEX_ISSUER: `https://login.microsoftonline.com/${tid(2)}/v2.0`,
      C7AUTH_TENANT_GLOBEX_PRESET: 'entra',
    })
    const o = authenticatorOptionsFromConfig(config)
    expect(o.issuers.map((i) => i.issuer)).toEqual([
      `https://login.microsoftonline.com/${tid(1)}/v2.0`,
      `https://login.microsoftonline.com/${tid(2)}/v2.0`,
    ])
    expect(o.tenants.map((t) => (typeof t === 'string' ? [t] : [t.id, t.issuer]))).toEqual([
      ['acme', `https://login.microsoftonline.com/${tid(1)}/v2.0`],
      ['globex', `https://login.microsoftonline.com/${tid(2)}/v2.0`],
    ])
    createAuthenticator(o).close()
  })

  it('makes admins only from C7AUTH_GATEWAY_ADMIN_ISSUERS: another tenant IdP cannot mint one', async () => {
    const ops = await startLocalIssuer()
    const tenantIdp = await startLocalIssuer()
    const config = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme,globex',
      C7AUTH_GATEWAY_AUDIENCE: 'engine',
      C7AUTH_GATEWAY_ADMIN_GROUPS: 'camunda-admin',
      C7AUTH_GATEWAY_ADMIN_ISSUERS: ops.issuer,
      C7AUTH_TENANT_ACME_ISSUER: ops.issuer,
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme-web',
      C7AUTH_TENANT_GLOBEX_ISSUER: tenantIdp.issuer,
      C7AUTH_TENANT_GLOBEX_ALLOWED_CLIENTS: 'globex-web',
    })
    const auth = createAuthenticator(authenticatorOptionsFromConfig(config))
    try {
      const user = { sub: 'u1', groups: ['camunda-admin'] }
      const forged = await auth.verify(await tenantIdp.sign({ ...user, azp: 'globex-web' }))
      expect(forged).toMatchObject({
        issuer: tenantIdp.issuer,
        tenantIds: ['globex'],
        groupIds: [toEngineId('camunda-admin')],
        admin: false,
      })
      const real = await auth.verify(await ops.sign({ ...user, azp: 'acme-web' }))
      expect(real).toMatchObject({ issuer: ops.issuer, tenantIds: ['acme'], admin: true })
    } finally {
      auth.close()
      await ops.close()
      await tenantIdp.close()
    }
  })

  it('refuses admin groups without admin issuers, or admin issuers no tenant uses', () => {
    const config = loadConfigFromEnv({
      ...baseEnv,
      C7AUTH_TENANTS: 'acme',
      C7AUTH_GATEWAY_AUDIENCE: 'engine',
      C7AUTH_TENANT_ACME_ISSUER: 'https://idp.example.com',
    })
    const bad = (gateway: Partial<C7AuthConfig['gateway']>) => {
      try {
        authenticatorOptionsFromConfig({ ...config, gateway: { ...config.gateway, ...gateway } })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return (err as ConfigError).issues
      }
      throw new Error('expected a ConfigError')
    }
    expect(bad({ adminGroups: ['ops'] })).toEqual([
      'C7AUTH_GATEWAY_ADMIN_GROUPS requires C7AUTH_GATEWAY_ADMIN_ISSUERS (the issuers whose tokens may carry admin groups)',
    ])
    expect(bad({ adminGroups: ['ops'], adminIssuers: ['https://other.example.com'] })).toEqual([
      'C7AUTH_GATEWAY_ADMIN_ISSUERS: entry #1 is not the issuer of any configured tenant',
    ])
    const o = authenticatorOptionsFromConfig(config)
    expect(o.issuers[0]?.claims).toEqual({ adminGroupClaims: [] })
  })
})

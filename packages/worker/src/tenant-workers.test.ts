import { describe, expect, it } from 'vitest'
import { createTokenClient } from '@c7auth/core'
import { createTenantWorkers } from './tenant-workers.js'
import type { TenantWorkersOptions } from './tenant-workers.js'

// Workers polling the engine simulator with tokens from the testkit IdP:
// test/e2e/worker-tenant-workers.test.ts.
describe('createTenantWorkers', () => {
  it('rejects unknown tenants and tenants without app credentials, naming the env key', () => {
    const engineUrl = 'http://127.0.0.1:1/engine-rest'
    // Configuration is refused before any token source is built or asked.
    const tokenSourceFactory = () =>
      createTokenClient({
        tokenEndpoint: 'http://127.0.0.1:9/token',
        clientId: 'unused',
        clientSecret: 'unused',
      })
    const attempt = (options: TenantWorkersOptions): string[] => {
      try {
        createTenantWorkers(options)
      } catch (error) {
        return (error as { issues?: string[] }).issues ?? []
      }
      return []
    }
    expect(
      attempt({
        config: { tenants: [{ id: 'acme' }], engine: { url: engineUrl } },
        tenants: ['globex'],
        tokenSourceFactory,
      }),
    ).toEqual(['tenants: "globex" is not a configured tenant'])
    expect(
      attempt({
        config: { tenants: [{ id: 'acme' }, { id: 'acme' }], engine: { url: engineUrl } },
        tokenSourceFactory,
      }),
    ).toEqual(['tenants: "acme" is listed twice'])
    expect(
      attempt({ config: { tenants: [{ id: 'acme-eu' }], engine: { url: engineUrl } } }),
    ).toEqual([
      'C7AUTH_TENANT_ACME_EU_CLIENT_ID: tenant "acme-eu" has no app credentials (workers need them)',
    ])
  })
})

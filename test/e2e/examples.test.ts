import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFromEnv } from '@c7auth/core'
import type { C7AuthConfig } from '@c7auth/core'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'
import { createApp as createExpressApp } from '../../examples/express-gateway/app.js'
import { createApp as createKoaApp } from '../../examples/koa-gateway/app.js'

describe('examples run against the testkit stack', () => {
  let idp: TestIdp
  let engine: EngineSimulator
  let config: C7AuthConfig

  beforeAll(async () => {
    idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: 'acme-secret' }] })
    engine = await startEngineSimulator({ adminUser: { id: 'admin', password: 'admin-secret' } })
    config = loadConfigFromEnv({
      C7AUTH_TENANTS: 'acme',
      C7AUTH_LOG_LEVEL: 'silent',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: 'admin',
      C7AUTH_ENGINE_ADMIN_PASSWORD: 'admin-secret',
      C7AUTH_BRIDGE_SECRET: 'examples-test-bridge-secret-0123456789',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
    })
  })
  afterAll(async () => {
    await engine?.close()
    await idp?.close()
  })

  async function token(scope: string): Promise<string> {
    const res = await fetch(idp.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('acme:acme-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
    })
    return ((await res.json()) as { access_token: string }).access_token
  }

  for (const [name, create] of [
    ['express-gateway', createExpressApp],
    ['koa-gateway', createKoaApp],
  ] as const) {
    it(`${name}: serves /me and engine-rest for a token, refuses without one`, async () => {
      const { app, gateway } = create(config)
      await gateway.start()
      const server: Server = app.listen(0, '127.0.0.1')
      await new Promise((r) => server.once('listening', r))
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      try {
        const read = await token('engine:read')
        const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${read}` } })
        expect(me.status).toBe(200)
        expect(await me.json()).toEqual({ userId: 'acme', kind: 'app', tenantIds: ['acme'] })

        const writeOnly = await token('engine:write')
        const forbidden = await fetch(`${base}/me`, {
          headers: { authorization: `Bearer ${writeOnly}` },
        })
        expect(forbidden.status).toBe(403)
        expect(forbidden.headers.get('www-authenticate')).toContain('error="insufficient_scope"')

        const defs = await fetch(`${base}/engine-rest/process-definition`, {
          headers: { authorization: `Bearer ${read}` },
        })
        expect(defs.status).toBe(200)
        expect(defs.headers.get('content-type')).toBe('application/json')
        expect(engine.requests.at(-1)?.user).toBe('acme')

        const anonymous = await fetch(`${base}/engine-rest/process-definition`)
        expect(anonymous.status).toBe(401)
        expect(await anonymous.json()).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING' })
      } finally {
        await new Promise((r) => server.close(r))
        server.closeAllConnections()
        await gateway.close()
      }
    })
  }
})

/**
 * One error renderer: every `C7AUTH_*` refusal — authentication (401, 503), policy (403), an
 * unknown path (404) — carries the same headers from the standalone server, c7auth in Express and
 * c7auth in Koa: exactly `Content-Type: application/json` (no charset, no ETag), `Cache-Control:
 * no-store`, the RFC 6750 challenge on 401, `Retry-After` on a JWKS outage, and `x-request-id`
 * (the client's when well-formed, else a fresh UUID). Real sockets, real IdP, real engine.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import express from 'express'
import Koa from 'koa'
import { pino } from 'pino'
import { loadConfigFromEnv } from '@c7auth/core'
import type { C7AuthConfig } from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { createGateway, createGatewayServer } from '@c7auth/gateway'
import type { Gateway, GatewayServer } from '@c7auth/gateway'
import * as ex from '@c7auth/gateway/express'
import * as kx from '@c7auth/gateway/koa'
import { describeEngines } from './engines.js'

const SECRET = 'error-rendering-bridge-secret-0123456789abcdef'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

interface Entry {
  readonly name: string
  url: string
  close(): Promise<void>
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((r) => server.close(() => r()))
}

/** A JWS naming an issuer whose JWKS cannot be fetched: refused 503 before any signature check. */
function tokenOfDeadIssuer(iss: string, aud: string): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ iss, aud, sub: 's', azp: 'globex', exp: now + 300 })}.AAAA`
}

describeEngines('one error renderer across entry points', (ctx) => {
  let idp: TestIdp
  let config: C7AuthConfig
  let deadIssuer: string
  let acmeToken: string
  const entries: Entry[] = []

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [{ clientId: 'acme', clientSecret: 'acme-secret', tenant: 'acme' }],
    })
    // A port that was open a moment ago and is closed now: the JWKS fetch is refused.
    const gone = createServer()
    deadIssuer = await listen(gone)
    await closeServer(gone)
    const engine = ctx.engine
    config = loadConfigFromEnv({
      C7AUTH_TENANTS: 'acme,globex',
      C7AUTH_LOG_LEVEL: 'silent',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: engine.admin.id,
      C7AUTH_ENGINE_ADMIN_PASSWORD: engine.admin.password,
      C7AUTH_ENGINE_ADMIN_GROUP: engine.adminGroup,
      C7AUTH_ENGINE_AUTHORIZATIONS: 'apps',
      C7AUTH_BRIDGE_SECRET: SECRET,
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_GATEWAY_PORT: '0',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
      C7AUTH_TENANT_GLOBEX_ISSUER: deadIssuer,
      C7AUTH_TENANT_GLOBEX_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_GLOBEX_ALLOWED_CLIENTS: 'globex',
    })
    const logger = pino({ level: 'silent' })

    const standalone: GatewayServer = await createGatewayServer({ config, logger })
    entries.push({ name: 'standalone', url: standalone.url, close: () => standalone.close() })

    const gateways: Gateway[] = []
    const started = async () => {
      const g = createGateway({ config, logger })
      gateways.push(g)
      await g.start().catch(() => undefined) // the dead issuer makes readiness fail, not start
      return g
    }
    const eg = await started()
    const app = express()
    app.use('/engine-rest', ex.authenticate(eg.authenticator), ex.engineProxy(eg))
    app.use(ex.errorHandler())
    const expressServer = createServer(app)
    entries.push({
      name: 'express',
      url: await listen(expressServer),
      close: async () => {
        await closeServer(expressServer)
        await eg.close()
      },
    })

    const kg = await started()
    const koa = new Koa()
    koa.use(kx.errorHandler())
    koa.use(kx.authenticate(kg.authenticator))
    koa.use(kx.engineProxy(kg, { mountPath: '/engine-rest' }))
    const koaServer = createServer(koa.callback())
    entries.push({
      name: 'koa',
      url: await listen(koaServer),
      close: async () => {
        await closeServer(koaServer)
        await kg.close()
      },
    })

    const res = await fetch(idp.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('acme:acme-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'engine:read' }),
    })
    acmeToken = ((await res.json()) as { access_token: string }).access_token
  }, 60_000)

  afterAll(async () => {
    for (const e of entries) await e.close()
    await idp?.close()
  })

  /** The headers every refusal carries, whichever entry point rendered it. */
  async function expectRefusal(
    res: Response,
    status: number,
    code: string | RegExp,
  ): Promise<void> {
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('etag')).toBeNull()
    const body = (await res.json()) as { code: string; type: string; message: string }
    expect(body.code).toMatch(code)
    expect(typeof body.type).toBe('string')
  }

  for (const name of ['standalone', 'express', 'koa']) {
    describe(name, () => {
      const url = () => (entries.find((e) => e.name === name) as Entry).url

      it('401 without a token: challenge, and the client’s x-request-id echoed', async () => {
        const res = await fetch(`${url()}/engine-rest/process-definition`, {
          headers: { 'x-request-id': 'client-req.42:a' },
        })
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+"$/)
        expect(res.headers.get('x-request-id')).toBe('client-req.42:a')
        await expectRefusal(res, 401, 'C7AUTH_TOKEN_MISSING')
      })

      it('401 for a bad token; a malformed x-request-id is replaced by a fresh UUID', async () => {
        const res = await fetch(`${url()}/engine-rest/process-definition`, {
          headers: { authorization: 'Bearer not.a.jwt', 'x-request-id': 'bad id <script>' },
        })
        expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
        expect(res.headers.get('x-request-id')).toMatch(UUID)
        await expectRefusal(res, 401, 'C7AUTH_TOKEN_INVALID')
      })

      it('403 from the route policy, with a generated x-request-id', async () => {
        const res = await fetch(`${url()}/engine-rest/user`, {
          headers: { authorization: `Bearer ${acmeToken}` },
        })
        expect(res.headers.get('x-request-id')).toMatch(UUID)
        await expectRefusal(res, 403, /^C7AUTH_(ADMIN_ONLY|ROUTE_DENIED)$/)
      })

      it('403 for a path outside the route table', async () => {
        const res = await fetch(`${url()}/engine-rest/no-such-resource/x`, {
          headers: { authorization: `Bearer ${acmeToken}`, 'x-request-id': 'r-403' },
        })
        expect(res.headers.get('x-request-id')).toBe('r-403')
        await expectRefusal(res, 403, 'C7AUTH_ROUTE_DENIED')
      })

      it('404 for an instance that does not exist (as for another tenant’s)', async () => {
        const res = await fetch(
          `${url()}/engine-rest/process-instance/00000000-0000-0000-0000-000000000000`,
          { headers: { authorization: `Bearer ${acmeToken}`, 'x-request-id': 'r-404' } },
        )
        expect(res.headers.get('x-request-id')).toBe('r-404')
        expect(res.status).toBe(404)
        expect(res.headers.get('content-type')).toBe('application/json')
        expect(res.headers.get('etag')).toBeNull()
      })

      it('503 with Retry-After when the issuer’s keys cannot be loaded', async () => {
        const res = await fetch(`${url()}/engine-rest/process-definition`, {
          headers: {
            authorization: `Bearer ${tokenOfDeadIssuer(deadIssuer, idp.defaultAudience)}`,
            'x-request-id': 'r-503',
          },
        })
        expect(res.headers.get('retry-after')).toBe('5')
        expect(res.headers.get('x-request-id')).toBe('r-503')
        await expectRefusal(res, 503, 'C7AUTH_JWKS_UNAVAILABLE')
      })
    })
  }

  it('the standalone server answers a path outside every mount with a rendered 404', async () => {
    const standalone = entries.find((e) => e.name === 'standalone') as Entry
    const res = await fetch(`${standalone.url}/nowhere`, { headers: { 'x-request-id': 'r-x' } })
    expect(res.headers.get('x-request-id')).toBe('r-x')
    await expectRefusal(res, 404, 'C7AUTH_NOT_FOUND')
  })
})

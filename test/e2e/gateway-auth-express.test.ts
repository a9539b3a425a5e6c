import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import express from 'express'
import { ConfigError } from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import {
  authenticate,
  errorHandler,
  getAuth,
  requireScopes,
  requireTenant,
} from '@c7auth/gateway/express'
import { defineAuthContract } from './gateway-auth-contract.js'
import { clientToken, listen } from './gateway-auth-idioms.js'

defineAuthContract('Express', async (authenticator) => {
  const app = express()
  app.use(authenticate(authenticator))
  app.get('/whoami', (req, res) => {
    res.json(getAuth(req))
  })
  app.get('/admin', requireScopes('engine:admin'), (req, res) => {
    res.json(getAuth(req))
  })
  app.get('/tenants/:tenantId/ping', requireTenant(), (_req, res) => {
    res.json({ ok: true })
  })
  app.use(errorHandler())
  const server = createServer({ maxHeaderSize: 80 * 1024 }, app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})

describe('Express idioms', () => {
  let idp: TestIdp
  const closers: (() => Promise<void> | void)[] = []
  beforeAll(async () => {
    // `orders` maps to no tenant: a plain JWT check must not need one.
    idp = await startTestIdp({ clients: [{ clientId: 'orders', clientSecret: 'orders-secret' }] })
  })
  afterAll(async () => {
    for (const c of closers.reverse()) await c()
    await idp.close()
  })

  async function serve(app: express.Express): Promise<string> {
    const server = await listen(app)
    closers.push(server.close)
    return server.url
  }

  it('protects a route with issuer and audience in one line; req.auth has principal and claims', async () => {
    const app = express()
    app.use(authenticate({ issuer: idp.issuer, audience: idp.defaultAudience }))
    app.get('/me', (req, res) => {
      res.json({
        userId: req.auth?.userId,
        tenantIds: req.auth?.tenantIds,
        azp: req.auth?.claims.azp,
      })
    })
    const url = await serve(app)
    const ok = await fetch(`${url}/me`, {
      headers: { authorization: `Bearer ${await clientToken(idp, 'orders')}` },
    })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ userId: 'orders', tenantIds: [], azp: 'orders' })
    // No error handler registered: the refusal is still Camunda-shaped JSON with its challenge.
    const missing = await fetch(`${url}/me`)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('content-type')).toBe('application/json')
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="c7auth"')
    expect(missing.headers.get('etag')).toBeNull()
    expect(await missing.json()).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING' })
  })

  it('loads keys lazily: the app is built while the JWKS is down and serves once it is up', async () => {
    const before = { ...idp.counts }
    idp.setFault({ kind: 'status', status: 503 }, { paths: ['jwks', 'discovery'] })
    const app = express()
    try {
      app.use(
        authenticate({
          issuer: idp.issuer,
          audience: idp.defaultAudience,
          jwks: { coldRetryMs: 0 },
        }),
      )
      app.get('/me', (req, res) => void res.json({ userId: req.auth?.userId }))
      expect(idp.counts.jwks).toBe(before.jwks)
      expect(idp.counts.discovery).toBe(before.discovery)
      const url = await serve(app)
      const token = await clientToken(idp, 'orders')
      const down = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } })
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toMatch(/^\d+$/)
      idp.setFault(null)
      const up = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } })
      expect(up.status).toBe(200)
    } finally {
      idp.setFault(null)
    }
  })

  it("onError: 'next' hands the refusal to the app's own error handler", async () => {
    const app = express()
    app.use(
      authenticate({ issuer: idp.issuer, audience: idp.defaultAudience }, { onError: 'next' }),
    )
    app.get('/me', (_req, res) => void res.json({}))
    app.use(((err, _req, res, _next) => {
      res.status(418).json({ mine: (err as { code?: string }).code })
    }) as express.ErrorRequestHandler)
    const res = await fetch(`${await serve(app)}/me`)
    expect(res.status).toBe(418)
    expect(await res.json()).toEqual({ mine: 'C7AUTH_TOKEN_MISSING' })
  })

  it('refuses a configuration error when the middleware is built, not on a request', () => {
    expect(() => authenticate({ issuer: idp.issuer, audience: [] })).toThrow(ConfigError)
  })
})

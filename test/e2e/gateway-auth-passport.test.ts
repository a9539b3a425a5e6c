import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import express from 'express'
import passport from 'passport'
import { requestToken, startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { createAuthenticator } from '@c7auth/gateway'
import type { Authenticator } from '@c7auth/gateway'
import { C7AuthStrategy } from '@c7auth/gateway/express'

/** The strategy used directly with passport's own middleware (no c7auth callback or error handler). */
describe('C7AuthStrategy with plain passport.authenticate()', () => {
  let idp: TestIdp
  const closers: (() => Promise<void> | void)[] = []

  async function start(auth: Authenticator): Promise<string> {
    const pp = new passport.Passport()
    pp.use(new C7AuthStrategy(auth))
    const app = express()
    app.get('/me', pp.authenticate('c7auth', { session: false }), (req, res) => {
      res.json(req.user)
    })
    const server: Server = createServer(app)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections()
          server.close(() => r())
        }),
      () => auth.close(),
    )
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`
  }

  const options = () => ({
    issuers: [{ issuer: idp.issuer, audience: idp.defaultAudience }],
    tenants: ['acme'],
  })

  beforeAll(async () => {
    idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: 'acme-secret' }] })
  })
  afterAll(async () => {
    for (const c of closers.reverse()) await c()
    await idp.close()
  })

  async function token(): Promise<string> {
    const res = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', scope: 'engine:read' },
      { basic: { clientId: 'acme', clientSecret: 'acme-secret' } },
    )
    return res.body.access_token as string
  }

  it('succeeds with the principal as req.user', async () => {
    const url = await start(createAuthenticator(options()))
    const res = await fetch(url, { headers: { authorization: `Bearer ${await token()}` } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ kind: 'app', userId: 'acme', tenantIds: ['acme'] })
  })

  it('fails with a string RFC 6750 challenge, so passport itself sets WWW-Authenticate', async () => {
    const url = await start(createAuthenticator(options()))
    const missing = await fetch(url)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="c7auth"')
    const bad = await fetch(url, { headers: { authorization: 'Bearer a.b.c' } })
    expect(bad.status).toBe(401)
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })

  it('reports a JWKS outage through error(), so it is a 503 and not a 401', async () => {
    idp.setFault({ kind: 'status', status: 503 }, { paths: ['jwks', 'discovery'] })
    try {
      const url = await start(createAuthenticator(options()))
      const res = await fetch(url, { headers: { authorization: `Bearer ${await token()}` } })
      expect(res.status).toBe(503)
      expect(res.headers.get('www-authenticate')).toBeNull()
    } finally {
      idp.setFault(null)
    }
  })
})

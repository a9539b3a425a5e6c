/**
 * `C7AuthStrategy` with passport's own middleware: `passport.use(new C7AuthStrategy(opts))` and
 * `passport.authenticate('c7auth', { session: false })`, with no c7auth callback or error handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import express from 'express'
import passport from 'passport'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { createAuthenticator } from '@c7auth/gateway'
import type { RequestAuth } from '@c7auth/gateway/express'
import { C7AuthStrategy } from '@c7auth/gateway/express'
import { clientToken, listen } from './gateway-auth-idioms.js'

describe('C7AuthStrategy with plain passport.authenticate()', () => {
  let idp: TestIdp
  const closers: (() => Promise<void> | void)[] = []

  /** An app whose `/me` is guarded by the strategy registered on `pp` under `name`. */
  async function start(pp: passport.PassportStatic | passport.Authenticator, name = 'c7auth') {
    const app = express()
    app.get('/me', pp.authenticate(name, { session: false }), (req, res) => {
      const user = req.user as RequestAuth
      res.json({ userId: user.userId, tenantIds: user.tenantIds, azp: user.claims.azp })
    })
    const server = await listen(app)
    closers.push(server.close)
    return `${server.url}/me`
  }

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [
        { clientId: 'acme', clientSecret: 'acme-secret' },
        { clientId: 'orders', clientSecret: 'orders-secret' },
      ],
    })
  })
  afterAll(async () => {
    for (const c of closers.reverse()) await c()
    await idp.close()
  })

  it('sets req.user from issuer and audience alone, on the passport singleton', async () => {
    passport.use(new C7AuthStrategy({ issuer: idp.issuer, audience: idp.defaultAudience }))
    const url = await start(passport)
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${await clientToken(idp, 'orders')}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ userId: 'orders', tenantIds: [], azp: 'orders' })
  })

  it('maps tenants with a configured authenticator, under a custom name', async () => {
    const auth = createAuthenticator({
      issuers: [{ issuer: idp.issuer, audience: idp.defaultAudience }],
      tenants: ['acme'],
    })
    closers.push(() => auth.close())
    const pp = new passport.Passport()
    pp.use(new C7AuthStrategy(auth, { name: 'engine-bearer' }))
    const url = await start(pp, 'engine-bearer')
    const ok = await fetch(url, {
      headers: { authorization: `Bearer ${await clientToken(idp, 'acme')}` },
    })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ userId: 'acme', tenantIds: ['acme'], azp: 'acme' })
    const stranger = await fetch(url, {
      headers: { authorization: `Bearer ${await clientToken(idp, 'orders')}` },
    })
    expect(stranger.status).toBe(403)
    expect(stranger.headers.get('www-authenticate')).toContain('error="insufficient_scope"')
  })

  it('fails with a string RFC 6750 challenge, so passport itself sets WWW-Authenticate', async () => {
    const pp = new passport.Passport()
    pp.use(new C7AuthStrategy({ issuer: idp.issuer, audience: idp.defaultAudience }))
    const url = await start(pp)
    const missing = await fetch(url)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="c7auth"')
    const bad = await fetch(url, { headers: { authorization: 'Bearer a.b.c' } })
    expect(bad.status).toBe(401)
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })

  it('reports a JWKS outage through error(), so it is a 503 and not a 401', async () => {
    const pp = new passport.Passport()
    pp.use(new C7AuthStrategy({ issuer: idp.issuer, audience: idp.defaultAudience }))
    const url = await start(pp)
    const token = await clientToken(idp, 'orders')
    idp.setFault({ kind: 'status', status: 503 }, { paths: ['jwks', 'discovery'] })
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
      expect(res.status).toBe(503)
      expect(res.headers.get('www-authenticate')).toBeNull()
    } finally {
      idp.setFault(null)
    }
  })
})

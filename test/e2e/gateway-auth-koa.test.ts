import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Koa from 'koa'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import type { RequestAuth } from '@c7auth/gateway/koa'
import {
  authenticate,
  errorHandler,
  getAuth,
  requireScopes,
  requireTenant,
} from '@c7auth/gateway/koa'
import { defineAuthContract } from './gateway-auth-contract.js'
import { clientToken, listen } from './gateway-auth-idioms.js'

defineAuthContract('Koa', async (authenticator) => {
  const app = new Koa()
  app.silent = true
  const tenantRoute = /^\/tenants\/([^/]+)\/ping$/
  const admin = requireScopes('engine:admin')
  const tenant = requireTenant((ctx) => tenantRoute.exec(ctx.path)?.[1])
  app.use(errorHandler())
  app.use(authenticate(authenticator))
  app.use(async (ctx) => {
    if (ctx.path === '/whoami') ctx.body = getAuth(ctx)
    else if (ctx.path === '/admin') await admin(ctx, async () => void (ctx.body = getAuth(ctx)))
    else if (tenantRoute.test(ctx.path))
      await tenant(ctx, async () => void (ctx.body = { ok: true }))
  })
  const server = createServer({ maxHeaderSize: 80 * 1024 }, app.callback())
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

describe('Koa idioms', () => {
  let idp: TestIdp
  const closers: (() => Promise<void>)[] = []
  beforeAll(async () => {
    idp = await startTestIdp({ clients: [{ clientId: 'orders', clientSecret: 'orders-secret' }] })
  })
  afterAll(async () => {
    for (const c of closers) await c()
    await idp.close()
  })

  it('stores the caller under a configurable, typed state key', async () => {
    // `Koa<object, object>` opts out of Koa's `any` state and context, so the compiler checks the key.
    const app = new Koa<object, object>()
      .use(errorHandler())
      .use(
        authenticate({ issuer: idp.issuer, audience: idp.defaultAudience }, { stateKey: 'user' }),
      )
    app.use((ctx) => {
      const user: RequestAuth = ctx.state.user
      // @ts-expect-error the default key is not set when another one is chosen
      const none: unknown = ctx.state.auth
      ctx.body = {
        userId: user.userId,
        azp: user.claims.azp,
        auth: none ?? null,
        sameAsGetAuth: getAuth(ctx) === user,
      }
    })
    app.silent = true
    const server = await listen(app.callback())
    closers.push(server.close)
    const res = await fetch(`${server.url}/`, {
      headers: { authorization: `Bearer ${await clientToken(idp, 'orders')}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      userId: 'orders',
      azp: 'orders',
      auth: null,
      sameAsGetAuth: true,
    })
    const missing = await fetch(`${server.url}/`, { headers: { 'x-request-id': 'koa-1' } })
    expect(missing.status).toBe(401)
    expect(missing.headers.get('content-type')).toBe('application/json')
    expect(missing.headers.get('x-request-id')).toBe('koa-1')
  })

  it('guards read the caller under a custom key', async () => {
    const app = new Koa()
    app.silent = true
    app.use(errorHandler())
    app.use(
      authenticate({ issuer: idp.issuer, audience: idp.defaultAudience }, { stateKey: 'who' }),
    )
    app.use(requireScopes('engine:admin'))
    app.use((ctx) => void (ctx.body = {}))
    const server = await listen(app.callback())
    closers.push(server.close)
    const res = await fetch(`${server.url}/`, {
      headers: { authorization: `Bearer ${await clientToken(idp, 'orders')}` },
    })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'C7AUTH_SCOPE_INSUFFICIENT' })
  })

  it('refuses an access_token in a parsed body, on ctx.request.body and on ctx.req.body (as Express)', async () => {
    const token = await clientToken(idp, 'orders')
    // a JSON body parser that puts the body where koa-bodyparser does (`ctx.request.body`) or
    // where one that patches Node's request does (`ctx.req.body`, koa-body's `patchNode`)
    const parsed =
      (onNode: boolean): Koa.Middleware =>
      async (ctx, next) => {
        const chunks: Buffer[] = []
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        if (onNode) (ctx.req as { body?: unknown }).body = body
        else (ctx.request as { body?: unknown }).body = body
        await next()
      }
    for (const onNode of [false, true]) {
      const app = new Koa()
      app.silent = true
      app.use(errorHandler())
      app.use(parsed(onNode))
      app.use(authenticate({ issuer: idp.issuer, audience: idp.defaultAudience }))
      app.use((ctx) => void (ctx.body = { reached: true }))
      const server = await listen(app.callback())
      closers.push(server.close)
      const send = (body: unknown) =>
        fetch(`${server.url}/`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      const refused = await send({ access_token: token })
      expect(refused.status, `on ctx.${onNode ? 'req' : 'request'}.body`).toBe(400)
      const text = await refused.text()
      expect(JSON.parse(text)).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID' })
      expect(text).not.toContain(token.slice(0, 40))
      // the same request without a token in its body passes
      const ok = await send({ note: 'no token here' })
      expect(ok.status).toBe(200)
    }
  })
})

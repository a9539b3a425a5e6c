import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import {
  authenticate,
  errorHandler,
  getAuth,
  requireScopes,
  requireTenant,
} from '@c7auth/gateway/koa'
import { defineAuthContract } from './gateway-auth-contract.js'

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

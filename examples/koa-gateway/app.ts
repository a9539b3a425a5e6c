import Koa from 'koa'
import type { C7AuthConfig } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import {
  authenticate,
  engineProxy,
  errorHandler,
  getAuth,
  requireScopes,
} from '@c7auth/gateway/koa'

/** A Koa app: engine-rest behind c7auth, plus one route of your own guarded by a scope. */
export function createApp(config: C7AuthConfig) {
  const gateway = createGateway({ config })
  const app = new Koa()
  const auth = authenticate(gateway.authenticator)
  const base = config.gateway.basePath
  const proxy = engineProxy(gateway, { mountPath: base })
  app.use(errorHandler())
  app.use(async (ctx, next) => {
    if (ctx.path === '/me') {
      await auth(ctx, () =>
        requireScopes('engine:read')(ctx, async () => {
          const { userId, kind, tenantIds } = getAuth(ctx)!
          ctx.body = { userId, kind, tenantIds }
        }),
      )
    } else if (ctx.path === base || ctx.path.startsWith(`${base}/`)) {
      await auth(ctx, () => proxy(ctx, next))
    } else await next()
  })
  return { app, gateway }
}

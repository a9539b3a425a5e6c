// Compiled by test/pack/check.mjs in a second project holding Koa and no Express: the Koa
// adapter's shipped declarations type-check without Express installed (it is an optional peer).
import Koa from 'koa'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import { authenticate, engineProxy, getAuth } from '@c7auth/gateway/koa'

export function koaConsumer(env: Record<string, string | undefined>): Koa {
  const gateway = createGateway({ config: loadConfigFromEnv(env) })
  const app = new Koa()
  app.use(authenticate(gateway.authenticator))
  app.use(async (ctx, next) => {
    ctx.set('x-user', getAuth(ctx)?.userId ?? '')
    await next()
  })
  app.use(engineProxy(gateway))
  return app
}

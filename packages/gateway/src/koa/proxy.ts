import type { Context, Middleware } from 'koa'
import { HttpAuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { Gateway } from '../engine/index.js'
import { requestIdOf, sendError } from '../auth/index.js'
import { getAuth } from './auth.js'

/** Options of the Koa {@link engineProxy}. */
export interface KoaEngineProxyOptions {
  /** Path prefix served by the proxy. Default `/engine-rest`. */
  mountPath?: string
  /** Where the verified principal is. Default: {@link getAuth} (`ctx.state.auth`). */
  getPrincipal?: (ctx: Context) => Principal | undefined
}

/**
 * Koa middleware that proxies every request below `mountPath` to engine-rest and writes the
 * response itself (`ctx.respond = false`, so Koa adds no charset to the engine's `Content-Type`).
 * Mount it after `authenticate()`; with no principal it answers 401. Requests outside the mount
 * go to `next()`. Do not put a body parser in front of it.
 *
 * @example
 * ```ts
 * app.use(authenticate(gateway.authenticator))
 * app.use(engineProxy(gateway, { mountPath: '/engine-rest' }))
 * ```
 */
export function engineProxy(
  gateway: Pick<Gateway, 'handle'>,
  options: KoaEngineProxyOptions = {},
): Middleware {
  const mount = (options.mountPath ?? '/engine-rest').replace(/\/+$/, '')
  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next()
    ctx.respond = false
    const principal = options.getPrincipal ? options.getPrincipal(ctx) : getAuth(ctx)
    if (!principal) {
      sendError(ctx.res, new HttpAuthError('C7AUTH_TOKEN_MISSING'), requestIdOf(ctx.req))
      return
    }
    const rest = ctx.url.slice(mount.length)
    await gateway.handle(ctx.req, ctx.res, principal, {
      mountPath: mount,
      url: rest === '' || rest.startsWith('?') ? `/${rest}` : rest,
    })
  }
}

import type { Context } from 'koa'
import type { Principal } from '@c7auth/core'
import type { Gateway } from '../engine/index.js'
import { principalForProxy } from '../auth/proxy-principal.js'
import { withLookup } from '../auth/auth-source.js'
import { writeError } from '../auth/write-error.js'
import { getAuth } from './auth.js'
import type { NeutralMiddleware } from './auth.js'

/** Options of the Koa {@link engineProxy}. */
export interface KoaEngineProxyOptions {
  /** Path prefix served by the proxy. Default `/engine-rest`. */
  mountPath?: string
  /**
   * Where an already verified principal is. Default: {@link getAuth}; when there is none, the
   * proxy authenticates the request itself with `gateway.authenticator`.
   */
  getPrincipal?: (ctx: Context) => Principal | undefined
}

/**
 * Koa middleware that proxies every request below `mountPath` to engine-rest and writes the
 * response itself (`ctx.respond = false`, so Koa adds no charset to the engine's `Content-Type`).
 * It authenticates with the gateway's authenticator unless an earlier
 * `authenticate(gateway.authenticator)` did; a principal that maps to no tenant (a plain JWT
 * check) is refused with 403 (fail closed). Requests outside the mount go to `next()`. Do not put
 * a body parser in front of it.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ config: loadConfigFromEnv(process.env) })
 * await gateway.start()
 * app.use(engineProxy(gateway, { mountPath: '/engine-rest' }))
 * ```
 */
export function engineProxy(
  gateway: Pick<Gateway, 'handle' | 'authenticator'>,
  options: KoaEngineProxyOptions = {},
): NeutralMiddleware {
  const mount = (options.mountPath ?? '/engine-rest').replace(/\/+$/, '')
  // an authenticator of one's own may lack `lookup`: filled in once here, not per request
  const authenticator = withLookup(gateway.authenticator)
  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next()
    ctx.respond = false
    let principal: Principal
    try {
      const known = options.getPrincipal ? options.getPrincipal(ctx as Context) : getAuth(ctx)
      const found = principalForProxy(authenticator, ctx.req, known)
      principal = found instanceof Promise ? await found : found
    } catch (err) {
      writeError(ctx.req, ctx.res, err)
      return
    }
    const rest = ctx.url.slice(mount.length)
    await gateway.handle(ctx.req, ctx.res, principal, {
      mountPath: mount,
      url: rest === '' || rest.startsWith('?') ? `/${rest}` : rest,
    })
  }
}

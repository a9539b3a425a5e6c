import type { Context, Middleware } from 'koa'
import type { Principal } from '@c7auth/core'
import { assertScopes, assertTenant, responseRequestId, toErrorResponse } from '../auth/index.js'
import type { Authenticator, LoggerLike } from '../auth/index.js'

const realms = new WeakMap<object, string>()

/**
 * Koa middleware: authenticates the bearer token through the shared authenticator and sets
 * `ctx.state.auth`; failures are thrown for {@link errorHandler} (or Koa's own `ctx.onerror`,
 * which honours their `status`, `headers` and `expose`).
 *
 * @example
 * ```ts
 * app.use(errorHandler())
 * app.use(authenticate(authenticator))
 * app.use((ctx) => { ctx.body = getAuth(ctx) })
 * ```
 */
export function authenticate(authenticator: Authenticator): Middleware {
  const realm = authenticator.realm
  return async function authenticate(ctx, next) {
    realms.set(ctx, realm)
    const { req } = ctx
    const body = (ctx.request as { body?: unknown }).body
    ctx.state.auth = await authenticator.authenticate({
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      ...(req.url === undefined ? {} : { url: req.url }),
      ...(body === undefined ? {} : { body }),
    })
    await next()
  }
}

/** The verified caller of this request, or `undefined` before {@link authenticate}. */
export function getAuth(ctx: Context): Principal | undefined {
  return (ctx.state as { auth?: Principal }).auth
}

/**
 * Guard: 403 `insufficient_scope` unless the caller holds every scope.
 *
 * @example
 * ```ts
 * router.post('/deploy', requireScopes('engine:admin'), handler)
 * ```
 */
export function requireScopes(...scopes: string[]): Middleware {
  return async function requireScopes(ctx, next) {
    assertScopes(getAuth(ctx), scopes, realms.get(ctx))
    await next()
  }
}

/**
 * Guard: 403 unless the caller may act in the tenant that `tenantFrom` names (default: the
 * `tenantId` route parameter in `ctx.params`); with no tenant named, the caller must belong to some
 * tenant.
 *
 * @example
 * ```ts
 * router.get('/tenants/:tenantId/report', requireTenant(), handler)
 * ```
 */
export function requireTenant(
  tenantFrom: (ctx: Context) => string | undefined = (ctx) =>
    (ctx as { params?: Record<string, string> }).params?.tenantId,
): Middleware {
  return async function requireTenant(ctx, next) {
    assertTenant(getAuth(ctx), tenantFrom(ctx), realms.get(ctx))
    await next()
  }
}

/**
 * Koa error middleware rendering Camunda-shaped JSON `{ type, message, code }` with the status
 * and `WWW-Authenticate` header of the error's code. Register it first.
 *
 * @example
 * ```ts
 * app.use(errorHandler({ logger }))
 * ```
 */
export function errorHandler(options: { logger?: LoggerLike } = {}): Middleware {
  return async function errorHandler(ctx, next) {
    try {
      await next()
    } catch (err) {
      if (ctx.headerSent) throw err
      const r = toErrorResponse(err, options.logger, responseRequestId(ctx.req, ctx.res))
      ctx.status = r.status
      // The Content-Type is set before the body: Koa then keeps it (no charset added).
      ctx.set(r.headers)
      ctx.body = Buffer.from(r.text)
    }
  }
}

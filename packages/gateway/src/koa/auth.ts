import type { Context, Middleware } from 'koa'
import { assertScopes, assertTenant, toAuthenticator, toRequestAuth } from '../auth/index.js'
import type { RequestAuth, AuthSource, LoggerLike } from '../auth/index.js'
import { writeError } from '../auth/write-error.js'

// Per request: the verified caller and the realm of its authenticator, whatever the state key.
const verifiedBy = new WeakMap<object, { auth: RequestAuth | undefined; realm: string }>()

/** Options of the Koa {@link authenticate}. */
export interface KoaAuthenticateOptions<K extends string = 'auth'> {
  /** The `ctx.state` key the verified caller is stored under. Default: `auth`. */
  stateKey?: K
}

/**
 * Middleware that adds nothing to `ctx.state` or the context, so it keeps an app's typed state
 * (`new Koa<{}, {}>()`) typed: Koa's default state and context are `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type NeutralMiddleware = Middleware<{}, {}>

/** The `ctx.state` that {@link authenticate} adds: the caller under the chosen key. */
export type AuthState<K extends string = 'auth'> = { [P in K]: RequestAuth }

/**
 * Koa middleware: verifies the `Authorization: Bearer` token and stores the caller (the principal
 * plus the token's verified `claims`) in `ctx.state[stateKey]` (default `auth`), typed for the
 * middleware after it. Give it an issuer and an audience for a plain JWT check, or a configured
 * authenticator (`gateway.authenticator`). Failures are thrown for {@link errorHandler} (or Koa's
 * own `ctx.onerror`, which honours their `status`, `headers` and `expose`).
 *
 * @example
 * ```ts
 * const app = new Koa()
 *   .use(errorHandler())
 *   .use(authenticate({ issuer: 'https://idp.example.com/', audience: 'orders-api' }, { stateKey: 'user' }))
 *   .use((ctx) => { ctx.body = { id: ctx.state.user.userId } })
 * ```
 */
export function authenticate<const K extends string = 'auth'>(
  source: AuthSource,
  options: KoaAuthenticateOptions<K> = {},
  // `{}` as the context: the middleware adds nothing there, and Koa's default context is `any`.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
): Middleware<AuthState<K>, {}> {
  const authenticator = toAuthenticator(source)
  const realm = authenticator.realm
  const key = options.stateKey ?? 'auth'
  return async function authenticate(ctx, next) {
    const seen: { auth: RequestAuth | undefined; realm: string } = { auth: undefined, realm }
    verifiedBy.set(ctx, seen)
    const { req } = ctx
    const body = (ctx.request as { body?: unknown }).body
    // Node's request is the request to check unless a body parser ran (the body may hold the
    // token); a cache hit is the verified token itself, no promise to wait for
    const found = authenticator.lookup(
      body === undefined
        ? req
        : {
            headers: req.headers,
            rawHeaders: req.rawHeaders,
            ...(req.url === undefined ? {} : { url: req.url }),
            body,
          },
    )
    const verified = found instanceof Promise ? await found : found
    seen.auth = toRequestAuth(verified)
    ;(ctx.state as Record<string, unknown>)[key] = seen.auth
    await next()
  }
}

/**
 * The verified caller of this request (under whatever state key {@link authenticate} used), or
 * `undefined` before it.
 */
export function getAuth(ctx: object): RequestAuth | undefined {
  return verifiedBy.get(ctx)?.auth
}

/**
 * Guard: 403 `insufficient_scope` unless the caller holds every scope.
 *
 * @example
 * ```ts
 * router.post('/deploy', requireScopes('engine:admin'), handler)
 * ```
 */
export function requireScopes(...scopes: string[]): NeutralMiddleware {
  return async function requireScopes(ctx, next) {
    assertScopes(getAuth(ctx), scopes, verifiedBy.get(ctx)?.realm)
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
): NeutralMiddleware {
  return async function requireTenant(ctx, next) {
    assertTenant(getAuth(ctx), tenantFrom(ctx as Context), verifiedBy.get(ctx)?.realm)
    await next()
  }
}

/**
 * Koa error middleware rendering Camunda-shaped JSON `{ type, message, code }` with the status
 * and `WWW-Authenticate` header of the error's code (exactly `application/json`, with
 * `x-request-id`). Register it first.
 *
 * @example
 * ```ts
 * app.use(errorHandler({ logger }))
 * ```
 */
export function errorHandler(options: { logger?: LoggerLike } = {}): NeutralMiddleware {
  return async function errorHandler(ctx, next) {
    try {
      await next()
    } catch (err) {
      if (ctx.headerSent) throw err
      // Written on the bare response, so Koa adds no charset.
      ctx.respond = false
      writeError(ctx.req, ctx.res, err, options.logger)
    }
  }
}

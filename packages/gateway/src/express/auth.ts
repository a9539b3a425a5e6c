import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import { Passport } from 'passport'
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt'
import { HttpAuthError, isC7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { assertScopes, assertTenant, responseRequestId, sendError } from '../auth/index.js'
import type { Authenticator, LoggerLike } from '../auth/index.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified caller, set by {@link authenticate}. Prefer {@link getAuth}. */
      auth?: Principal
    }
  }
}

const failures = new WeakMap<object, unknown>()
const realms = new WeakMap<object, string>()

/**
 * A passport strategy over passport-jwt whose verification is the shared {@link Authenticator},
 * so Express and Koa behave identically. It is async-safe: a rejected verification never hangs
 * the request. Token and request problems call `fail()` with the RFC 6750 challenge string and
 * status; infrastructure failures (JWKS unreachable) call `error()`, which becomes a 503.
 *
 * @example
 * ```ts
 * passport.use('c7auth', new C7AuthStrategy(authenticator))
 * ```
 */
export class C7AuthStrategy extends JwtStrategy {
  // Not a #private field: passport runs each request on Object.create(strategy).
  protected readonly authenticator: Authenticator

  constructor(authenticator: Authenticator, options: { name?: string } = {}) {
    super(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        // Never reached: authenticate() below routes to the shared authenticator.
        secretOrKeyProvider: (_req, _raw, done) => done(new Error('unused')),
      },
      (_payload: unknown, done: (err: unknown, user: false) => void) => done(null, false),
    )
    this.name = options.name ?? 'c7auth'
    this.authenticator = authenticator
  }

  override authenticate(req: Request): void {
    this.authenticator.authenticate(req).then(
      (principal) => this.success(principal),
      (err: unknown) => {
        if (isC7AuthError(err) && err.status < 500) {
          failures.set(req, err)
          this.fail(err.headers['www-authenticate'] ?? err.code, err.status)
        } else {
          this.error(err instanceof Error ? err : new Error('authentication failed'))
        }
      },
    )
  }
}

/** Options of the Express {@link authenticate}. */
export interface ExpressAuthenticateOptions {
  /** A passport instance to register the strategy on. Default: a private one. */
  passport?: InstanceType<typeof Passport>
  /** Strategy name. Default: `c7auth`. */
  strategyName?: string
}

/**
 * Express middleware: authenticates the bearer token through passport and the shared
 * authenticator, sets `req.auth`, and passes failures to `next(err)` for {@link errorHandler}.
 *
 * @example
 * ```ts
 * app.use(authenticate(authenticator))
 * app.get('/me', (req, res) => res.json(getAuth(req)))
 * app.use(errorHandler())
 * ```
 */
export function authenticate(
  authenticator: Authenticator,
  options: ExpressAuthenticateOptions = {},
): RequestHandler {
  const passport = options.passport ?? new Passport()
  const name = options.strategyName ?? 'c7auth'
  passport.use(name, new C7AuthStrategy(authenticator, { name }))
  const realm = authenticator.realm
  return function authenticate(req, res, next) {
    realms.set(req, realm)
    const run = passport.authenticate(
      name,
      { session: false },
      (err: unknown, user: Principal | false | undefined) => {
        if (err) return next(err)
        if (!user) {
          const failure = failures.get(req) ?? new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm })
          failures.delete(req)
          return next(failure)
        }
        req.auth = user
        next()
      },
    ) as RequestHandler
    run(req, res, next)
  }
}

/** The verified caller of this request, or `undefined` before {@link authenticate}. */
export function getAuth(req: Request): Principal | undefined {
  return req.auth
}

/**
 * Guard: 403 `insufficient_scope` unless the caller holds every scope.
 *
 * @example
 * ```ts
 * app.post('/deploy', requireScopes('engine:admin'), handler)
 * ```
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  return function requireScopes(req, _res, next) {
    try {
      assertScopes(req.auth, scopes, realms.get(req))
      next()
    } catch (err) {
      next(err)
    }
  }
}

/**
 * Guard: 403 unless the caller may act in the tenant that `tenantFrom` names (default: the
 * `tenantId` route parameter); with no tenant named, the caller must belong to some tenant.
 *
 * @example
 * ```ts
 * app.get('/tenants/:tenantId/report', requireTenant(), handler)
 * ```
 */
export function requireTenant(
  tenantFrom: (req: Request) => string | undefined = (req) =>
    req.params.tenantId as string | undefined,
): RequestHandler {
  return function requireTenant(req, _res, next) {
    try {
      assertTenant(req.auth, tenantFrom(req), realms.get(req))
      next()
    } catch (err) {
      next(err)
    }
  }
}

/**
 * Express error handler rendering Camunda-shaped JSON `{ type, message, code }` through the one
 * error renderer (status, `WWW-Authenticate`, `Retry-After`, `x-request-id`). Register it last.
 *
 * @example
 * ```ts
 * app.use(errorHandler({ logger }))
 * ```
 */
export function errorHandler(options: { logger?: LoggerLike } = {}): ErrorRequestHandler {
  return function errorHandler(err, req, res, next) {
    if (res.headersSent) return next(err)
    // Written on Node's response, not `res.send`: Express would add a charset and an ETag.
    sendError(res, err, responseRequestId(req, res), options.logger)
  }
}

import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import { assertScopes, assertTenant, toAuthenticator, toRequestAuth } from '../auth/index.js'
import type { RequestAuth, AuthSource, LoggerLike, VerifiedToken } from '../auth/index.js'
import { writeError } from '../auth/write-error.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified caller and its token's claims, set by {@link authenticate}. */
      auth?: RequestAuth
    }
  }
}

// The realm of the authenticator that verified a request, for the guards' challenges.
const realms = new WeakMap<object, string>()

/** Options of the Express {@link authenticate}. */
export interface ExpressAuthenticateOptions {
  /**
   * `respond` (default): answer a refused request at once with the Camunda-shaped JSON error and
   * its RFC 6750 challenge. `next`: pass the error to `next(err)` for your own error handler (or
   * {@link errorHandler}).
   */
  onError?: 'respond' | 'next'
  /** Receives 5xx refusals (JWKS unreachable); never tokens or claims. */
  logger?: LoggerLike
}

/**
 * Express middleware: verifies the `Authorization: Bearer` token and sets `req.auth` (the
 * principal plus the token's verified `claims`). Give it an issuer and an audience for a plain JWT
 * check, or a configured authenticator (`gateway.authenticator`) for tenant mapping. Keys load on
 * the first request.
 *
 * @example
 * ```ts
 * app.use(authenticate({ issuer: 'https://idp.example.com/', audience: 'orders-api' }))
 * app.get('/me', (req, res) => res.json({ user: req.auth?.userId, email: req.auth?.claims.email }))
 * ```
 */
export function authenticate(
  source: AuthSource,
  options: ExpressAuthenticateOptions = {},
): RequestHandler {
  const authenticator = toAuthenticator(source)
  const realm = authenticator.realm
  const respond = options.onError !== 'next'
  const refuse = (req: Request, res: Response, next: NextFunction, err: unknown): void => {
    if (respond) writeError(req, res, err, options.logger)
    else next(err)
  }
  return function authenticate(req, res, next) {
    realms.set(req, realm)
    let found: VerifiedToken | Promise<VerifiedToken>
    try {
      found = authenticator.lookup(req)
    } catch (err) {
      refuse(req, res, next, err)
      return
    }
    if (found instanceof Promise) {
      found.then(
        (verified) => {
          req.auth = toRequestAuth(verified)
          next()
        },
        (err: unknown) => refuse(req, res, next, err),
      )
      return
    }
    // a cache hit is the verified token itself: the next handler runs in this same tick
    req.auth = toRequestAuth(found)
    next()
  }
}

/** The verified caller of this request, or `undefined` before {@link authenticate}. */
export function getAuth(req: Request): RequestAuth | undefined {
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
 * Express error handler rendering Camunda-shaped JSON `{ type, message, code }` with the status
 * and `WWW-Authenticate` header of the error's code (exactly `application/json`, with
 * `x-request-id`). Register it last.
 *
 * @example
 * ```ts
 * app.use(errorHandler({ logger }))
 * ```
 */
export function errorHandler(options: { logger?: LoggerLike } = {}): ErrorRequestHandler {
  return function errorHandler(err, req, res, _next) {
    writeError(req, res, err, options.logger)
  }
}

import { writeError } from '../auth/write-error.js'
import { noAssertionKeys } from '../engine/assertion-signer.js'
import type { Gateway } from '../engine/index.js'
import type { NeutralMiddleware } from './auth.js'

/** Options of the Koa {@link engineJwks}. */
export interface KoaEngineJwksOptions {
  /** Default `/.well-known/jwks.json`. */
  path?: string
}

/**
 * Koa middleware serving the gateway's assertion keys (JWKS) for the c7auth engine plugin at
 * `GET path`, unauthenticated (mount it before `authenticate()`); other requests go to `next()`.
 * Answers 404 unless the gateway runs in `assertion` mode.
 *
 * @example
 * ```ts
 * app.use(engineJwks(gateway))
 * app.use(authenticate(gateway.authenticator))
 * ```
 */
export function engineJwks(
  gateway: Pick<Gateway, 'assertionJwks'>,
  options: KoaEngineJwksOptions = {},
): NeutralMiddleware {
  const path = options.path ?? '/.well-known/jwks.json'
  return async (ctx, next) => {
    if (ctx.path !== path || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next()
      return
    }
    const jwks = gateway.assertionJwks
    if (!jwks) {
      // the one error renderer, on the bare response (Koa would add a charset)
      ctx.respond = false
      writeError(ctx.req, ctx.res, noAssertionKeys())
      return
    }
    ctx.set('cache-control', 'public, max-age=60')
    ctx.status = 200
    ctx.body = jwks
  }
}

import type { ServerResponse } from 'node:http'
import { isC7AuthError } from '@c7auth/core'
import { toAuthenticator, toRequestAuth } from '../auth/index.js'
import type { RequestAuth, Authenticator, AuthRequestLike, AuthSource } from '../auth/index.js'

/** Options of {@link C7AuthStrategy}. */
export interface C7AuthStrategyOptions {
  /** The name passport knows the strategy by. Default: `c7auth`. */
  name?: string
}

/**
 * A passport strategy for bearer access tokens: `req.user` becomes the verified caller (the
 * principal plus the token's `claims`, see `RequestAuth`). Refusals call `fail(challenge, status)`
 * with the RFC 6750 challenge, so passport itself answers 401/403 with `WWW-Authenticate` (which
 * passport writes only on a 401; for a 403 the strategy sets it on Express's `req.res`); an
 * unreachable JWKS calls `error()`, which your error handler turns into a 503.
 *
 * It needs no runtime package: passport calls `authenticate(req)` on a per-request copy of the
 * strategy on which it has set `success`, `fail` and `error` (what the `passport-strategy` base
 * class would declare), so `passport` stays your dependency, not ours.
 *
 * @example
 * ```ts
 * passport.use(new C7AuthStrategy({ issuer: 'https://idp.example.com/', audience: 'orders-api' }))
 * app.get('/me', passport.authenticate('c7auth', { session: false }), (req, res) => res.json(req.user))
 * ```
 */
export class C7AuthStrategy {
  /** The name passport registers the strategy under. */
  readonly name: string
  // Not a #private field: passport runs each request on Object.create(strategy).
  protected readonly authenticator: Authenticator

  /** Set by passport on the per-request copy. */
  declare success: (user: RequestAuth, info?: unknown) => void
  /** Set by passport on the per-request copy. */
  declare fail: (challenge: string, status: number) => void
  /** Set by passport on the per-request copy. */
  declare error: (err: Error) => void

  /** @param source Issuer and audience of a plain JWT check, or a configured authenticator. */
  constructor(source: AuthSource, options: C7AuthStrategyOptions = {}) {
    this.name = options.name ?? 'c7auth'
    this.authenticator = toAuthenticator(source)
  }

  /** Called by passport; verifies the bearer token and reports the outcome to passport. */
  authenticate(req: AuthRequestLike): void {
    this.authenticator.authenticateRequest(req).then(
      (verified) => this.success(toRequestAuth(verified)),
      (err: unknown) => {
        if (isC7AuthError(err) && err.status < 500) {
          const challenge = err.headers['www-authenticate']
          // Passport writes the challenge only on a 401; RFC 6750 wants it on the 403 too.
          const res = (req as { res?: ServerResponse }).res
          if (challenge !== undefined && err.status !== 401 && res?.headersSent === false) {
            res.setHeader('www-authenticate', challenge)
          }
          this.fail(challenge ?? err.code, err.status)
        } else {
          this.error(err instanceof Error ? err : new Error('authentication failed'))
        }
      },
    )
  }
}

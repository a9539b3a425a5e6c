import type { Request, RequestHandler } from 'express'
import { HttpAuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { Gateway } from '../engine/index.js'
import { requestIdOf, sendError } from '../auth/index.js'
import { getAuth } from './auth.js'

/** Options of the Express {@link engineProxy}. */
export interface ExpressEngineProxyOptions {
  /** Public mount path for rewritten links. Default: where Express mounted it (`req.baseUrl`). */
  mountPath?: string
  /** Where the verified principal is. Default: {@link getAuth} (`req.auth`). */
  getPrincipal?: (req: Request) => Principal | undefined
}

/**
 * Express middleware that proxies every request below its mount to engine-rest. Mount it after
 * `authenticate()`; with no principal it answers 401 (fail closed). Do not put a body parser in
 * front of it: bodies are streamed, or read by the gateway itself when it must rewrite them.
 *
 * @example
 * ```ts
 * app.use('/engine-rest', authenticate(gateway.authenticator), engineProxy(gateway))
 * ```
 */
export function engineProxy(
  gateway: Pick<Gateway, 'handle'>,
  options: ExpressEngineProxyOptions = {},
): RequestHandler {
  return (req, res, next) => {
    const principal = options.getPrincipal ? options.getPrincipal(req) : getAuth(req)
    if (!principal) {
      sendError(res, new HttpAuthError('C7AUTH_TOKEN_MISSING'), requestIdOf(req))
      return
    }
    gateway
      .handle(req, res, principal, { mountPath: options.mountPath ?? req.baseUrl, url: req.url })
      .catch(next)
  }
}

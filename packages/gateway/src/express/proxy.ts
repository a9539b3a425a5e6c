import type { Request, RequestHandler } from 'express'
import type { Principal } from '@c7auth/core'
import type { Gateway } from '../engine/index.js'
import { writeError } from '../auth/write-error.js'
import { principalForProxy } from '../auth/proxy-principal.js'
import { withLookup } from '../auth/auth-source.js'

/** Options of the Express {@link engineProxy}. */
export interface ExpressEngineProxyOptions {
  /** Public mount path for rewritten links. Default: where Express mounted it (`req.baseUrl`). */
  mountPath?: string
  /**
   * Where an already verified principal is. Default: `req.auth`; when there is none, the proxy
   * authenticates the request itself with `gateway.authenticator`.
   */
  getPrincipal?: (req: Request) => Principal | undefined
}

/**
 * Express middleware that proxies every request below its mount to engine-rest. It authenticates
 * with the gateway's authenticator unless an earlier `authenticate(gateway.authenticator)` did;
 * a principal that maps to no tenant (a plain JWT check) is refused with 403 (fail closed). Do not
 * put a body parser in front of it: bodies are streamed, or read by the gateway itself when it
 * must rewrite them.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ config: loadConfigFromEnv(process.env) })
 * await gateway.start()
 * app.use('/engine-rest', engineProxy(gateway))
 * ```
 */
export function engineProxy(
  gateway: Pick<Gateway, 'handle' | 'authenticator'>,
  options: ExpressEngineProxyOptions = {},
): RequestHandler {
  const getPrincipal = options.getPrincipal ?? ((req: Request) => req.auth)
  // an authenticator of one's own may lack `lookup`: filled in once here, not per request
  const authenticator = withLookup(gateway.authenticator)
  return (req, res, next) => {
    const fail = (err: unknown) => {
      if (res.headersSent) next(err)
      else writeError(req, res, err)
    }
    const opts = { mountPath: options.mountPath ?? req.baseUrl, url: req.url }
    let principal: Principal | Promise<Principal>
    try {
      principal = principalForProxy(authenticator, req, getPrincipal(req))
    } catch (err) {
      fail(err)
      return
    }
    if (principal instanceof Promise) {
      principal.then((p) => gateway.handle(req, res, p, opts)).catch(fail)
      return
    }
    try {
      gateway.handle(req, res, principal, opts).catch(fail)
    } catch (err) {
      fail(err)
    }
  }
}

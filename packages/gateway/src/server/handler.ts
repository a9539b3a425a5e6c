import type { IncomingMessage, ServerResponse } from 'node:http'
import { context as otelContext } from '@opentelemetry/api'
import type { Tracer } from '@opentelemetry/api'
import { C7AuthError, isC7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { requestIdOf, sendError } from '../auth/index.js'
import type { LoggerLike } from '../auth/index.js'
import { sendJson } from '../auth/http-error.js'
import type { Gateway, HandleOptions } from '../engine/index.js'
import { startRequestSpan } from '../observability/tracing.js'
import { metricsAllowed, refuseMetrics } from './metrics-access.js'
import type { GatewayMetrics } from './metrics.js'

/** What the standalone server's request handler serves. */
export interface RequestHandlerOptions {
  readonly gateway: Gateway
  readonly metrics: GatewayMetrics
  /** engine-rest mount, e.g. `/engine-rest` (no trailing slash needed). */
  readonly basePath: string
  /** Where the assertion JWKS is served (assertion mode only). */
  readonly jwksPath?: string | undefined
  /** Serve `/metrics` here (default); false when it has a listener of its own. */
  readonly metricsHere?: boolean | undefined
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  readonly metricsToken?: string | undefined
  readonly logger?: LoggerLike | undefined
  /** OpenTelemetry tracer; engine-rest requests get a server span before authentication. */
  readonly tracer?: Tracer | undefined
}

const NOT_FOUND = new C7AuthError('C7AUTH_NOT_FOUND')

/**
 * The standalone gateway's request handler on plain `node:http`: `/healthz`, `/readyz`,
 * `/metrics`, the assertion JWKS, and engine-rest at `basePath` as authenticator → policy → proxy
 * with no framework in between. Everything else is a `C7AUTH_NOT_FOUND` 404 from the one error
 * renderer. Built once per server: the per-request path allocates no closures of its own.
 */
export function createRequestHandler(
  options: RequestHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { gateway, metrics, logger } = options
  const authenticator = gateway.authenticator
  const mount = options.basePath.replace(/\/+$/, '')
  const mountSlash = `${mount}/`
  const mountQuery = `${mount}?`
  const jwksPath = options.jwksPath
  const tracer = options.tracer

  async function engine(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const requestId = requestIdOf(req)
    const t0 = performance.now()
    let principal: Principal
    try {
      // a cache hit is the principal itself: no promise to wait for
      const known = authenticator.lookup(req)
      principal = (known instanceof Promise ? await known : known).principal
    } catch (err) {
      const code = isC7AuthError(err) ? err.code : 'error'
      metrics.observeVerify(code, (performance.now() - t0) / 1000)
      metrics.countRequest('refused', isC7AuthError(err) ? err.code : 'C7AUTH_INTERNAL', 'none')
      // Refused before the body was read: close rather than drain an upload nobody will use.
      if (hasBody(req)) res.setHeader('connection', 'close')
      sendError(res, err, requestId, logger)
      return
    }
    metrics.observeVerify('ok', (performance.now() - t0) / 1000)
    const rest = url.slice(mount.length)
    const opts: HandleOptions = {
      mountPath: mount,
      url: rest === '' || rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest,
      requestId,
    }
    try {
      await gateway.handle(req, res, principal, opts)
    } catch (err) {
      metrics.countRequest('refused', isC7AuthError(err) ? err.code : 'C7AUTH_INTERNAL', 'none')
      sendError(res, err, requestId, logger)
    }
  }

  function other(req: IncomingMessage, res: ServerResponse, path: string): void {
    const requestId = requestIdOf(req)
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      sendError(res, NOT_FOUND, requestId)
      return
    }
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' }, requestId)
    } else if (path === '/readyz') {
      gateway.checkReady().then(
        (report) => sendJson(res, report.ready ? 200 : 503, report, requestId),
        (err: unknown) => sendError(res, err, requestId, logger),
      )
    } else if (path === '/metrics' && options.metricsHere !== false) {
      if (!metricsAllowed(req.headers.authorization, options.metricsToken)) {
        refuseMetrics(res, req.headers.authorization, requestId)
        return
      }
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, {
            'content-type': metrics.registry.contentType,
            'content-length': Buffer.byteLength(text),
            'x-request-id': requestId,
          })
          res.end(text)
        },
        (err: unknown) => sendError(res, err, requestId, logger),
      )
    } else if (jwksPath !== undefined && path === jwksPath && gateway.assertionJwks) {
      // The engine plugin fetches this without credentials; short enough that a published next
      // key is seen before the gateway signs with it.
      res.setHeader('cache-control', 'public, max-age=60')
      sendJson(res, 200, gateway.assertionJwks, requestId)
    } else {
      sendError(res, NOT_FOUND, requestId)
    }
  }

  return function handleRequest(req, res) {
    const url = req.url ?? '/'
    if (url === mount || url.startsWith(mountSlash) || url.startsWith(mountQuery)) {
      // Before authentication, so JWKS fetches and 401s belong to the request's server span.
      if (tracer === undefined) void engine(req, res, url)
      else
        void otelContext.with(startRequestSpan(tracer, req, res), engine, undefined, req, res, url)
      return
    }
    const q = url.indexOf('?')
    other(req, res, q < 0 ? url : url.slice(0, q))
  }
}

function hasBody(req: IncomingMessage): boolean {
  if (req.readableEnded) return false
  if (req.headers['transfer-encoding'] !== undefined) return true
  const len = req.headers['content-length']
  return len !== undefined && len !== '0'
}

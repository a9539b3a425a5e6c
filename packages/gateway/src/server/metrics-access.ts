import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { C7AuthError, HttpAuthError } from '@c7auth/core'
import type { MetricsConfig } from '@c7auth/core'
import { sendError } from '../auth/http-error.js'

/** What serving `/metrics` needs from prom-client's registry. */
export interface MetricsSource {
  metrics(): Promise<string>
  readonly contentType: string
}

/**
 * True when `authorization` carries exactly `Bearer <token>`. Compares SHA-256 digests in constant
 * time, so neither the token's length nor its prefix leaks through timing.
 */
export function metricsTokenMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer ([^\s]+)$/i.exec(authorization ?? '')
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null
}

/** True when no token is configured, or the request carries it. */
export function metricsAllowed(authorization: string | undefined, token: string | undefined) {
  return token === undefined || metricsTokenMatches(authorization, token)
}

/**
 * The 401 for a `/metrics` request without the metrics token, through the one error renderer: RFC
 * 6750 challenge for the `c7auth-metrics` realm, `C7AUTH_TOKEN_MISSING` when no credentials came,
 * `C7AUTH_TOKEN_INVALID` when others did.
 */
export function refuseMetrics(
  res: ServerResponse,
  authorization: string | undefined,
  requestId?: string,
): void {
  const code = authorization === undefined ? 'C7AUTH_TOKEN_MISSING' : 'C7AUTH_TOKEN_INVALID'
  sendError(res, new HttpAuthError(code, { realm: 'c7auth-metrics' }), requestId)
}

/**
 * Answers one `/metrics` request on the separate listener: 401 with `WWW-Authenticate` when a
 * token is configured and the request does not carry it, else the registry's text.
 */
function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  source: MetricsSource,
  token: string | undefined,
): void {
  if (!metricsAllowed(req.headers.authorization, token)) {
    refuseMetrics(res, req.headers.authorization)
    return
  }
  source.metrics().then(
    (text) => {
      res.writeHead(200, { 'content-type': source.contentType, 'cache-control': 'no-store' })
      res.end(text)
    },
    (err: unknown) => sendError(res, new C7AuthError('C7AUTH_INTERNAL', { cause: err })),
  )
}

/** A running metrics listener. */
export interface MetricsListener {
  /** `http://host:port` of the listener. */
  readonly url: string
  close(): Promise<void>
}

/**
 * Serves `GET /metrics` alone on a listener of its own (`C7AUTH_GATEWAY_METRICS_PORT`), so it can
 * stay on an internal interface while the gateway faces clients. Every other path answers 404.
 */
export async function startMetricsListener(
  config: MetricsConfig & { port: number },
  source: MetricsSource,
): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      serveMetrics(req, res, source, config.token)
      return
    }
    sendError(
      res,
      new C7AuthError('C7AUTH_NOT_FOUND', { message: 'Only /metrics is served here.' }),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

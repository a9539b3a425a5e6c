import type { IncomingMessage, ServerResponse } from 'node:http'
import { requestIdOf } from '../engine/request-id.js'
import { toErrorResponse } from './http-error.js'
import type { LoggerLike } from './options.js'

/**
 * Writes any error as the adapters' refusal: status, `WWW-Authenticate` and `Retry-After` from the
 * error's code, exactly `Content-Type: application/json` (as the engine answers), `Cache-Control:
 * no-store`, and `x-request-id` (the one already on the response, else the caller's well-formed
 * one, else a fresh id). Written on the bare Node response, so no framework adds a charset or ETag.
 */
export function writeError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  logger?: LoggerLike,
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const r = toErrorResponse(err, logger)
  const body = JSON.stringify(r.body)
  const existing = res.getHeader('x-request-id')
  res.writeHead(r.status, {
    ...r.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': typeof existing === 'string' ? existing : requestIdOf(req),
  })
  res.end(body)
}

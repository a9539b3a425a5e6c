import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendError } from './http-error.js'
import type { LoggerLike } from './options.js'
import { responseRequestId } from './request-id.js'

/**
 * Writes any error as the adapters' refusal through the one error renderer ({@link sendError}):
 * exactly `application/json`, `Cache-Control: no-store`, the RFC 6750 challenge, `Retry-After`
 * where temporary, and `x-request-id` (the one already on the response, else the caller's
 * well-formed one, else a fresh id). Written on the bare Node response, so no framework adds a
 * charset or an ETag.
 */
export function writeError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  logger?: LoggerLike,
): void {
  sendError(res, err, responseRequestId(req, res), logger)
}

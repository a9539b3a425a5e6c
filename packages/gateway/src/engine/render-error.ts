import type { ServerResponse } from 'node:http'
import { C7AuthError, isC7AuthError } from '@c7auth/core'

/** Turns anything thrown into a `C7AuthError` (unknown errors become `C7AUTH_INTERNAL`). */
export function toC7AuthError(err: unknown): C7AuthError {
  if (isC7AuthError(err)) return err
  return new C7AuthError('C7AUTH_INTERNAL', { cause: err })
}

/**
 * The one error renderer of the engine proxy: status and headers from the error, body
 * `{ type, message, code }` with exactly `Content-Type: application/json` (no charset, as the engine).
 */
export function sendError(res: ServerResponse, err: unknown, requestId?: string): void {
  const e = toC7AuthError(err)
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify(e.toJSON())
  const headers: Record<string, string | number> = {
    ...e.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  }
  if (requestId) headers['x-request-id'] = requestId
  res.writeHead(e.status, headers)
  res.end(body)
}

/** Sends a JSON body with exactly `Content-Type: application/json`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  requestId?: string,
): void {
  const body = JSON.stringify(value)
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  }
  if (requestId) headers['x-request-id'] = requestId
  res.writeHead(status, headers)
  res.end(body)
}

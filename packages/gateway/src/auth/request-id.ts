import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

const VALID = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's `x-request-id` when it is well-formed (`[A-Za-z0-9._:-]{1,128}`), else a fresh UUID. */
export function requestIdOf(req: Pick<IncomingMessage, 'headers'>): string {
  const value = req.headers['x-request-id']
  return typeof value === 'string' && VALID.test(value) ? value : randomUUID()
}

/**
 * The id this response already carries (set by the proxy before it failed), else
 * {@link requestIdOf}: an error answer never gets a second, different id.
 */
export function responseRequestId(
  req: Pick<IncomingMessage, 'headers'>,
  res: Pick<ServerResponse, 'getHeader'>,
): string {
  const set = res.getHeader('x-request-id')
  return typeof set === 'string' ? set : requestIdOf(req)
}

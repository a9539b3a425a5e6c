import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const VALID = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's `x-request-id` when it is well-formed (`[A-Za-z0-9._:-]{1,128}`), else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const value = req.headers['x-request-id']
  return typeof value === 'string' && VALID.test(value) ? value : randomUUID()
}

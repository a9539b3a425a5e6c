import { randomFillSync } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

const VALID = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's `x-request-id` when it is well-formed (`[A-Za-z0-9._:-]{1,128}`), else a fresh UUID. */
export function requestIdOf(req: Pick<IncomingMessage, 'headers'>): string {
  const value = req.headers['x-request-id']
  return typeof value === 'string' && VALID.test(value) ? value : newRequestId()
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

/** Random bytes for 256 ids, refilled when used up (what `crypto.randomUUID` does too). */
const pool = Buffer.alloc(16 * 256)
let poolOffset = pool.length
const HEX = Buffer.from('0123456789abcdef', 'latin1')
/** The 36 characters of the id being written: hex digits, dashes after bytes 4, 6, 8 and 10. */
const text = Buffer.alloc(36)

/**
 * A random (version 4) UUID, as `crypto.randomUUID()` makes, written as one string: Node's own
 * builds it from 20 concatenations, ≈ 0.5 KB of short-lived strings on every request that brings
 * no `x-request-id` of its own (the benchmark's, and most callers').
 */
export function newRequestId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  let at = 0
  for (let i = 0; i < 16; i++) {
    let byte = pool[poolOffset + i] as number
    if (i === 6)
      byte = (byte & 0x0f) | 0x40 // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80 // RFC 9562 variant
    text[at++] = HEX[byte >> 4] as number
    text[at++] = HEX[byte & 0x0f] as number
    if (i === 3 || i === 5 || i === 7 || i === 9) text[at++] = 0x2d // '-'
  }
  poolOffset += 16
  return text.toString('latin1', 0, 36)
}

import type { ServerResponse } from 'node:http'

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

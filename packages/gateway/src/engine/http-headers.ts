import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** RFC 9110 §7.6.1 connection-specific headers, plus ones a proxy must own. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
])

/** Client headers never forwarded: credentials, identity assertions, routing and framing. */
const STRIPPED_REQUEST = new Set([
  'host',
  'authorization',
  'cookie',
  'expect',
  'content-length',
  'x-request-id',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  // method overrides a servlet filter or proxy in front of the engine might honour
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // headers that header-trusting engine providers or proxies read as the caller's identity
  'context-user-id',
  'remote-user',
  'x-remote-user',
  'x-forwarded-user',
  'x-auth-user',
  'x-authenticated-user',
  'x-user-id',
  'x-user',
])

const NONE: ReadonlySet<string> = new Set()

function connectionTokens(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const value = headers.connection
  // Most requests name nothing in `Connection`: no Set to build for them.
  if (typeof value !== 'string' || value.length === 0) return NONE
  const out = new Set<string>()
  for (const token of value.split(',')) out.add(token.trim().toLowerCase())
  return out
}

/**
 * Headers to send upstream: the client's, minus hop-by-hop, credentials, cookies and any identity
 * header (`identityHeaders` adds configured ones), with `Accept` steered away from HAL.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  identityHeaders: ReadonlySet<string>,
): Record<string, string> {
  const named = connectionTokens(incoming)
  const out: Record<string, string> = {}
  // `for…in` over the own keys: no entries array of pairs per request
  for (const name in incoming) {
    // own keys only: an enumerable property on a polluted prototype is never forwarded
    if (!Object.hasOwn(incoming, name)) continue
    const value = incoming[name]
    if (value === undefined) continue
    const key = name.toLowerCase()
    if (HOP_BY_HOP.has(key) || STRIPPED_REQUEST.has(key) || named.has(key)) continue
    if (identityHeaders.has(key)) continue
    out[key] = Array.isArray(value) ? value.join(', ') : value
  }
  const accept = out.accept
  if (accept !== undefined && /hal\+json/i.test(accept)) {
    const rest = accept
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !/hal\+json/i.test(s))
    out.accept = rest.length > 0 ? rest.join(', ') : 'application/json'
  }
  return out
}

/** Response headers to pass back: everything except hop-by-hop and engine session cookies. */
export function downstreamResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream as IncomingHttpHeaders)
  const out: OutgoingHttpHeaders = {}
  for (const name in upstream) {
    if (!Object.hasOwn(upstream, name)) continue
    const value = upstream[name]
    if (value === undefined) continue
    const key = name.toLowerCase()
    if (HOP_BY_HOP.has(key) || named.has(key) || key === 'set-cookie') continue
    out[key] = value
  }
  return out
}

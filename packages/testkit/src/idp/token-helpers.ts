import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { CryptoKey, JWK, KeyObject } from 'jose'

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64. */
const formEncode = (value: string): string =>
  encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')

/**
 * The `Authorization` header value for `client_secret_basic`.
 *
 * @example
 * ```ts
 * headers: { authorization: basicAuth('app:1', 'p@ss+word') }
 * ```
 */
export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`
}

/**
 * An RFC 7523 client assertion for `private_key_jwt`, audience = the token endpoint.
 *
 * @example
 * ```ts
 * const assertion = await clientAssertion({ clientId: 'app', audience: idp.tokenEndpoint, key })
 * ```
 */
export async function clientAssertion(options: {
  clientId: string
  audience: string
  key: KeyObject | CryptoKey | JWK | Uint8Array
  alg?: string
  kid?: string
  expiresInSeconds?: number
}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({})
    .setProtectedHeader({
      alg: options.alg ?? 'RS256',
      typ: 'JWT',
      ...(options.kid ? { kid: options.kid } : {}),
    })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.audience)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 60))
    .sign(options.key)
}

/** A parsed token endpoint answer. */
export interface TokenResponse {
  status: number
  headers: Headers
  /** The JSON body (or `{}` when it was not JSON). */
  body: Record<string, unknown>
  /** The raw text body. */
  text: string
}

/** How {@link requestToken} authenticates. */
export interface TokenRequestOptions {
  /** `client_secret_basic` credentials. */
  basic?: { clientId: string; clientSecret: string }
  /** Extra headers. */
  headers?: Record<string, string>
  /**
   * undici dispatcher (e.g. an Agent with a client certificate). Typed structurally: Node's own
   * `RequestInit` declares no `dispatcher`, so the shipped types must not rely on undici's.
   */
  dispatcher?: object
}

/**
 * POSTs a form to a token endpoint and parses the answer; never throws on an HTTP error status.
 *
 * @example
 * ```ts
 * const res = await requestToken(idp.tokenEndpoint,
 *   { grant_type: 'client_credentials', scope: 'engine:read' },
 *   { basic: { clientId: 'app', clientSecret: 's' } })
 * ```
 */
export async function requestToken(
  url: string,
  params: Record<string, string | string[]>,
  options: TokenRequestOptions = {},
): Promise<TokenResponse> {
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    for (const v of [value].flat()) form.append(name, v)
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...options.headers,
  }
  if (options.basic) {
    headers['authorization'] = basicAuth(options.basic.clientId, options.basic.clientSecret)
  }
  const init: RequestInit = { method: 'POST', headers, body: form }
  // Node's fetch is undici's: it honours `dispatcher` although the DOM-shaped type may not name it.
  if (options.dispatcher !== undefined) Object.assign(init, { dispatcher: options.dispatcher })
  const res = await fetch(url, init)
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>
  } catch {
    // Non-JSON bodies are reported through `text`.
  }
  return { status: res.status, headers: res.headers, body, text }
}

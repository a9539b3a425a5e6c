import { HttpAuthError } from '@c7auth/core'

/** The parts of an HTTP request that bearer extraction reads (Node's `IncomingMessage` fits). */
export interface AuthRequestLike {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** Node's raw header list; used to notice a repeated `Authorization` header, which Node folds. */
  readonly rawHeaders?: readonly string[]
  /** The request target (path and query). */
  readonly url?: string | undefined
  /** A body that a framework has already parsed, if any. */
  readonly body?: unknown
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
/** `bearer` as lowercase char codes; the scheme is matched case-insensitively without a copy. */
const BEARER_CODES = [0x62, 0x65, 0x61, 0x72, 0x65, 0x72]
const SPACE = 0x20

/**
 * Extracts the bearer token from the `Authorization` header only (RFC 6750 §2.1). The scheme is
 * case-insensitive (RFC 7235 §2.1). A token in the query string or form body, or two
 * `Authorization` headers, is refused with 400 `invalid_request`; no bearer credentials at all is
 * 401 without an error code.
 *
 * @example
 * ```ts
 * const token = extractBearerToken(req, { realm: 'engine', maxTokenLength: 16384 })
 * ```
 */
export function extractBearerToken(
  req: AuthRequestLike,
  options: { realm: string; maxTokenLength: number },
): string {
  const { realm } = options
  if (hasQueryToken(req.url)) {
    throw new HttpAuthError('C7AUTH_REQUEST_INVALID', {
      realm,
      detail: 'access_token in the query string',
    })
  }
  if (hasBodyToken(req.body)) {
    throw new HttpAuthError('C7AUTH_REQUEST_INVALID', { realm, detail: 'access_token in the body' })
  }
  const header = req.headers.authorization
  if (Array.isArray(header) || countAuthorization(req.rawHeaders) > 1) {
    throw new HttpAuthError('C7AUTH_REQUEST_INVALID', {
      realm,
      detail: 'more than one Authorization header',
    })
  }
  if (typeof header !== 'string' || header.length === 0) {
    throw new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm })
  }
  if (!isBearerScheme(header)) {
    throw new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm, detail: 'not a bearer scheme' })
  }
  if (header.length > options.maxTokenLength + 8) {
    throw new HttpAuthError('C7AUTH_TOKEN_INVALID', { realm, detail: 'token too large' })
  }
  // `bearer` 1*SP b64token *SP, read by index: no match arrays on the path of every request.
  let start = BEARER_CODES.length
  while (header.charCodeAt(start) === SPACE) start++
  let end = header.length
  while (end > start && header.charCodeAt(end - 1) === SPACE) end--
  const token = start > BEARER_CODES.length && end > start ? header.slice(start, end) : undefined
  if (token === undefined || !B64TOKEN.test(token)) {
    throw new HttpAuthError('C7AUTH_REQUEST_INVALID', {
      realm,
      detail: 'malformed bearer credentials',
    })
  }
  return token
}

/**
 * Whether the auth-scheme (RFC 7235 §2.1: the token before the first space, or the whole value)
 * is `bearer`, in any case.
 */
function isBearerScheme(header: string): boolean {
  const n = BEARER_CODES.length
  if (header.length < n || (header.length > n && header.charCodeAt(n) !== SPACE)) return false
  for (let i = 0; i < n; i++) {
    // `| 0x20` folds an ASCII capital onto its small letter; for the letters of `bearer` only the
    // two cases of the same letter map onto it.
    if ((header.charCodeAt(i) | 0x20) !== BEARER_CODES[i]) return false
  }
  return true
}

function countAuthorization(raw: readonly string[] | undefined): number {
  if (raw === undefined) return 0
  let n = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') n++
  }
  return n
}

function hasQueryToken(url: string | undefined): boolean {
  if (url === undefined) return false
  const q = url.indexOf('?')
  if (q < 0) return false
  const query = url.slice(q + 1)
  if (!/access_token/i.test(query) && !/access%5Ftoken/i.test(query)) return false
  return new URLSearchParams(query).has('access_token')
}

function hasBodyToken(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Buffer.isBuffer(body) &&
    Object.prototype.hasOwnProperty.call(body, 'access_token')
  )
}

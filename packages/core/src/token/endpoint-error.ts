import { ResponseBodyError, WWWAuthenticateChallengeError, ClientError } from 'openid-client'
import { TokenEndpointError } from '../errors.js'

/** OAuth error codes after which retrying the same request cannot succeed. */
const PERMANENT_OAUTH_ERRORS = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_request',
  'access_denied',
  'unsupported_token_type',
  'invalid_client_metadata',
])

/** OAuth error codes that say "try again later". */
const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down'])

/** openid-client error codes for misconfiguration (waiting cannot help). */
const PERMANENT_CLIENT_CODES = new Set([
  'OAUTH_JSON_ATTRIBUTE_COMPARISON', // e.g. the discovered issuer is not the configured one
  'OAUTH_HTTP_REQUEST_FORBIDDEN',
  'OAUTH_REQUEST_PROTOCOL_FORBIDDEN',
  'OAUTH_UNSUPPORTED_OPERATION',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_ARG_TYPE',
])

/** A token endpoint failure, classified, with the server's `Retry-After` if it sent one. */
export interface ClassifiedError {
  readonly error: TokenEndpointError
  /** Delay the server asked for (ms). */
  readonly retryAfterMs: number | undefined
}

/**
 * Turns whatever openid-client (or the network) threw into a {@link TokenEndpointError} that
 * carries the OAuth `error` code and status, never a secret, token or response body: its `cause`
 * is a copy holding only the original's name and code.
 */
export async function classifyTokenError(err: unknown, grant: string): Promise<ClassifiedError> {
  if (err instanceof TokenEndpointError) return { error: err, retryAfterMs: undefined }
  let oauthError: string | undefined
  let status: number | undefined
  let response: Response | undefined
  let kind = 'network'
  let misconfigured = false
  if (err instanceof ResponseBodyError) {
    oauthError = safeCode(err.error)
    status = err.status
    response = err.response
    kind = 'error response'
  } else if (err instanceof WWWAuthenticateChallengeError) {
    status = err.status
    response = err.response
    // A 401 with `WWW-Authenticate: Basic` still carries the OAuth error in its (unread) body.
    oauthError =
      safeCode(err.cause.find((c) => c.parameters.error)?.parameters.error) ??
      (await errorCodeFromBody(err.response))
    kind = 'challenge'
  } else if (err instanceof ClientError) {
    const cause: unknown = err.cause
    if (cause instanceof Response) {
      status = cause.status
      response = cause
      // oauth4webapi reads OAuth error bodies of 4xx only; 5xx often carry one too.
      oauthError = await errorCodeFromBody(cause)
      kind = 'unexpected response'
    } else {
      kind = safeIdentifier(err.code) ?? 'client error'
      misconfigured = err.code !== undefined && PERMANENT_CLIENT_CODES.has(err.code)
    }
  } else if (err instanceof Error && err.name === 'TimeoutError') {
    kind = 'timeout'
  }
  const permanent =
    misconfigured ||
    (oauthError !== undefined
      ? PERMANENT_OAUTH_ERRORS.has(oauthError) ||
        (!TRANSIENT_OAUTH_ERRORS.has(oauthError) &&
          status !== undefined &&
          isPermanentStatus(status))
      : status !== undefined && isPermanentStatus(status))
  const what = oauthError ?? (status !== undefined ? `HTTP ${status}` : kind)
  const options: ConstructorParameters<typeof TokenEndpointError>[0] = {
    permanent,
    message: `The token endpoint request failed (${what}).`,
    detail: `grant ${grant}: ${kind}${status !== undefined ? `, status ${status}` : ''}`,
    cause: sanitizedCause(err),
  }
  if (oauthError !== undefined) options.oauthError = oauthError
  if (status !== undefined) options.responseStatus = status
  return {
    error: new TokenEndpointError(options),
    retryAfterMs: parseRetryAfter(response?.headers.get('retry-after') ?? null),
  }
}

/**
 * The thrown error reduced to its name and code (and those of its Error causes). openid-client's
 * errors carry the response, the parsed body (`error_description`, or on a 200 with an unusable
 * `token_type` the `access_token` and `refresh_token`) and messages; `util.inspect` and loggers
 * would print all of it.
 */
function sanitizedCause(err: unknown, depth = 0): Error | undefined {
  if (!(err instanceof Error) || depth > 3) return undefined
  const name = safeIdentifier(err.name) ?? 'Error'
  const code = safeIdentifier((err as { code?: unknown }).code)
  const message = code ?? 'details removed'
  const inner = sanitizedCause(err.cause, depth + 1)
  const safe = new Error(message, inner === undefined ? undefined : { cause: inner })
  safe.name = name
  if (code !== undefined) Object.assign(safe, { code })
  // The stack would show where this copy was made, not where the original was thrown.
  safe.stack = `${name}: ${message}`
  return safe
}

/** Error names and codes such as `ClientError`, `OAUTH_PARSE_ERROR`, `ECONNREFUSED`. */
function safeIdentifier(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  return /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : undefined
}

async function errorCodeFromBody(response: Response): Promise<string | undefined> {
  try {
    if (response.bodyUsed) return undefined
    const type = response.headers.get('content-type') ?? ''
    if (!/json/i.test(type)) {
      await response.body?.cancel()
      return undefined
    }
    const body: unknown = await response.json()
    return safeCode((body as { error?: unknown } | null)?.error)
  } catch {
    return undefined
  }
}

/** 4xx other than 408/425/429 cannot be fixed by waiting. */
function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429
}

/** Keeps only well-formed OAuth error codes (RFC 6749 §5.2 charset), so nothing else leaks. */
function safeCode(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  return /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(value) ? value : undefined
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms (capped at one hour). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  let ms: number
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000
  else {
    const at = Date.parse(trimmed)
    if (Number.isNaN(at)) return undefined
    ms = at - now
  }
  return Math.min(Math.max(ms, 0), 3_600_000)
}

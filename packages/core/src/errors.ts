/**
 * The c7auth error model: one base class with a stable `code`, HTTP subclasses that carry
 * `status`/`statusCode`/`headers`/`expose` (the fields Express's finalhandler and Koa's `ctx.onerror`
 * already read), and one table from code to HTTP status and RFC 6750 error.
 *
 * @example
 * ```ts
 * try { await verify(token) } catch (err) {
 *   if (isC7AuthError(err) && err.code === 'C7AUTH_TOKEN_EXPIRED') { … }
 * }
 * ```
 */

/** Every stable error code c7auth produces. Callers branch on these, never on messages. */
export type C7AuthErrorCode =
  | 'C7AUTH_CONFIG_INVALID'
  | 'C7AUTH_TOKEN_MISSING'
  | 'C7AUTH_REQUEST_INVALID'
  | 'C7AUTH_TOKEN_INVALID'
  | 'C7AUTH_TOKEN_EXPIRED'
  | 'C7AUTH_ISSUER_UNKNOWN'
  | 'C7AUTH_SCOPE_INSUFFICIENT'
  | 'C7AUTH_TENANT_FORBIDDEN'
  | 'C7AUTH_TENANT_UNKNOWN'
  | 'C7AUTH_ROUTE_DENIED'
  | 'C7AUTH_ADMIN_ONLY'
  | 'C7AUTH_PATH_INVALID'
  | 'C7AUTH_BODY_INVALID'
  | 'C7AUTH_BODY_TOO_LARGE'
  | 'C7AUTH_DEPLOY_FORBIDDEN'
  | 'C7AUTH_DEPLOYMENT_REFUSED'
  | 'C7AUTH_VARIABLE_TYPE_FORBIDDEN'
  | 'C7AUTH_NOT_FOUND'
  | 'C7AUTH_JWKS_UNAVAILABLE'
  | 'C7AUTH_UPSTREAM_UNAVAILABLE'
  | 'C7AUTH_UPSTREAM_TIMEOUT'
  | 'C7AUTH_BRIDGE_FAILED'
  | 'C7AUTH_TOKEN_ENDPOINT_FAILED'
  | 'C7AUTH_DELEGATION_MISSING'
  | 'C7AUTH_DELEGATION_REVOKED'
  | 'C7AUTH_DELEGATION_FAILED'
  | 'C7AUTH_INTERNAL'

interface CodeInfo {
  readonly status: number
  /** RFC 6750 §3.1 error code for the `WWW-Authenticate` challenge, if the status carries one. */
  readonly oauthError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  /** Fixed, safe public message. */
  readonly message: string
}

/** The single code → HTTP table. No status literal appears anywhere else. */
export const ERROR_CODES: Readonly<Record<C7AuthErrorCode, CodeInfo>> = {
  C7AUTH_CONFIG_INVALID: { status: 500, message: 'The configuration is invalid.' },
  C7AUTH_TOKEN_MISSING: { status: 401, message: 'A bearer token is required.' },
  C7AUTH_REQUEST_INVALID: {
    status: 400,
    oauthError: 'invalid_request',
    message: 'The request is malformed.',
  },
  C7AUTH_TOKEN_INVALID: {
    status: 401,
    oauthError: 'invalid_token',
    message: 'The access token is invalid.',
  },
  C7AUTH_TOKEN_EXPIRED: {
    status: 401,
    oauthError: 'invalid_token',
    message: 'The access token has expired.',
  },
  C7AUTH_ISSUER_UNKNOWN: {
    status: 401,
    oauthError: 'invalid_token',
    message: 'The access token was issued by an unknown issuer.',
  },
  C7AUTH_SCOPE_INSUFFICIENT: {
    status: 403,
    oauthError: 'insufficient_scope',
    message: 'The access token lacks a required scope.',
  },
  C7AUTH_TENANT_FORBIDDEN: {
    status: 403,
    oauthError: 'insufficient_scope',
    message: 'The caller may not act in this tenant.',
  },
  C7AUTH_TENANT_UNKNOWN: {
    status: 403,
    oauthError: 'insufficient_scope',
    message: 'The access token maps to no configured tenant.',
  },
  C7AUTH_ROUTE_DENIED: {
    status: 403,
    message: 'This operation is not available through the gateway.',
  },
  C7AUTH_ADMIN_ONLY: { status: 403, message: 'This operation is reserved to administrators.' },
  C7AUTH_PATH_INVALID: { status: 400, message: 'The request path is not acceptable.' },
  C7AUTH_BODY_INVALID: { status: 400, message: 'The request body is not acceptable.' },
  C7AUTH_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  C7AUTH_DEPLOY_FORBIDDEN: {
    status: 403,
    message: 'The caller may not deploy in this tenant.',
  },
  C7AUTH_DEPLOYMENT_REFUSED: {
    status: 400,
    message: 'The deployment contains something its tenant’s deployment profile does not allow.',
  },
  C7AUTH_VARIABLE_TYPE_FORBIDDEN: {
    status: 400,
    message: 'The variable’s object type or serialization format is not allowed.',
  },
  C7AUTH_NOT_FOUND: { status: 404, message: 'The resource does not exist.' },
  C7AUTH_JWKS_UNAVAILABLE: {
    status: 503,
    message: 'The identity provider keys are temporarily unavailable.',
  },
  C7AUTH_UPSTREAM_UNAVAILABLE: { status: 502, message: 'The process engine is unavailable.' },
  C7AUTH_UPSTREAM_TIMEOUT: { status: 504, message: 'The process engine did not answer in time.' },
  C7AUTH_BRIDGE_FAILED: {
    status: 502,
    message: 'The caller could not be provisioned in the engine.',
  },
  C7AUTH_TOKEN_ENDPOINT_FAILED: { status: 503, message: 'The token endpoint request failed.' },
  C7AUTH_DELEGATION_MISSING: {
    status: 403,
    message: 'No delegation grant of the acting user is stored for this process instance.',
  },
  C7AUTH_DELEGATION_REVOKED: {
    status: 403,
    message: 'The acting user’s delegation grant was revoked or has expired.',
  },
  C7AUTH_DELEGATION_FAILED: {
    status: 503,
    message: 'The acting user’s delegation grant could not be used.',
  },
  C7AUTH_INTERNAL: { status: 500, message: 'Internal error.' },
}

const BRAND = Symbol.for('c7auth.error')

/** Options shared by every c7auth error. */
export interface C7AuthErrorOptions {
  /** The original error; kept for logs, never rendered. */
  cause?: unknown
  /** Internal detail for logs (which claim, which key). Never a token, secret or claim set. */
  detail?: string
  /** Overrides the fixed public message (must stay free of secrets). */
  message?: string
}

/** Base class of every error c7auth throws. Branch on {@link C7AuthError.code}. */
export class C7AuthError extends Error {
  readonly code: C7AuthErrorCode
  readonly detail: string | undefined
  readonly status: number
  readonly statusCode: number
  readonly expose: boolean
  /** HTTP headers a response for this error must carry (e.g. `WWW-Authenticate`). */
  readonly headers: Record<string, string>
  readonly [BRAND] = true

  constructor(code: C7AuthErrorCode, options: C7AuthErrorOptions = {}) {
    const info = ERROR_CODES[code]
    super(
      options.message ?? info.message,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = new.target.name
    this.code = code
    this.detail = options.detail
    this.status = info.status
    this.statusCode = info.status
    this.expose = info.status < 500
    this.headers = {}
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === C7AuthError) return isC7AuthError(value)
    return Function.prototype[Symbol.hasInstance].call(this, value)
  }

  /** The Camunda-shaped JSON body `{ type, message, code }`. */
  toJSON(): { type: string; message: string; code: C7AuthErrorCode } {
    return { type: this.name, message: this.message, code: this.code }
  }
}

/** True for any c7auth error, even from another installed copy of `@c7auth/core`. */
export function isC7AuthError(value: unknown): value is C7AuthError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  )
}

/** Startup-only: names every bad key, never a value. */
export class ConfigError extends C7AuthError {
  /** Every problem found, each naming the option or env key. */
  readonly issues: readonly string[]
  constructor(issues: readonly string[]) {
    super('C7AUTH_CONFIG_INVALID', {
      message: `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n  - ${issues.join('\n  - ')}`,
    })
    this.issues = issues
  }
}

/** Options of {@link HttpAuthError}. */
export interface HttpAuthErrorOptions extends C7AuthErrorOptions {
  /** The protection space (RFC 7235 §2.2). Default: `c7auth`. */
  realm?: string
  /** Scopes that would have been sufficient (RFC 6750 §3). */
  scope?: string
}

/**
 * An authentication or authorization failure with an RFC 6750 challenge. A missing token gets
 * `Bearer realm="…"` without an error code (RFC 6750 §3.1); the others add `error="…"`.
 */
export class HttpAuthError extends C7AuthError {
  constructor(code: C7AuthErrorCode, options: HttpAuthErrorOptions = {}) {
    super(code, options)
    const info = ERROR_CODES[code]
    if (info.status === 401 || info.oauthError) {
      const parts = [`realm="${quote(options.realm ?? 'c7auth')}"`]
      if (info.oauthError && code !== 'C7AUTH_TOKEN_MISSING') {
        parts.push(`error="${info.oauthError}"`, `error_description="${quote(this.message)}"`)
      }
      if (options.scope) parts.push(`scope="${quote(options.scope)}"`)
      this.headers['www-authenticate'] = `Bearer ${parts.join(', ')}`
    }
  }
}

/** Errors talking to an upstream: the engine (502/504), or the IdP's JWKS (503). */
export class UpstreamError extends C7AuthError {}

/** A token endpoint request failed. Carries the OAuth `error` code, never a secret or response body. */
export class TokenEndpointError extends C7AuthError {
  /** The OAuth 2.0 `error` code the token endpoint answered (e.g. `invalid_client`), if any. */
  readonly oauthError: string | undefined
  /** HTTP status of the token endpoint's answer, if one came. */
  readonly responseStatus: number | undefined
  /** True when retrying cannot help (`invalid_client`, `unauthorized_client`, …). */
  readonly permanent: boolean
  constructor(
    options: C7AuthErrorOptions & {
      oauthError?: string
      responseStatus?: number
      permanent: boolean
    },
  ) {
    super('C7AUTH_TOKEN_ENDPOINT_FAILED', options)
    this.oauthError = options.oauthError
    this.responseStatus = options.responseStatus
    this.permanent = options.permanent
  }
}

function quote(value: string): string {
  return value.replace(/["\\]/g, "'")
}

import type { ServerResponse } from 'node:http'
import { C7AuthError, HttpAuthError, isC7AuthError } from '@c7auth/core'
import type { C7AuthErrorCode, Principal } from '@c7auth/core'
import type { LoggerLike } from './options.js'

/** A rendered error: what every entry point (standalone server, Express, Koa, proxy) writes. */
export interface ErrorResponse {
  readonly status: number
  /**
   * Lower-case header names: always `content-type` (exactly `application/json`), `cache-control`
   * and `content-length`; `www-authenticate` on 401/403 challenges, `retry-after` on retryable
   * 503s, `x-request-id` when one is given.
   */
  readonly headers: Readonly<Record<string, string>>
  /** Camunda-shaped body. */
  readonly body: { readonly type: string; readonly message: string; readonly code: C7AuthErrorCode }
  /** The serialized body (what `content-length` counts). */
  readonly text: string
}

/** Seconds a client should wait after a 503 for unavailable keys. */
export const JWKS_RETRY_AFTER_SECONDS = 5

/** Codes whose refusal is temporary and worth a `Retry-After` (seconds). */
const RETRY_AFTER: Partial<Record<C7AuthErrorCode, string>> = {
  C7AUTH_JWKS_UNAVAILABLE: String(JWKS_RETRY_AFTER_SECONDS),
  C7AUTH_TOKEN_ENDPOINT_FAILED: String(JWKS_RETRY_AFTER_SECONDS),
}

/** Turns anything thrown into a `C7AuthError` (unknown errors become `C7AUTH_INTERNAL`). */
export function toC7AuthError(err: unknown): C7AuthError {
  if (isC7AuthError(err)) return err
  return new C7AuthError('C7AUTH_INTERNAL', { cause: err })
}

/**
 * The one error renderer of c7auth: any error becomes a Camunda-shaped JSON response
 * `{ type, message, code }` with the status its code defines, exactly `Content-Type:
 * application/json` (no charset, as the engine answers), `Cache-Control: no-store`, the RFC 6750
 * challenge, `Retry-After` where the code is temporary, and `x-request-id` when given. Unknown
 * errors become a 500 with a fixed message; nothing from the token, the claims or internal URLs
 * reaches the body or the headers.
 *
 * @example
 * ```ts
 * const { status, headers, text } = toErrorResponse(err, logger, requestId)
 * ```
 */
export function toErrorResponse(
  err: unknown,
  logger?: LoggerLike,
  requestId?: string,
): ErrorResponse {
  const e = toC7AuthError(err)
  if (e.status >= 500 && logger) {
    const log = e.code === 'C7AUTH_INTERNAL' ? logger.error : logger.warn
    log?.call(logger, { code: e.code, detail: e.detail, cause: causeName(err) }, 'c7auth: error')
  }
  const body = e.toJSON()
  const text = JSON.stringify(body)
  const headers: Record<string, string> = {}
  for (const k in e.headers) headers[k.toLowerCase()] = e.headers[k] as string
  const retry = RETRY_AFTER[e.code]
  if (retry !== undefined && headers['retry-after'] === undefined) headers['retry-after'] = retry
  headers['content-type'] = 'application/json'
  headers['cache-control'] = 'no-store'
  headers['content-length'] = String(Buffer.byteLength(text))
  if (requestId) headers['x-request-id'] = requestId
  return { status: e.status, headers, body, text }
}

/**
 * Writes {@link toErrorResponse} on a Node response (any framework's underlying `res`). When
 * headers were already sent, the connection is destroyed instead: a half-written answer must not
 * look complete.
 */
export function sendError(
  res: ServerResponse,
  err: unknown,
  requestId?: string,
  logger?: LoggerLike,
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const r = toErrorResponse(err, logger, requestId)
  res.writeHead(r.status, r.headers)
  res.end(r.text)
}

/**
 * Writes a JSON answer that is not a refusal (an answer the policy settled, such as the engine's
 * own 404 for a foreign id or `[]` for a query that cannot match; health and key documents) with
 * exactly `Content-Type: application/json` like the engine, and `x-request-id` when given. Every
 * `C7AUTH_*` refusal goes through {@link sendError} instead.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  requestId?: string,
): void {
  const text = JSON.stringify(value)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  }
  if (requestId) headers['x-request-id'] = requestId
  res.writeHead(status, headers)
  res.end(text)
}

/**
 * Throws 403 `insufficient_scope` (`C7AUTH_SCOPE_INSUFFICIENT`, with `scope="…"`) unless the
 * principal holds every scope; 401 when there is no principal.
 */
export function assertScopes(
  principal: Principal | undefined,
  scopes: readonly string[],
  realm = 'c7auth',
): Principal {
  if (principal === undefined) throw new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm })
  const missing = scopes.filter((s) => !principal.scopes.includes(s))
  if (missing.length > 0) {
    throw new HttpAuthError('C7AUTH_SCOPE_INSUFFICIENT', {
      realm,
      scope: scopes.join(' '),
      detail: `missing ${missing.length} scope(s)`,
    })
  }
  return principal
}

/**
 * Throws 403 `insufficient_scope` (`C7AUTH_TENANT_FORBIDDEN`) unless the principal may act in
 * `tenantId` (or, with no tenant given, in at least one tenant); 401 when there is no principal.
 */
export function assertTenant(
  principal: Principal | undefined,
  tenantId: string | undefined,
  realm = 'c7auth',
): Principal {
  if (principal === undefined) throw new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm })
  const ok =
    tenantId === undefined ? principal.tenantIds.length > 0 : principal.tenantIds.includes(tenantId)
  if (!ok)
    throw new HttpAuthError('C7AUTH_TENANT_FORBIDDEN', { realm, detail: 'tenant not granted' })
  return principal
}

function causeName(err: unknown): string | undefined {
  const cause =
    err instanceof Error && !isC7AuthError(err) ? err : (err as { cause?: unknown })?.cause
  return cause instanceof Error ? cause.name : undefined
}

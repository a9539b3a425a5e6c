import { C7AuthError, HttpAuthError, isC7AuthError } from '@c7auth/core'
import type { C7AuthErrorCode, Principal } from '@c7auth/core'
import type { LoggerLike } from './options.js'

/** A rendered error: what both adapters write. */
export interface ErrorResponse {
  readonly status: number
  /** Lower-case header names: `www-authenticate`, `retry-after`, `content-type`. */
  readonly headers: Readonly<Record<string, string>>
  /** Camunda-shaped body. */
  readonly body: { readonly type: string; readonly message: string; readonly code: C7AuthErrorCode }
}

/** Seconds a client should wait after a 503 for unavailable keys. */
export const JWKS_RETRY_AFTER_SECONDS = 5

/**
 * Renders any error as a Camunda-shaped JSON response `{ type, message, code }` with the status and
 * headers its code defines. Unknown errors become a 500 with a fixed message; nothing from the
 * token, the claims or internal URLs reaches the body.
 *
 * @example
 * ```ts
 * const { status, headers, body } = toErrorResponse(err)
 * ```
 */
export function toErrorResponse(err: unknown, logger?: LoggerLike): ErrorResponse {
  const e = isC7AuthError(err) ? err : new C7AuthError('C7AUTH_INTERNAL', { cause: err })
  if (e.status >= 500) {
    const log = e.code === 'C7AUTH_INTERNAL' ? logger?.error : logger?.warn
    log?.call(logger, { code: e.code, detail: e.detail, cause: causeName(err) }, 'c7auth: error')
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }
  for (const [k, v] of Object.entries(e.headers)) headers[k.toLowerCase()] = v
  if (e.code === 'C7AUTH_JWKS_UNAVAILABLE')
    headers['retry-after'] = String(JWKS_RETRY_AFTER_SECONDS)
  return { status: e.status, headers, body: e.toJSON() }
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

import type { TokenRequestParams } from '../config/types.js'
import type { TokenSource } from './types.js'

/** Options of {@link withTokenRetry}. */
export interface WithTokenRetryOptions<T> {
  /** Request parameters for {@link TokenSource.getToken}. */
  params?: TokenRequestParams
  /** Whether the result means "token rejected". Default: `result.status === 401`. */
  isUnauthorized?: (result: T) => boolean
  /** Releases a rejected result before the retry (e.g. drains a response body). */
  discard?: (result: T) => void | Promise<void>
}

/**
 * Calls `call` with a token; on a 401 invalidates exactly that token and retries once with a
 * fresh one. Many calls failing at once cause one token request: only the first invalidation of
 * a given token takes effect and the fresh fetch is single-flight.
 *
 * @example
 * ```ts
 * const res = await withTokenRetry(tokens, (token) =>
 *   fetch('https://billing/api', { headers: { authorization: `Bearer ${token}` } }),
 *   { params: { audience: 'https://billing' }, discard: (r) => r.body?.cancel() },
 * )
 * ```
 */
export async function withTokenRetry<T>(
  source: TokenSource,
  call: (token: string) => Promise<T>,
  options: WithTokenRetryOptions<T> = {},
): Promise<T> {
  const isUnauthorized = options.isUnauthorized ?? defaultIsUnauthorized
  const token = await source.getToken(options.params)
  const first = await call(token)
  if (!isUnauthorized(first)) return first
  await options.discard?.(first)
  source.invalidate(token)
  return call(await source.getToken(options.params))
}

function defaultIsUnauthorized(result: unknown): boolean {
  return (
    typeof result === 'object' && result !== null && (result as { status?: unknown }).status === 401
  )
}

import type { TokenRequestParams } from '../config/types.js'

/**
 * Anything that hands out valid access tokens: the contract gateway and worker code depend on.
 * {@link createTokenClient} is the implementation; tests may pass any object of this shape.
 *
 * @example
 * ```ts
 * const token = await source.getToken({ audience: 'https://billing' })
 * const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
 * if (res.status === 401) source.invalidate(token) // then retry once (see withTokenRetry)
 * ```
 */
export interface TokenSource {
  /**
   * A valid access token for these parameters (cached; refreshed ahead of expiry). Parameters
   * given here replace the configured defaults as a whole (they are not merged field by field).
   */
  getToken(params?: TokenRequestParams): Promise<string>
  /**
   * Drops `token` from the cache after a 401, so the next `getToken` fetches a fresh one. A token
   * that is no longer the current one is ignored, so a burst of 401s causes one refresh.
   */
  invalidate(token: string): void
  /** Stops refresh timers. */
  close(): void
}

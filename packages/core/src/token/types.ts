import type { TokenRequestParams } from '../config/types.js'

/** Anything that hands out valid access tokens: the contract gateway and worker code depend on. */
export interface TokenSource {
  /** A valid access token for these parameters (cached; refreshed ahead of expiry). */
  getToken(params?: TokenRequestParams): Promise<string>
  /** Drops `token` from the cache after a 401, so the next `getToken` fetches a fresh one. */
  invalidate(token: string): void
  /** Stops refresh timers. */
  close(): void
}

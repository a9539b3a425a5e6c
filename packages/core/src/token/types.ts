import type { CustomFetch } from 'openid-client'
import type { OAuthClientConfig, TokenRequestParams } from '../config/types.js'
import type { TokenStore } from './token-store.js'

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

/** The grant behind a token. */
export type TokenGrant = 'client_credentials' | 'refresh_token' | 'token_exchange'

/** A lifecycle event for metrics and logs. Never carries a token or secret. */
export interface TokenEvent {
  readonly type: 'fetched' | 'refreshed' | 'cache_hit' | 'failed' | 'invalidated'
  readonly grant: TokenGrant
  /** Short non-reversible id of the cache key, to correlate events. */
  readonly key: string
  /** True for background (refresh-ahead) work nobody waited for. */
  readonly background?: boolean
  /** Token endpoint round trip (fetched, refreshed, failed). */
  readonly durationMs?: number
  /** Lifetime of the new token (fetched, refreshed). */
  readonly expiresInSeconds?: number
  /** The failure (failed). */
  readonly error?: {
    readonly code: string
    readonly oauthError: string | undefined
    readonly status: number | undefined
    readonly permanent: boolean
  }
  /** When the next attempt may happen, epoch ms (failed). */
  readonly retryAt?: number
}

/** A token as the IdP issued it. */
export interface IssuedToken {
  readonly accessToken: string
  readonly tokenType: string
  /** Epoch ms. */
  readonly expiresAt: number
  readonly refreshToken?: string
  readonly scope?: string
  readonly issuedTokenType?: string
}

/** An RFC 8693 token exchange request. */
export interface TokenExchangeRequest {
  subjectToken: string
  /** Default: `urn:ietf:params:oauth:token-type:access_token`. */
  subjectTokenType?: string
  actorToken?: string
  /** Default (with `actorToken`): the access-token type. */
  actorTokenType?: string
  audience?: string
  resource?: string | string[]
  scope?: string
  requestedTokenType?: string
}

/** Options of {@link createTokenClient}. */
export interface TokenClientOptions extends Omit<OAuthClientConfig, 'params' | 'authMethod'> {
  /** Default: `client_secret_basic` with a secret, `private_key_jwt` with a key, `tls_client_auth` with a certificate, else `none`. */
  authMethod?: OAuthClientConfig['authMethod']
  /** Default request parameters of {@link TokenClient.getToken}. */
  params?: TokenRequestParams
  /** JWS algorithm of the client assertion. Default: derived from the key (RS256, PS256, ES256/384/512, Ed25519). */
  privateKeyAlg?: string
  /** Refresh at least this long before expiry (10 % of the lifetime if larger, half of it at most). Default: 60. */
  earlyRefreshSeconds?: number
  /** A cached token is handed out only while it stays valid this long (at most a quarter of its lifetime). Default: 5. */
  minValiditySeconds?: number
  /** Lifetime assumed when the IdP sends no `expires_in` and the token is not a JWT with `exp`; 0 = do not cache. Default: 60. */
  defaultExpiresInSeconds?: number
  /** Token endpoint / discovery request timeout. Default: 10,000. */
  timeoutMs?: number
  /** Backoff after failures: exponential from `minDelayMs` to `maxDelayMs` with jitter; permanent errors wait `permanentDelayMs`. */
  retry?: { minDelayMs?: number; maxDelayMs?: number; permanentDelayMs?: number }
  /** Where tokens are cached. Default: {@link createMemoryTokenStore}. */
  store?: TokenStore
  /** Metrics hook; exceptions it throws are ignored. */
  onEvent?: (event: TokenEvent) => void
  /** Clock, epoch ms. Default: `Date.now`. */
  now?: () => number
  /**
   * The timers of the refresh-ahead and retry scheduler, read against `now`. Default: Node's
   * timers, unref'd. A test passes its own with its `now` to move both without waiting.
   */
  timers?: TokenClientTimers
  /** Random source in [0, 1) for jitter. Default: `Math.random`. */
  random?: () => number
  /** Custom fetch for every IdP request (proxies, instrumentation). */
  fetch?: CustomFetch
}

/** An OAuth client with a token lifecycle: cache, refresh-ahead, single-flight, backoff. */
export interface TokenClient extends TokenSource {
  /** Like {@link TokenSource.getToken} but returns the whole issued token. */
  getIssuedToken(params?: TokenRequestParams): Promise<IssuedToken>
  /** RFC 8693 token exchange; results are cached per subject-token hash, never refreshed in the background. */
  exchangeToken(request: TokenExchangeRequest): Promise<IssuedToken>
  /** The refresh-token grant; single-flight and cached per refresh-token hash. A missing `refresh_token` in the answer keeps the old one. */
  refresh(refreshToken: string, params?: TokenRequestParams): Promise<IssuedToken>
}

/** Timers a token client schedules its background work on (see `TokenClientOptions.timers`). */
export interface TokenClientTimers {
  /** Calls `callback` once, `ms` from now; returns a handle other than `undefined`. */
  setTimeout(callback: () => void, ms: number): unknown
  /** Cancels a timer by the handle `setTimeout` returned. */
  clearTimeout(handle: unknown): void
}

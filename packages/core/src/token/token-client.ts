import { createHash, createPrivateKey } from 'node:crypto'
import {
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  None,
  PrivateKeyJwt,
  TlsClientAuth,
  allowInsecureRequests,
  clientCredentialsGrant,
  customFetch,
  discovery,
  genericGrantRequest,
  modifyAssertion,
  refreshTokenGrant,
} from 'openid-client'
import type { ClientAuth, ClientMetadata, CustomFetch, TokenEndpointResponse } from 'openid-client'
import { importPKCS8 } from 'jose'
import { C7AuthError, ConfigError, TokenEndpointError } from '../errors.js'
import { isLoopbackUrl } from '../config/load-config.js'
import type { OAuthClientConfig, TokenRequestParams } from '../config/types.js'
import { classifyTokenError } from './endpoint-error.js'
import { createTlsFetch } from './tls-fetch.js'
import { createMemoryTokenStore } from './token-store.js'
import type { StoredToken, TokenStore, TokenStoreLease } from './token-store.js'
import type { TokenSource } from './types.js'

/** The grant behind a token. */
export type TokenGrant = 'client_credentials' | 'refresh_token' | 'token_exchange'

/** RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 token type of an access token (the default subject/actor token type). */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

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

interface Entry {
  readonly key: string
  readonly id: string
  readonly grant: TokenGrant
  readonly request: (config: Configuration) => Promise<TokenEndpointResponse>
  /** Previous refresh token, kept when the answer has none (RFC 6749 §6). */
  readonly refreshToken?: string
  inflight: Promise<StoredToken> | undefined
  timer: NodeJS.Timeout | undefined
  failures: number
  nextAttemptAt: number
  lastError: TokenEndpointError | undefined
  /**
   * The entry's own copy of its current token: warm calls are answered from it without asking
   * the store (a shared store would otherwise cost a round trip per call).
   */
  local: StoredToken | undefined
  /** The last token invalidated here: a shared store may still hand it out until its delete lands. */
  invalidated: string | undefined
  /** A caller was served the current token from the cache since it was fetched. */
  usedSinceFetch: boolean
  currentToken: string | undefined
}

const MAX_TIMER_MS = 2 ** 31 - 1
const MIN_REFRESH_DELAY_MS = 100

/**
 * Creates a token client on openid-client: discovery or an explicit token endpoint, every client
 * authentication method, and the lifecycle openid-client leaves out:
 *
 * - cache per (token endpoint, client, auth method, grant, audience, scope, resource, hash of any
 *   subject/actor/refresh token) in a {@link TokenStore}; expiry from `expires_in`, JWT `exp` only
 *   as a fallback;
 * - refresh ahead of expiry (`max(earlyRefreshSeconds, 10 % of the lifetime)`, at most half of it)
 *   on unref'd timers, only for keys used since their last fetch; once warm, callers never wait;
 * - one request per key at a time (single-flight), shared by callers and the background refresh;
 * - on failure: keep serving a still-valid token, back off with jitter, honour `Retry-After`;
 *   without a valid token fail fast with a {@link TokenEndpointError}; permanent errors
 *   (`invalid_client`, …) wait `retry.permanentDelayMs` before the next attempt;
 * - plain `http:` only on loopback hosts unless `allowInsecureHttp` is set.
 *
 * @example
 * ```ts
 * const tokens = createTokenClient({
 *   issuer: 'https://idp.example/realms/acme',
 *   clientId: 'acme-worker',
 *   clientSecret: process.env.SECRET,
 *   params: { scope: 'engine' },
 * })
 * const token = await tokens.getToken()                             // cached, refreshed ahead
 * const downstream = await tokens.getToken({ audience: 'https://billing' })
 * tokens.close()
 * ```
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  return new OAuthTokenClient(options)
}

class OAuthTokenClient implements TokenClient {
  readonly #o: TokenClientOptions
  readonly #authMethod: NonNullable<TokenClientOptions['authMethod']>
  readonly #store: TokenStore
  readonly #ownStore: boolean
  readonly #entries = new Map<string, Entry>()
  readonly #tokenIndex = new Map<string, string>()
  readonly #prefix: string
  readonly #now: () => number
  readonly #random: () => number
  readonly #earlyMs: number
  readonly #minValidityMs: number
  readonly #defaultTtlMs: number
  readonly #minDelay: number
  readonly #maxDelay: number
  readonly #permanentDelay: number
  readonly #insecure: boolean
  /** How long one process may hold the fetch lease of a shared store (discovery + request). */
  readonly #leaseMs: number
  readonly #tls: { fetch: CustomFetch; close(): void } | undefined
  #config: Promise<Configuration> | undefined
  /** The token endpoint in use (explicit or discovered), for the client assertion's `aud`. */
  #tokenEndpoint: string | undefined
  #closed = false

  constructor(options: TokenClientOptions) {
    this.#o = options
    this.#authMethod =
      options.authMethod ??
      (options.clientSecret !== undefined
        ? 'client_secret_basic'
        : options.privateKeyPem !== undefined
          ? 'private_key_jwt'
          : options.tlsCertPem !== undefined
            ? 'tls_client_auth'
            : 'none')
    this.#insecure = checkOptions(options, this.#authMethod)
    this.#store = options.store ?? createMemoryTokenStore()
    this.#ownStore = options.store === undefined
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#earlyMs = (options.earlyRefreshSeconds ?? 60) * 1000
    this.#minValidityMs = (options.minValiditySeconds ?? 5) * 1000
    this.#defaultTtlMs = (options.defaultExpiresInSeconds ?? 60) * 1000
    this.#minDelay = options.retry?.minDelayMs ?? 1000
    this.#maxDelay = options.retry?.maxDelayMs ?? 60_000
    this.#permanentDelay = options.retry?.permanentDelayMs ?? 300_000
    this.#leaseMs = 2 * (options.timeoutMs ?? 10_000) + 1000
    this.#prefix = hash(
      JSON.stringify([options.tokenEndpoint ?? options.issuer, options.clientId, this.#authMethod]),
    ).slice(0, 16)
    const needsTls = this.#authMethod === 'tls_client_auth' || options.caPem !== undefined
    this.#tls = needsTls
      ? createTlsFetch({
          ...(this.#authMethod === 'tls_client_auth' && options.tlsCertPem !== undefined
            ? { certPem: options.tlsCertPem }
            : {}),
          ...(this.#authMethod === 'tls_client_auth' && options.tlsKeyPem !== undefined
            ? { keyPem: options.tlsKeyPem }
            : {}),
          ...(options.caPem !== undefined ? { caPem: options.caPem } : {}),
        })
      : undefined
  }

  getToken(params?: TokenRequestParams): Promise<string> {
    return this.getIssuedToken(params).then(accessTokenOf)
  }

  getIssuedToken(params?: TokenRequestParams): Promise<IssuedToken> {
    if (this.#closed) return Promise.reject(closedError())
    const p = params !== undefined && hasAny(params) ? params : (this.#o.params ?? {})
    const scope = normaliseScope(p.scope)
    const resource = normaliseResource(p.resource)
    const key = `${this.#prefix}|cc|${p.audience ?? ''}|${scope ?? ''}|${resource.join(' ')}`
    const entry =
      this.#entries.get(key) ??
      this.#entry(key, 'client_credentials', (config) => {
        const body = new URLSearchParams()
        if (scope !== undefined) body.set('scope', scope)
        if (p.audience !== undefined) body.set('audience', p.audience)
        for (const r of resource) body.append('resource', r)
        return clientCredentialsGrant(config, body)
      })
    return this.#get(entry)
  }

  exchangeToken(request: TokenExchangeRequest): Promise<IssuedToken> {
    if (this.#closed) return Promise.reject(closedError())
    const subjectType = request.subjectTokenType ?? ACCESS_TOKEN_TYPE
    const actorType =
      request.actorToken !== undefined ? (request.actorTokenType ?? ACCESS_TOKEN_TYPE) : undefined
    const scope = normaliseScope(request.scope)
    const resource = normaliseResource(request.resource)
    const key = [
      this.#prefix,
      'te',
      hash(request.subjectToken),
      subjectType,
      request.actorToken !== undefined ? hash(request.actorToken) : '',
      actorType ?? '',
      request.audience ?? '',
      scope ?? '',
      resource.join(' '),
      request.requestedTokenType ?? '',
    ].join('|')
    const entry =
      this.#entries.get(key) ??
      this.#entry(key, 'token_exchange', (config) => {
        const body = new URLSearchParams()
        body.set('subject_token', request.subjectToken)
        body.set('subject_token_type', subjectType)
        if (request.actorToken !== undefined && actorType !== undefined) {
          body.set('actor_token', request.actorToken)
          body.set('actor_token_type', actorType)
        }
        if (request.audience !== undefined) body.set('audience', request.audience)
        for (const r of resource) body.append('resource', r)
        if (scope !== undefined) body.set('scope', scope)
        if (request.requestedTokenType !== undefined) {
          body.set('requested_token_type', request.requestedTokenType)
        }
        return genericGrantRequest(config, TOKEN_EXCHANGE_GRANT_TYPE, body)
      })
    return this.#get(entry)
  }

  refresh(refreshToken: string, params: TokenRequestParams = {}): Promise<IssuedToken> {
    if (this.#closed) return Promise.reject(closedError())
    const scope = normaliseScope(params.scope)
    const resource = normaliseResource(params.resource)
    const key = [
      this.#prefix,
      'rt',
      hash(refreshToken),
      params.audience ?? '',
      scope ?? '',
      resource.join(' '),
    ].join('|')
    const entry =
      this.#entries.get(key) ??
      this.#entry(
        key,
        'refresh_token',
        (config) => {
          const body = new URLSearchParams()
          if (scope !== undefined) body.set('scope', scope)
          if (params.audience !== undefined) body.set('audience', params.audience)
          for (const r of resource) body.append('resource', r)
          return refreshTokenGrant(config, refreshToken, body)
        },
        refreshToken,
      )
    return this.#get(entry)
  }

  invalidate(token: string): void {
    const key = this.#tokenIndex.get(token)
    if (key === undefined) return
    this.#tokenIndex.delete(token)
    const entry = this.#entries.get(key)
    // Only the token the caller saw is dropped: after the first 401 of a burst the key already
    // holds (or is fetching) a newer token, and the later invalidations are no-ops.
    if (entry !== undefined) {
      if (entry.currentToken !== token) return
      entry.currentToken = undefined
      entry.local = undefined
      entry.invalidated = token
      if (entry.timer) clearTimeout(entry.timer)
      entry.timer = undefined
    }
    const grant = grantOfKey(key)
    const drop = (stored: StoredToken | undefined) => {
      if (stored?.accessToken !== token) return
      void Promise.resolve(this.#store.delete(key)).catch(() => undefined)
      this.#emit({ type: 'invalidated', grant, key: hash(key).slice(0, 12) })
    }
    const stored = this.#store.get(key)
    if (stored instanceof Promise) stored.then(drop, () => undefined)
    else drop(stored)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const entry of this.#entries.values()) {
      if (entry.timer) clearTimeout(entry.timer)
      entry.timer = undefined
    }
    this.#entries.clear()
    this.#tokenIndex.clear()
    this.#tls?.close()
    if (this.#ownStore) void Promise.resolve(this.#store.close?.()).catch(() => undefined)
  }

  #entry(key: string, grant: TokenGrant, request: Entry['request'], refreshToken?: string): Entry {
    const entry: Entry = {
      key,
      id: hash(key).slice(0, 12),
      grant,
      request,
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      inflight: undefined,
      timer: undefined,
      failures: 0,
      nextAttemptAt: 0,
      lastError: undefined,
      usedSinceFetch: false,
      currentToken: undefined,
      local: undefined,
      invalidated: undefined,
    }
    this.#entries.set(key, entry)
    return entry
  }

  #get(entry: Entry): Promise<StoredToken> {
    const local = entry.local
    if (local !== undefined && this.#now() < this.#usableUntil(local)) {
      return this.#serve(entry, local)
    }
    const stored = this.#store.get(entry.key)
    if (stored instanceof Promise) {
      // The local copy also covers a read that started before a concurrent fetch stored its token.
      return stored.then((s) => this.#serve(entry, newer(s, entry.local)))
    }
    return this.#serve(entry, newer(stored, entry.local))
  }

  #serve(entry: Entry, stored: StoredToken | undefined): Promise<StoredToken> {
    const now = this.#now()
    if (
      stored !== undefined &&
      now < this.#usableUntil(stored) &&
      stored.accessToken !== entry.invalidated
    ) {
      if (entry.currentToken !== stored.accessToken) this.#track(entry, stored)
      if (entry.grant === 'client_credentials') entry.local = stored
      entry.usedSinceFetch = true
      this.#emit({ type: 'cache_hit', grant: entry.grant, key: entry.id })
      if (entry.grant !== 'client_credentials') {
        // The store keeps the token; the entry was only needed for this lookup.
        if (entry.inflight === undefined && entry.lastError === undefined) {
          this.#entries.delete(entry.key)
        }
        return Promise.resolve(stored)
      }
      // Past the refresh point with nothing scheduled (token from a shared store, or a failed
      // timer whose retry window has passed): refresh in the background, still serving this one.
      if (
        entry.timer === undefined &&
        entry.inflight === undefined &&
        now >= this.#refreshAt(stored) &&
        now >= entry.nextAttemptAt
      ) {
        this.#fetch(entry, true).catch(() => undefined)
      }
      return Promise.resolve(stored)
    }
    if (entry.inflight) return entry.inflight
    if (entry.lastError !== undefined && now < entry.nextAttemptAt) {
      return Promise.reject(entry.lastError)
    }
    return this.#fetch(entry, false)
  }

  #fetch(entry: Entry, background: boolean): Promise<StoredToken> {
    const promise = (async () => {
      let lease: TokenStoreLease | undefined
      let started = this.#now()
      try {
        if (this.#store.lease !== undefined) {
          const shared = await this.#coordinate(entry, background)
          if (shared.token !== undefined) return this.#adopt(entry, shared.token, background)
          lease = shared.lease
          started = this.#now()
        }
        const config = await this.#configuration()
        const response = await entry.request(config)
        const sameToken = entry.currentToken === response.access_token
        const token = this.#toStored(entry, response, started)
        if (this.#closed) return token
        entry.failures = 0
        entry.lastError = undefined
        entry.nextAttemptAt = 0
        const ttl = token.expiresAt - this.#now()
        if (ttl > 0) {
          await this.#store.set(entry.key, token, ttl)
          this.#track(entry, token)
          if (entry.grant === 'client_credentials') entry.local = token
          entry.usedSinceFetch = false
          if (entry.grant === 'client_credentials') this.#schedule(entry, token, sameToken)
        }
        if (entry.grant !== 'client_credentials') this.#forget(entry)
        this.#emit({
          type: background ? 'refreshed' : 'fetched',
          grant: entry.grant,
          key: entry.id,
          background,
          durationMs: this.#now() - started,
          expiresInSeconds: Math.round((token.expiresAt - started) / 1000),
        })
        return token
      } catch (err) {
        const { error, retryAfterMs } =
          err instanceof C7AuthError && !(err instanceof TokenEndpointError)
            ? { error: wrapInternal(err), retryAfterMs: undefined }
            : await classifyTokenError(err, entry.grant)
        entry.failures += 1
        const delay = Math.max(
          error.permanent ? this.#permanentDelay : this.#backoff(entry.failures),
          retryAfterMs ?? 0,
        )
        const now = this.#now()
        entry.nextAttemptAt = now + delay
        entry.lastError = error
        this.#emit({
          type: 'failed',
          grant: entry.grant,
          key: entry.id,
          background,
          durationMs: now - started,
          error: {
            code: error.code,
            oauthError: error.oauthError,
            status: error.responseStatus,
            permanent: error.permanent,
          },
          retryAt: entry.nextAttemptAt,
        })
        if (background && !error.permanent && !this.#closed) this.#scheduleRetry(entry)
        if (entry.grant !== 'client_credentials') this.#forgetLater(entry, delay)
        throw error
      } finally {
        entry.inflight = undefined
        // After the store write above: a waiting process finds the token once the lease is free.
        if (lease !== undefined) void lease.release().catch(() => undefined)
      }
    })()
    entry.inflight = promise
    return promise
  }

  /**
   * Single-flight across the processes sharing the store: either another process's fresh token
   * (already stored, or stored while this one waited on its lease), or the lease to fetch. Without
   * a lease after `#leaseMs` (its holder died), this process fetches anyway.
   */
  async #coordinate(
    entry: Entry,
    background: boolean,
  ): Promise<{ token?: StoredToken; lease?: TokenStoreLease }> {
    const deadline = Date.now() + this.#leaseMs
    let delay = 20
    for (;;) {
      const found = await this.#sharedToken(entry, background)
      if (found !== undefined) return { token: found }
      const lease = await this.#store.lease!(entry.key, this.#leaseMs)
      if (lease !== undefined) {
        // Another process may have stored its token between the read and the lease.
        const again = await this.#sharedToken(entry, background)
        if (again === undefined) return { lease }
        void lease.release().catch(() => undefined)
        return { token: again }
      }
      if (this.#closed || Date.now() >= deadline) return {}
      await new Promise((resolve) => setTimeout(resolve, delay).unref())
      delay = Math.min(delay * 2, 250)
    }
  }

  /** A stored token that makes this fetch unnecessary. */
  async #sharedToken(entry: Entry, background: boolean): Promise<StoredToken | undefined> {
    const stored = await this.#store.get(entry.key)
    if (stored === undefined || stored.accessToken === entry.invalidated) return undefined
    const now = this.#now()
    if (now >= this.#usableUntil(stored)) return undefined
    // A refresh is only saved by a token that is itself not yet due for refresh.
    if (background && now >= this.#refreshAt(stored)) return undefined
    return stored
  }

  /** Takes over a token another process fetched, as if this one had fetched it. */
  #adopt(entry: Entry, token: StoredToken, background: boolean): StoredToken {
    if (this.#closed) return token
    entry.failures = 0
    entry.lastError = undefined
    entry.nextAttemptAt = 0
    const sameToken = entry.currentToken === token.accessToken
    this.#track(entry, token)
    if (entry.grant === 'client_credentials') {
      entry.local = token
      entry.usedSinceFetch = false
      this.#schedule(entry, token, sameToken)
    } else {
      this.#forget(entry)
    }
    this.#emit({ type: 'cache_hit', grant: entry.grant, key: entry.id, background })
    return token
  }

  #toStored(entry: Entry, response: TokenEndpointResponse, started: number): StoredToken {
    let expiresAt = expiresAtOf(response, started, this.#defaultTtlMs)
    if (entry.currentToken !== undefined && entry.currentToken === response.access_token) {
      // The IdP handed back the token it already gave us: its expiry did not move.
      const exp = jwtExp(response.access_token)
      if (exp !== undefined) expiresAt = Math.min(expiresAt, exp * 1000)
    }
    const refreshToken = response.refresh_token ?? entry.refreshToken
    return {
      accessToken: response.access_token,
      tokenType: response.token_type,
      expiresAt,
      obtainedAt: started,
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      ...(response.scope !== undefined ? { scope: response.scope } : {}),
      ...(typeof response.issued_token_type === 'string'
        ? { issuedTokenType: response.issued_token_type }
        : {}),
    }
  }

  #track(entry: Entry, token: StoredToken): void {
    if (entry.currentToken !== undefined) this.#tokenIndex.delete(entry.currentToken)
    entry.currentToken = token.accessToken
    this.#tokenIndex.set(token.accessToken, entry.key)
  }

  /** Entries of the other grants carry no timer: once settled, the store alone keeps the token. */
  #forget(entry: Entry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key)
    const token = entry.currentToken
    if (token === undefined) return
    // Keep invalidate() working for this token until it expires, then let the index forget it.
    const t = setTimeout(
      () => {
        if (this.#tokenIndex.get(token) === entry.key && !this.#entries.has(entry.key)) {
          this.#tokenIndex.delete(token)
        }
      },
      Math.min(MAX_TIMER_MS, Math.max(0, this.#lifetimeLeft(entry))),
    )
    t.unref()
  }

  #forgetLater(entry: Entry, delay: number): void {
    const t = setTimeout(
      () => {
        if (this.#entries.get(entry.key) === entry && entry.inflight === undefined) {
          this.#entries.delete(entry.key)
        }
      },
      Math.min(MAX_TIMER_MS, delay),
    )
    t.unref()
  }

  #lifetimeLeft(entry: Entry): number {
    const s = this.#store.get(entry.key)
    if (s instanceof Promise || s === undefined) return this.#defaultTtlMs
    return s.expiresAt - this.#now()
  }

  #lead(token: StoredToken): number {
    const lifetime = token.expiresAt - token.obtainedAt
    return Math.min(Math.max(this.#earlyMs, lifetime * 0.1), lifetime / 2)
  }

  #refreshAt(token: StoredToken): number {
    return token.expiresAt - this.#lead(token)
  }

  #usableUntil(token: StoredToken): number {
    const lifetime = token.expiresAt - token.obtainedAt
    return token.expiresAt - Math.min(this.#minValidityMs, lifetime / 4)
  }

  #schedule(entry: Entry, token: StoredToken, sameToken: boolean): void {
    if (entry.timer) clearTimeout(entry.timer)
    // An IdP that hands back the same token until it expires would be asked again at once;
    // then the next refresh waits until the token is at its end.
    const at = sameToken ? this.#usableUntil(token) : this.#refreshAt(token)
    const delay = Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, at - this.#now()))
    entry.timer = setTimeout(() => this.#onTimer(entry), delay)
    entry.timer.unref()
  }

  #scheduleRetry(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = undefined
    const current = entry.local
    // Retrying only makes sense while the served token is still usable.
    if (current === undefined || entry.nextAttemptAt >= this.#usableUntil(current)) return
    const delay = Math.max(0, entry.nextAttemptAt - this.#now())
    entry.timer = setTimeout(() => this.#onTimer(entry), delay)
    entry.timer.unref()
  }

  #onTimer(entry: Entry): void {
    entry.timer = undefined
    if (this.#closed || entry.inflight || this.#entries.get(entry.key) !== entry) return
    const current = entry.local
    if (current === undefined || current.accessToken !== entry.currentToken) return
    // Idle keys are not kept warm forever: refresh only if the token was used since it came.
    if (!entry.usedSinceFetch) return
    this.#fetch(entry, true).catch(() => undefined)
  }

  #backoff(failures: number): number {
    const base = Math.min(this.#maxDelay, this.#minDelay * 2 ** Math.min(failures - 1, 30))
    return Math.round(base * (0.5 + this.#random() * 0.5))
  }

  #configuration(): Promise<Configuration> {
    if (this.#config) return this.#config
    const promise = this.#createConfiguration()
    this.#config = promise
    // A failed discovery is not cached: the next attempt (after backoff) discovers again.
    promise.catch(() => {
      if (this.#config === promise) this.#config = undefined
    })
    return promise
  }

  async #createConfiguration(): Promise<Configuration> {
    const o = this.#o
    const auth = await this.#clientAuth()
    const metadata: Partial<ClientMetadata> = {}
    if (this.#authMethod === 'tls_client_auth') metadata.use_mtls_endpoint_aliases = true
    const fetchImpl = this.#tls?.fetch ?? o.fetch
    const timeout = Math.max(1, Math.ceil((o.timeoutMs ?? 10_000) / 1000))
    let config: Configuration
    if (o.tokenEndpoint !== undefined) {
      const issuer = o.issuer ?? new URL(o.tokenEndpoint).origin
      config = new Configuration(
        { issuer, token_endpoint: o.tokenEndpoint },
        o.clientId,
        metadata,
        auth,
      )
      if (this.#insecure) allowInsecureRequests(config)
    } else {
      config = await discovery(new URL(o.issuer!), o.clientId, metadata, auth, {
        execute: this.#insecure ? [allowInsecureRequests] : [],
        timeout,
        ...(fetchImpl !== undefined ? { [customFetch]: fetchImpl } : {}),
      })
    }
    config.timeout = timeout
    if (fetchImpl !== undefined) config[customFetch] = fetchImpl
    this.#tokenEndpoint = config.serverMetadata().token_endpoint
    return config
  }

  async #clientAuth(): Promise<ClientAuth> {
    const o = this.#o
    switch (this.#authMethod) {
      case 'client_secret_basic':
        return ClientSecretBasic(o.clientSecret!)
      case 'client_secret_post':
        return ClientSecretPost(o.clientSecret!)
      case 'private_key_jwt': {
        const keyObject = createPrivateKey(o.privateKeyPem!)
        const alg = o.privateKeyAlg ?? assertionAlg(keyObject)
        const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'pem' }).toString()
        const key = await importPKCS8(pkcs8, alg)
        const useIssuer = o.assertionAudience === 'issuer' && o.issuer !== undefined
        return PrivateKeyJwt(o.privateKeyId !== undefined ? { key, kid: o.privateKeyId } : key, {
          [modifyAssertion]: (_header, payload) => {
            // RFC 7523 §3: the token endpoint URL identifies the authorization server as audience.
            if (!useIssuer && this.#tokenEndpoint !== undefined) payload.aud = this.#tokenEndpoint
          },
        })
      }
      case 'tls_client_auth':
        return TlsClientAuth()
      case 'none':
        return None()
    }
  }

  #emit(event: TokenEvent): void {
    const hook = this.#o.onEvent
    if (!hook) return
    try {
      hook(event)
    } catch {
      // A metrics hook must not break token delivery.
    }
  }
}

/** Validates the options up front; returns whether plain-http requests must be allowed. */
function checkOptions(
  o: TokenClientOptions,
  method: NonNullable<TokenClientOptions['authMethod']>,
): boolean {
  const issues: string[] = []
  if (!o.clientId) issues.push('clientId: required')
  if (o.issuer === undefined && o.tokenEndpoint === undefined) {
    issues.push('issuer or tokenEndpoint: one is required')
  }
  let insecure = false
  for (const [name, url] of [
    ['issuer', o.issuer],
    ['tokenEndpoint', o.tokenEndpoint],
  ] as const) {
    if (url === undefined) continue
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      issues.push(`${name}: must be an absolute URL`)
      continue
    }
    if (parsed.protocol === 'http:') {
      if (isLoopbackUrl(url) || o.allowInsecureHttp === true) insecure = true
      else issues.push(`${name}: must use https (http only on loopback or with allowInsecureHttp)`)
    } else if (parsed.protocol !== 'https:') {
      issues.push(`${name}: must be an http(s) URL`)
    }
  }
  if ((method === 'client_secret_basic' || method === 'client_secret_post') && !o.clientSecret) {
    issues.push(`clientSecret: required for ${method}`)
  }
  if (method === 'private_key_jwt') {
    if (!o.privateKeyPem) issues.push('privateKeyPem: required for private_key_jwt')
    else {
      try {
        createPrivateKey(o.privateKeyPem)
      } catch {
        issues.push('privateKeyPem: must be a PEM private key')
      }
    }
  }
  if (method === 'tls_client_auth' && (!o.tlsCertPem || !o.tlsKeyPem)) {
    issues.push('tlsCertPem and tlsKeyPem: required for tls_client_auth')
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return insecure
}

function assertionAlg(key: ReturnType<typeof createPrivateKey>): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256'
    case 'rsa-pss':
      return 'PS256'
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (curve === 'secp384r1') return 'ES384'
      if (curve === 'secp521r1') return 'ES512'
      return 'ES256'
    }
    case 'ed25519':
      return 'Ed25519'
    default:
      throw new ConfigError(['privateKeyPem: unsupported key type for private_key_jwt'])
  }
}

function newer(a: StoredToken | undefined, b: StoredToken | undefined): StoredToken | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return b.obtainedAt > a.obtainedAt ? b : a
}

function grantOfKey(key: string): TokenGrant {
  const tag = key.split('|')[1]
  return tag === 'te' ? 'token_exchange' : tag === 'rt' ? 'refresh_token' : 'client_credentials'
}

function accessTokenOf(token: IssuedToken): string {
  return token.accessToken
}

function hasAny(p: TokenRequestParams): boolean {
  return p.audience !== undefined || p.scope !== undefined || p.resource !== undefined
}

function normaliseScope(scope: string | undefined): string | undefined {
  if (scope === undefined) return undefined
  const parts = scope.split(/\s+/).filter(Boolean)
  return parts.length === 0 ? undefined : [...new Set(parts)].sort().join(' ')
}

function normaliseResource(resource: string | string[] | undefined): string[] {
  if (resource === undefined) return []
  return [...new Set(Array.isArray(resource) ? resource : [resource])].sort()
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/**
 * When a token stops being valid (epoch ms): from `expires_in` (opaque tokens work), else the JWT
 * `exp` read without verification, else `started + defaultTtlMs` (0 = not cacheable).
 */
export function expiresAtOf(
  response: Pick<TokenEndpointResponse, 'access_token' | 'expires_in'>,
  started: number,
  defaultTtlMs: number,
): number {
  if (typeof response.expires_in === 'number' && response.expires_in > 0) {
    return started + response.expires_in * 1000
  }
  const exp = jwtExp(response.access_token)
  return exp !== undefined ? exp * 1000 : started + defaultTtlMs
}

/** `exp` of a JWT-shaped token, read without verification (only to time the cache). */
function jwtExp(token: string): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown
    const exp = (payload as { exp?: unknown } | null)?.exp
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined
  } catch {
    return undefined
  }
}

function closedError(): TokenEndpointError {
  return new TokenEndpointError({
    permanent: true,
    message: 'The token client is closed.',
    detail: 'closed',
  })
}

function wrapInternal(err: C7AuthError): TokenEndpointError {
  return new TokenEndpointError({ permanent: true, detail: err.code, cause: err })
}

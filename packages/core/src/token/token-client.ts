import type { TokenEndpointResponse } from 'openid-client'
import { C7AuthError, TokenEndpointError } from '../errors.js'
import type { TokenRequestParams } from '../config/types.js'
import { resolveTokenClientOptions } from './client-options.js'
import type { ResolvedTokenClientOptions } from './client-options.js'
import { classifyTokenError } from './endpoint-error.js'
import {
  clientCredentialsRequest,
  grantOfKey,
  hasAnyParam,
  hash,
  refreshRequest,
  tokenExchangeRequest,
} from './grant-requests.js'
import type { GrantRequest } from './grant-requests.js'
import { IdpConfiguration } from './idp-configuration.js'
import { TokenTiming, expiresAtOf, jwtExp } from './token-timing.js'
import { createMemoryTokenStore } from './token-store.js'
import type { StoredToken, TokenStore, TokenStoreLease } from './token-store.js'
import type {
  IssuedToken,
  TokenClient,
  TokenClientOptions,
  TokenEvent,
  TokenClientTimers,
  TokenExchangeRequest,
  TokenGrant,
} from './types.js'

export { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT_TYPE } from './grant-requests.js'

/** The lifecycle state of one cache key. */
interface Entry {
  readonly key: string
  readonly id: string
  readonly grant: TokenGrant
  readonly send: GrantRequest['send']
  /** Previous refresh token, kept when the answer has none (RFC 6749 §6). */
  readonly refreshToken?: string
  inflight: Promise<StoredToken> | undefined
  /** The pending refresh or retry, a handle of the client's timers. */
  timer: unknown
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

/** Node's timers, unref'd: a token client never keeps a process alive. */
const NODE_TIMERS: TokenClientTimers = {
  setTimeout(callback, ms) {
    return setTimeout(callback, ms).unref()
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

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

/** The cache, refresh-ahead scheduler and single-flight of one client; openid-client sits behind {@link IdpConfiguration}. */
class OAuthTokenClient implements TokenClient {
  readonly #o: TokenClientOptions
  readonly #settings: ResolvedTokenClientOptions
  readonly #timing: TokenTiming
  readonly #idp: IdpConfiguration
  readonly #store: TokenStore
  readonly #ownStore: boolean
  readonly #entries = new Map<string, Entry>()
  readonly #tokenIndex = new Map<string, string>()
  readonly #prefix: string
  readonly #now: () => number
  readonly #timers: TokenClientTimers
  #closed = false

  constructor(options: TokenClientOptions) {
    this.#o = options
    this.#settings = resolveTokenClientOptions(options)
    this.#timing = new TokenTiming(this.#settings, options.random ?? Math.random)
    this.#idp = new IdpConfiguration(options, this.#settings)
    this.#store = options.store ?? createMemoryTokenStore()
    this.#ownStore = options.store === undefined
    this.#now = options.now ?? Date.now
    this.#timers = options.timers ?? NODE_TIMERS
    this.#prefix = hash(
      JSON.stringify([
        options.tokenEndpoint ?? options.issuer,
        options.clientId,
        this.#settings.authMethod,
      ]),
    ).slice(0, 16)
  }

  getToken(params?: TokenRequestParams): Promise<string> {
    return this.getIssuedToken(params).then(accessTokenOf)
  }

  getIssuedToken(params?: TokenRequestParams): Promise<IssuedToken> {
    const p = params !== undefined && hasAnyParam(params) ? params : (this.#o.params ?? {})
    return this.#request(() => clientCredentialsRequest(this.#prefix, p))
  }

  exchangeToken(request: TokenExchangeRequest): Promise<IssuedToken> {
    return this.#request(() => tokenExchangeRequest(this.#prefix, request))
  }

  refresh(refreshToken: string, params: TokenRequestParams = {}): Promise<IssuedToken> {
    return this.#request(() => refreshRequest(this.#prefix, refreshToken, params))
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
      if (entry.timer !== undefined) this.#timers.clearTimeout(entry.timer)
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
      if (entry.timer !== undefined) this.#timers.clearTimeout(entry.timer)
      entry.timer = undefined
    }
    this.#entries.clear()
    this.#tokenIndex.clear()
    this.#idp.close()
    if (this.#ownStore) void Promise.resolve(this.#store.close?.()).catch(() => undefined)
  }

  #request(describe: () => GrantRequest): Promise<StoredToken> {
    if (this.#closed) return Promise.reject(closedError())
    const request = describe()
    return this.#get(this.#entries.get(request.key) ?? this.#entry(request))
  }

  #entry({ key, grant, send, refreshToken }: GrantRequest): Entry {
    const entry: Entry = {
      key,
      id: hash(key).slice(0, 12),
      grant,
      send,
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
    if (local !== undefined && this.#now() < this.#timing.usableUntil(local)) {
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
      now < this.#timing.usableUntil(stored) &&
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
        now >= this.#timing.refreshAt(stored) &&
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
        const config = await this.#idp.get()
        const response = await entry.send(config)
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
          error.permanent ? this.#settings.permanentDelayMs : this.#timing.backoff(entry.failures),
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
    const deadline = this.#now() + this.#settings.leaseMs
    let delay = 20
    for (;;) {
      const found = await this.#sharedToken(entry, background)
      if (found !== undefined) return { token: found }
      const lease = await this.#store.lease!(entry.key, this.#settings.leaseMs)
      if (lease !== undefined) {
        // Another process may have stored its token between the read and the lease.
        const again = await this.#sharedToken(entry, background)
        if (again === undefined) return { lease }
        void lease.release().catch(() => undefined)
        return { token: again }
      }
      if (this.#closed || this.#now() >= deadline) return {}
      await new Promise<void>((resolve) => this.#timers.setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 250)
    }
  }

  /** A stored token that makes this fetch unnecessary. */
  async #sharedToken(entry: Entry, background: boolean): Promise<StoredToken | undefined> {
    const stored = await this.#store.get(entry.key)
    if (stored === undefined || stored.accessToken === entry.invalidated) return undefined
    const now = this.#now()
    if (now >= this.#timing.usableUntil(stored)) return undefined
    // A refresh is only saved by a token that is itself not yet due for refresh.
    if (background && now >= this.#timing.refreshAt(stored)) return undefined
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
    let expiresAt = expiresAtOf(response, started, this.#settings.defaultTtlMs)
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
    this.#timers.setTimeout(
      () => {
        if (this.#tokenIndex.get(token) === entry.key && !this.#entries.has(entry.key)) {
          this.#tokenIndex.delete(token)
        }
      },
      Math.min(MAX_TIMER_MS, Math.max(0, this.#lifetimeLeft(entry))),
    )
  }

  #forgetLater(entry: Entry, delay: number): void {
    this.#timers.setTimeout(
      () => {
        if (this.#entries.get(entry.key) === entry && entry.inflight === undefined) {
          this.#entries.delete(entry.key)
        }
      },
      Math.min(MAX_TIMER_MS, delay),
    )
  }

  #lifetimeLeft(entry: Entry): number {
    const s = this.#store.get(entry.key)
    if (s instanceof Promise || s === undefined) return this.#settings.defaultTtlMs
    return s.expiresAt - this.#now()
  }

  #schedule(entry: Entry, token: StoredToken, sameToken: boolean): void {
    if (entry.timer !== undefined) this.#timers.clearTimeout(entry.timer)
    // An IdP that hands back the same token until it expires would be asked again at once;
    // then the next refresh waits until the token is at its end.
    const at = sameToken ? this.#timing.usableUntil(token) : this.#timing.refreshAt(token)
    const delay = Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, at - this.#now()))
    entry.timer = this.#timers.setTimeout(() => this.#onTimer(entry), delay)
  }

  #scheduleRetry(entry: Entry): void {
    if (entry.timer !== undefined) this.#timers.clearTimeout(entry.timer)
    entry.timer = undefined
    const current = entry.local
    // Retrying only makes sense while the served token is still usable.
    if (current === undefined || entry.nextAttemptAt >= this.#timing.usableUntil(current)) return
    const delay = Math.max(0, entry.nextAttemptAt - this.#now())
    entry.timer = this.#timers.setTimeout(() => this.#onTimer(entry), delay)
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

function newer(a: StoredToken | undefined, b: StoredToken | undefined): StoredToken | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return b.obtainedAt > a.obtainedAt ? b : a
}

function accessTokenOf(token: IssuedToken): string {
  return token.accessToken
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

/**
 * The token lifecycle against the real test IdP: single-flight, refresh-ahead, 401
 * invalidate-and-retry without a herd, outages with and without a valid token, Retry-After,
 * permanent vs transient errors, and close().
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { createTokenClient, TokenEndpointError, withTokenRetry } from '@c7auth/core'
import type { TokenClient, TokenClientOptions, TokenClientTimers, TokenEvent } from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'

const SECRET = 'lifecycle-secret'
const SHORT = 'urn:short' // 4 s tokens: refresh-ahead at 2 s, served until 3 s
// 12 s tokens: refresh-ahead at 6 s, served until 9 s
const MEDIUM = 'urn:medium'
// 20 s tokens: refresh-ahead at 10 s; with minValiditySeconds 2 served until 18 s
const LONG = 'urn:long'
const TINY = 'urn:tiny' // 2 s tokens
const DOWNSTREAM = 'urn:downstream'

let idp: TestIdp
const clients: TokenClient[] = []

function client(
  events: TokenEvent[] = [],
  extra: Partial<TokenClientOptions> = {},
  notify: () => void = () => undefined,
): TokenClient {
  const c = createTokenClient({
    issuer: idp.issuer,
    clientId: 'app',
    clientSecret: SECRET,
    onEvent: (e) => {
      events.push(e)
      notify()
    },
    retry: { minDelayMs: 100, maxDelayMs: 400 },
    ...extra,
  })
  clients.push(c)
  return c
}

const count = (events: TokenEvent[], type: TokenEvent['type']) =>
  events.filter((e) => e.type === type).length

/**
 * A clock the test moves, with the timers the client schedules on it (its `now` and `timers`
 * options): backoff windows, refresh points and token lifetimes pass when the test says so, and a
 * refresh that was not scheduled is seen not to be, instead of slept through on a loaded machine.
 */
function manualClock(): {
  now: () => number
  timers: TokenClientTimers
  /** Timers scheduled and neither run nor cancelled. */
  readonly pending: number
  /** Moves the clock to `ms` (never back) and runs every timer due by then, earliest first. */
  set(ms: number): void
  pastBackoff(events: TokenEvent[]): void
} {
  let at = Date.now()
  let seq = 0
  const timers = new Map<number, { due: number; run: () => void }>()
  const set = (ms: number) => {
    at = Math.max(at, ms)
    // Bounded: a timer that reschedules itself at once would otherwise loop forever.
    for (let runs = 0; runs < 1_000; runs++) {
      const due = [...timers].filter(([, t]) => t.due <= at).sort((a, b) => a[1].due - b[1].due)
      if (due.length === 0) return
      const [id, timer] = due[0]!
      timers.delete(id)
      timer.run()
    }
    throw new Error('timers keep rescheduling themselves')
  }
  return {
    now: () => at,
    timers: {
      setTimeout(run, ms) {
        seq += 1
        timers.set(seq, { due: at + ms, run })
        return seq
      },
      clearTimeout(handle) {
        timers.delete(handle as number)
      },
    },
    get pending() {
      return timers.size
    },
    set,
    /** Moves past the retry time the last `failed` event announced. */
    pastBackoff(events) {
      const failed = events.filter((e) => e.type === 'failed').at(-1)
      expect(failed?.retryAt, 'a failed event with its retry time').toBeTypeOf('number')
      set(failed!.retryAt! + 1)
    },
  }
}

/** Resolves once `events` holds `n` events of `type` (the client's `onEvent` calls `notify`). */
function eventWaiter(events: TokenEvent[]): {
  notify: () => void
  until: (type: TokenEvent['type'], n: number) => Promise<void>
} {
  const waiting = new Set<() => void>()
  return {
    notify: () => {
      for (const check of [...waiting]) check()
    },
    until: (type, n) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (count(events, type) < n) return
          waiting.delete(check)
          resolve()
        }
        waiting.add(check)
        check()
      }),
  }
}

beforeAll(async () => {
  idp = await startTestIdp({
    clients: [{ clientId: 'app', clientSecret: SECRET }],
    audiences: [
      { audience: SHORT, accessTokenTtlSeconds: 4 },
      { audience: MEDIUM, accessTokenTtlSeconds: 12 },
      { audience: LONG, accessTokenTtlSeconds: 20 },
      { audience: TINY, accessTokenTtlSeconds: 2 },
      { audience: DOWNSTREAM },
    ],
  })
})

afterEach(() => {
  idp.setFault(null)
  while (clients.length > 0) clients.pop()!.close()
})

afterAll(async () => {
  await idp?.close()
})

describe('single-flight', () => {
  it('1,000 concurrent cold getToken calls cause exactly one token request', async () => {
    const events: TokenEvent[] = []
    const c = client(events)
    idp.resetCounts()
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => c.getToken()))
    expect(idp.counts.tokenByGrant).toEqual({ client_credentials: 1 })
    expect(idp.counts.discovery).toBe(1) // discovery is single-flight too
    expect(new Set(tokens).size).toBe(1)
    expect(count(events, 'fetched')).toBe(1)
    expect(count(events, 'cache_hit')).toBe(0)
  })

  it('concurrent cold calls for three parameter sets cause one request per set', async () => {
    const c = client()
    idp.resetCounts()
    const params = [undefined, { audience: DOWNSTREAM }, { resource: DOWNSTREAM, scope: 'x' }]
    const tokens = await Promise.all(
      Array.from({ length: 900 }, (_, i) => c.getToken(params[i % 3])),
    )
    expect(idp.counts.token).toBe(3)
    expect(new Set(tokens).size).toBe(3)
  })
})

describe('refresh ahead of expiry', () => {
  it('once warm, callers never wait: every call is a cache hit while tokens roll over', async () => {
    const events: TokenEvent[] = []
    const waiter = eventWaiter(events)
    const clock = manualClock()
    // 12 s tokens, called every 20 ms of the client's clock for 8.5 s: refreshed ahead at 6 s
    const c = client(
      events,
      { params: { audience: MEDIUM }, now: clock.now, timers: clock.timers },
      waiter.notify,
    )
    idp.resetCounts()
    const seen = new Set<string>()
    let calls = 0
    let slowest = 0
    let inFlight = 0
    const end = clock.now() + 8_500
    while (clock.now() < end) {
      const t0 = performance.now()
      seen.add(await c.getToken())
      if (calls > 0) slowest = Math.max(slowest, performance.now() - t0)
      calls += 1
      const refreshed = count(events, 'refreshed')
      clock.set(clock.now() + 20) // runs the refresh timer once it is due
      if (calls > 1 && clock.pending === 0) {
        // the timer ran and its refresh is under way: callers are answered from the cache
        // meanwhile, and the clock moves on only once it has landed
        inFlight += 1
        seen.add(await c.getToken())
        calls += 1
        await waiter.until('refreshed', refreshed + 1)
      }
    }
    expect(inFlight).toBe(1) // refreshed once, at 6 s
    expect(count(events, 'fetched')).toBe(1) // only the very first call waited
    expect(count(events, 'cache_hit')).toBe(calls - 1)
    expect(count(events, 'refreshed')).toBe(1)
    expect(count(events, 'failed')).toBe(0)
    expect(seen.size).toBe(2)
    expect(idp.counts.token).toBe(2)
    for (const e of events.filter((x) => x.type === 'refreshed')) expect(e.background).toBe(true)
    console.info(`refresh-ahead: ${calls} calls, slowest warm call ${slowest.toFixed(2)} ms`)
  })

  it('does not keep refreshing a key nobody uses', async () => {
    const events: TokenEvent[] = []
    const clock = manualClock()
    const c = client(events, { params: { audience: TINY }, now: clock.now, timers: clock.timers })
    idp.resetCounts()
    const first = await c.getToken()
    expect(clock.pending).toBe(1) // the refresh timer, due at 1 s
    clock.set(clock.now() + 2_300) // past the refresh point (1 s) and the expiry (2 s)
    expect(clock.pending).toBe(0) // it ran
    // A refresh the timer started would be in flight now and this call would join it (a
    // `refreshed` event); without one, this call fetches for itself.
    const second = await c.getToken()
    expect(second).not.toBe(first)
    expect(events.map((e) => e.type)).toEqual(['fetched', 'fetched'])
    expect(idp.counts.token).toBe(2)
  })

  it('refreshes a key that was used, when its timer runs', async () => {
    // the counterpart of the test above, on the same clock: the timer does refresh a used key
    const events: TokenEvent[] = []
    const waiter = eventWaiter(events)
    const clock = manualClock()
    const c = client(
      events,
      { params: { audience: TINY }, now: clock.now, timers: clock.timers },
      waiter.notify,
    )
    idp.resetCounts()
    const first = await c.getToken()
    expect(await c.getToken()).toBe(first) // used since the fetch
    clock.set(clock.now() + 1_100) // past the refresh point, before the token's end
    await waiter.until('refreshed', 1)
    expect(events.filter((e) => e.type === 'refreshed').map((e) => e.background)).toEqual([true])
    expect(await c.getToken()).not.toBe(first)
    expect(idp.counts.token).toBe(2)
  })

  it('close() stops refresh timers and refuses further calls', async () => {
    const clock = manualClock()
    const c = client([], { params: { audience: TINY }, now: clock.now, timers: clock.timers })
    idp.resetCounts()
    await c.getToken()
    await c.getToken() // used, so it would be refreshed at 1 s
    expect(clock.pending).toBe(1)
    c.close()
    expect(clock.pending).toBe(0) // the refresh timer is cancelled, not left to find a closed client
    clock.set(clock.now() + 1_400)
    expect(idp.counts.token).toBe(1)
    await expect(c.getToken()).rejects.toBeInstanceOf(TokenEndpointError)
  })
})

describe('401 → invalidate → one retry', () => {
  let api: Server
  let apiUrl: string
  const revoked = new Set<string>()

  beforeAll(async () => {
    const jwks = createRemoteJWKSet(new URL(idp.jwksUri))
    api = createServer((req, res) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      const deny = () => {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end()
      }
      if (!token) return deny()
      jwtVerify(token, jwks, { issuer: idp.issuer, audience: DOWNSTREAM }).then(({ payload }) => {
        if (revoked.has(String(payload.jti))) return deny()
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      }, deny)
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/`
  })

  afterAll(async () => {
    api.closeAllConnections()
    await new Promise((resolve) => api.close(resolve))
  })

  it('a burst of 100 calls rejected with a revoked token causes exactly one new token request', async () => {
    const events: TokenEvent[] = []
    const c = client(events)
    const params = { audience: DOWNSTREAM }
    const stale = await c.getToken(params)
    revoked.add(String(decodeJwt(stale).jti))
    idp.resetCounts()
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        withTokenRetry(
          c,
          (token) => fetch(apiUrl, { headers: { authorization: `Bearer ${token}` } }),
          { params, discard: (r) => r.body?.cancel() },
        ),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(200))
    expect(idp.counts.token).toBe(1)
    expect(count(events, 'invalidated')).toBe(1)
    const fresh = await c.getToken(params)
    expect(fresh).not.toBe(stale)
  })

  it('a second 401 is returned to the caller, not retried again', async () => {
    const c = client()
    const params = { audience: DOWNSTREAM }
    let calls = 0
    const res = await withTokenRetry(
      c,
      async () => {
        calls += 1
        return fetch(apiUrl, { headers: { authorization: 'Bearer garbage' } })
      },
      { params, discard: (r) => r.body?.cancel() },
    )
    expect(res.status).toBe(401)
    expect(calls).toBe(2)
  })
})

describe('IdP outages and errors', () => {
  it('keeps serving a still-valid token while the IdP is down, then fails fast, then recovers', async () => {
    const events: TokenEvent[] = []
    const waiter = eventWaiter(events)
    const clock = manualClock()
    const c = client(
      events,
      {
        params: { audience: LONG },
        minValiditySeconds: 2,
        now: clock.now,
        timers: clock.timers,
      },
      waiter.notify,
    )
    const issued = await c.getIssuedToken()
    const token = issued.accessToken
    await c.getToken() // used: refreshed ahead, at 10 s of its 20
    // handed out until 2 s before expiry
    const usableUntil = issued.expiresAt - 2_000
    await idp.stop()
    try {
      clock.set(issued.expiresAt - 10_000) // the refresh point: the background refresh fails
      await waiter.until('failed', 1)
      expect(await c.getToken()).toBe(token)
      // each failure schedules a retry; each retry fails too and the token is still served
      for (let retries = 2; retries <= 4; retries++) {
        clock.pastBackoff(events)
        await waiter.until('failed', retries)
        expect(await c.getToken()).toBe(token)
      }
      expect(count(events, 'failed')).toBe(4)
      expect(events.filter((e) => e.type === 'failed').every((e) => e.background)).toBe(true)
      clock.set(usableUntil)
      // a refused connection or the backoff's fast failure, never a hang (the test's timeout)
      const err = await c.getToken().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TokenEndpointError)
      expect(err).toMatchObject({ permanent: false, code: 'C7AUTH_TOKEN_ENDPOINT_FAILED' })
    } finally {
      await idp.restart()
    }
    clock.pastBackoff(events)
    const fresh = await c.getToken()
    expect(fresh).not.toBe(token)
  })

  it('honours Retry-After and fails fast (no request) inside the window', async () => {
    const events: TokenEvent[] = []
    const c = client(events)
    idp.setFault(
      { kind: 'status', status: 503, retryAfterSeconds: 2 },
      { paths: ['token'], times: 1 },
    )
    const started = Date.now()
    const err = await c.getToken().catch((e: unknown) => e)
    expect(err).toMatchObject({
      oauthError: 'temporarily_unavailable',
      responseStatus: 503,
      permanent: false,
    })
    const failed = events.find((e) => e.type === 'failed')!
    expect(failed.retryAt! - started).toBeGreaterThanOrEqual(2_000)
    // The fault is used up: a request now would succeed, so a rejection proves none was sent.
    await expect(c.getToken()).rejects.toBe(err)
    expect(count(events, 'failed')).toBe(1)
  })

  it('a hanging IdP without a cached token ends in a timeout error, not a hang', async () => {
    const events: TokenEvent[] = []
    const clock = manualClock()
    const c = client(events, { timeoutMs: 1_000, now: clock.now })
    idp.setFault({ kind: 'hang' }, { paths: ['discovery'] })
    // the IdP never answers: only the client's own timeout ends the call (else the test's timeout)
    const err = await c.getToken().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenEndpointError)
    expect((err as TokenEndpointError).permanent).toBe(false)
    idp.setFault(null)
    clock.pastBackoff(events)
    expect(await c.getToken()).toMatch(/^ey/)
  })

  it('a garbage (non-JSON) token response is a transient error', async () => {
    const c = client()
    await c.getToken() // discovery done
    c.invalidate(await c.getToken())
    idp.setFault({ kind: 'garbage' }, { paths: ['token'], times: 1 })
    await expect(c.getToken()).rejects.toMatchObject({
      code: 'C7AUTH_TOKEN_ENDPOINT_FAILED',
      permanent: false,
    })
  })

  it('a transient error is retried after backoff and then succeeds', async () => {
    const events: TokenEvent[] = []
    const clock = manualClock()
    const c = client(events, { now: clock.now })
    idp.setFault({ kind: 'status', status: 500 }, { paths: ['token'], times: 1 })
    await expect(c.getToken()).rejects.toMatchObject({ permanent: false, responseStatus: 500 })
    // inside the backoff the failure is repeated without a request; past it, a new one goes out
    idp.resetCounts()
    await expect(c.getToken()).rejects.toMatchObject({ responseStatus: 500 })
    expect(idp.counts.token).toBe(0)
    clock.pastBackoff(events)
    idp.resetCounts()
    expect(await c.getToken()).toMatch(/^ey/)
    expect(idp.counts.token).toBe(1)
  })

  it('a permanent error (invalid_client) is not retried in a loop and leaks no secret', async () => {
    const wrongSecret = 'wrong-secret-value-42'
    const events: TokenEvent[] = []
    const c = client(events, { clientSecret: wrongSecret })
    idp.resetCounts()
    const errors: unknown[] = []
    for (let i = 0; i < 20; i++) errors.push(await c.getToken().catch((e: unknown) => e))
    await Promise.all(Array.from({ length: 50 }, () => c.getToken().catch(() => undefined)))
    expect(idp.counts.token).toBe(1)
    const err = errors[0] as TokenEndpointError
    expect(err).toMatchObject({
      oauthError: 'invalid_client',
      permanent: true,
      responseStatus: 401,
    })
    expect(new Set(errors).size).toBe(1)
    for (const text of [
      err.message,
      String(err.detail),
      JSON.stringify(err),
      JSON.stringify(events),
    ]) {
      expect(text).not.toContain(wrongSecret)
    }
  })
})

/**
 * Token clients on the real shared store (Redis), each with its own connection as separate
 * processes would have: exchanged tokens are shared too, and a lease whose holder never delivers
 * delays a client by the lease time only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSharedTokenStore, createTokenClient } from '@c7auth/core'
import type {
  SharedTokenStore,
  TokenClient,
  TokenClientOptions,
  TokenEvent,
  TokenStore,
} from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { freshNamespace, randomKey, rawStore, storeUrl } from './token-store-harness.js'

const SECRET = 'store-client-secret'
const namespace = freshNamespace()
const KEYS = [randomKey('c1')]
let idp: TestIdp
const stores: SharedTokenStore[] = []
const clients: TokenClient[] = []

beforeAll(async () => {
  idp = await startTestIdp({ clients: [{ clientId: 'app', clientSecret: SECRET }] })
})

afterAll(async () => {
  for (const c of clients) c.close()
  for (const s of stores) await s.close()
  await idp?.close()
  await rawStore('redis', namespace).drop()
})

/** A store of its own connection, as another process would have. */
function processStore(): TokenStore {
  // A generous timeout: on a loaded machine a 1 s budget can expire before the answer is read.
  const shared = createSharedTokenStore({
    url: storeUrl('redis'),
    keys: KEYS,
    namespace,
    timeoutMs: 5000,
  })
  stores.push(shared)
  return shared.forTenant('acme')
}

function client(
  store: TokenStore,
  events: TokenEvent[] = [],
  timeoutMs?: number,
  extra: Partial<TokenClientOptions> = {},
): TokenClient {
  const c = createTokenClient({
    issuer: idp.issuer,
    clientId: 'app',
    clientSecret: SECRET,
    store,
    onEvent: (e) => events.push(e),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...extra,
  })
  clients.push(c)
  return c
}

describe('token clients sharing a Redis store', () => {
  it('share exchanged tokens: the second process makes no exchange request', async () => {
    const subject = await idp.issueUserToken({ sub: 'alice', clientId: 'app' })
    const eventsA: TokenEvent[] = []
    const eventsB: TokenEvent[] = []
    const a = client(processStore(), eventsA)
    const b = client(processStore(), eventsB)
    idp.resetCounts()
    const [first, second] = await Promise.all([
      a.exchangeToken({ subjectToken: subject, audience: idp.defaultAudience }),
      b.exchangeToken({ subjectToken: subject, audience: idp.defaultAudience }),
    ])
    expect(second.accessToken).toBe(first.accessToken)
    expect(idp.counts.token).toBe(1)
    // whichever process takes the lease fetches; the other is served from the shared store
    expect([...eventsA, ...eventsB].map((e) => e.type).sort()).toEqual(['cache_hit', 'fetched'])
  })

  it('fetches by itself once a lease nobody releases has expired', async () => {
    const real = processStore()
    // Another process holds every lease and never delivers a token (it died mid-fetch).
    let leaseCalls = 0
    const held: TokenStore = {
      get: (key) => real.get(key),
      set: (key, token, ttlMs) => real.set(key, token, ttlMs),
      delete: (key) => real.delete(key),
      lease: () => {
        leaseCalls += 1
        return Promise.resolve(undefined)
      },
    }
    // The client's clock and timers, moved by the test: its waits for the lease pass at once.
    let at = Date.now()
    let waiting: (() => void) | undefined
    const due: { at: number; run: () => void }[] = []
    let onTimer: () => void = () => undefined
    const events: TokenEvent[] = []
    // The lease time follows the request timeout: 2 × 1 s + 1 s.
    const c = client(held, events, 1000, {
      now: () => at,
      timers: {
        setTimeout(run, ms) {
          due.push({ at: at + ms, run })
          onTimer()
          return due.length
        },
        clearTimeout: () => undefined,
      },
    })
    idp.resetCounts()
    const started = at
    let settled = false
    const pending = c.getToken().finally(() => {
      settled = true
      waiting?.()
    })
    let waits = 0
    for (;;) {
      // until the client waits on a timer (it asked for the lease in vain) or has its token
      await new Promise<void>((resolve) => {
        waiting = resolve
        onTimer = resolve
        if (settled || due.length > 0) resolve()
      })
      // settled, or fetched and now holding the token's refresh timer
      if (settled || events.length > 0) break
      expect(++waits).toBeLessThan(100)
      // while it waits, the client has asked the IdP for nothing
      expect(idp.counts.token).toBe(0)
      const next = due.shift()!
      at = Math.max(at, next.at)
      next.run()
    }
    const token = await pending
    expect(token).toMatch(/^eyJ/)
    expect(waits).toBeGreaterThan(1)
    expect(leaseCalls).toBe(waits + 1) // asked again after every wait, then gave up
    expect(at - started).toBeGreaterThanOrEqual(3000) // the lease time, on the client's clock
    expect(idp.counts.token).toBe(1)
    expect(events.map((e) => e.type)).toEqual(['fetched'])
  })
})

/**
 * Token clients on the real shared store (Redis), each with its own connection as separate
 * processes would have: exchanged tokens are shared too, and a lease whose holder never delivers
 * delays a client by the lease time only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSharedTokenStore, createTokenClient } from '@c7auth/core'
import type { SharedTokenStore, TokenClient, TokenEvent, TokenStore } from '@c7auth/core'
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

function client(store: TokenStore, events: TokenEvent[] = [], timeoutMs?: number): TokenClient {
  const c = createTokenClient({
    issuer: idp.issuer,
    clientId: 'app',
    clientSecret: SECRET,
    store,
    onEvent: (e) => events.push(e),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
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
    const held: TokenStore = {
      get: (key) => real.get(key),
      set: (key, token, ttlMs) => real.set(key, token, ttlMs),
      delete: (key) => real.delete(key),
      lease: () => Promise.resolve(undefined),
    }
    const events: TokenEvent[] = []
    // The lease time follows the request timeout: 2 × 1 s + 1 s.
    const c = client(held, events, 1000)
    idp.resetCounts()
    const started = Date.now()
    const token = await c.getToken()
    expect(token).toMatch(/^eyJ/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000)
    expect(idp.counts.token).toBe(1)
    expect(events.map((e) => e.type)).toEqual(['fetched'])
  })
})

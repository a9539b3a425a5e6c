/**
 * The TokenStore seam: an asynchronous store shared by two clients (as a Redis-backed store
 * would be shared by two processes) against the real test IdP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenClient } from '@c7auth/core'
import type { StoredToken, TokenClient, TokenEvent, TokenStore } from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'

/** A store that answers asynchronously, like a network-backed one. */
function asyncStore(): TokenStore & { readonly size: number } {
  const map = new Map<string, { token: StoredToken; until: number }>()
  const later = <T>(value: T) => new Promise<T>((resolve) => setImmediate(() => resolve(value)))
  return {
    get size() {
      return map.size
    },
    async get(key) {
      const hit = map.get(key)
      return later(hit && hit.until > Date.now() ? hit.token : undefined)
    },
    async set(key, token, ttlMs) {
      await later(undefined)
      map.set(key, { token, until: Date.now() + ttlMs })
    },
    async delete(key) {
      await later(undefined)
      map.delete(key)
    },
  }
}

let idp: TestIdp
const clients: TokenClient[] = []

beforeAll(async () => {
  idp = await startTestIdp({ clients: [{ clientId: 'app', clientSecret: 'store-secret' }] })
})

afterAll(async () => {
  for (const c of clients) c.close()
  await idp?.close()
})

function client(store: TokenStore, events: TokenEvent[] = []): TokenClient {
  const c = createTokenClient({
    issuer: idp.issuer,
    clientId: 'app',
    clientSecret: 'store-secret',
    store,
    onEvent: (e) => events.push(e),
  })
  clients.push(c)
  return c
}

describe('an asynchronous shared store', () => {
  it('keeps single-flight: 500 concurrent cold calls → one token request', async () => {
    const c = client(asyncStore())
    idp.resetCounts()
    const tokens = await Promise.all(Array.from({ length: 500 }, () => c.getToken()))
    expect(new Set(tokens).size).toBe(1)
    expect(idp.counts.token).toBe(1)
  })

  it('shares tokens and invalidations between two clients', async () => {
    const store = asyncStore()
    const eventsB: TokenEvent[] = []
    const a = client(store)
    const b = client(store, eventsB)
    idp.resetCounts()
    const token = await a.getToken()
    expect(await b.getToken()).toBe(token)
    expect(idp.counts.token).toBe(1)
    expect(eventsB.map((e) => e.type)).toEqual(['cache_hit'])

    // b sees a 401 with the shared token: it drops it from the store and fetches a fresh one.
    b.invalidate(token)
    const fresh = await b.getToken()
    expect(fresh).not.toBe(token)
    expect(idp.counts.token).toBe(2)
    expect(eventsB.filter((e) => e.type === 'invalidated')).toHaveLength(1)
    // a still holds its own copy (no store round trip per call) until its own 401; then it
    // picks up b's fresh token from the store instead of asking the IdP.
    expect(await a.getToken()).toBe(token)
    a.invalidate(token)
    expect(await a.getToken()).toBe(fresh)
    expect(idp.counts.token).toBe(2)
    expect(store.size).toBe(1)
  })
})

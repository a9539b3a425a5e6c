/**
 * The shared token store against the real Redis and PostgreSQL: encryption at rest, binding of
 * entries to tenant and cache key, key rotation, leases, and the memory fallback while the
 * database is unreachable (a proxy socket this test controls, never the machine's server).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createSharedTokenStore, loadConfigFromEnv } from '@c7auth/core'
import type {
  SharedTokenStore,
  StoredToken,
  TokenStoreBackendKind,
  TokenStoreEvent,
} from '@c7auth/core'
import { startTcpProxy } from '@c7auth/testkit'
import type { TcpProxy } from '@c7auth/testkit'
import {
  BACKENDS,
  freshNamespace,
  keyEnv,
  randomKey,
  rawStore,
  storeUrl,
  targetOf,
} from './token-store-harness.js'
import type { RawStore } from './token-store-harness.js'

const K1 = randomKey('k1')
const K2 = randomKey('k2')

function token(accessToken: string, lifetimeMs = 60_000): StoredToken {
  const now = Date.now()
  return {
    accessToken,
    tokenType: 'Bearer',
    obtainedAt: now,
    expiresAt: now + lifetimeMs,
    refreshToken: `refresh-of-${accessToken}`,
  }
}

const opened: SharedTokenStore[] = []
const proxies: TcpProxy[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
  for (const p of proxies.splice(0)) await p.close()
})

describe.each(BACKENDS)('shared token store on %s', (kind: TokenStoreBackendKind) => {
  const namespace = freshNamespace()
  const raw: RawStore = rawStore(kind, namespace)
  afterAll(() => raw.drop())

  function open(
    keys = [K1],
    options: { url?: string; events?: TokenStoreEvent[]; retryIntervalMs?: number } = {},
  ): SharedTokenStore {
    const store = createSharedTokenStore({
      url: options.url ?? storeUrl(kind),
      keys,
      namespace,
      // Generous: on a loaded machine a 1 s budget can expire before the answer is read.
      timeoutMs: 5000,
      retryIntervalMs: options.retryIntervalMs ?? 2000,
      onEvent: (e) => options.events?.push(e),
    })
    opened.push(store)
    return store
  }

  /** The ids that appeared in the database while `write` ran. */
  async function idsWrittenBy(write: () => Promise<void>): Promise<string[]> {
    const before = new Set((await raw.entries()).keys())
    await write()
    return [...(await raw.entries()).keys()].filter((id) => !before.has(id))
  }

  it('keeps entries encrypted under hashed ids, and reads them back', async () => {
    const acme = open().forTenant('acme')
    const key = 'endpoint|cc|urn:billing|scope-a|'
    const t = token('secret-access-token-1')
    const ids = await idsWrittenBy(() => Promise.resolve(acme.set(key, t, 60_000)))
    expect(ids).toHaveLength(1)
    expect(await acme.get(key)).toEqual(t)

    const value = (await raw.entries()).get(ids[0]!)!
    for (const secret of [
      'secret-access-token-1',
      'refresh-of-',
      'acme',
      'urn:billing',
      'scope-a',
    ]) {
      expect(value).not.toContain(secret)
      expect(ids[0]).not.toContain(secret)
    }
    expect(value.startsWith('v1.k1.')).toBe(true)
  })

  it('never hands one tenant another tenant’s entry, even when the value is moved', async () => {
    const events: TokenStoreEvent[] = []
    const store = open([K1], { events })
    const acme = store.forTenant('acme')
    const beta = store.forTenant('beta')
    const key = 'endpoint|cc|||'
    const [acmeId] = await idsWrittenBy(() =>
      Promise.resolve(acme.set(key, token('acme-token'), 60_000)),
    )
    expect(await beta.get(key)).toBeUndefined()

    const [betaId] = await idsWrittenBy(() =>
      Promise.resolve(beta.set(key, token('beta-token'), 60_000)),
    )
    expect(betaId).not.toBe(acmeId)
    // An attacker with write access to the database copies acme's entry over beta's.
    await raw.put(betaId!, (await raw.entries()).get(acmeId!)!)
    expect(await beta.get(key)).toBeUndefined()
    expect(events).toEqual([{ type: 'rejected', backend: kind }])

    // Moving within one tenant, to another cache key, fails the same way.
    const other = 'endpoint|cc|urn:other||'
    const [otherId] = await idsWrittenBy(() =>
      Promise.resolve(acme.set(other, token('other'), 60_000)),
    )
    await raw.put(otherId!, (await raw.entries()).get(acmeId!)!)
    expect(await acme.get(other)).toBeUndefined()
    expect(await acme.get(key)).toMatchObject({ accessToken: 'acme-token' })
  })

  it('rotates keys without dropping entries', async () => {
    const key = 'endpoint|cc|rotation||'
    await open([K1]).forTenant('acme').set(key, token('old-key-token'), 60_000)

    // Step 1 of a rotation: the new key is added second; step 2: moved first.
    const rotated = open([K2, K1]).forTenant('acme')
    expect(await rotated.get(key)).toMatchObject({ accessToken: 'old-key-token' })
    const key2 = 'endpoint|cc|rotation-2||'
    const [id2] = await idsWrittenBy(() =>
      Promise.resolve(rotated.set(key2, token('new-key-token'), 60_000)),
    )
    expect((await raw.entries()).get(id2!)!.startsWith('v1.k2.')).toBe(true)

    // Step 3: the old key is dropped; its entries are unreadable, the new ones stay.
    const newOnly = open([K2]).forTenant('acme')
    expect(await newOnly.get(key2)).toMatchObject({ accessToken: 'new-key-token' })
    expect(await newOnly.get(key)).toBeUndefined()
  })

  it('grants one lease per tenant and key at a time', async () => {
    const a = open().forTenant('acme')
    const b = open().forTenant('acme')
    const key = 'endpoint|cc|lease||'
    const lease = await a.lease!(key, 30_000)
    expect(lease).toBeDefined()
    expect(await b.lease!(key, 30_000)).toBeUndefined()
    expect(await open().forTenant('beta').lease!(key, 30_000)).toBeDefined()
    await lease!.release()
    const again = await b.lease!(key, 30_000)
    expect(again).toBeDefined()
    // A released lease of another owner does not free the current one.
    await lease!.release()
    expect(await a.lease!(key, 30_000)).toBeUndefined()
    await again!.release()
  })

  it('falls back to process memory while the database is unreachable, and shares again after', async () => {
    const proxy = await startTcpProxy(targetOf(kind))
    proxies.push(proxy)
    const events: TokenStoreEvent[] = []
    const store = open([K1], { url: storeUrl(kind, proxy.port), events, retryIntervalMs: 200 })
    const acme = store.forTenant('acme')
    const peer = open().forTenant('acme')
    const before = 'endpoint|cc|before-outage||'
    await acme.set(before, token('shared-before'), 60_000)
    expect(await peer.get(before)).toMatchObject({ accessToken: 'shared-before' })
    expect(store.shared).toBe(true)

    await proxy.stop()
    const during = 'endpoint|cc|during-outage||'
    await acme.set(during, token('local-during'), 60_000)
    expect(store.shared).toBe(false)
    expect(events).toEqual([{ type: 'down', backend: kind, reason: expect.any(String) }])
    expect(await acme.get(during)).toMatchObject({ accessToken: 'local-during' })
    expect(await peer.get(during)).toBeUndefined()
    // A lease while down is local: this process fetches for itself.
    expect(await acme.lease!(during, 30_000)).toBeDefined()

    await proxy.start()
    // Wait for the store to answer again (the client reconnects by itself); bounded.
    let tries = 0
    while ((await acme.get(before)) === undefined || !store.shared) {
      expect(++tries).toBeLessThan(100)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(events.map((e) => e.type)).toEqual(['down', 'up'])
    expect(await acme.get(before)).toMatchObject({ accessToken: 'shared-before' })
    const after = 'endpoint|cc|after-outage||'
    await acme.set(after, token('shared-after'), 60_000)
    expect(await peer.get(after)).toMatchObject({ accessToken: 'shared-after' })
  })
})

describe('C7AUTH_TOKEN_STORE configuration', () => {
  const base = {
    C7AUTH_TENANTS: 'acme',
    C7AUTH_ENGINE_URL: 'http://127.0.0.1:8080/engine-rest',
    C7AUTH_TENANT_ACME_ISSUER: 'http://127.0.0.1:9000',
    C7AUTH_TENANT_ACME_CLIENT_ID: 'acme-worker',
    C7AUTH_TENANT_ACME_CLIENT_SECRET: 'acme-secret',
  }
  const load = (env: Record<string, string>, files: Record<string, string> = {}) =>
    loadConfigFromEnv(
      { ...base, ...env },
      {
        role: 'worker',
        readFile: (path) => {
          const content = files[path]
          if (content === undefined) throw new Error('no such file')
          return content
        },
      },
    )

  it('defaults to memory', () => {
    expect(load({}).tokenStore).toEqual({ kind: 'memory' })
  })

  it('reads a shared store with its key ring, from files too', () => {
    const config = load(
      {
        C7AUTH_TOKEN_STORE_FILE: '/run/secrets/store',
        C7AUTH_TOKEN_STORE_KEYS_FILE: '/run/secrets/keys',
        C7AUTH_TOKEN_STORE_NAMESPACE: 'acme_fleet',
        C7AUTH_TOKEN_STORE_TIMEOUT: '250ms',
      },
      {
        '/run/secrets/store': 'redis://:pw@127.0.0.1:6379/2\n',
        '/run/secrets/keys': `${keyEnv([K2])}\n${keyEnv([K1])}\n`,
      },
    )
    expect(config.tokenStore).toEqual({
      kind: 'redis',
      url: 'redis://:pw@127.0.0.1:6379/2',
      keys: [
        { id: 'k2', secret: K2.secret },
        { id: 'k1', secret: K1.secret },
      ],
      namespace: 'acme_fleet',
      timeoutMs: 250,
    })
  })

  it('names every problem without echoing the URL or a key', () => {
    let message = ''
    try {
      load({
        C7AUTH_TOKEN_STORE: 'mysql://user:hunter2@db',
        C7AUTH_TOKEN_STORE_NAMESPACE: 'Bad-Name',
      })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('C7AUTH_TOKEN_STORE: must be memory, redis://')
    expect(message).toContain('C7AUTH_TOKEN_STORE_NAMESPACE: must match')
    expect(message).toContain('C7AUTH_TOKEN_STORE_KEYS (or C7AUTH_TOKEN_STORE_KEYS_FILE): required')
    expect(message).not.toContain('hunter2')

    const short = Buffer.alloc(16).toString('base64')
    expect(() =>
      load({
        C7AUTH_TOKEN_STORE: 'postgres://db/x',
        C7AUTH_TOKEN_STORE_KEYS: `k1:${short},k1:${short}`,
      }),
    ).toThrow(/entry #1 must be 32 random bytes[\s\S]*entry #2 repeats key id k1/)
    expect(() => load({ C7AUTH_TOKEN_STORE_KEYS: keyEnv([K1]) })).toThrow(
      /C7AUTH_TOKEN_STORE_KEYS: only used with a shared C7AUTH_TOKEN_STORE/,
    )
  })
})

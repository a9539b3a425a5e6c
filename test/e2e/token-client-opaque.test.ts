/**
 * The core token client with opaque (non-JWT) access tokens from the real test IdP: the lifetime
 * can only come from `expires_in`, and the client must still cache for it and refresh ahead of
 * expiry in the background.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { createTokenClient } from '@c7auth/core'
import type { TokenClient, TokenEvent } from '@c7auth/core'
import { requestToken, startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'

const OPAQUE = 'urn:opaque'
const TTL_SECONDS = 4

let idp: TestIdp
let client: TokenClient | undefined

beforeAll(async () => {
  idp = await startTestIdp({
    clients: [{ clientId: 'opaque-app', clientSecret: 'opaque-secret' }],
    audiences: [
      {
        audience: OPAQUE,
        scopes: ['opaque:read'],
        accessTokenFormat: 'opaque',
        accessTokenTtlSeconds: TTL_SECONDS,
      },
    ],
  })
})

afterAll(async () => {
  client?.close()
  await idp?.close()
})

async function introspect(token: string): Promise<Record<string, unknown>> {
  const res = await requestToken(
    idp.introspectionEndpoint,
    { token },
    { basic: { clientId: 'opaque-app', clientSecret: 'opaque-secret' } },
  )
  expect(res.status).toBe(200)
  return res.body
}

describe('token client with opaque access tokens', () => {
  it('caches an opaque token for its expires_in and refreshes it ahead in the background', async () => {
    const events: TokenEvent[] = []
    let onRefreshed: (() => void) | undefined
    const refreshed = new Promise<void>((resolve) => (onRefreshed = resolve))
    client = createTokenClient({
      tokenEndpoint: idp.tokenEndpoint,
      clientId: 'opaque-app',
      clientSecret: 'opaque-secret',
      params: { audience: OPAQUE, scope: 'opaque:read' },
      onEvent: (e) => {
        events.push(e)
        if (e.type === 'refreshed') onRefreshed?.()
      },
    })
    idp.resetCounts()

    const first = await client.getToken()
    expect(() => decodeJwt(first)).toThrow()
    expect(await introspect(first)).toMatchObject({ active: true, aud: OPAQUE })
    expect(idp.counts.token).toBe(1)
    const fetched = events.find((e) => e.type === 'fetched')
    expect(fetched?.expiresInSeconds).toBe(TTL_SECONDS)

    // Cached: repeated calls reuse the token without asking the IdP.
    for (let i = 0; i < 5; i++) expect(await client.getToken()).toBe(first)
    expect(idp.counts.token).toBe(1)

    // The refresh-ahead timer fires on its own (the key was used since the fetch).
    await refreshed
    expect(idp.counts.token).toBe(2)
    const second = await client.getToken()
    expect(second).not.toBe(first)
    expect(() => decodeJwt(second)).toThrow()
    expect(await introspect(second)).toMatchObject({ active: true, aud: OPAQUE })
    // Callers never waited for the refresh: it was a background request, not a caller's fetch.
    expect(idp.counts.token).toBe(2)
    const requests = events.filter((e) => e.type === 'fetched' || e.type === 'refreshed')
    expect(requests.map((e) => [e.type, e.background])).toEqual([
      ['fetched', false],
      ['refreshed', true],
    ])
    expect(requests[1]?.expiresInSeconds).toBe(TTL_SECONDS)
    // Nothing failed on the way.
    expect(events.filter((e) => e.type === 'failed')).toEqual([])
  }, 20_000)
})

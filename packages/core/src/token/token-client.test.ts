import { ClientError, ResponseBodyError } from 'openid-client'
import { describe, expect, it } from 'vitest'
import { ConfigError, TokenEndpointError } from '../errors.js'
import { classifyTokenError, parseRetryAfter } from './endpoint-error.js'
import { createTokenClient } from './token-client.js'
import { expiresAtOf } from './token-timing.js'
import { createMemoryTokenStore } from './token-store.js'
import type { StoredToken } from './token-store.js'
import { withTokenRetry } from './with-token-retry.js'
import type { TokenSource } from './types.js'

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwt = (payload: object) => `${b64({ alg: 'none' })}.${b64(payload)}.sig`

describe('expiresAtOf', () => {
  it('uses expires_in for opaque tokens', () => {
    expect(expiresAtOf({ access_token: 'opaque-abc', expires_in: 120 }, 1_000, 60_000)).toBe(
      121_000,
    )
  })
  it('prefers expires_in over a JWT exp', () => {
    const token = jwt({ exp: 9_999_999_999 })
    expect(expiresAtOf({ access_token: token, expires_in: 10 }, 0, 60_000)).toBe(10_000)
  })
  it('falls back to the JWT exp, then to the default lifetime', () => {
    expect(expiresAtOf({ access_token: jwt({ exp: 1_700 }) }, 0, 60_000)).toBe(1_700_000)
    expect(expiresAtOf({ access_token: 'opaque' }, 5_000, 60_000)).toBe(65_000)
    expect(expiresAtOf({ access_token: 'a.b.c' }, 5_000, 0)).toBe(5_000)
  })
})

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, caps at one hour, ignores garbage', () => {
    expect(parseRetryAfter('3')).toBe(3_000)
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000)
    expect(parseRetryAfter('99999')).toBe(3_600_000)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
  })
})

describe('classifyTokenError', () => {
  const bodyError = (error: string, status: number, headers: Record<string, string> = {}) =>
    new ResponseBodyError('x', {
      cause: { error, error_description: 'secret s3cr3t was wrong' },
      response: new Response(null, { status, headers }),
    })

  it('marks invalid_client / unauthorized_client / invalid_grant permanent', async () => {
    for (const code of ['invalid_client', 'unauthorized_client', 'invalid_grant']) {
      const { error } = await classifyTokenError(bodyError(code, 400), 'client_credentials')
      expect(error).toBeInstanceOf(TokenEndpointError)
      expect(error).toMatchObject({ oauthError: code, permanent: true, responseStatus: 400 })
      expect(error.message).not.toContain('s3cr3t')
      expect(error.detail).not.toContain('s3cr3t')
    }
  })

  it('marks temporarily_unavailable, 429 and 5xx transient and reads Retry-After', async () => {
    const a = await classifyTokenError(
      bodyError('temporarily_unavailable', 400, { 'retry-after': '7' }),
      'refresh_token',
    )
    expect(a.error.permanent).toBe(false)
    expect(a.retryAfterMs).toBe(7_000)
    const b = await classifyTokenError(
      new ClientError('x', { cause: new Response('busy', { status: 429 }) }),
      'client_credentials',
    )
    expect(b.error).toMatchObject({ permanent: false, responseStatus: 429 })
  })

  it('treats misconfiguration (issuer mismatch) as permanent, parse errors as transient', async () => {
    const mismatch = new ClientError('x', { cause: new Error('y') })
    mismatch.code = 'OAUTH_JSON_ATTRIBUTE_COMPARISON'
    expect((await classifyTokenError(mismatch, 'client_credentials')).error.permanent).toBe(true)
    const parse = new ClientError('x', { cause: new Error('y') })
    parse.code = 'OAUTH_PARSE_ERROR'
    expect((await classifyTokenError(parse, 'client_credentials')).error.permanent).toBe(false)
  })

  it('treats network errors as transient and drops malformed error codes', async () => {
    const net = await classifyTokenError(new TypeError('fetch failed'), 'client_credentials')
    expect(net.error).toMatchObject({ permanent: false, oauthError: undefined })
    const odd = await classifyTokenError(bodyError('x"y\\z', 400), 'client_credentials')
    expect(odd.error.oauthError).toBeUndefined()
  })
})

describe('createMemoryTokenStore', () => {
  const token = (accessToken: string): StoredToken => ({
    accessToken,
    tokenType: 'Bearer',
    expiresAt: Date.now() + 60_000,
    obtainedAt: Date.now(),
  })

  it('returns the stored object itself (no clone) and evicts the oldest entry when full', () => {
    const store = createMemoryTokenStore({ maxKeys: 2 })
    const a = token('a')
    store.set('a', a, 60_000)
    store.set('b', token('b'), 60_000)
    expect(store.get('a')).toBe(a)
    store.set('c', token('c'), 60_000)
    expect(store.get('a')).toBeUndefined()
    expect((store.get('c') as StoredToken | undefined)?.accessToken).toBe('c')
    store.delete('c')
    expect(store.get('c')).toBeUndefined()
    store.close?.()
  })
})

describe('createTokenClient options', () => {
  it('lists every problem at once as a ConfigError', () => {
    let err: unknown
    try {
      createTokenClient({
        clientId: '',
        authMethod: 'tls_client_auth',
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).issues).toEqual([
      'clientId: required',
      'issuer or tokenEndpoint: one is required',
      'tlsCertPem and tlsKeyPem: required for tls_client_auth',
    ])
  })

  it('accepts http only on loopback or when explicitly allowed', () => {
    expect(() =>
      createTokenClient({
        tokenEndpoint: 'http://10.0.0.1/token',
        clientId: 'a',
        clientSecret: 's',
      }),
    ).toThrow(ConfigError)
    createTokenClient({
      tokenEndpoint: 'http://10.0.0.1/token',
      clientId: 'a',
      clientSecret: 's',
      allowInsecureHttp: true,
    }).close()
    createTokenClient({ issuer: 'http://localhost:1', clientId: 'a', clientSecret: 's' }).close()
  })
})

describe('withTokenRetry', () => {
  function source(): TokenSource & { invalidated: string[]; issued: number } {
    let current = 't1'
    return {
      invalidated: [],
      issued: 1,
      getToken() {
        return Promise.resolve(current)
      },
      invalidate(token) {
        this.invalidated.push(token)
        if (token === current) {
          this.issued += 1
          current = `t${this.issued}`
        }
      },
      close() {},
    }
  }

  it('retries once with a fresh token after a 401', async () => {
    const s = source()
    const seen: string[] = []
    const res = await withTokenRetry(s, async (token) => {
      seen.push(token)
      return { status: token === 't1' ? 401 : 200 }
    })
    expect(res.status).toBe(200)
    expect(seen).toEqual(['t1', 't2'])
    expect(s.invalidated).toEqual(['t1'])
  })

  it('returns a non-401 result untouched and does not invalidate', async () => {
    const s = source()
    const res = await withTokenRetry(s, async () => ({ status: 403 }))
    expect(res.status).toBe(403)
    expect(s.invalidated).toEqual([])
  })
})

import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAuthenticator } from './authenticator.js'
import type { Authenticator } from './authenticator.js'
import { importJwks } from './key-store.js'
import type { AuthenticatorOptions } from './options.js'
import { startLocalIssuer } from './__tests__/local-issuer.js'
import type { LocalIssuer } from './__tests__/local-issuer.js'
import { rejection } from './__tests__/rejection.js'

let idp: LocalIssuer
const open: Authenticator[] = []
let clock = 0

beforeEach(async () => {
  idp = await startLocalIssuer()
  clock = Date.now()
})
afterEach(async () => {
  for (const a of open.splice(0)) a.close()
  await idp.close()
})

function make(over: Partial<AuthenticatorOptions> = {}) {
  const a = createAuthenticator({
    issuers: [{ issuer: idp.issuer, audience: 'engine', jwksUri: idp.jwksUri }],
    tenants: ['acme'],
    cache: false,
    now: () => clock,
    ...over,
  })
  open.push(a)
  return a
}

const claims = { azp: 'acme', sub: 'acme' }

describe('importJwks', () => {
  it('imports signing keys once and skips what cannot verify signatures', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'jwk',
    })
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'jwk',
    })
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'jwk',
    })
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })
    const { keys, count } = importJwks([
      { ...rsa, kid: 'rsa', use: 'sig', alg: 'RS256' },
      { ...ec, kid: 'ec', key_ops: ['verify'] },
      { ...ed, kid: 'ed' },
      { ...rsa, kid: 'enc', use: 'enc' },
      { ...rsa, kid: 'ops', key_ops: ['encrypt'] },
      { ...weak, kid: 'weak' },
      { kty: 'oct', k: 'c2VjcmV0', kid: 'oct' },
      { kty: 'RSA', n: '!!!', e: 'AQAB', kid: 'broken' },
      'not an object',
      null,
    ])
    expect(count).toBe(3)
    expect([...keys.keys()].sort()).toEqual(['ec', 'ed', 'rsa'])
    expect(keys.get('rsa')?.[0]).toMatchObject({ alg: 'RS256' })
    expect(keys.get('rsa')?.[0]?.key.type).toBe('public')
  })

  it('refuses a document without a keys array', () => {
    expect(() => importJwks(undefined)).toThrow(/no keys array/)
    expect(() => importJwks({ keys: [] })).toThrow(/no keys array/)
  })
})

describe('KeyStore through the authenticator', () => {
  it('picks up a rotated key with one refetch while old tokens keep working', async () => {
    const a = make()
    const oldToken = await idp.sign(claims)
    await a.verify(oldToken)
    // Rotation right after the load: the unknown-kid budget still allows one refetch.
    await idp.rotate()
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        a.verify(i % 2 ? oldToken : await idp.sign({ ...claims, jti: `${i}` })),
      ),
    )
    expect(results).toHaveLength(20)
    expect(idp.counts.jwks).toBe(2)
  })

  it('drops keys the issuer no longer publishes after a refresh', async () => {
    const a = make({ jwks: { maxAgeSeconds: 1 } })
    const oldToken = await idp.sign(claims)
    await a.verify(oldToken)
    await idp.rotate(true)
    clock += 11_000
    await a.verify(await idp.sign(claims))
    expect(await rejection(a.verify(oldToken))).toMatchObject({
      code: 'C7AUTH_TOKEN_INVALID',
      status: 401,
    })
  })

  it('keeps verifying with cached keys while the JWKS endpoint is down', async () => {
    const a = make({ jwks: { maxAgeSeconds: 1 } })
    await a.verify(await idp.sign(claims))
    idp.setMode('error')
    clock += 60_000
    for (let i = 0; i < 5; i++)
      await expect(a.verify(await idp.sign({ ...claims, jti: `${i}` }))).resolves.toBeDefined()
    // The background refresh was attempted (stale-while-revalidate) and failed without harm.
    await vi.waitFor(
      () => expect(a.stats.keySets[0]).toMatchObject({ keys: 1, fetchFailures: 1 }),
      { timeout: 10_000, interval: 10 },
    )
  })

  it('answers 503 on a cold start with the endpoint down, then recovers', async () => {
    idp.setMode('error')
    const a = make()
    const token = await idp.sign(claims)
    const err = await rejection(a.verify(token))
    expect(err).toMatchObject({ code: 'C7AUTH_JWKS_UNAVAILABLE', status: 503 })
    expect(err.message).not.toContain('127.0.0.1')
    // Within the cold retry window: no new request, still 503.
    expect(await rejection(a.verify(token))).toMatchObject({ status: 503 })
    expect(a.stats.keySets[0]?.fetches).toBe(1)
    idp.setMode('ok')
    clock += 1_500
    await expect(a.verify(token)).resolves.toMatchObject({ userId: 'acme' })
  })

  it.each(['garbage', 'empty'] as const)(
    'answers 503 when the JWKS endpoint answers %s on a cold start',
    async (mode) => {
      idp.setMode(mode)
      const a = make()
      expect(await rejection(a.verify(await idp.sign(claims)))).toMatchObject({
        code: 'C7AUTH_JWKS_UNAVAILABLE',
        status: 503,
      })
    },
  )

  it('keeps the cached set when a refetch answers garbage', async () => {
    const a = make()
    await a.verify(await idp.sign(claims))
    idp.setMode('garbage')
    clock += 11_000
    // A new kid forces a refetch that gets garbage: 503 (cannot tell), cached keys still work.
    await idp.rotate()
    expect(await rejection(a.verify(await idp.sign(claims)))).toMatchObject({ status: 503 })
    const oldKid = idp.publicJwks().keys[0]!.kid!
    await expect(a.verify(await idp.sign(claims, {}, { kid: oldKid }))).resolves.toBeDefined()
  })

  it('times out a hanging JWKS endpoint into a 503', async () => {
    idp.setMode('hang')
    const a = make({ jwks: { timeoutMs: 200 } })
    // the endpoint never answers: only the store's own timeout can turn it into a 503 (a missing
    // timeout ends on the test's timeout instead)
    expect(await rejection(a.verify(await idp.sign(claims)))).toMatchObject({ status: 503 })
  })

  it('warmUp loads the set, or rejects with 503', async () => {
    const a = make()
    await a.warmUp()
    expect(idp.counts.jwks).toBe(1)
    idp.setMode('error')
    const b = make()
    expect(await rejection(b.warmUp())).toMatchObject({ code: 'C7AUTH_JWKS_UNAVAILABLE' })
  })

  it('shares one key set between issuers with the same JWKS URI', async () => {
    const a = createAuthenticator({
      issuers: [
        { issuer: idp.issuer, audience: 'engine', jwksUri: idp.jwksUri },
        { issuer: `${idp.issuer}/v2`, audience: 'engine', jwksUri: idp.jwksUri },
      ],
      tenants: ['acme'],
    })
    open.push(a)
    await a.verify(await idp.sign(claims))
    await a.verify(await idp.sign({ ...claims, iss: `${idp.issuer}/v2` }))
    expect(idp.counts.jwks).toBe(1)
    expect(a.stats.keySets).toHaveLength(1)
  })

  it('logs key-set failures and token refusals without URLs, tokens or claims', async () => {
    const lines: unknown[] = []
    const log = (o: object, msg?: string) => lines.push([o, msg])
    const logger = { warn: log, debug: log, error: log }
    idp.setMode('error')
    const a = make({ logger })
    const token = await idp.sign({ ...claims, email: 'alice@example.com' })
    await rejection(a.verify(token))
    idp.setMode('ok')
    clock += 2_000
    await rejection(a.verify(await idp.sign({ ...claims, aud: 'other' })))
    await a.verify(token)
    const text = JSON.stringify(lines)
    expect(text).toContain('issuers[0]')
    expect(text).toContain('C7AUTH_JWKS_UNAVAILABLE')
    expect(text).toContain('C7AUTH_TOKEN_INVALID')
    for (const secret of ['127.0.0.1', 'alice@example.com', token.slice(0, 30), 'eyJ']) {
      expect(text).not.toContain(secret)
    }
  })
})

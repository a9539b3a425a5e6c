import { createPublicKey } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createAuthenticator } from './authenticator.js'
import type { Authenticator } from './authenticator.js'
import type { AuthenticatorOptions } from './options.js'
import { startLocalIssuer } from './__tests__/local-issuer.js'
import type { LocalIssuer } from './__tests__/local-issuer.js'
import { rejection } from './__tests__/rejection.js'

let idp: LocalIssuer
let auth: Authenticator

const base = { azp: 'acme', sub: 'acme', scope: 'engine:read' }

beforeEach(async () => {
  idp = await startLocalIssuer()
  auth = make()
})
afterEach(async () => {
  auth.close()
  await idp.close()
})

function make(over: Partial<AuthenticatorOptions> = {}, issuer: Record<string, unknown> = {}) {
  return createAuthenticator({
    issuers: [{ issuer: idp.issuer, audience: 'engine', jwksUri: idp.jwksUri, ...issuer }],
    tenants: ['acme'],
    cache: false,
    ...over,
  })
}

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)

async function expectInvalid(token: string, code = 'C7AUTH_TOKEN_INVALID', a = auth) {
  const err = await rejection(a.verify(token))
  expect(err).toMatchObject({ code, status: 401 })
  expect(err.headers['www-authenticate']).toContain('error="invalid_token"')
  // Nothing of the token or the configuration in the public message.
  expect(err.message).not.toMatch(/127\.0\.0\.1|eyJ|engine'|acme/)
  return err
}

describe('hostile tokens', () => {
  it('accepts the well-formed control token (so the refusals below are meaningful)', async () => {
    await expect(auth.verify(await idp.sign(base))).resolves.toMatchObject({ userId: 'acme' })
  })

  it('refuses alg none (empty signature and fake signature)', async () => {
    const payload = { iss: idp.issuer, aud: 'engine', exp: now() + 300, ...base }
    await expectInvalid(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`)
    await expectInvalid(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.AAAA`)
    await expectInvalid(`${enc({ alg: 'NONE', kid: idp.currentKid })}.${enc(payload)}.AAAA`)
  })

  it('refuses HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const jwk = idp.publicJwks().keys[0]!
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    for (const secret of [pem, jwk.n!]) {
      const token = await new SignJWT({ ...base, iss: idp.issuer, aud: 'engine' })
        .setProtectedHeader({ alg: 'HS256', kid: idp.currentKid })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(String(secret)))
      await expectInvalid(token)
    }
    expect(idp.counts.jwks).toBe(0)
  })

  it('refuses an unknown kid after one refetch, then negatively caches it', async () => {
    await auth.verify(await idp.sign(base))
    expect(idp.counts.jwks).toBe(1)
    const forged = idp.signRaw(
      { kid: 'no-such-kid' },
      { ...base, iss: idp.issuer, aud: 'engine', exp: now() + 300 },
    )
    // No cooldown, so only the negative cache can stop the second refetch.
    const a = make({ jwks: { refetchCooldownSeconds: 0 } })
    await a.verify(await idp.sign(base))
    const before = idp.counts.jwks
    await expectInvalid(forged, 'C7AUTH_TOKEN_INVALID', a)
    expect(idp.counts.jwks).toBe(before + 1)
    for (let i = 0; i < 20; i++) await expectInvalid(forged, 'C7AUTH_TOKEN_INVALID', a)
    expect(idp.counts.jwks).toBe(before + 1)
    a.close()
  })

  it('refetches exactly once (single-flight, cooldown) for a storm of random kids', async () => {
    let clock = Date.now()
    const a = make({ now: () => clock })
    await a.verify(await idp.sign(base))
    const claims = { ...base, iss: idp.issuer, aud: 'engine', exp: now() + 300 }
    const storm = () =>
      Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          rejection(a.verify(idp.signRaw({ kid: `random-${i}-${clock}` }, claims))),
        ),
      )
    // The first storm spends the unknown-kid budget once: one shared refetch for 50 kids.
    await storm()
    expect(idp.counts.jwks).toBe(2)
    // Within the cooldown: no refetch at all.
    clock += 5_000
    await storm()
    expect(idp.counts.jwks).toBe(2)
    // After the cooldown: again exactly one.
    clock += 6_000
    const errors = await storm()
    expect(idp.counts.jwks).toBe(3)
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['C7AUTH_TOKEN_INVALID']))
    a.close()
  })

  it.each([
    ['../../../../etc/passwd'],
    ["' OR '1'='1"],
    ['1; DROP TABLE keys; --'],
    ['%00%2e%2e%2f'],
    ['__proto__'],
    ['constructor'],
    ['k'.repeat(300)],
  ])('refuses an injection string as kid: %s', async (kid) => {
    const token = idp.signRaw(
      { kid },
      { ...base, iss: idp.issuer, aud: 'engine', exp: now() + 300 },
    )
    await expectInvalid(token)
  })

  it('refuses a non-string kid', async () => {
    await expectInvalid(
      idp.signRaw(
        { kid: { $ne: null } },
        { ...base, iss: idp.issuer, aud: 'engine', exp: now() + 300 },
      ),
    )
    await expectInvalid(
      idp.signRaw({ kid: 42 }, { ...base, iss: idp.issuer, aud: 'engine', exp: now() + 300 }),
    )
  })

  it('never takes keys from jwk, jku, x5u or x5c headers', async () => {
    const attacker = await generateKeyPair('RS256', { extractable: true })
    const attackerJwk = await exportJWK(attacker.publicKey)
    const hits: string[] = []
    const { createServer } = await import('node:http')
    const trap = createServer((req, res) => {
      hits.push(req.url ?? '')
      res.end(JSON.stringify({ keys: [{ ...attackerJwk, kid: 'evil' }] }))
    })
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r))
    const trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}/jwks`
    try {
      const headers = [
        { jwk: attackerJwk, kid: 'evil' },
        { jwk: attackerJwk, kid: idp.currentKid },
        { jku: trapUrl, kid: 'evil' },
        { x5u: trapUrl, kid: 'evil' },
        { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'], kid: 'evil' },
        { jwk: attackerJwk },
      ]
      for (const h of headers) {
        const token = await new SignJWT({ ...base, iss: idp.issuer, aud: 'engine' })
          .setProtectedHeader({ alg: 'RS256', ...h })
          .setExpirationTime('5m')
          .sign(attacker.privateKey)
        await expectInvalid(token)
      }
      expect(hits).toEqual([])
    } finally {
      trap.close()
    }
  })

  it('refuses a crit header', async () => {
    const claims = { ...base, iss: idp.issuer, aud: 'engine', exp: now() + 300 }
    await expectInvalid(idp.signRaw({ crit: ['exp'] }, claims))
    await expectInvalid(idp.signRaw({ crit: ['b64'], b64: false }, claims))
  })

  it('refuses an expired token with C7AUTH_TOKEN_EXPIRED, honouring the clock tolerance', async () => {
    await expectInvalid(
      await idp.sign({ ...base, exp: now() - 120, iat: now() - 400 }),
      'C7AUTH_TOKEN_EXPIRED',
    )
    await expect(
      auth.verify(await idp.sign({ ...base, exp: now() - 30, iat: now() - 300 })),
    ).resolves.toBeDefined()
    const strict = make({ clockToleranceSeconds: 0 })
    await expectInvalid(
      await idp.sign({ ...base, exp: now() - 30 }),
      'C7AUTH_TOKEN_EXPIRED',
      strict,
    )
    strict.close()
  })

  it('refuses a lifetime beyond 24 h (exp − iat, or exp − now without iat), configurable', async () => {
    await expectInvalid(await idp.sign({ ...base, exp: 1e308 }))
    await expectInvalid(await idp.sign({ ...base, iat: now(), exp: now() + 86_400 + 120 }))
    await expectInvalid(await idp.sign({ ...base, iat: undefined, exp: now() + 86_400 + 120 }))
    // A token issued two days ago with a 25 h life is refused although it is still valid.
    await expectInvalid(await idp.sign({ ...base, iat: now() - 86_400, exp: now() + 3_600 * 2 }))
    await expect(
      auth.verify(await idp.sign({ ...base, iat: now(), exp: now() + 86_400 })),
    ).resolves.toBeDefined()
    await expect(
      auth.verify(await idp.sign({ ...base, iat: undefined, exp: now() + 3_600 })),
    ).resolves.toBeDefined()
    const short = make({ maxTokenLifetimeSeconds: 600 })
    await expectInvalid(await idp.sign({ ...base, exp: now() + 900 }), undefined, short)
    await expect(short.verify(await idp.sign({ ...base, exp: now() + 500 }))).resolves.toBeDefined()
    short.close()
    expect(() => make({ maxTokenLifetimeSeconds: 0 })).toThrow(/maxTokenLifetimeSeconds/)
  })

  it('with a maximum iat age, refuses old and iat-less tokens and ends cache entries there', async () => {
    let clock = Date.now()
    const aged = make({
      maxTokenAgeSeconds: 600,
      clockToleranceSeconds: 0,
      cache: {},
      now: () => clock,
    })
    await expectInvalid(await idp.sign({ ...base, iat: undefined }), undefined, aged)
    await expectInvalid(
      await idp.sign({ ...base, iat: now() - 700, exp: now() + 3_000 }),
      undefined,
      aged,
    )
    const young = await idp.sign({ ...base, iat: now() - 500, exp: now() + 3_000 })
    await expect(aged.verify(young)).resolves.toBeDefined()
    // 200 s later the same token (cached on first use) is past its age: refused, not served
    // from the cache whose default entry life (300 s) would still cover it.
    clock += 200_000
    await expectInvalid(young, undefined, aged)
    aged.close()
  })

  it('never maps a user to an app’s engine account ({azp: acme, sub: globex} on a shared issuer)', async () => {
    const shared = make({ tenants: ['acme', 'globex'] }, { preset: 'keycloak' })
    const user = await shared.verify(await idp.sign({ azp: 'acme', sub: 'globex' }))
    const app = await shared.verify(
      await idp.sign({ azp: 'globex', sub: 'f0e1', preferred_username: 'service-account-globex' }),
    )
    expect(app).toMatchObject({ kind: 'app', userId: 'globex', tenantIds: ['globex'] })
    expect(user).toMatchObject({ kind: 'user', tenantIds: ['acme'] })
    expect(user.userId).not.toBe(app.userId)
    expect(user.userId).toMatch(/^globex[a-z2-7]{33}$/)
    // an app cannot claim a NUL-bearing id to reach the user hash domain
    await expectInvalid(
      await idp.sign({ azp: 'globex\u0000x', sub: 'x', preferred_username: 'service-account-x' }),
      undefined,
      shared,
    )
    shared.close()
  })

  it('refuses nbf and iat in the future beyond the tolerance', async () => {
    await expectInvalid(await idp.sign({ ...base, nbf: now() + 600 }))
    await expectInvalid(await idp.sign({ ...base, iat: now() + 600 }))
    await expect(auth.verify(await idp.sign({ ...base, nbf: now() + 30 }))).resolves.toBeDefined()
  })

  it('refuses a wrong iss as unknown issuer without any key fetch', async () => {
    const err = await rejection(
      auth.verify(await idp.sign({ ...base, iss: 'https://evil.example.com' })),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_ISSUER_UNKNOWN', status: 401 })
    expect(idp.counts).toEqual({ jwks: 0, discovery: 0 })
    await expectInvalid(await idp.sign({ ...base, iss: `${idp.issuer}/` }), 'C7AUTH_ISSUER_UNKNOWN')
  })

  it('refuses a wrong or missing aud', async () => {
    await expectInvalid(await idp.sign({ ...base, aud: 'other-api' }))
    await expectInvalid(await idp.sign({ ...base, aud: ['other-api', 'account'] }))
    await expectInvalid(await idp.sign({ ...base, aud: undefined }))
  })

  it('refuses a token without exp or with a non-numeric exp', async () => {
    await expectInvalid(await idp.sign(base, {}, { noExp: true }))
    await expectInvalid(await idp.sign({ ...base, exp: `${now() + 300}` as never }))
  })

  it('refuses a wrong typ in strict mode and accepts at+jwt there', async () => {
    const strict = make({ requireTypAtJwt: true })
    await expectInvalid(await idp.sign(base, { typ: 'JWT' }), 'C7AUTH_TOKEN_INVALID', strict)
    await expectInvalid(await idp.sign(base, { typ: undefined }), 'C7AUTH_TOKEN_INVALID', strict)
    await expect(
      strict.verify(await idp.sign(base, { typ: 'application/at+jwt' })),
    ).resolves.toBeDefined()
    await expect(strict.verify(await idp.sign(base))).resolves.toBeDefined()
    strict.close()
  })

  it('refuses a missing required claim', async () => {
    const a = make({}, { requiredClaims: ['jti'] })
    await expectInvalid(await idp.sign(base), 'C7AUTH_TOKEN_INVALID', a)
    await expect(a.verify(await idp.sign({ ...base, jti: 'j1' }))).resolves.toBeDefined()
    a.close()
  })

  it('refuses truncated, garbage and tampered tokens', async () => {
    const good = await idp.sign(base)
    const [h, p, s] = good.split('.') as [string, string, string]
    const tampered = `${h}.${enc({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), azp: 'globex' })}.${s}`
    for (const t of [
      good.slice(0, -10),
      good.slice(0, good.lastIndexOf('.')),
      `${h}.${p}`,
      `${h}..${s}`,
      `${good}.extra`,
      'garbage',
      '....',
      'a.b.c',
      `${enc('string')}.${p}.${s}`,
      `${enc([1, 2])}.${p}.${s}`,
      `${h}.${enc(null)}.${s}`,
      `${h}.${Buffer.from('{not json').toString('base64url')}.${s}`,
      `${h}.${p}.${s}===`,
      tampered,
    ]) {
      await expectInvalid(t)
    }
  })

  it('refuses a 64 KB token without parsing it', async () => {
    const huge = `${enc({ alg: 'RS256', kid: idp.currentKid })}.${'A'.repeat(64 * 1024)}.sig`
    await expectInvalid(huge)
    const err = await rejection(auth.authenticate({ headers: { authorization: `Bearer ${huge}` } }))
    expect(err).toMatchObject({ code: 'C7AUTH_TOKEN_INVALID', status: 401 })
    expect(idp.counts.jwks).toBe(0)
  })

  it('refuses an RS256 token verified against an ES256 key set (key type must fit alg)', async () => {
    const ec = await startLocalIssuer({ alg: 'ES256' })
    try {
      const a = createAuthenticator({
        issuers: [{ issuer: ec.issuer, audience: 'engine', jwksUri: ec.jwksUri }],
        tenants: ['acme'],
      })
      await expect(a.verify(await ec.sign(base))).resolves.toBeDefined()
      const confused = idp.signRaw(
        { kid: ec.currentKid },
        { ...base, iss: ec.issuer, aud: 'engine', exp: now() + 300 },
      )
      await expectInvalid(confused, 'C7AUTH_TOKEN_INVALID', a)
      a.close()
    } finally {
      await ec.close()
    }
  })

  it('refuses an algorithm outside the issuer allowlist', async () => {
    const ps = make({}, { algorithms: ['PS256'] })
    await expectInvalid(await idp.sign(base), 'C7AUTH_TOKEN_INVALID', ps)
    ps.close()
  })
})

describe('bearer extraction over authenticate()', () => {
  it('refuses the token in the query string (400 invalid_request)', async () => {
    const token = await idp.sign(base)
    for (const url of [
      `/x?access_token=${token}`,
      `/x?a=1&ACCESS_TOKEN=x&access%5Ftoken=${token}`,
    ]) {
      const err = await rejection(auth.authenticate({ headers: {}, url }))
      expect(err).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID', status: 400 })
      expect(err.headers['www-authenticate']).toContain('error="invalid_request"')
    }
  })

  it('refuses the token in a parsed form body', async () => {
    const token = await idp.sign(base)
    const err = await rejection(
      auth.authenticate({
        headers: { authorization: `Bearer ${token}` },
        body: { access_token: token },
      }),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID', status: 400 })
  })

  it('refuses two Authorization headers', async () => {
    const token = await idp.sign(base)
    const err = await rejection(
      auth.authenticate({
        headers: { authorization: `Bearer ${token}` },
        rawHeaders: ['Authorization', `Bearer ${token}`, 'authorization', 'Bearer other'],
      }),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID', status: 400 })
  })

  it('treats another scheme as no bearer token (401 without error code)', async () => {
    const err = await rejection(auth.authenticate({ headers: { authorization: 'Basic YTpi' } }))
    expect(err).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING', status: 401 })
    expect(err.headers['www-authenticate']).toBe('Bearer realm="c7auth"')
  })

  it('accepts BEARER and bearer, refuses malformed credentials', async () => {
    const token = await idp.sign(base)
    const accepted = [`BEARER ${token}`, `bearer ${token}`, `Bearer  ${token}`, `bEaReR ${token}  `]
    for (const h of accepted) {
      await expect(auth.authenticate({ headers: { authorization: h } })).resolves.toMatchObject({
        userId: 'acme',
      })
    }
    const malformed = ['Bearer', 'Bearer ', 'Bearer   ', `Bearer ${token} extra`, 'Bearer a,b']
    for (const h of malformed) {
      const err = await rejection(auth.authenticate({ headers: { authorization: h } }))
      expect(err).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID', status: 400 })
    }
    // Another scheme that merely starts like `bearer`, or `bearer` not followed by a space: no
    // bearer credentials at all.
    const otherSchemes = [
      `Bearerx ${token}`,
      `Bearer\t${token}`,
      `Beare ${token}`,
      ` Bearer ${token}`,
    ]
    for (const h of otherSchemes) {
      const err = await rejection(auth.authenticate({ headers: { authorization: h } }))
      expect(err).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING', status: 401 })
    }
    expect.assertions(accepted.length + malformed.length + otherSchemes.length)
  })

  it('answers every refusal as a rejected promise, never a synchronous throw', async () => {
    const token = await idp.sign(base)
    const cached = make({ cache: {} })
    const calls = [
      () => cached.authenticate({ headers: {} }),
      () => cached.authenticateRequest({ headers: { authorization: 'Bearer a,b' } }),
      () => cached.verify('not.a.jws'),
      () => cached.verifyToken('x'.repeat(20_000)),
      // A cached token stays a promise too (the cache-hit path answers without an async frame).
      () => cached.authenticate({ headers: { authorization: `Bearer ${token}` } }),
      () => cached.authenticateRequest({ headers: { authorization: `Bearer ${token}` } }),
      () => cached.verify(token),
    ]
    const settled: string[] = []
    for (const call of calls) {
      const p = call()
      expect(p).toBeInstanceOf(Promise)
      settled.push(
        await p.then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? 'no code',
        ),
      )
    }
    expect(settled).toEqual([
      'C7AUTH_TOKEN_MISSING',
      'C7AUTH_REQUEST_INVALID',
      'C7AUTH_TOKEN_INVALID',
      'C7AUTH_TOKEN_INVALID',
      'ok',
      'ok',
      'ok',
    ])
    expect(cached.stats).toMatchObject({ verified: 3, rejected: 4, cache: { size: 1, hits: 2 } })
    cached.close()
  })

  it('uses the configured realm in challenges', async () => {
    const a = make({ realm: 'engine "prod"' })
    const err = await rejection(a.authenticate({ headers: {} }))
    expect(err.headers['www-authenticate']).toBe(`Bearer realm="engine 'prod'"`)
    a.close()
  })
})

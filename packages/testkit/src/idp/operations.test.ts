import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { TESTKIT_USER_GRANT, requestToken, startTestIdp } from './index.js'
import type { TestIdp } from './index.js'

const client = { clientId: 'ops', clientSecret: 'ops-secret' }

const getToken = (idp: TestIdp) =>
  requestToken(idp.tokenEndpoint, { grant_type: 'client_credentials' }, { basic: client })

describe('test IdP: faults and counters', () => {
  let idp: TestIdp
  beforeAll(async () => {
    idp = await startTestIdp({ clients: [client] })
  })
  afterAll(() => idp.close())
  afterEach(() => {
    idp.setFault(null)
    idp.resetCounts()
  })

  it('counts token requests by grant, JWKS and discovery fetches', async () => {
    await getToken(idp)
    await getToken(idp)
    await requestToken(
      idp.tokenEndpoint,
      { grant_type: TESTKIT_USER_GRANT, sub: 'a' },
      { basic: client },
    )
    await requestToken(idp.tokenEndpoint, { grant_type: 'password' }, { basic: client })
    await fetch(idp.jwksUri).then((r) => r.arrayBuffer())
    await fetch(idp.discoveryUrl).then((r) => r.arrayBuffer())
    await fetch(`${idp.issuer}/.well-known/oauth-authorization-server`).then((r) => r.arrayBuffer())
    expect(idp.counts).toEqual({
      token: 4,
      tokenByGrant: { client_credentials: 2, [TESTKIT_USER_GRANT]: 1, password: 1 },
      jwks: 1,
      discovery: 2,
    })
    idp.resetCounts()
    expect(idp.counts).toEqual({ token: 0, tokenByGrant: {}, jwks: 0, discovery: 0 })
  })

  it('status faults answer with the status, Retry-After and an OAuth error body, and are not counted', async () => {
    idp.setFault({ kind: 'status', status: 503, retryAfterSeconds: 7 })
    const res = await getToken(idp)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(res.body['error']).toBe('temporarily_unavailable')
    const jwks = await fetch(idp.jwksUri)
    expect(jwks.status).toBe(503)
    await jwks.arrayBuffer()
    expect(idp.counts).toMatchObject({ token: 0, jwks: 0 })

    idp.setFault({ kind: 'status', status: 429, body: 'slow down' }, { paths: ['token'] })
    const limited = await getToken(idp)
    expect(limited.status).toBe(429)
    expect(limited.text).toBe('slow down')
    const ok = await fetch(idp.jwksUri)
    expect(ok.status).toBe(200)
    await ok.arrayBuffer()
    expect(idp.counts).toMatchObject({ token: 0, jwks: 1 })
  })

  it('times= limits a fault to the next N matching requests', async () => {
    idp.setFault({ kind: 'status', status: 500 }, { paths: ['token'], times: 2 })
    expect((await getToken(idp)).status).toBe(500)
    expect((await getToken(idp)).status).toBe(500)
    expect((await getToken(idp)).status).toBe(200)
    expect(idp.counts.token).toBe(1)
  })

  it('garbage answers 200 with an unparseable JSON body', async () => {
    idp.setFault({ kind: 'garbage' }, { paths: ['jwks'] })
    const res = await fetch(idp.jwksUri)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    await expect(res.json()).rejects.toThrow()
  })

  it('delay holds the request, then it reaches the IdP', async () => {
    idp.setFault({ kind: 'delay', ms: 300 }, { paths: ['token'] })
    const started = performance.now()
    const res = await getToken(idp)
    expect(res.status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(280)
    expect(idp.counts.token).toBe(1)
  })

  it('hang never answers (only the client ends it) and does not count', async () => {
    idp.setFault({ kind: 'hang' }, { paths: ['discovery'] })
    const before = idp.faultedRequests
    const ac = new AbortController()
    let settled = false
    const held = fetch(idp.discoveryUrl, { signal: ac.signal }).finally(() => (settled = true))
    held.catch(() => undefined) // asserted below
    await vi.waitFor(() => expect(idp.faultedRequests).toBe(before + 1), { timeout: 10_000 })
    // a later request is answered while the held one is not: ordering, not a timer
    const later = await fetch(idp.jwksUri)
    expect(later.status).toBe(200)
    expect(settled).toBe(false)
    ac.abort()
    await expect(held).rejects.toThrow()
    expect(idp.counts.discovery).toBe(0)
  })
})

describe('test IdP: key rotation, restart, close', () => {
  it('rotateKeys makes a new key current and keeps the old one published until dropped', async () => {
    const idp = await startTestIdp({ clients: [client] })
    try {
      const before = (await getToken(idp)).body['access_token'] as string
      const oldKid = idp.currentKid
      const newKid = await idp.rotateKeys()
      expect(newKid).not.toBe(oldKid)
      expect(idp.currentKid).toBe(newKid)
      const after = (await getToken(idp)).body['access_token'] as string
      expect(decodeProtectedHeader(after).kid).toBe(newKid)
      const served = (await (await fetch(idp.jwksUri)).json()) as { keys: { kid: string }[] }
      expect(served.keys.map((k) => k.kid)).toEqual([newKid, oldKid])
      const remote = createRemoteJWKSet(new URL(idp.jwksUri))
      await jwtVerify(before, remote, { issuer: idp.issuer })
      await jwtVerify(after, remote, { issuer: idp.issuer })

      const third = await idp.rotateKeys({ dropOld: true })
      const now = idp.publicJwks()
      expect(now.keys.map((k) => k.kid)).toEqual([third])
      await expect(jwtVerify(before, createLocalJWKSet(now))).rejects.toThrow()
    } finally {
      await idp.close()
    }
  })

  it('rotateKeys with overlapMs drops the old keys after the overlap', async () => {
    const idp = await startTestIdp({ clients: [client] })
    try {
      const oldKid = idp.currentKid
      // an overlap of seconds: the first check cannot miss it on a loaded machine
      const newKid = await idp.rotateKeys({ overlapMs: 3_000 })
      expect(idp.publicJwks().keys.map((k) => k.kid)).toEqual([newKid, oldKid])
      await vi.waitFor(() => expect(idp.publicJwks().keys.map((k) => k.kid)).toEqual([newKid]), {
        timeout: 15_000,
        interval: 50,
      })
      const served = (await (await fetch(idp.jwksUri)).json()) as { keys: { kid: string }[] }
      expect(served.keys.map((k) => k.kid)).toEqual([newKid])
    } finally {
      await idp.close()
    }
  })

  it('refresh tokens survive rotation and restart; stop refuses connections', async () => {
    const idp = await startTestIdp({ clients: [client] })
    try {
      const first = await requestToken(
        idp.tokenEndpoint,
        { grant_type: TESTKIT_USER_GRANT, sub: 'u1', scope: 'offline_access' },
        { basic: client },
      )
      await idp.rotateKeys()
      await idp.stop()
      await expect(fetch(idp.jwksUri)).rejects.toThrow()
      await idp.restart()
      const refreshed = await requestToken(
        idp.tokenEndpoint,
        { grant_type: 'refresh_token', refresh_token: first.body['refresh_token'] as string },
        { basic: client },
      )
      expect(refreshed.status).toBe(200)
      const { payload, protectedHeader } = await jwtVerify(
        refreshed.body['access_token'] as string,
        createRemoteJWKSet(new URL(idp.jwksUri)),
        { issuer: idp.issuer, audience: idp.defaultAudience },
      )
      expect(payload.sub).toBe('u1')
      expect(protectedHeader.kid).toBe(idp.currentKid)
    } finally {
      await idp.close()
    }
  })

  it('close drops keep-alive and hung connections and leaves no server handles', async () => {
    const handles = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length
    const baseline = handles()
    const idp = await startTestIdp({ clients: [client] })
    expect(handles()).toBe(baseline + 1)
    await getToken(idp)
    idp.setFault({ kind: 'hang' })
    const held = idp.faultedRequests
    const hung = fetch(idp.jwksUri).then(
      () => 'answered',
      () => 'dropped',
    )
    // close() only once the request is really held by the hang fault (an event, not a sleep)
    await vi.waitFor(() => expect(idp.faultedRequests).toBe(held + 1), {
      timeout: 10_000,
      interval: 10,
    })
    await idp.close()
    expect(await hung).toBe('dropped')
    expect(handles()).toBe(baseline)
  })
})

describe('test IdP: variants', () => {
  it('ES256 keys and an issuer path (with RFC 8414 path-inserted metadata)', async () => {
    const idp = await startTestIdp({
      clients: [client],
      signingAlg: 'ES256',
      issuerPath: '/realms/acme',
    })
    try {
      expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/realms\/acme$/)
      const doc = (await (await fetch(idp.discoveryUrl)).json()) as Record<string, unknown>
      expect(doc['token_endpoint']).toBe(idp.tokenEndpoint)
      const rfc8414 = await fetch(
        `http://127.0.0.1:${idp.port}/.well-known/oauth-authorization-server/realms/acme`,
      )
      expect(((await rfc8414.json()) as Record<string, unknown>)['issuer']).toBe(idp.issuer)
      const res = await getToken(idp)
      const { protectedHeader } = await jwtVerify(
        res.body['access_token'] as string,
        createRemoteJWKSet(new URL(idp.jwksUri)),
        { issuer: idp.issuer, algorithms: ['ES256'] },
      )
      expect(protectedHeader.alg).toBe('ES256')
      const user = await idp.issueUserToken({ sub: 'x', clientId: 'ops' })
      await jwtVerify(user, createRemoteJWKSet(new URL(idp.jwksUri)), { algorithms: ['ES256'] })
      expect((await fetch(`http://127.0.0.1:${idp.port}/token`)).status).toBe(404)
    } finally {
      await idp.close()
    }
  })

  it('PS256 keys sign client-credentials tokens', async () => {
    const idp = await startTestIdp({ clients: [client], signingAlg: 'PS256' })
    try {
      const res = await getToken(idp)
      const { protectedHeader } = await jwtVerify(
        res.body['access_token'] as string,
        createRemoteJWKSet(new URL(idp.jwksUri)),
        { issuer: idp.issuer, algorithms: ['PS256'] },
      )
      expect(protectedHeader.alg).toBe('PS256')
    } finally {
      await idp.close()
    }
  })

  it('signToken produces hostile tokens signed by the real key', async () => {
    const idp = await startTestIdp()
    try {
      const jwks = createLocalJWKSet(idp.publicJwks())
      const base = idp.userTokenClaims({ sub: 'x', clientId: 'app', claims: { tenant: 't' } })
      expect(base).toMatchObject({ sub: 'x', azp: 'app', client_id: 'app', tenant: 't' })
      const { exp: _exp, ...withoutExp } = base
      const noExp = await idp.signToken({}, withoutExp)
      expect(decodeProtectedHeader(noExp)).toEqual({
        alg: 'RS256',
        typ: 'at+jwt',
        kid: idp.currentKid,
      })
      const { payload } = await jwtVerify(noExp, jwks, {
        issuer: idp.issuer,
        audience: idp.defaultAudience,
        typ: 'at+jwt',
      })
      expect(payload.exp).toBeUndefined()
      expect(payload.sub).toBe('x')

      const crit = await idp.signToken({ crit: ['x-unknown'], 'x-unknown': 1 }, { sub: 'x' })
      await expect(jwtVerify(crit, jwks)).rejects.toThrow(/crit|x-unknown/i)

      const noKid = await idp.signToken({ kid: undefined }, { sub: 'x' })
      expect(decodeProtectedHeader(noKid)).not.toHaveProperty('kid')

      const unsigned = await idp.signToken({ alg: 'none' }, { sub: 'x' })
      expect(unsigned.endsWith('.')).toBe(true)
      await expect(jwtVerify(unsigned, jwks)).rejects.toThrow()

      const hs = await idp.signToken({ alg: 'HS256' }, { sub: 'x' }, { hmacKey: 'k' })
      expect(decodeProtectedHeader(hs).alg).toBe('HS256')
      await expect(jwtVerify(hs, jwks)).rejects.toThrow()
    } finally {
      await idp.close()
    }
  })
})

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SignJWT } from 'jose'
import { ConfigError } from '@c7auth/core'
import { createAuthenticator } from './authenticator.js'
import type { Authenticator } from './authenticator.js'
import type { AuthenticatorOptions } from './options.js'
import { startLocalIssuer } from './__tests__/local-issuer.js'
import type { LocalIssuer } from './__tests__/local-issuer.js'
import { rejection } from './__tests__/rejection.js'

let idp: LocalIssuer
let auth: Authenticator | undefined

beforeEach(async () => {
  idp = await startLocalIssuer()
})
afterEach(async () => {
  auth?.close()
  auth = undefined
  await idp.close()
})

function make(over: Partial<AuthenticatorOptions> = {}, issuer: Record<string, unknown> = {}) {
  auth = createAuthenticator({
    issuers: [{ issuer: idp.issuer, audience: 'engine', jwksUri: idp.jwksUri, ...issuer }],
    tenants: ['acme', 'globex'],
    ...over,
  })
  return auth
}

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` }, url: '/engine-rest/task' }
}

const app = { azp: 'acme', sub: 'acme', scope: 'engine:read engine:write' }

describe('createAuthenticator', () => {
  it('verifies a token and maps an app principal (app mode: client id is user and tenant)', async () => {
    const a = make()
    const p = await a.authenticate(bearer(await idp.sign(app)))
    expect(p).toMatchObject({
      kind: 'app',
      userId: 'acme',
      tenantIds: ['acme'],
      clientId: 'acme',
      issuer: idp.issuer,
      subject: 'acme',
      scopes: ['engine:read', 'engine:write'],
      admin: false,
    })
    expect(p.expiresAt).toBeGreaterThan(Date.now() / 1000)
    expect(JSON.stringify(p)).not.toMatch(/eyJ/)
  })

  it('accepts the lower-case bearer scheme (RFC 7235)', async () => {
    const a = make()
    const token = await idp.sign(app)
    await expect(
      a.authenticate({ headers: { authorization: `bearer ${token}` } }),
    ).resolves.toMatchObject({ userId: 'acme' })
  })

  it('answers a missing token with 401 and a challenge without error code', async () => {
    const err = await rejection(make().authenticate({ headers: {} }))
    expect(err).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING', status: 401 })
    expect(err.headers['www-authenticate']).toBe('Bearer realm="c7auth"')
  })

  it('refuses an unknown issuer without any network call', async () => {
    const a = make()
    const other = await startLocalIssuer()
    try {
      const token = await other.sign({ ...app, iss: other.issuer })
      const err = await rejection(a.verify(token))
      expect(err).toMatchObject({ code: 'C7AUTH_ISSUER_UNKNOWN', status: 401 })
      expect(other.counts.jwks + other.counts.discovery + idp.counts.jwks).toBe(0)
    } finally {
      await other.close()
    }
  })

  it('discovers jwks_uri from the configured issuer once', async () => {
    auth = createAuthenticator({
      issuers: [{ issuer: idp.issuer, audience: 'engine' }],
      tenants: ['acme'],
    })
    await auth.verify(await idp.sign(app))
    await auth.verify(await idp.sign({ ...app, jti: 'x' }))
    expect(idp.counts).toEqual({ discovery: 1, jwks: 1 })
  })

  it('serves a repeated token from the verified-token cache', async () => {
    const a = make()
    const token = await idp.sign(app)
    const p1 = await a.verify(token)
    const p2 = await a.verify(token)
    expect(p2).toBe(p1)
    expect(a.stats.cache.hits).toBe(1)
  })

  it('lookup: a promise on a miss, the cached verified token itself (no promise) on a hit', async () => {
    let clock = Date.now()
    const a = make({ now: () => clock, clockToleranceSeconds: 0 })
    const token = await idp.sign(app)
    const req = bearer(token)
    const miss = a.lookup(req)
    expect(miss).toBeInstanceOf(Promise)
    const verified = await miss
    expect(verified.principal).toMatchObject({ userId: 'acme', tenantIds: ['acme'] })
    // the next request with that token: the same object, synchronously
    const hit = a.lookup(bearer(token))
    expect(hit).not.toBeInstanceOf(Promise)
    expect(hit).toBe(verified)
    expect(a.stats.cache).toMatchObject({ hits: 1, misses: 1 })
    // once the token expired, the cached entry is not served: the miss path verifies and refuses
    clock += 301_000
    const late = a.lookup(bearer(token))
    expect(late).toBeInstanceOf(Promise)
    await expect(late).rejects.toMatchObject({ code: 'C7AUTH_TOKEN_EXPIRED', status: 401 })
  })

  it('lookup: throws synchronously for a request without a usable token; a bad token rejects', async () => {
    const a = make()
    expect(() => a.lookup({ headers: {}, url: '/engine-rest/task' })).toThrow(
      expect.objectContaining({ code: 'C7AUTH_TOKEN_MISSING', status: 401 }),
    )
    const forged = a.lookup(bearer(`${await idp.sign(app)}x`))
    expect(forged).toBeInstanceOf(Promise)
    await expect(forged).rejects.toMatchObject({ code: 'C7AUTH_TOKEN_INVALID' })
    expect(a.stats.rejected).toBe(2)
  })

  it('keeps the cache within maxKeys', async () => {
    const a = make({ cache: { maxKeys: 5 } })
    for (let i = 0; i < 12; i++) await a.verify(await idp.sign({ ...app, jti: `t${i}` }))
    expect(a.stats.cache.size).toBeLessThanOrEqual(5)
  })

  it('refuses HS256 unless a secret is configured', () => {
    expect(() => make({}, { algorithms: ['HS256'] })).toThrow(
      /HS\* needs an explicitly configured secret/,
    )
  })

  it('verifies HS256 with an explicitly configured secret', async () => {
    const secret = 'a-long-shared-secret-of-at-least-32-bytes!!'
    const a = make({}, { algorithms: ['HS256'], secret })
    const token = await new SignJWT({ ...app, iss: idp.issuer, aud: 'engine' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))
    await expect(a.verify(token)).resolves.toMatchObject({ userId: 'acme' })
  })

  it('reports every configuration problem at once, naming options and never values', () => {
    try {
      createAuthenticator({
        issuers: [
          { issuer: 'https://a.example.com', audience: [] },
          { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', audience: 'x' },
          {
            issuer: 'https://b.example.com',
            audience: 'x',
            algorithms: ['HS256'],
            secret: 'short',
          },
          { issuer: 'https://c.example.com', audience: 'x', algorithms: ['none' as never] },
          {
            issuer: 'https://d.example.com',
            audience: 'x',
            tenantMode: 'fixed',
            fixedTenant: 'nope',
          },
        ],
        tenants: ['acme'],
        clockToleranceSeconds: -1,
      })
      expect.unreachable()
    } catch (err) {
      const e = err as { code: string; issues: string[] }
      expect(e.code).toBe('C7AUTH_CONFIG_INVALID')
      expect(e.issues).toEqual([
        'clockToleranceSeconds must be >= 0',
        'issuers[0].audience is required (non-empty strings)',
        'issuers[1].jwksUri is required for a templated issuer',
        'issuers[1].allowedTenantIds is required for a templated issuer (non-empty list of directory ids)',
        'issuers[2].secret must have at least 32 bytes',
        'issuers[3].algorithms: unsupported algorithm',
        'issuers[4].fixedTenant must name a configured tenant',
      ])
      expect(JSON.stringify(e)).not.toContain('short')
    }
    expect(() => createAuthenticator({ issuers: [], tenants: [] })).toThrow(/at least one issuer/)
  })
})

describe('admin is opt-in per issuer with several issuers', () => {
  let other: LocalIssuer
  beforeEach(async () => {
    other = await startLocalIssuer()
  })
  afterEach(async () => {
    await other.close()
  })

  const tenants = () => [
    { id: 'acme', clientIds: ['acme-web'], issuer: idp.issuer },
    { id: 'globex', clientIds: ['globex-web'], issuer: other.issuer },
  ]
  /** An issuer of `engine` tokens, with the claim paths that may carry admin groups, if given. */
  const issuerOf = (i: { issuer: string; jwksUri: string }, adminGroupClaims?: string[]) => ({
    issuer: i.issuer,
    audience: 'engine',
    jwksUri: i.jwksUri,
    ...(adminGroupClaims !== undefined ? { claims: { adminGroupClaims } } : {}),
  })

  it('refuses adminGroups when an issuer does not set claims.adminGroupClaims', () => {
    let caught: unknown
    try {
      createAuthenticator({
        issuers: [issuerOf(idp), issuerOf(other, [])],
        tenants: tenants(),
        adminGroups: ['ops'],
      }).close()
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).issues).toEqual([
      'issuers[0].claims.adminGroupClaims must be set when adminGroups is set and there are several issuers (the claim paths that may carry admin groups, or [] if this issuer never makes an admin)',
    ])
    // Without adminGroups, or with one issuer, the default (realm-level group claims) stays.
    createAuthenticator({
      issuers: [issuerOf(idp), issuerOf(other)],
      tenants: tenants(),
    }).close()
    make({ adminGroups: ['ops'] })
  })

  it('makes an admin only from the issuer that opted in; the other still maps to its tenant', async () => {
    auth = createAuthenticator({
      issuers: [issuerOf(idp, ['groups']), issuerOf(other, [])],
      tenants: tenants(),
      adminGroups: ['ops'],
    })
    const user = { sub: 'olga', groups: ['ops'] }
    const forged = await auth.verify(await other.sign({ ...user, azp: 'globex-web' }))
    expect(forged).toMatchObject({
      issuer: other.issuer,
      tenantIds: ['globex'],
      groupIds: ['ops'],
      admin: false,
    })
    const real = await auth.verify(await idp.sign({ ...user, azp: 'acme-web' }))
    expect(real).toMatchObject({ issuer: idp.issuer, tenantIds: ['acme'], admin: true })
    // A non-admin issuer's token that maps to no tenant is refused, not let in as an admin.
    const err = await rejection(auth.verify(await other.sign({ ...user, azp: 'unknown' })))
    expect(err).toMatchObject({ code: 'C7AUTH_TENANT_UNKNOWN', status: 403 })
  })
})

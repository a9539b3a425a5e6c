import { generateKeyPairSync } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { ASSERTION_TYPE, createAssertionSigner } from './assertion-signer.js'
import type { AssertionSignerOptions } from './assertion-signer.js'
import { engineGroupsOf, engineIdCheck } from './engine-groups.js'

const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  k.export({ type: 'pkcs8', format: 'pem' }).toString()
const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 })
const EC = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const NEXT = generateKeyPairSync('rsa', { modulusLength: 2048 })

const alice: Principal = {
  kind: 'user',
  userId: 'alice',
  groupIds: ['billing', 'notallowed'],
  tenantIds: ['tenantB', 'tenantA'],
  clientId: 'app',
  issuer: 'https://idp',
  subject: 'alice',
  scopes: [],
  expiresAt: 0,
  admin: false,
}

function signer(over: Partial<AssertionSignerOptions> = {}) {
  return createAssertionSigner({
    issuer: 'https://gw',
    audience: 'engine-1',
    privateKeyPem: pem(RSA.privateKey),
    groupsOf: (p) => p.groupIds,
    ...over,
  })
}

describe('assertion signer', () => {
  it('signs a 60 s assertion the published JWKS verifies', async () => {
    const s = signer()
    const token = await s.assertionFor(alice)
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createLocalJWKSet(s.jwks() as never),
      {
        issuer: 'https://gw',
        audience: 'engine-1',
        typ: ASSERTION_TYPE,
        algorithms: ['RS256'],
      },
    )
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: s.keyId, typ: ASSERTION_TYPE })
    expect(payload).toMatchObject({
      sub: 'alice',
      groups: ['billing', 'notallowed'],
      tenants: ['tenantA', 'tenantB'],
    })
    expect(payload.exp! - payload.iat!).toBe(60)
    expect(typeof payload.jti).toBe('string')
    // The JWKS carries public members only.
    expect(JSON.stringify(s.jwks())).not.toMatch(/"d"|"p"|"q"/)
  })

  it('reuses an assertion for 45 s, per claim content', async () => {
    let now = 1_800_000_000_000
    const s = signer({ now: () => now })
    const first = await s.assertionFor(alice)
    expect(await s.assertionFor(alice)).toBe(first)
    expect(await s.assertionFor({ ...alice, tenantIds: ['tenantA'] })).not.toBe(first)
    now += 44_000
    expect(await s.assertionFor(alice)).toBe(first)
    now += 2_000
    const second = await s.assertionFor(alice)
    expect(second).not.toBe(first)
    expect(decodeProtectedHeader(second).kid).toBe(s.keyId)
  })

  it('ES256 from an EC key; extra keys are published, never used', async () => {
    const s = signer({
      privateKeyPem: pem(EC.privateKey),
      keyId: 'ec-1',
      extraPublicKeysPem: NEXT.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    })
    const kids = s.jwks().keys.map((k) => [k.kid, k.alg, k.kty])
    expect(kids[0]).toEqual(['ec-1', 'ES256', 'EC'])
    expect(kids[1]?.slice(1)).toEqual(['RS256', 'RSA'])
    expect(decodeProtectedHeader(await s.assertionFor(alice))).toMatchObject({
      alg: 'ES256',
      kid: 'ec-1',
    })
  })

  it('refuses weak or mismatched keys', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    expect(() => signer({ privateKeyPem: pem(small.privateKey) })).toThrow(ConfigError)
    expect(() => signer({ algorithm: 'ES256' })).toThrow(ConfigError)
    expect(() => signer({ privateKeyPem: pem(EC.privateKey), algorithm: 'RS256' })).toThrow(
      ConfigError,
    )
    expect(() => signer({ privateKeyPem: 'nope' })).toThrow(ConfigError)
    expect(() => signer({ extraPublicKeysPem: pem(NEXT.privateKey) })).toThrow(ConfigError)
  })
})

describe('engine groups', () => {
  const rules = {
    adminGroup: 'camunda-admin',
    defaultGroups: { app: ['apps'], user: ['users'] },
    tenantDefaultGroups: { tenantA: ['aTeam'] },
    groupAllowlist: ['billing', 'camunda-admin', 'bad-id'],
  }
  const valid = engineIdCheck('[a-zA-Z0-9]+')

  it('defaults, tenant defaults and allowlisted token groups; never the admin group from a token', () => {
    expect(
      engineGroupsOf({ ...alice, groupIds: ['billing', 'camunda-admin', 'bad-id'] }, rules, valid),
    ).toEqual(['aTeam', 'billing', 'users'])
  })

  it('gateway admins get the engine admin group', () => {
    expect(engineGroupsOf({ ...alice, admin: true, groupIds: [] }, rules, valid)).toContain(
      'camunda-admin',
    )
  })
})

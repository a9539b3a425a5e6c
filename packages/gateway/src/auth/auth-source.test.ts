import { describe, expect, it } from 'vitest'
import { testPrincipal } from '../__tests__/fixtures.js'
import { toRequestAuth, withLookup } from './auth-source.js'
import type { Authenticator, VerifiedToken } from './authenticator.js'

describe('toRequestAuth', () => {
  it('makes one frozen RequestAuth per verified token, shared by the requests of a cached token', () => {
    const claims = Object.freeze({ sub: 'svc', azp: 'app-a' })
    const verified: VerifiedToken = { principal: testPrincipal(), claims }
    const first = toRequestAuth(verified)
    expect(first).toMatchObject({ ...testPrincipal(), claims })
    expect(Object.isFrozen(first)).toBe(true)
    // the next request with the same cached token gets the same object, not a copy
    expect(toRequestAuth(verified)).toBe(first)
    // another verification of a token is another caller: its own object
    const other = toRequestAuth({ principal: testPrincipal({ userId: 'other' }), claims })
    expect(other).not.toBe(first)
    expect(other.userId).toBe('other')
  })

  it('freezes the nested arrays and objects too, once per verified token', () => {
    const principal = testPrincipal({ groupIds: ['billing'], scopes: ['read'] })
    const claims = Object.freeze({
      sub: 'svc',
      realm_access: { roles: ['billing'] },
      groups: ['billing'],
    })
    const auth = toRequestAuth({ principal, claims })
    // ES modules run in strict mode: a write to a frozen object throws
    expect(() => (auth.groupIds as string[]).push('admins')).toThrow(TypeError)
    expect(() => (auth.tenantIds as string[]).push('tenantB')).toThrow(TypeError)
    expect(() => (auth.scopes as string[]).push('write')).toThrow(TypeError)
    const nested = auth.claims.realm_access as { roles: string[] }
    expect(() => nested.roles.push('admins')).toThrow(TypeError)
    expect(() => {
      ;(nested as { extra?: string }).extra = 'x'
    }).toThrow(TypeError)
    expect(() => (auth.claims.groups as string[]).push('admins')).toThrow(TypeError)
    expect(auth.groupIds).toEqual(['billing'])
    // the principal the authenticator made keeps its own arrays (copied, not frozen in place)
    expect(Object.isFrozen(principal.groupIds)).toBe(false)
  })
})

describe('withLookup', () => {
  it('gives an authenticator without lookup one that answers through authenticateRequest', async () => {
    const claims = Object.freeze({ sub: 'svc' })
    const verified: VerifiedToken = { principal: testPrincipal(), claims }
    const asked: unknown[] = []
    const own = {
      authenticateRequest: (req: unknown) => {
        asked.push(req)
        return Promise.resolve(verified)
      },
      realm: 'own',
    } as unknown as Authenticator
    const wrapped = withLookup(own)
    const req = { headers: { authorization: 'Bearer x' } }
    await expect(wrapped.lookup(req)).resolves.toBe(verified)
    expect(asked).toEqual([req])
    expect(wrapped.realm).toBe('own')
    // one that has lookup is used as it is
    const full = { ...own, lookup: () => verified } as unknown as Authenticator
    expect(withLookup(full)).toBe(full)
  })
})

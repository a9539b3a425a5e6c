import { describe, expect, it } from 'vitest'
import { testPrincipal } from '../__tests__/fixtures.js'
import { toRequestAuth } from './auth-source.js'
import type { VerifiedToken } from './authenticator.js'

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
})

import { describe, expect, it } from 'vitest'
import { deriveBridgePassword, passesDefaultPasswordPolicy } from './bridge-password.js'

describe('deriveBridgePassword', () => {
  const secret = 'x'.repeat(40)

  it('is deterministic per (secret, user) and differs across users and secrets', () => {
    expect(deriveBridgePassword(secret, 'appA')).toBe(deriveBridgePassword(secret, 'appA'))
    expect(deriveBridgePassword(secret, 'appA')).not.toBe(deriveBridgePassword(secret, 'appB'))
    expect(deriveBridgePassword(secret, 'appA')).not.toBe(
      deriveBridgePassword(`${secret}y`, 'appA'),
    )
  })

  it('always passes the engine’s default policy, including the user-id rule, for short and long ids', () => {
    const ids = ['a', 'B', '7', 'ab', 'Zz9', 'user1', 'x'.repeat(64)]
    for (let i = 0; i < 500; i++) ids.push(`u${i.toString(36)}`)
    for (const id of ids) {
      const pw = deriveBridgePassword(secret, id)
      expect(passesDefaultPasswordPolicy(pw, id)).toBe(true)
      expect(pw.toLowerCase()).not.toContain(id.toLowerCase())
      expect(pw).toMatch(/^[\x21-\x7e]+$/) // ASCII, no spaces
      expect(pw).not.toContain(':')
    }
  })

  it('the policy check rejects what the engine rejects', () => {
    expect(passesDefaultPasswordPolicy('Aa1!aaaaaa', 'x')).toBe(true)
    expect(passesDefaultPasswordPolicy('Aa1!aaaaa', 'x')).toBe(false) // 9 chars
    expect(passesDefaultPasswordPolicy('aa1!aaaaaa', 'x')).toBe(false) // no upper
    expect(passesDefaultPasswordPolicy('Aa1aaaaaaa', 'x')).toBe(false) // no special
    expect(passesDefaultPasswordPolicy('Aa1!JOHNaaaa', 'john')).toBe(false) // contains the id
  })
})

import { describe, expect, it } from 'vitest'
import {
  createEngineIdMapper,
  createUserIdMapper,
  isMappableAppId,
  MAX_KEPT_ID_LENGTH,
  toEngineId,
  userEngineId,
} from './engine-id.js'

describe('toEngineId', () => {
  it('keeps ids that already match the pattern and are short enough', () => {
    expect(toEngineId('alice')).toBe('alice')
    expect(toEngineId('Tenant42')).toBe('Tenant42')
    expect(toEngineId('a'.repeat(MAX_KEPT_ID_LENGTH))).toBe('a'.repeat(MAX_KEPT_ID_LENGTH))
  })

  it('maps Keycloak UUIDs, Auth0 subjects and e-mails into the pattern, deterministically', () => {
    for (const raw of [
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      'auth0|5f7c8ec7c33c6c004bbafe82',
      'google-oauth2|1234567890',
      'Xq3Pk9acme@clients',
      'alice@example.com',
      '/teams/ops',
      'ünïcødé',
      '',
      'a'.repeat(MAX_KEPT_ID_LENGTH + 1),
      'x'.repeat(5000),
    ]) {
      const id = toEngineId(raw)
      expect(id).toMatch(/^[a-zA-Z0-9]+$/)
      expect(id.length).toBeGreaterThan(MAX_KEPT_ID_LENGTH)
      expect(id.length).toBeLessThanOrEqual(64)
      expect(toEngineId(raw)).toBe(id)
    }
  })

  it('keeps a readable prefix', () => {
    expect(toEngineId('alice@example.com').startsWith('aliceexamplecom')).toBe(true)
  })

  it('does not collide for ids that differ only in removed characters', () => {
    const ids = ['a-b', 'a_b', 'ab-', 'a|b', 'a@b', 'A-b'].map((r) => toEngineId(r))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('never maps an id onto a kept id (hashed ids are longer than any kept id)', () => {
    const kept = toEngineId('abc')
    const hashed = toEngineId('a-bc')
    expect(kept.length).toBeLessThanOrEqual(MAX_KEPT_ID_LENGTH)
    expect(hashed.length).toBeGreaterThan(MAX_KEPT_ID_LENGTH)
    // A raw id that imitates a hashed form is itself hashed, so it cannot take the victim's id.
    expect(toEngineId(hashed)).not.toBe(hashed)
  })

  it('honours a configured pattern', () => {
    expect(toEngineId('a.b', '[a-zA-Z0-9.]+')).toBe('a.b')
    expect(toEngineId('a.b')).not.toBe('a.b')
  })
})

describe('createEngineIdMapper', () => {
  it('maps like toEngineId', () => {
    const map = createEngineIdMapper('[a-zA-Z0-9]+')
    expect(map('auth0|1')).toBe(toEngineId('auth0|1'))
    expect(map('bob')).toBe('bob')
  })

  it('refuses a pattern that cannot hold hashed ids', () => {
    expect(() => createEngineIdMapper('[A-Z]+')).toThrow(/C7AUTH_ENGINE_ID_PATTERN/)
  })
})

describe('identity namespaces (issue 15 item 5)', () => {
  it('puts users in their own namespace per issuer, apart from every app id', () => {
    const iss = 'https://idp.example.com/realms/shared'
    const user = userEngineId(iss, 'globex')
    expect(user).not.toBe(toEngineId('globex'))
    expect(user.length).toBeGreaterThan(MAX_KEPT_ID_LENGTH)
    expect(user).toMatch(/^globex[a-z2-7]{33}$/)
    // an app whose raw id is the user's hashed id, or any hashed app id, is a different id
    expect(toEngineId(user)).not.toBe(user)
    expect(userEngineId(`${iss}2`, 'globex')).not.toBe(user)
    expect(userEngineId(iss, 'globex')).toBe(user) // deterministic
    const map = createUserIdMapper()
    expect(map(iss, 'globex')).toBe(user)
    expect(map(iss, 'globex2')).not.toBe(user)
  })

  it('refuses app ids that could reach the user hash domain', () => {
    expect(isMappableAppId('globex')).toBe(true)
    expect(isMappableAppId('')).toBe(false)
    expect(isMappableAppId('\u0000c7auth-user\u0000iss\u0000globex')).toBe(false)
  })
})

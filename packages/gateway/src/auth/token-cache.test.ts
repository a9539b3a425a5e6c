import { describe, expect, it } from 'vitest'
import type { Principal } from '@c7auth/core'
import type { VerifiedToken } from './authenticator.js'
import { TokenCache } from './token-cache.js'

const NOW = 1_900_000_000

/** A verified token of `userId` (the cache stores the principal with its claims). */
function principal(userId: string, expiresAt = NOW + 3600): VerifiedToken {
  const p: Principal = {
    kind: 'app',
    userId,
    groupIds: [],
    tenantIds: ['acme'],
    clientId: userId,
    issuer: 'https://idp.example.com',
    subject: userId,
    scopes: [],
    expiresAt,
    admin: false,
  }
  return { principal: p, claims: { sub: userId, exp: expiresAt } }
}

describe('TokenCache (Map keyed by the token string)', () => {
  it('serves only the exact token string that was cached', () => {
    const c = new TokenCache({ maxKeys: 10, maxTtlSeconds: 300 })
    const p = principal('a')
    c.set('header.payload.sig', p, NOW)
    expect(c.get('header.payload.sig', NOW)).toBe(p)
    // Same prefix, other signature; a prefix; a longer string: all misses.
    expect(c.get('header.payload.sjg', NOW)).toBeUndefined()
    expect(c.get('header.payload.si', NOW)).toBeUndefined()
    expect(c.get('header.payload.sig=', NOW)).toBeUndefined()
    expect(c.stats).toMatchObject({ size: 1, hits: 1, misses: 3 })
  })

  it('ends an entry at exp, at maxTtlSeconds and at notAfter, whichever is first, and drops it', () => {
    const c = new TokenCache({ maxKeys: 10, maxTtlSeconds: 300 })
    c.set('exp', principal('a', NOW + 10), NOW)
    c.set('ttl', principal('b'), NOW)
    c.set('age', principal('c'), NOW, NOW + 5)
    expect(c.get('age', NOW + 4)).toBeDefined()
    expect(c.get('age', NOW + 5)).toBeUndefined()
    expect(c.get('exp', NOW + 9)).toBeDefined()
    expect(c.get('exp', NOW + 10)).toBeUndefined()
    expect(c.get('ttl', NOW + 299)).toBeDefined()
    expect(c.get('ttl', NOW + 300)).toBeUndefined()
    expect(c.stats.size).toBe(0)
    expect(c.stats.bytes).toBe(0)
    c.set('past', principal('d', NOW - 1), NOW)
    expect(c.stats.size).toBe(0)
  })

  it('holds at most maxKeys entries, evicting the oldest first', () => {
    const c = new TokenCache({ maxKeys: 3, maxTtlSeconds: 300 })
    for (const t of ['t1', 't2', 't3', 't4']) c.set(t, principal(t), NOW)
    expect(c.stats.size).toBe(3)
    expect(c.get('t1', NOW)).toBeUndefined()
    expect(c.get('t4', NOW)).toBeDefined()
  })

  it('keeps oldest-first order through replacements, lookups of ended entries and turnover', () => {
    const c = new TokenCache({ maxKeys: 3, maxTtlSeconds: 300 })
    c.set('t1', principal('t1'), NOW)
    c.set('t2', principal('t2', NOW + 10), NOW)
    c.set('t3', principal('t3'), NOW)
    // Replacing t1 makes it the newest: t2 is now the oldest.
    c.set('t1', principal('t1'), NOW)
    // t2 ended: dropped by its lookup from the middle of the order; t3 is the oldest now.
    expect(c.get('t2', NOW + 10)).toBeUndefined()
    c.set('t4', principal('t4'), NOW)
    expect(c.stats.size).toBe(3)
    c.set('t5', principal('t5'), NOW)
    expect(c.get('t3', NOW)).toBeUndefined()
    expect(c.get('t1', NOW)).toBeDefined()
    c.set('t6', principal('t6'), NOW)
    expect(c.get('t1', NOW)).toBeUndefined()
    // A cache turning over many times the size of its bound (more distinct tokens than
    // maxKeys) keeps exactly the newest maxKeys entries.
    for (let i = 0; i < 1_000; i++) c.set(`x${i}`, principal(`x${i}`), NOW)
    expect(c.stats.size).toBe(3)
    const kept = ['x997', 'x998', 'x999'].filter((t) => c.get(t, NOW) !== undefined)
    expect(kept).toHaveLength(3)
    expect(c.get('x996', NOW)).toBeUndefined()
    // Emptied entry by entry, then refilled: the order starts over cleanly.
    for (const t of ['x997', 'x998', 'x999']) c.set(t, principal(t, NOW + 1), NOW)
    for (const t of ['x997', 'x998', 'x999']) expect(c.get(t, NOW + 1)).toBeUndefined()
    expect(c.stats).toMatchObject({ size: 0, bytes: 0 })
    for (const t of ['y1', 'y2', 'y3', 'y4']) c.set(t, principal(t), NOW)
    expect(c.get('y1', NOW)).toBeUndefined()
    expect(c.get('y4', NOW)).toBeDefined()
  })

  it('holds at most maxBytes of token text, its claims and the per-entry charge', () => {
    const big = (i: number) => `${i}`.padEnd(16_000, 'x')
    const c = new TokenCache({ maxKeys: 10_000, maxTtlSeconds: 300, maxBytes: 100_000 })
    let inserted = 0
    for (let i = 0; i < 50; i++) {
      c.set(big(i), principal(`u${i}`), NOW)
      inserted++
      expect(c.stats.bytes).toBeLessThanOrEqual(100_000)
    }
    expect(inserted).toBe(50)
    // 2 × 16,000 (the token and its decoded claims) + 1,024 bytes an entry: 3 fit in 100,000.
    expect(c.stats.size).toBe(3)
    expect(c.get(big(49), NOW)).toBeDefined()
    expect(c.get(big(0), NOW)).toBeUndefined()
    // An entry that alone exceeds the budget is not cached.
    c.set('y'.repeat(200_000), principal('huge'), NOW)
    expect(c.stats.size).toBe(3)
  })

  it('replacing a token keeps the byte count exact', () => {
    const c = new TokenCache({ maxKeys: 10, maxTtlSeconds: 300 })
    c.set('tok', principal('a'), NOW)
    const once = c.stats.bytes
    c.set('tok', principal('a'), NOW)
    expect(c.stats).toMatchObject({ size: 1, bytes: once })
    c.close()
    expect(c.stats).toMatchObject({ size: 0, bytes: 0 })
  })
})

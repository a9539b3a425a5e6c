import { describe, expect, it } from 'vitest'
import { newRequestId, requestIdOf } from './request-id.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('request ids', () => {
  it('makes distinct version-4 UUIDs, across refills of its random pool', () => {
    const ids = Array.from({ length: 2_000 }, () => newRequestId())
    expect(ids.filter((id) => UUID_V4.test(id))).toHaveLength(ids.length)
    expect(new Set(ids).size).toBe(ids.length)
    // Every random position takes many values (a byte written to the wrong place, or a pool
    // that is not refilled, would leave a position constant or repeat ids).
    const fixed = new Set([8, 13, 14, 18, 23])
    const narrow: number[] = []
    for (let pos = 0; pos < 36; pos++) {
      if (fixed.has(pos)) continue
      const seen = new Set(ids.map((id) => id[pos]))
      if (seen.size < (pos === 19 ? 4 : 16)) narrow.push(pos)
    }
    expect(narrow).toEqual([])
  })

  it("keeps a well-formed caller's x-request-id and replaces anything else", () => {
    expect(requestIdOf({ headers: { 'x-request-id': 'abc-123:4.5_6' } })).toBe('abc-123:4.5_6')
    for (const bad of ['', 'a b', 'x'.repeat(129), 'ä', ['a', 'b']]) {
      expect(requestIdOf({ headers: { 'x-request-id': bad } })).toMatch(UUID_V4)
    }
    expect(requestIdOf({ headers: {} })).toMatch(UUID_V4)
    expect.assertions(7)
  })
})

import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH, assertJsonDepth, assertValueDepth } from './json-limits.js'

describe('JSON depth bound', () => {
  it('counts nesting outside strings only and agrees with the parsed value walk', () => {
    const at = (n: number) => '['.repeat(n) + ']'.repeat(n)
    expect(() => assertJsonDepth(at(MAX_JSON_DEPTH))).not.toThrow()
    expect(() => assertJsonDepth(at(MAX_JSON_DEPTH + 1))).toThrow(/deeper than 64/)
    expect(() => assertValueDepth(JSON.parse(at(MAX_JSON_DEPTH)))).not.toThrow()
    expect(() => assertValueDepth(JSON.parse(at(MAX_JSON_DEPTH + 1)))).toThrow(/deeper/)
    expect(() => assertJsonDepth(`["${'['.repeat(1000)}\\"${'{'.repeat(1000)}"]`)).not.toThrow()
    expect(() => assertJsonDepth('{"a":"\\\\"' + ',"b":' + at(MAX_JSON_DEPTH) + '}')).toThrow()
  })

  it('walks a 1,000,000-deep parsed value without recursion', () => {
    let v: unknown = 1
    for (let i = 0; i < 1_000_000; i++) v = [v]
    expect(() => assertValueDepth(v)).toThrow(
      expect.objectContaining({ code: 'C7AUTH_BODY_INVALID' }),
    )
  })
})

import { describe, expect, it } from 'vitest'
import { encodePath, normalizePath } from './normalize-path.js'
import { codeOf } from './__tests__/support.js'

describe('normalizePath', () => {
  it('decodes each segment once', () => {
    expect(normalizePath('/task/a%20b/variables/%C3%A9t%C3%A9')).toEqual({
      engine: undefined,
      path: '/task/a b/variables/été',
      segments: ['task', 'a b', 'variables', 'été'],
    })
  })

  it('splits off a configured /engine/{name} prefix and keeps /engine itself', () => {
    expect(normalizePath('/engine/default/user/bob')).toEqual({
      engine: 'default',
      path: '/user/bob',
      segments: ['user', 'bob'],
    })
    expect(normalizePath('/engine/other/task', ['default', 'other']).engine).toBe('other')
    expect(normalizePath('/engine')).toEqual({
      engine: undefined,
      path: '/engine',
      segments: ['engine'],
    })
  })

  it('refuses engine names that are not configured', () => {
    expect(codeOf(() => normalizePath('/engine/other/task'))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => normalizePath('/engine/Default/task'))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => normalizePath('/engine/%64efault/task'))).toBeUndefined()
  })

  it.each([
    ['/task/a%2Fb', 'encoded slash'],
    ['/task/a%2fb', 'encoded slash, lower case'],
    ['/task/a%5Cb', 'encoded backslash'],
    ['/task/..', 'dot-dot'],
    ['/task/.', 'dot'],
    ['/task/%2e%2e/user', 'encoded dot-dot'],
    ['/task/%2E', 'encoded dot'],
    ['/engine/default/../user', 'dot-dot after the engine prefix'],
    ['/task//count', 'empty segment'],
    ['//task', 'leading empty segment'],
    ['/task/', 'trailing slash'],
    ['/task;jsessionid=1', 'matrix parameter'],
    ['/task/abc;x=y/complete', 'matrix parameter mid-path'],
    ['/task/%3Bx', 'encoded semicolon'],
    ['/task/%252F', 'double-encoded slash'],
    ['/task/%252e%252e', 'double-encoded dots'],
    ['/task/%00', 'NUL'],
    ['/task/%0A', 'newline'],
    ['/task/%7F', 'DEL'],
    ['/task/%E2%80%8B', 'zero-width space'],
    ['/task/%E2%80%AE', 'bidi override'],
    ['/task/%EF%BC%8E%EF%BC%8E', 'full-width dots (NFKC folds to ..)'],
    ['/task/%EF%BC%8F', 'full-width solidus'],
    ['/task/%C0%AE%C0%AE', 'overlong UTF-8 dots'],
    ['/task/%zz', 'malformed escape'],
    ['/task/%E2%82', 'truncated UTF-8'],
    ['/task/a b', 'raw space'],
    ['/task/é', 'raw non-ASCII'],
    ['/task/a\\b', 'raw backslash'],
    ['/task?x=1', 'query in path'],
    ['/task#frag', 'fragment'],
    ['task', 'relative path'],
    ['', 'empty path'],
  ])('refuses %s (%s)', (raw) => {
    expect(codeOf(() => normalizePath(raw))).toBe('C7AUTH_PATH_INVALID')
  })

  it('accepts ordinary ids and unreserved characters', () => {
    expect(normalizePath('/process-definition/invoice:1:8a7b-_.~').segments[1]).toBe(
      'invoice:1:8a7b-_.~',
    )
    expect(normalizePath('/').segments).toEqual([])
  })

  it('re-encodes for upstream so a decoded space or colon survives the hop', () => {
    const n = normalizePath('/engine/default/task/a%20b')
    expect(encodePath(n.engine, n.segments)).toBe('/engine/default/task/a%20b')
    expect(encodePath(undefined, ['process-definition', 'inv:1:x'])).toBe(
      '/process-definition/inv%3A1%3Ax',
    )
  })
})

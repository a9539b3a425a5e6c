import { describe, expect, it } from 'vitest'
import { downstreamResponseHeaders, upstreamRequestHeaders } from './http-headers.js'

const IDENTITY: ReadonlySet<string> = new Set(['context-user-id'])

describe('upstreamRequestHeaders', () => {
  it('keeps end-to-end headers, drops credentials, identity, hop-by-hop and Connection-named ones', () => {
    const out = upstreamRequestHeaders(
      {
        accept: 'application/json',
        authorization: 'Bearer x',
        cookie: 'a=b',
        'context-user-id': 'admin',
        connection: 'keep-alive, x-secret',
        'x-secret': 'hop',
        'x-trace': ['a', 'b'],
        'content-type': 'application/json',
      },
      IDENTITY,
    )
    expect(out).toEqual({
      accept: 'application/json',
      'x-trace': 'a, b',
      'content-type': 'application/json',
    })
  })

  it('steers Accept away from HAL', () => {
    const out = upstreamRequestHeaders({ accept: 'application/hal+json, text/plain' }, IDENTITY)
    expect(out.accept).toBe('text/plain')
    expect(upstreamRequestHeaders({ accept: 'application/hal+json' }, IDENTITY).accept).toBe(
      'application/json',
    )
  })

  it('forwards own keys only, never an enumerable property of the prototype', () => {
    const proto = { 'x-inherited': 'from the prototype' }
    const incoming = Object.assign(Object.create(proto) as Record<string, string>, {
      accept: 'application/json',
    })
    expect(upstreamRequestHeaders(incoming, IDENTITY)).toEqual({ accept: 'application/json' })
  })
})

describe('downstreamResponseHeaders', () => {
  it('passes everything but hop-by-hop, Connection-named headers and session cookies', () => {
    const proto = { 'x-inherited': 'from the prototype' }
    const upstream = Object.assign(Object.create(proto) as Record<string, string | string[]>, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      connection: 'x-hop',
      'x-hop': '1',
      'set-cookie': ['JSESSIONID=1'],
      vary: ['accept', 'origin'],
    })
    expect(downstreamResponseHeaders(upstream)).toEqual({
      'content-type': 'application/json',
      vary: ['accept', 'origin'],
    })
  })
})

import { describe, expect, it } from 'vitest'
import { HttpAuthError, UpstreamError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { assertScopes, assertTenant, toErrorResponse } from './http-error.js'

const principal: Principal = {
  kind: 'app',
  userId: 'acme',
  groupIds: [],
  tenantIds: ['acme'],
  clientId: 'acme',
  issuer: 'https://idp.example.com',
  subject: 'acme',
  scopes: ['engine:read'],
  expiresAt: 2_000_000_000,
  admin: false,
}

describe('toErrorResponse', () => {
  it('renders an auth error as a Camunda-shaped body with its challenge', () => {
    const r = toErrorResponse(
      new HttpAuthError('C7AUTH_TOKEN_EXPIRED', { realm: 'r', detail: 'exp passed' }),
    )
    expect(r.status).toBe(401)
    expect(r.body).toEqual({
      type: 'HttpAuthError',
      message: 'The access token has expired.',
      code: 'C7AUTH_TOKEN_EXPIRED',
    })
    expect(r.headers['www-authenticate']).toBe(
      'Bearer realm="r", error="invalid_token", error_description="The access token has expired."',
    )
    expect(JSON.stringify(r)).not.toContain('exp passed')
  })

  it('sets one header set on every refusal: exact JSON type, no-store, length, request id', () => {
    const r = toErrorResponse(
      new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm: 'r' }),
      undefined,
      'rid-1',
    )
    expect(r.headers).toEqual({
      'www-authenticate': 'Bearer realm="r"',
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(r.text)),
      'x-request-id': 'rid-1',
    })
    expect(JSON.parse(r.text)).toEqual(r.body)
    // Without an id no header is invented here; the HTTP entry points always pass one.
    expect(
      toErrorResponse(new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE')).headers,
    ).not.toHaveProperty('x-request-id')
  })

  it('renders a JWKS outage as 503 with Retry-After', () => {
    const r = toErrorResponse(
      new UpstreamError('C7AUTH_JWKS_UNAVAILABLE', {
        cause: new Error('connect ECONNREFUSED 10.1.2.3:443'),
      }),
    )
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    expect(JSON.stringify(r)).not.toContain('10.1.2.3')
  })

  it('renders unknown errors as a generic 500 and logs no message', () => {
    const logged: object[] = []
    const logger = { warn: (o: object) => logged.push(o), error: (o: object) => logged.push(o) }
    const r = toErrorResponse(new Error('secret path /etc/x'), logger)
    expect(r).toMatchObject({
      status: 500,
      body: { code: 'C7AUTH_INTERNAL', message: 'Internal error.' },
    })
    expect(JSON.stringify([r, logged])).not.toContain('/etc/x')
    expect(logged).toEqual([{ code: 'C7AUTH_INTERNAL', detail: undefined, cause: 'Error' }])
  })
})

describe('guards', () => {
  it('assertScopes: 403 insufficient_scope naming the required scopes', () => {
    expect(assertScopes(principal, ['engine:read'])).toBe(principal)
    try {
      assertScopes(principal, ['engine:read', 'engine:admin'], 'r')
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({ code: 'C7AUTH_SCOPE_INSUFFICIENT', status: 403 })
      expect((err as HttpAuthError).headers['www-authenticate']).toContain(
        'scope="engine:read engine:admin"',
      )
    }
    expect(() => assertScopes(undefined, [])).toThrow(
      expect.objectContaining({ code: 'C7AUTH_TOKEN_MISSING' }),
    )
  })

  it('assertTenant: membership, or any tenant when none is named', () => {
    expect(assertTenant(principal, 'acme')).toBe(principal)
    expect(assertTenant(principal, undefined)).toBe(principal)
    expect(() => assertTenant(principal, 'globex')).toThrow(
      expect.objectContaining({ code: 'C7AUTH_TENANT_FORBIDDEN', status: 403 }),
    )
    expect(() => assertTenant({ ...principal, tenantIds: [], admin: true }, undefined)).toThrow(
      expect.objectContaining({ code: 'C7AUTH_TENANT_FORBIDDEN' }),
    )
  })
})

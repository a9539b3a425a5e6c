import { describe, expect, it } from 'vitest'
import { C7AuthError, ConfigError, HttpAuthError, isC7AuthError } from './errors.js'

describe('errors', () => {
  it('gives a missing token a challenge without an error code (RFC 6750 §3.1)', () => {
    const err = new HttpAuthError('C7AUTH_TOKEN_MISSING', { realm: 'engine' })
    expect(err.status).toBe(401)
    expect(err.headers['www-authenticate']).toBe('Bearer realm="engine"')
  })

  it('gives a bad token invalid_token and a missing scope insufficient_scope', () => {
    expect(new HttpAuthError('C7AUTH_TOKEN_EXPIRED').headers['www-authenticate']).toMatch(
      /^Bearer realm="c7auth", error="invalid_token", error_description="[^"]+"$/,
    )
    const forbidden = new HttpAuthError('C7AUTH_SCOPE_INSUFFICIENT', { scope: 'engine:write' })
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers['www-authenticate']).toContain('error="insufficient_scope"')
    expect(forbidden.headers['www-authenticate']).toContain('scope="engine:write"')
  })

  it('renders a Camunda-shaped body and hides 5xx messages from clients', () => {
    const err = new C7AuthError('C7AUTH_UPSTREAM_UNAVAILABLE', { detail: 'ECONNREFUSED' })
    expect(err.toJSON()).toEqual({
      type: 'C7AuthError',
      message: 'The process engine is unavailable.',
      code: 'C7AUTH_UPSTREAM_UNAVAILABLE',
    })
    expect(err.expose).toBe(false)
  })

  it('recognises errors across copies by brand', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('c7auth.error')]: true })
    expect(isC7AuthError(foreign)).toBe(true)
    expect(foreign instanceof C7AuthError).toBe(true)
    expect(new Error('x') instanceof C7AuthError).toBe(false)
    expect(new ConfigError(['A']) instanceof ConfigError).toBe(true)
  })
})

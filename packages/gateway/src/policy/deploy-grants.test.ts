import { describe, expect, it } from 'vitest'
import type { Principal } from '@c7auth/core'
import { createPolicy } from './policy.js'
import type { Decision } from './types.js'
import { principalOf, codeOf } from './__tests__/support.js'

const withScopes = (p: Principal, scopes: string[], groupIds: string[] = []): Principal => ({
  ...p,
  scopes,
  groupIds,
})

describe('deploy grants (T32)', () => {
  const policy = createPolicy({
    tenantSettings: {
      t1: { deployers: ['scope:engine:deploy', 'group:deployers'] },
      t2: { deployers: ['client:ops'], deployProfile: 'trusted' },
      t3: {},
    },
  })
  const decide = (method: string, path: string, principal: Principal): Decision =>
    policy.decide({ method, path, query: new URLSearchParams(), principal })

  it('refuses deployment create without a configured grant, before reading the body', () => {
    expect(codeOf(() => decide('POST', '/deployment/create', principalOf(['t1'])))).toBe(
      'C7AUTH_DEPLOY_FORBIDDEN',
    )
    expect(codeOf(() => decide('POST', '/deployment/create', principalOf(['t3'])))).toBe(
      'C7AUTH_DEPLOY_FORBIDDEN',
    )
    // a tenant the policy has no settings for: nobody deploys (fail closed)
    expect(codeOf(() => decide('POST', '/deployment/create', principalOf(['t9'])))).toBe(
      'C7AUTH_DEPLOY_FORBIDDEN',
    )
    expect(
      codeOf(() =>
        createPolicy().decide({
          method: 'POST',
          path: '/deployment/create',
          query: new URLSearchParams(),
          principal: principalOf(['t1']),
        }),
      ),
    ).toBe('C7AUTH_DEPLOY_FORBIDDEN')
  })

  it('accepts a scope, a group or a client entry, and hands the tenant profile to the scanner', () => {
    for (const p of [
      withScopes(principalOf(['t1']), ['engine:read', 'engine:deploy']),
      withScopes(principalOf(['t1']), [], ['deployers']),
    ]) {
      const d = decide('POST', '/deployment/create', p)
      if (d.action !== 'forward' || d.body.kind !== 'multipart')
        throw new Error('expected multipart')
      expect(d.body.resolveTenant([])).toBe('t1')
      expect(d.body.profileOf?.('t1')).toBe('strict')
    }
    const ops = principalOf(['t2'], { clientId: 'ops', kind: 'app' })
    // a user who logged in through the ops client is not the ops app
    expect(
      codeOf(() => decide('POST', '/deployment/create', principalOf(['t2'], { clientId: 'ops' }))),
    ).toBe('C7AUTH_DEPLOY_FORBIDDEN')
    const d = decide('POST', '/deployment/create', ops)
    if (d.action !== 'forward' || d.body.kind !== 'multipart') throw new Error('expected multipart')
    expect(d.body.profileOf?.('t2')).toBe('trusted')
    // a scope named like a group entry is not a group
    expect(
      codeOf(() =>
        decide('POST', '/deployment/create', withScopes(principalOf(['t1']), ['deployers'])),
      ),
    ).toBe('C7AUTH_DEPLOY_FORBIDDEN')
  })

  it('checks the grant of the tenant a multi-tenant caller names in the body', () => {
    const p = withScopes(principalOf(['t1', 't3']), ['engine:deploy'])
    const d = decide('POST', '/deployment/create', p)
    if (d.action !== 'forward' || d.body.kind !== 'multipart') throw new Error('expected multipart')
    const plan = d.body
    expect(plan.resolveTenant(['t1'])).toBe('t1')
    expect(codeOf(() => plan.resolveTenant(['t3']))).toBe('C7AUTH_DEPLOY_FORBIDDEN')
  })

  it('allows redeploy only with a grant in every tenant of the caller, under the trusted profile', () => {
    const path = '/deployment/d1/redeploy'
    expect(codeOf(() => decide('POST', path, principalOf(['t2'])))).toBe('C7AUTH_DEPLOY_FORBIDDEN')
    expect(decide('POST', path, principalOf(['t2'], { clientId: 'ops', kind: 'app' })).action).toBe(
      'forward',
    )
    // strict: the gateway would not scan the repeated resources
    expect(
      codeOf(() => decide('POST', path, withScopes(principalOf(['t1']), ['engine:deploy']))),
    ).toBe('C7AUTH_DEPLOY_FORBIDDEN')
  })
})

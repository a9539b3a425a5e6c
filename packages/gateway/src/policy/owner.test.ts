import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  OWNER_RESOURCES,
  OwnerCache,
  checkOwner,
  engineNotFound,
  ownerAbsent,
  ownerForbidden,
  ownerLookup,
} from './owner.js'
import type { OwnerResolver } from './owner.js'
import type { OwnerResource } from './types.js'
import { principalOf } from './__tests__/support.js'

const one = principalOf(['t1'])

describe('checkOwner', () => {
  it('allows own tenants and hides foreign or missing ids behind the engine 404', () => {
    expect(checkOwner({ tenantId: 't1' }, one, { shared: 'hide' })).toBe('allow')
    expect(checkOwner({ tenantId: 't2' }, one, { shared: 'allow' })).toBe('notFound')
    expect(checkOwner(undefined, one, { shared: 'allow' })).toBe('notFound')
  })

  it('treats NULL-tenant owners by the rule: allow, forbid (403) or hide (404)', () => {
    expect(checkOwner({ tenantId: null }, one, { shared: 'allow' })).toBe('allow')
    expect(checkOwner({ tenantId: null }, one, { shared: 'forbid' })).toBe('forbidden')
    expect(checkOwner({ tenantId: null }, one, { shared: 'hide' })).toBe('notFound')
    expect(ownerForbidden().code).toBe('C7AUTH_TENANT_FORBIDDEN')
  })

  it('lets an admin through only with adminBypassesTenantScope', () => {
    const admin = principalOf(['t1'], { admin: true })
    expect(checkOwner({ tenantId: 't2' }, admin, { shared: 'hide' })).toBe('notFound')
    const opts = { adminBypassesTenantScope: true }
    expect(checkOwner({ tenantId: 't2' }, admin, { shared: 'hide' }, opts)).toBe('allow')
    expect(checkOwner({ tenantId: 't2' }, one, { shared: 'hide' }, opts)).toBe('notFound')
  })
})

describe('engine 404 bodies and lookups', () => {
  it('copies engine-rest 7.23 messages', () => {
    expect(engineNotFound('task', 'a1')).toEqual({
      status: 404,
      body: { type: 'InvalidRequestException', message: 'No matching task with id a1', code: null },
    })
    expect(engineNotFound('processDefinition', 'p:1').body.message).toBe(
      'No matching definition with id p:1',
    )
    expect(engineNotFound('processInstance', 'x').body.message).toBe(
      'Process instance with id x does not exist',
    )
    expect(engineNotFound('externalTask', 'e').body).toEqual({
      type: 'RestException',
      message: 'External task with id e does not exist',
      code: null,
    })
    expect(engineNotFound('deployment', 'd').body.message).toBe(
      "Deployment with id 'd' does not exist",
    )
    expect(engineNotFound('variableInstance', 'v').body.message).toBe(
      "Variable instance with Id 'v' does not exist.",
    )
  })

  it('resolves every resource with a GET of its by-id path, id encoded', () => {
    for (const resource of Object.keys(OWNER_RESOURCES) as OwnerResource[]) {
      const l = ownerLookup(resource, 'a b')
      expect(l.method).toBe('GET')
      expect(l.path).toMatch(/^\/[a-z/-]+\/a%20b$/)
    }
    expect(ownerLookup('historicProcessInstance', 'p')).toEqual({
      method: 'GET',
      path: '/history/process-instance/p',
      query: '',
    })
    expect(ownerLookup('variableInstance', 'v').query).toBe('deserializeValue=false')
  })

  it('reads a 404 as absent, and a 400 too for decision requirements definitions (T33)', () => {
    expect(ownerAbsent('task', 404)).toBe(true)
    expect(ownerAbsent('task', 400)).toBe(false)
    expect(ownerAbsent('decisionDefinition', 404)).toBe(true)
    expect(ownerAbsent('decisionRequirementsDefinition', 400)).toBe(true)
    expect(ownerAbsent('decisionRequirementsDefinition', 500)).toBe(false)
    expect(engineNotFound('decisionDefinition', 'd1').body).toEqual({
      type: 'InvalidRequestException',
      message: "no deployed decision definition found with id 'd1': decisionDefinition is null",
      code: 0,
    })
  })
})

describe('OwnerCache', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  function countingResolver(answers: Record<string, string | null>): {
    resolver: OwnerResolver
    calls: string[]
  } {
    const calls: string[] = []
    const resolver: OwnerResolver = async (resource, id) => {
      calls.push(`${resource}:${id}`)
      await new Promise((r) => setTimeout(r, 5))
      return id in answers ? { tenantId: answers[id] ?? null } : undefined
    }
    return { resolver, calls }
  }

  it('resolves once for concurrent checks and caches found owners per engine', async () => {
    const cache = new OwnerCache()
    const { resolver, calls } = countingResolver({ a: 't1', s: null })
    const [x, y] = await Promise.all([
      cache.resolve(undefined, 'task', 'a', resolver),
      cache.resolve(undefined, 'task', 'a', resolver),
    ])
    expect(x).toEqual({ tenantId: 't1' })
    expect(y).toEqual({ tenantId: 't1' })
    expect(await cache.resolve(undefined, 'task', 'a', resolver)).toEqual({ tenantId: 't1' })
    expect(await cache.resolve(undefined, 'task', 's', resolver)).toEqual({ tenantId: null })
    expect(await cache.resolve(undefined, 'task', 's', resolver)).toEqual({ tenantId: null })
    expect(await cache.resolve('other', 'task', 'a', resolver)).toEqual({ tenantId: 't1' })
    expect(calls).toEqual(['task:a', 'task:s', 'task:a'])
  })

  it('does not cache missing ids or failures', async () => {
    const cache = new OwnerCache()
    const { resolver, calls } = countingResolver({})
    expect(await cache.resolve(undefined, 'task', 'm', resolver)).toBeUndefined()
    expect(await cache.resolve(undefined, 'task', 'm', resolver)).toBeUndefined()
    expect(calls).toHaveLength(2)
    let n = 0
    const failing: OwnerResolver = async () => {
      n += 1
      throw new Error('engine down')
    }
    await expect(cache.resolve(undefined, 'task', 'f', failing)).rejects.toThrow('engine down')
    await expect(cache.resolve(undefined, 'task', 'f', failing)).rejects.toThrow('engine down')
    expect(n).toBe(2)
    expect(cache.size).toBe(0)
  })

  it('stays bounded, expires entries and forgets on request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const cache = new OwnerCache({ maxEntries: 3, ttlSeconds: 60 })
    const resolver: OwnerResolver = async (_r, id) => ({ tenantId: `t-${id}` })
    for (const id of ['1', '2', '3', '4', '5']) await cache.resolve(undefined, 'job', id, resolver)
    expect(cache.size).toBeLessThanOrEqual(3)
    cache.forget(undefined, 'job', '5')
    expect(cache.size).toBeLessThanOrEqual(2)
    const { resolver: r2, calls } = countingResolver({ a: 't1' })
    await cache.resolve(undefined, 'task', 'a', r2)
    vi.setSystemTime(Date.now() + 61_000)
    await cache.resolve(undefined, 'task', 'a', r2)
    expect(calls).toEqual(['task:a', 'task:a'])
    cache.clear()
    expect(cache.size).toBe(0)
  })
})

/**
 * `C7AUTH_ENGINE_AUTHORIZATIONS`: the gateway bootstrap grants the default app group what an app
 * needs on an engine with authorization checks on, idempotently, and apps then work through the
 * gateway; without the grants the same engine hides and refuses the definitions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appAuthorizations, userAuthorizations } from '@c7auth/gateway'
import { linearProcessXml } from '@c7auth/testkit'
import { ADMIN_PASSWORD, startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'

const xml = (key: string) =>
  linearProcessXml({
    key,
    steps: [
      { type: 'userTask', id: 'approve' },
      { type: 'externalTask', id: 'charge', topic: 'charge' },
    ],
  })

const shape = (a: { resourceType: number; resourceId: string; permissions: readonly string[] }) =>
  `${a.resourceType}:${a.resourceId}:${[...a.permissions].sort().join(',')}`

describe('engine authorizations bootstrapped from C7AUTH_ENGINE_AUTHORIZATIONS=apps', () => {
  let h: Harness

  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'express',
      engine: { authorizationChecks: true },
      env: { C7AUTH_ENGINE_AUTHORIZATIONS: 'apps' },
    })
  })
  afterAll(async () => h?.close())

  it('loads the mode into config.engine', () => {
    expect(h.config.engine.authorizations).toBe('apps')
  })

  it('creates the grants an app needs for every default app group', () => {
    const expected = appAuthorizations('apps')
    expect(h.report.bootstrap?.authorizations).toEqual({
      created: expected.length,
      updated: 0,
      unchanged: 0,
    })
    const rows = h.engine.inspect.authorizations()
    expect(rows).toHaveLength(expected.length)
    for (const row of rows) {
      expect(row).toMatchObject({ type: 1, groupId: 'apps', userId: null })
    }
    expect(rows.map(shape).sort()).toEqual(expected.map(shape).sort())
    expect(h.report.bootstrap?.groups.created).toContain('apps')
    h.engine.assertNoValidationErrors()
  })

  it('is idempotent: a second start creates nothing and reports every grant unchanged', async () => {
    const before = h.engine.inspect.authorizations()
    const again = await h.gateway.start()
    expect(again.bootstrap?.authorizations).toEqual({
      created: 0,
      updated: 0,
      unchanged: before.length,
    })
    expect(h.engine.inspect.authorizations()).toEqual(before)
  })

  it('extends a grant an operator narrowed, keeping its id', async () => {
    const row = h.engine.inspect.authorizations().find((a) => a.resourceType === 7)!
    const narrowed = await fetch(`${h.engine.url}/authorization/${row.id}`, {
      method: 'PUT',
      headers: {
        authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'),
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        permissions: ['READ'],
        userId: null,
        groupId: 'apps',
        resourceType: 7,
        resourceId: '*',
      }),
    })
    expect(narrowed.status).toBe(204)
    const again = await h.gateway.start()
    expect(again.bootstrap?.authorizations).toMatchObject({ created: 0, updated: 1 })
    const restored = h.engine.inspect.authorizations().find((a) => a.id === row.id)!
    expect(shape(restored)).toBe(shape(row))
    expect(h.engine.inspect.authorizations()).toHaveLength(appAuthorizations('apps').length)
  })

  it('lets an app list and start its definitions through the gateway with checks on', async () => {
    const a = await h.appToken('appA')
    expect((await h.deploy(a, xml('order'), 'order')).status).toBe(200)
    const defs = await h.call(a, 'GET', '/process-definition')
    expect(defs.status).toBe(200)
    expect((defs.json as { key: string; tenantId: string }[]).map((d) => d.key)).toEqual(['order'])
    const started = await h.call(a, 'POST', '/process-definition/key/order/start', {})
    expect(started.status).toBe(200)
    expect(started.json).toMatchObject({ tenantId: 'tenantA' })
    h.engine.assertNoValidationErrors()
  })
})

describe('the same engine without the bootstrap (C7AUTH_ENGINE_AUTHORIZATIONS unset)', () => {
  let h: Harness

  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'express',
      engine: { authorizationChecks: true },
    })
  })
  afterAll(async () => h?.close())

  it('grants nothing, so the app can neither see nor start its definitions', async () => {
    expect(h.config.engine.authorizations).toBe('none')
    expect(h.report.bootstrap?.authorizations).toEqual({ created: 0, updated: 0, unchanged: 0 })
    expect(h.engine.inspect.authorizations()).toEqual([])
    const a = await h.appToken('appA')
    expect((await h.deploy(a, xml('order'), 'order')).status).toBe(200)
    expect(h.engine.inspect.authorizations()).toEqual([])
    const defs = await h.call(a, 'GET', '/process-definition')
    expect(defs.status).toBe(200)
    expect(defs.json).toEqual([])
    const started = await h.call(a, 'POST', '/process-definition/key/order/start', {})
    expect(started.status).toBe(404)
    // The engine itself hid the definition (its query filters on READ) ...
    const starts = h.engine.requests.filter((r) => r.path.endsWith('/start'))
    expect(starts.map((r) => r.status)).toEqual([404])
    expect(h.engine.inspect.tasks()).toEqual([])
    // ... which exists: the admin sees it.
    const asAdmin = await fetch(`${h.engine.url}/process-definition/count`, {
      headers: {
        authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'),
      },
    })
    expect(await asAdmin.json()).toEqual({ count: 1 })
  })
})

describe('C7AUTH_ENGINE_AUTHORIZATIONS=apps+users', () => {
  let h: Harness

  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'express',
      engine: { authorizationChecks: true },
      env: {
        C7AUTH_ENGINE_AUTHORIZATIONS: 'apps+users',
        C7AUTH_GATEWAY_DEFAULT_USER_GROUPS: 'staff',
      },
    })
  })
  afterAll(async () => h?.close())

  it('also grants the default user groups task-worker rights', () => {
    const rows = h.engine.inspect.authorizations()
    const of = (group: string) =>
      rows
        .filter((a) => a.groupId === group)
        .map(shape)
        .sort()
    expect(of('apps')).toEqual(appAuthorizations('apps').map(shape).sort())
    expect(of('staff')).toEqual(userAuthorizations('staff').map(shape).sort())
    expect(rows).toHaveLength(appAuthorizations('apps').length + userAuthorizations('staff').length)
    expect(h.report.bootstrap?.groups.created).toEqual(expect.arrayContaining(['apps', 'staff']))
  })
})

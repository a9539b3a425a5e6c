/**
 * `C7AUTH_ENGINE_AUTHORIZATIONS`: the gateway bootstrap grants the default app group what an app
 * needs on an engine with authorization checks on, idempotently, and apps then work through the
 * gateway; without the grants the same engine hides and refuses the definitions.
 *
 * One engine per file: the blocks run in order on the same engine, so the block without the
 * bootstrap comes first (no grants yet) and each block uses its own process keys and groups.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appAuthorizations, userAuthorizations } from '../../packages/gateway/src/internal.js'
import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { describeEngines, engineAdmin, engineDeploy, engineFetch } from './engines.js'
import type { TestEngine } from './engines.js'

const xml = (key: string) =>
  linearProcessXml({
    key,
    steps: [
      { type: 'userTask', id: 'approve' },
      { type: 'externalTask', id: 'charge', topic: 'charge' },
    ],
  })

interface AuthorizationRow {
  id: string
  type: number
  userId: string | null
  groupId: string | null
  resourceType: number
  resourceId: string
  permissions: readonly string[]
}

const shape = (a: { resourceType: number; resourceId: string; permissions: readonly string[] }) =>
  `${a.resourceType}:${a.resourceId}:${[...a.permissions].sort().join(',')}`

/** The engine's authorization rows of `group` (read as the admin, so it works on every engine). */
async function rowsOf(engine: TestEngine, group: string): Promise<AuthorizationRow[]> {
  const rows = await engineAdmin<AuthorizationRow[]>(
    engine,
    'GET',
    `/authorization?groupIdIn=${group}`,
  )
  // The engine's own default row for a new group (members may READ it) is not the bootstrap's.
  return rows
    .filter((r) => !(r.resourceType === 2 && r.resourceId === r.groupId))
    .map(({ id, type, userId, groupId, resourceType, resourceId, permissions }) => ({
      id,
      type,
      userId,
      groupId,
      resourceType,
      resourceId,
      permissions,
    }))
}

describeEngines('engine authorizations bootstrap (C7AUTH_ENGINE_AUTHORIZATIONS)', (ctx) => {
  describe('the engine without the bootstrap (C7AUTH_ENGINE_AUTHORIZATIONS=none)', () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness({
        mode: 'bridge',
        framework: 'express',
        engine: { authorizationChecks: true },
        env: { C7AUTH_ENGINE_AUTHORIZATIONS: 'none' },
        testEngine: ctx.engine,
      })
    })
    afterAll(async () => h?.close())

    it('grants nothing, so the app can neither deploy, see nor start definitions', async () => {
      expect(h.config.engine.authorizations).toBe('none')
      expect(h.report.bootstrap?.authorizations).toEqual({ created: 0, updated: 0, unchanged: 0 })
      expect(await rowsOf(ctx.engine, 'apps')).toEqual([])
      const a = await h.appToken('appA')
      // The engine checks CREATE on Deployment: no grant, no deployment.
      const deployed = await h.deploy(a, xml('hidden'), 'hidden')
      expect(deployed.status).toBe(403)
      expect(deployed.json).toMatchObject({ type: 'AuthorizationException' })
      await engineDeploy(ctx.engine, xml('hidden'), { name: 'hidden', tenantId: 'tenantA' })
      expect(await rowsOf(ctx.engine, 'apps')).toEqual([])
      const defs = await h.call(a, 'GET', '/process-definition')
      expect(defs.status).toBe(200)
      expect(defs.json).toEqual([])
      const started = await h.call(a, 'POST', '/process-definition/key/hidden/start', {})
      // The engine itself hid the definition (its query filters on READ) ...
      expect(started.status).toBe(404)
      if (h.simulator) {
        const starts = h.simulator.requests.filter((r) => r.path.endsWith('/start'))
        expect(starts.map((r) => r.status)).toEqual([404])
      }
      const tasks = await engineAdmin<unknown[]>(
        ctx.engine,
        'GET',
        '/task?processDefinitionKey=hidden',
      )
      expect(tasks).toEqual([])
      // ... which exists: the admin sees it.
      const asAdmin = await engineFetch(ctx.engine, 'GET', '/process-definition/count?key=hidden')
      expect(asAdmin.json).toEqual({ count: 1 })
    })
  })

  describe('C7AUTH_ENGINE_AUTHORIZATIONS=apps', () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness({
        mode: 'bridge',
        framework: 'express',
        engine: { authorizationChecks: true },
        env: { C7AUTH_ENGINE_AUTHORIZATIONS: 'apps' },
        testEngine: ctx.engine,
      })
    })
    afterAll(async () => h?.close())

    it('loads the mode into config.engine', () => {
      expect(h.config.engine.authorizations).toBe('apps')
    })

    it('creates the grants an app needs for every default app group', async () => {
      const expected = appAuthorizations('apps')
      expect(h.report.bootstrap?.authorizations).toEqual({
        created: expected.length,
        updated: 0,
        unchanged: 0,
      })
      const rows = await rowsOf(ctx.engine, 'apps')
      expect(rows).toHaveLength(expected.length)
      for (const row of rows) {
        expect(row).toMatchObject({ type: 1, groupId: 'apps', userId: null })
      }
      expect(rows.map(shape).sort()).toEqual(expected.map(shape).sort())
      h.simulator?.assertNoValidationErrors()
    })

    it('is idempotent: a second start creates nothing and reports every grant unchanged', async () => {
      const before = await rowsOf(ctx.engine, 'apps')
      const again = await h.gateway.start()
      expect(again.bootstrap?.authorizations).toEqual({
        created: 0,
        updated: 0,
        unchanged: before.length,
      })
      expect(await rowsOf(ctx.engine, 'apps')).toEqual(before)
    })

    it('extends a grant an operator narrowed, keeping its id', async () => {
      const row = (await rowsOf(ctx.engine, 'apps')).find((a) => a.resourceType === 7)!
      const narrowed = await engineFetch(ctx.engine, 'PUT', `/authorization/${row.id}`, {
        permissions: ['READ'],
        userId: null,
        groupId: 'apps',
        resourceType: 7,
        resourceId: '*',
      })
      expect(narrowed.status).toBe(204)
      const again = await h.gateway.start()
      expect(again.bootstrap?.authorizations).toMatchObject({ created: 0, updated: 1 })
      const rows = await rowsOf(ctx.engine, 'apps')
      const restored = rows.find((a) => a.id === row.id)!
      expect(shape(restored)).toBe(shape(row))
      expect(rows).toHaveLength(appAuthorizations('apps').length)
    })

    it('lets an app deploy, list and start its definitions through the gateway with checks on', async () => {
      const a = await h.appToken('appA')
      expect((await h.deploy(a, xml('order'), 'order')).status).toBe(200)
      const defs = await h.call(a, 'GET', '/process-definition?key=order')
      expect(defs.status).toBe(200)
      expect((defs.json as { key: string; tenantId: string }[]).map((d) => d.key)).toEqual([
        'order',
      ])
      const started = await h.call(a, 'POST', '/process-definition/key/order/start', {})
      expect(started.status).toBe(200)
      expect(started.json).toMatchObject({ tenantId: 'tenantA' })
      h.simulator?.assertNoValidationErrors()
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
        testEngine: ctx.engine,
      })
    })
    afterAll(async () => h?.close())

    it('also grants the default user groups task-worker rights', async () => {
      expect((await rowsOf(ctx.engine, 'apps')).map(shape).sort()).toEqual(
        appAuthorizations('apps').map(shape).sort(),
      )
      expect((await rowsOf(ctx.engine, 'staff')).map(shape).sort()).toEqual(
        userAuthorizations('staff').map(shape).sort(),
      )
      // the app grants were there already (previous block); the user grants are new
      expect(h.report.bootstrap?.authorizations).toEqual({
        created: userAuthorizations('staff').length,
        updated: 0,
        unchanged: appAuthorizations('apps').length,
      })
      expect(h.report.bootstrap?.groups.created).toEqual(expect.arrayContaining(['staff']))
    })
  })
})

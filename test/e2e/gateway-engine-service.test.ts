import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES, engineNotFound, ownerLookup } from '../../packages/gateway/src/internal.js'
import type { RouteRule } from '../../packages/gateway/src/internal.js'
import { linearProcessXml } from '@c7auth/testkit'
import { describeEngines, engineAdmin, engineFetch } from './engines.js'
import { SERVICE_USER, startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { CHECKED_PER_ROUTE, seedTenantA } from './tenant-a-objects.js'
import type { SweptOwnerResource, TenantAObjects } from './tenant-a-objects.js'
import { snapshotOfA } from './tenant-snapshot.js'

/**
 * Answers that mean "the engine could not answer" (no such operation, or no engine) — never a
 * route's decision, on any engine: a route answered so fails the sweep.
 */
const UNDECIDED = new Set([405, 501, 502, 503, 504])

/**
 * Forwarded routes whose rows tenant A has (seeded) and tenant B sees none of, with the engine's
 * answer to B on every engine: the lists and counts answer, B's `order` has no rendered start
 * form (the engine's 404), its statistics are listed and its start form is submitted.
 */
const EXPECTED_FORWARDED: ReadonlyMap<string, number> = new Map([
  ['GET /event-subscription', 200],
  ['GET /event-subscription/count', 200],
  ['GET /history/identity-link-log', 200],
  ['GET /history/identity-link-log/count', 200],
  ['GET /process-definition/key/{key}/rendered-form', 404],
  ['GET /process-definition/key/{key}/statistics', 200],
  ['POST /process-definition/key/{key}/submit-form', 200],
])

/**
 * Every classified operation is tried by tenant B's app against tenant A's objects — a real one of
 * every kind — on the simulator and the real engines (one engine per file, both modes on it).
 * Service mode: the engine sees one technical admin account, so it enforces nothing and the
 * gateway's route table is the only enforcement. Bridge mode: B's own engine account, so the engine
 * checks tenants too; the gateway's decisions must be the same.
 */
describeEngines('isolation over the whole route table', (ctx) => {
  describe.each(['service', 'bridge'] as const)('%s mode', (mode) => {
    let h: Harness
    let a: string
    let b: string
    let seeded: TenantAObjects

    beforeAll(async () => {
      // service mode: the harness's technical account, never the admin (on every engine)
      h = ctx.isSimulator
        ? await startHarness({ mode, framework: 'express' })
        : await startHarness({ mode, framework: 'express', testEngine: ctx.engine })
      a = await h.appToken('appA')
      b = await h.appToken('appB')
      seeded = await seedTenantA(h, a, b)
    }, 120_000)
    afterAll(async () => h?.close())

    function concrete(route: RouteRule): string {
      const ownerId =
        route.rule.kind === 'ownerCheck'
          ? (seeded.ids[route.rule.resource as SweptOwnerResource] ?? 'unknownid1')
          : 'x1'
      return route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
        switch (name) {
          case 'id':
            return encodeURIComponent(ownerId)
          case 'key':
            return 'order'
          case 'tenant-id':
            return 'tenantA'
          case 'varName':
            return 'v1'
          default:
            return 'x1'
        }
      })
    }

    /** A valid body for the operations whose decision needs one. */
    function bodyFor(route: RouteRule): unknown {
      if (route.path === '/external-task/fetchAndLock') {
        return {
          workerId: 'sweep-worker',
          maxTasks: 5,
          topics: [{ topicName: 'charge', lockDuration: 10_000 }],
        }
      }
      return route.method === 'POST' || route.method === 'PUT' ? {} : undefined
    }

    it('tenant B can neither read nor change tenant A’s data through any classified operation', async () => {
      const { ids } = seeded
      const swept = ROUTES.filter((r) => r.rule.kind !== 'public')
      const outcome = { denied: 0, notFound: 0, forwarded: 0, perRoute: 0 }
      /** Forwarded requests the engine answered, by status (the report's figures). */
      const engineStatuses: Record<number, number> = {}
      /** Routes some engine could not answer (must stay empty on every engine). */
      const unanswered: string[] = []
      /** Forwarded routes whose request, as the simulator received it, carried B's filter. */
      const filteredForB = new Set<string>()
      const baseline = await snapshotOfA(h)
      expect.hasAssertions()
      for (const route of swept) {
        const path = concrete(route)
        const simBefore = h.simulator?.requests.length ?? 0
        const upBefore = h.upstreamCalls.length
        const r =
          route.method === 'POST' && route.path === '/deployment/create'
            ? await h.deploy(b, linearProcessXml({ key: 'sweep', steps: [] }), 'sweep', '')
            : await h.call(b, route.method, path, bodyFor(route))
        const forwarded = h.upstreamCalls.slice(upBefore)
        const reached = h.simulator?.requests.slice(simBefore) ?? null
        const label = `${route.method} ${route.path} (${route.rule.kind}) → ${r.status} ${r.text.slice(0, 160)}`
        const rule = route.rule
        if (UNDECIDED.has(r.status)) unanswered.push(`${route.method} ${route.path} → ${r.status}`)
        // no route passes with an answer that is no decision (no such operation, no engine)
        expect(UNDECIDED.has(r.status), label).toBe(false)
        const refused = () => {
          expect(r.status, label).toBe(403)
          expect((r.json as { code?: string }).code, label).toMatch(/^C7AUTH_/)
          expect(forwarded, label).toHaveLength(0)
          if (reached) expect(reached, label).toHaveLength(0)
          outcome.denied++
        }
        switch (rule.kind) {
          case 'deny':
          case 'adminOnly':
            refused()
            break
          case 'ownerCheck': {
            if (route.operationId === 'redeploy') {
              // refused for every id alike before the owner check (strict profile): nothing leaks
              expect(r.status, label).toBe(403)
              expect((r.json as { code?: string }).code, label).toBe('C7AUTH_DEPLOY_FORBIDDEN')
              expect(forwarded, label).toHaveLength(0)
              if (reached) expect(reached, label).toHaveLength(0)
              outcome.denied++
              break
            }
            if (CHECKED_PER_ROUTE.has(rule.resource)) {
              // T33 kinds (decision definitions): checked route by route on both real engines in
              // gateway-owner-routes.test.ts; here only that B's request for them never succeeds
              expect(r.status, label).toBeGreaterThanOrEqual(400)
              outcome.perRoute++
              break
            }
            const id = ids[rule.resource as SweptOwnerResource]
            if (rule.missing === 'route') {
              // answered like this route answers an id that does not exist (T33): the engine's
              // own answer for a missing id, asked directly, with A's id in place of the missing one
              const missing = `missing${Date.now()}`
              const direct = await engineFetch(
                h.target,
                route.method,
                path.replace(encodeURIComponent(id), missing),
              )
              expect(r.status, label).toBe(direct.status)
              expect(r.text, label).toBe(direct.text.split(missing).join(id))
              outcome.notFound++
              break
            }
            // the engine's own 404 for A's object, and the operation itself never forwarded
            expect(r.status, label).toBe(404)
            expect(r.json, label).toEqual(engineNotFound(rule.resource, id).body)
            expect(forwarded, label).toHaveLength(0)
            if (reached) {
              // only the gateway's owner lookup reached the simulator; made as the caller, so in
              // bridge mode the engine's own tenant check already hides A's object from B
              const lookup = ownerLookup(rule.resource, id)
              const found = mode === 'service' ? 200 : 404
              expect(reached.length, label).toBeLessThanOrEqual(1)
              for (const q of reached) {
                expect(`${q.method} ${q.path} ${q.status}`, label).toBe(
                  `GET ${decodeURIComponent(lookup.path)} ${found}`,
                )
              }
            }
            outcome.notFound++
            break
          }
          case 'stampTenant':
          case 'scopeQuery': {
            if (rule.kind === 'stampTenant' && route.path.includes('{tenant-id}')) {
              refused()
              break
            }
            // forwarded once; the answer is the engine's own, never the gateway's
            expect(forwarded, label).toHaveLength(1)
            expect((r.json as { type?: string } | undefined)?.type, label).not.toBe('C7AuthError')
            engineStatuses[r.status] = (engineStatuses[r.status] ?? 0) + 1
            const expected = EXPECTED_FORWARDED.get(`${route.method} ${route.path}`)
            if (expected !== undefined) expect(r.status, label).toBe(expected)
            if (reached) {
              // a deployed-form read is preceded by the gateway's read of the form reference (T29)
              const formCheck = route.path.endsWith('/deployed-start-form')
              expect(reached, label).toHaveLength(formCheck ? 2 : 1)
              const q = reached[reached.length - 1]!
              const raw = `${q.rawPath} ${JSON.stringify(q.queryAll)} ${JSON.stringify(q.body ?? null)}`
              expect(raw, label).not.toContain('tenantA')
              // a scope query carries B's filter; a stamped request B's tenant (path, body or part)
              expect(raw, label).toContain('tenantB')
              filteredForB.add(`${route.method} ${route.path}`)
            }
            outcome.forwarded++
            break
          }
        }
        if (r.status < 300) {
          for (const s of seeded.secrets) expect(r.text, `${label} leaked ${s}`).not.toContain(s)
        }
      }
      // every route reached its decision: refused, A's object not found, or forwarded for B
      const count = (kind: RouteRule['rule']['kind']) => swept.filter((r) => r.rule.kind === kind)
      expect(outcome.notFound + outcome.perRoute).toBe(
        count('ownerCheck').filter((r) => r.operationId !== 'redeploy').length,
      )
      expect(outcome.denied + outcome.notFound + outcome.forwarded + outcome.perRoute).toBe(
        swept.length,
      )
      expect(outcome.notFound).toBeGreaterThan(100)
      expect(unanswered).toEqual([])
      // every route with an expected answer was swept and forwarded, with B's filter (simulator log)
      const forwardedRoutes = swept.filter(
        (r) => r.rule.kind === 'scopeQuery' || r.rule.kind === 'stampTenant',
      )
      for (const key of EXPECTED_FORWARDED.keys()) {
        expect(
          forwardedRoutes.some((r) => `${r.method} ${r.path}` === key),
          key,
        ).toBe(true)
      }
      if (ctx.isSimulator) {
        expect([...EXPECTED_FORWARDED.keys()].filter((k) => !filteredForB.has(k))).toEqual([])
      }
      console.info(
        `[sweep ${ctx.name} ${mode}] ${swept.length} routes: ${outcome.denied} refused, ${outcome.notFound} ` +
          `engine 404, ${outcome.forwarded} forwarded (engine answers ${JSON.stringify(engineStatuses)}; ` +
          `none unanswered` +
          (ctx.isSimulator ? `; ${filteredForB.size} received with B's filter)` : ')'),
      )

      // tenant A's objects are untouched: the engine admin reads the same state as before
      expect(await snapshotOfA(h)).toBe(baseline)
      const instance = await engineAdmin<{ suspended: boolean }>(
        h.target,
        'GET',
        `/process-instance/${ids.processInstance}`,
      )
      expect(instance.suspended).toBe(false)
      const v1 = await engineAdmin<{ value: unknown }>(
        h.target,
        'GET',
        `/process-instance/${ids.processInstance}/variables/v1`,
      )
      expect(v1.value).toBe('secret-of-a')
      expect((await h.call(a, 'GET', `/task/${ids.task}`)).status).toBe(200)
      const ext = (await h.call(a, 'GET', `/external-task/${ids.externalTask}`)).json as {
        workerId: string | null
      }
      expect(ext.workerId).toBeNull()
      const job = await engineAdmin<{ suspended: boolean; retries: number }>(
        h.target,
        'GET',
        `/job/${ids.job}`,
      )
      expect(job).toMatchObject({ suspended: false })
      expect((await engineFetch(h.target, 'GET', `/incident/${ids.incident}`)).status).toBe(200)
      const def = (await h.call(a, 'GET', `/process-definition/${ids.processDefinition}`)).json as {
        suspended: boolean
      }
      expect(def.suspended).toBe(false)
      expect((await h.call(a, 'GET', `/deployment/${ids.deployment}`)).status).toBe(200)
      h.simulator?.assertNoValidationErrors()
    }, 300_000)

    it('tenant A reaches each of its own objects through the same owner checks', async () => {
      // the other side of the sweep: the lookups resolve A's objects as A's, so A is let through
      const reads = ROUTES.filter(
        (r) => r.rule.kind === 'ownerCheck' && r.method === 'GET' && /\{id\}$/.test(r.path),
      )
      expect(reads.length).toBeGreaterThanOrEqual(17)
      for (const route of reads) {
        if (route.rule.kind === 'ownerCheck' && CHECKED_PER_ROUTE.has(route.rule.resource)) continue
        const r = await h.call(a, 'GET', concrete(route))
        if (
          mode === 'bridge' &&
          !ctx.isSimulator &&
          route.rule.kind === 'ownerCheck' &&
          route.rule.resource === 'historicDecisionInstance'
        ) {
          // the default app grants give no READ_HISTORY on decision definitions: the engine hides it
          expect(r.status, route.path).toBe(404)
          continue
        }
        expect(r.status, `${route.path} → ${r.status} ${r.text.slice(0, 200)}`).toBe(200)
        expect((r.json as { tenantId?: string }).tenantId ?? 'tenantA', route.path).toBe('tenantA')
      }
    })

    it('acts as the one technical account (service) or A’s own account (bridge), never the admin', async () => {
      // the engine's own record of who started an instance: on every engine
      const expectedUser = mode === 'service' ? SERVICE_USER.id : 'appA'
      expect(expectedUser).not.toBe(h.target.admin.id)
      const simBefore = h.simulator?.requests.length ?? 0
      const started = await h.call(a, 'POST', '/process-definition/key/order/start', {})
      expect(started.status, started.text).toBe(200)
      const { id } = started.json as { id: string }
      const history = await engineAdmin<{ startUserId: string; tenantId: string }>(
        h.target,
        'GET',
        `/history/process-instance/${id}`,
      )
      expect(history).toMatchObject({ startUserId: expectedUser, tenantId: 'tenantA' })
      if (h.simulator) {
        // the request log shows the credentials themselves: Basic, never the caller's bearer token
        const q = h.simulator.requests.slice(simBefore).filter((r) => r.path.endsWith('/start'))
        expect(q).toHaveLength(1)
        expect(q[0]!.user).toBe(expectedUser)
        expect(String(q[0]!.headers.authorization)).toMatch(/^Basic /)
      }
    })

    it('denies an unclassified operation', async () => {
      const before = h.upstreamCalls.length
      const r = await h.call(a, 'GET', '/optimize/variable-update')
      expect(r.status).toBe(403)
      expect(r.json).toMatchObject({ type: 'C7AuthError', code: 'C7AUTH_ROUTE_DENIED' })
      expect(h.upstreamCalls.length).toBe(before)
    })
  })
})

describe('none mode (engine-rest without authentication on a private network)', () => {
  it('sends no credentials and still isolates tenants by policy, through Koa', async () => {
    const h = await startHarness({
      mode: 'none',
      framework: 'koa',
      engine: { authentication: false },
    })
    try {
      const afterBootstrap = h.engine.requests.length // the tenant bootstrap used the admin account
      const a = await h.appToken('appA')
      const b = await h.appToken('appB')
      const xml = linearProcessXml({ key: 'order', steps: [{ type: 'userTask', id: 'approve' }] })
      expect((await h.deploy(a, xml, 'order')).status).toBe(200)
      const pi = (await h.call(a, 'POST', '/process-definition/key/order/start', {})).json as {
        id: string
      }
      const tasksA = (await h.call(a, 'GET', '/task')).json as { id: string }[]
      expect(tasksA).toHaveLength(1)
      expect((await h.call(b, 'GET', '/task')).json).toEqual([])
      expect((await h.call(b, 'GET', `/process-instance/${pi.id}`)).status).toBe(404)
      expect((await h.call(b, 'POST', `/task/${tasksA[0]!.id}/complete`, {})).status).toBe(404)
      const fromGateway = h.engine.requests.slice(afterBootstrap)
      expect(fromGateway.length).toBeGreaterThan(3)
      expect(fromGateway.every((q) => q.headers.authorization === undefined)).toBe(true)
      expect(h.report.warnings.join(' ')).toMatch(/only tenant enforcement/)
    } finally {
      await h.close()
    }
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  MISSING_ID_SENTINEL,
  ROUTES,
  engineNotFound,
  ownerLookup,
} from '../../packages/gateway/src/internal.js'
import type { OwnerResource, RouteRule } from '../../packages/gateway/src/internal.js'
import { linearProcessXml } from '@c7auth/testkit'
import { SERVICE_USER, startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { snapshotOfA } from './tenant-snapshot.js'

/**
 * Service mode: the engine sees one technical admin account, so it enforces nothing; the gateway's
 * route table is the only enforcement. Every classified operation is tried by tenant B's app
 * against tenant A's objects.
 */
describe('service mode: isolation over the whole route table', () => {
  let h: Harness
  let a: string
  let b: string
  const ids: Partial<Record<OwnerResource, string>> = {}

  beforeAll(async () => {
    h = await startHarness({ mode: 'service', framework: 'express' })
    a = await h.appToken('appA')
    b = await h.appToken('appB')
    const xml = linearProcessXml({
      key: 'order',
      steps: [
        { type: 'userTask', id: 'approve' },
        { type: 'externalTask', id: 'charge', topic: 'charge' },
      ],
    })
    const dep = await h.deploy(a, xml, 'order')
    expect(dep.status).toBe(200)
    expect((await h.deploy(b, xml, 'order')).status).toBe(200)
    const depJson = dep.json as {
      id: string
      deployedProcessDefinitions: Record<string, { id: string }>
    }
    ids.deployment = depJson.id
    ids.processDefinition = Object.values(depJson.deployedProcessDefinitions)[0]!.id
    // instance 1 waits in the user task, instance 2 in the external task
    const pi1 = (
      await h.call(a, 'POST', '/process-definition/key/order/start', {
        variables: { v1: { value: 'secret-of-a', type: 'String' } },
      })
    ).json as { id: string }
    const pi2 = (await h.call(a, 'POST', '/process-definition/key/order/start', {})).json as {
      id: string
    }
    ids.processInstance = pi1.id
    ids.execution = pi1.id
    ids.historicProcessInstance = pi1.id
    const tasks = (await h.call(a, 'GET', `/task?processInstanceId=${pi2.id}`)).json as {
      id: string
    }[]
    expect((await h.call(a, 'POST', `/task/${tasks[0]!.id}/complete`, {})).status).toBe(204)
    const t1 = (await h.call(a, 'GET', `/task?processInstanceId=${pi1.id}`)).json as {
      id: string
    }[]
    ids.task = t1[0]!.id
    const ext = (await h.call(a, 'GET', '/external-task')).json as { id: string }[]
    ids.externalTask = ext[0]!.id
    for (const [k, v] of Object.entries(ids)) expect(v, k).toBeTruthy()
  })
  afterAll(async () => h?.close())

  function concrete(route: RouteRule): string {
    const ownerId =
      route.rule.kind === 'ownerCheck' ? (ids[route.rule.resource] ?? 'unknownid1') : 'x1'
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

  /**
   * Owner kinds the simulator can neither seed nor look up yet (no job, incident, job definition,
   * variable instance or most historic resources): their routes end in the gateway's fail-closed
   * 502. They are counted as undecided — never as passed — and the count is pinned so that every
   * lookup the simulator gains must turn a 502 into the engine's 404 here.
   */
  const NOT_MODELLED: ReadonlySet<OwnerResource> = new Set([
    'job',
    'jobDefinition',
    'incident',
    'variableInstance',
    'historicActivityInstance',
    'historicVariableInstance',
    'historicDetail',
    'historicJobLog',
    'historicExternalTaskLog',
    'historicDecisionInstance',
    'decisionDefinition',
    'decisionRequirementsDefinition',
  ])

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
    const secrets = ['tenantA', 'secret-of-a', ids.task!, ids.processInstance!, ids.externalTask!]
    const outcome = { denied: 0, notFound: 0, forwarded: 0, undecided: [] as string[] }
    const swept = ROUTES.filter((r) => r.rule.kind !== 'public')
    const ownerBefore = h.engine.requests.length
    const baseline = await snapshotOfA(h)
    let sweptCount = 0
    for (const route of swept) {
      const path = concrete(route)
      const before = h.engine.requests.length
      const r =
        route.method === 'POST' && route.path === '/deployment/create'
          ? await h.deploy(b, linearProcessXml({ key: 'sweep', steps: [] }), 'sweep', '')
          : await h.call(b, route.method, path, bodyFor(route))
      const reached = h.engine.requests.slice(before)
      const label = `${route.method} ${route.path} (${route.rule.kind}) → ${r.status} ${r.text.slice(0, 160)}`
      sweptCount++
      const rule = route.rule
      switch (rule.kind) {
        case 'deny':
        case 'adminOnly':
          expect(r.status, label).toBe(403)
          expect((r.json as { code?: string }).code, label).toMatch(/^C7AUTH_/)
          expect(reached, label).toHaveLength(0)
          outcome.denied++
          break
        case 'ownerCheck': {
          if (route.operationId === 'redeploy') {
            // refused for every id alike before the owner check (strict profile): nothing leaks
            expect(r.status, label).toBe(403)
            expect((r.json as { code?: string }).code, label).toBe('C7AUTH_DEPLOY_FORBIDDEN')
            expect(reached, label).toHaveLength(0)
            outcome.denied++
            break
          }
          const id = ids[rule.resource]
          // only the gateway's own owner lookup may reach the engine: never the operation itself
          const lookup = ownerLookup(rule.resource, id ?? 'unknownid1')
          // `missing: 'route'` rows also ask the route itself about an id that cannot exist
          const probe = `${route.method} ${route.path.replace('{id}', MISSING_ID_SENTINEL)}`
          const probed = reached.filter((q) => `${q.method} ${q.path}` === probe)
          for (const q of reached.filter((x) => !probed.includes(x)))
            expect(`${q.method} ${q.path}`, label).toBe(`GET ${decodeURIComponent(lookup.path)}`)
          expect(probed.length, label).toBeLessThanOrEqual(rule.missing === 'route' ? 1 : 0)
          if (id === undefined) {
            expect(NOT_MODELLED.has(rule.resource), label).toBe(true)
            expect(r.status, label).toBe(502)
            expect(
              reached.some((q) => q.status === 501),
              label,
            ).toBe(true)
            outcome.undecided.push(`${route.method} ${route.path}`)
            break
          }
          if (rule.missing === 'route') {
            // what the route answers for a missing id (first sweep of this route: asked just now)
            expect(r.status, label).toBeGreaterThanOrEqual(400)
            expect(r.text, label).not.toContain(MISSING_ID_SENTINEL)
          } else {
            expect(r.status, label).toBe(404)
            expect(r.json, label).toEqual(engineNotFound(rule.resource, id).body)
          }
          outcome.notFound++
          break
        }
        case 'stampTenant':
          if (route.path.includes('{tenant-id}')) {
            expect(r.status, label).toBe(403)
            expect((r.json as { code?: string }).code, label).toMatch(/^C7AUTH_/)
            expect(reached, label).toHaveLength(0)
            outcome.denied++
            break
          }
          // key-only paths and bodies: forwarded once, stamped with the caller's tenant (a
          // deployed form's reference is read first, on the same stamped path)
          expect(reached, label).toHaveLength(route.guard?.kind === 'deployedForm' ? 2 : 1)
          for (const q of reached) {
            const stamped =
              /\/tenant-id\/tenantB(\/|$)/.test(q.path) ||
              (q.body as { tenantId?: string } | undefined)?.tenantId === 'tenantB' ||
              // multipart: exactly one tenant-id part, tenant B's
              JSON.stringify(
                (q.body as { fields?: Record<string, unknown> } | undefined)?.fields?.['tenant-id'],
              ) === '["tenantB"]'
            expect(stamped, `${label}: ${q.method} ${q.path} ${JSON.stringify(q.body)}`).toBe(true)
            expect(JSON.stringify(q.body ?? null), label).not.toContain('tenantA')
          }
          outcome.forwarded++
          break
        case 'scopeQuery': {
          // forwarded once, with tenant B's filter in place of anything the client sent
          expect(reached, label).toHaveLength(1)
          const q = reached[0]!
          const raw = `${q.rawPath} ${JSON.stringify(q.queryAll)} ${JSON.stringify(q.body ?? null)}`
          expect(raw, label).not.toContain('tenantA')
          expect(raw, label).toContain('tenantB')
          outcome.forwarded++
          break
        }
      }
      if (r.status < 300) {
        for (const s of secrets) expect(r.text, `${label} leaked ${s}`).not.toContain(s)
      }
    }
    // the loop ran over every route, and each one is accounted for exactly once
    expect(sweptCount).toBe(swept.length)
    expect(outcome.denied + outcome.notFound + outcome.forwarded + outcome.undecided.length).toBe(
      swept.length,
    )
    const ownerRoutes = swept.filter(
      (r) => r.rule.kind === 'ownerCheck' && r.operationId !== 'redeploy',
    )
    const notModelled = ownerRoutes.filter(
      (r) => r.rule.kind === 'ownerCheck' && NOT_MODELLED.has(r.rule.resource),
    )
    expect(outcome.notFound).toBe(ownerRoutes.length - notModelled.length)
    expect(outcome.undecided).toHaveLength(notModelled.length)
    expect(h.engine.requests.length).toBeGreaterThan(ownerBefore)

    // tenant A's objects are untouched: the engine admin reads the same state as before
    expect(await snapshotOfA(h)).toBe(baseline)
    expect(h.engine.inspect.processInstance(ids.processInstance!)?.state).toBe('ACTIVE')
    expect(h.engine.inspect.processInstance(ids.processInstance!)?.variables.v1).toBe('secret-of-a')
    expect((await h.call(a, 'GET', `/task/${ids.task}`)).status).toBe(200)
    const ext = (await h.call(a, 'GET', `/external-task/${ids.externalTask}`)).json as {
      workerId: string | null
    }
    expect(ext.workerId).toBeNull()
    const def = (await h.call(a, 'GET', `/process-definition/${ids.processDefinition}`)).json as {
      suspended: boolean
    }
    expect(def.suspended).toBe(false)
    expect((await h.call(a, 'GET', `/deployment/${ids.deployment}`)).status).toBe(200)
    h.engine.assertNoValidationErrors()
  })

  it('forwards with the one technical account (not the admin) and never with the caller’s token', async () => {
    const before = h.engine.requests.length
    expect((await h.call(a, 'GET', '/task')).status).toBe(200)
    const q = h.engine.requests.slice(before)
    expect(q).toHaveLength(1)
    expect(q[0]!.user).toBe(SERVICE_USER.id)
    expect(SERVICE_USER.id).not.toBe(h.target.admin.id)
    expect(q[0]!.query.tenantIdIn).toBe('tenantA')
    expect(String(q[0]!.headers.authorization)).toMatch(/^Basic /)
  })

  it('denies an unclassified operation', async () => {
    const before = h.engine.requests.length
    const r = await h.call(a, 'GET', '/optimize/variable-update')
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ type: 'C7AuthError', code: 'C7AUTH_ROUTE_DENIED' })
    expect(h.engine.requests.length).toBe(before)
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { request } from 'undici'
import { createGateway } from '@c7auth/gateway'
import { linearProcessXml } from '@c7auth/testkit'
import { ADMIN_PASSWORD, startHarness } from './gateway-engine-harness.js'
import type { Framework, Harness } from './gateway-engine-harness.js'
import { describeEngines, engineAdmin, engineFetch } from './engines.js'
import type { TestEngine } from './engines.js'

const xml = (key: string) =>
  linearProcessXml({
    key,
    steps: [
      { type: 'userTask', id: 'approve' },
      { type: 'externalTask', id: 'charge', topic: 'charge' },
    ],
  })

/** Engine state read over REST as the admin: the same on the simulator and the real engines. */
const view = (engine: () => TestEngine) => ({
  async userExists(id: string): Promise<boolean> {
    return (await engineFetch(engine(), 'GET', `/user/${id}/profile`)).status === 200
  },
  async groupsOf(id: string): Promise<string[]> {
    const groups = await engineAdmin<{ id: string }[]>(engine(), 'GET', `/group?member=${id}`)
    return groups.map((g) => g.id).sort()
  },
  async tenantsOf(id: string): Promise<string[]> {
    const tenants = await engineAdmin<{ id: string }[]>(engine(), 'GET', `/tenant?userMember=${id}`)
    return tenants.map((t) => t.id).sort()
  },
  async instanceActive(id: string): Promise<boolean> {
    const r = await engineFetch(engine(), 'GET', `/process-instance/${id}`)
    return r.status === 200 && (r.json as { suspended: boolean }).suspended === false
  },
})

describeEngines('bridge mode', (ctx) => {
  // Two harnesses (Express, Koa) on one real engine would share its state: Koa runs on the
  // simulator only, which each harness starts afresh there (as before this file ran per engine).
  const frameworks: Framework[] = ctx.isSimulator ? ['express', 'koa'] : ['express']
  describe.each<Framework>(frameworks)('bridge mode through %s', (framework) => {
    let h: Harness
    let a: string
    let b: string
    const engineView = view(() => h.target)
    /** Calls the gateway made with the engine admin account (simulator: as the engine counted them). */
    const adminCalls = (): number => h.simulator?.stats.adminCalls ?? h.events.adminCalls
    /** Requests that reached the engine (real engines: upstream calls plus admin calls). */
    const engineRequests = (): number =>
      h.simulator?.requests.length ?? h.events.upstream + h.events.adminCalls

    beforeAll(async () => {
      h = await startHarness({
        mode: 'bridge',
        framework,
        ...(ctx.isSimulator ? {} : { testEngine: ctx.engine }),
      })
      a = await h.appToken('appA')
      b = await h.appToken('appB')
      expect((await h.deploy(a, xml('order'), 'order')).status).toBe(200)
      expect((await h.deploy(b, xml('order'), 'order')).status).toBe(200)
    })
    afterAll(async () => h?.close())

    it('reports the bootstrap: tenants and default groups created, canary created', async () => {
      expect(h.report.bootstrap?.tenants.created).toEqual(['tenantA', 'tenantB'])
      expect(h.report.canary?.status).toBe('created')
      expect(await engineView.userExists('c7authcanary')).toBe(true)
    })

    it('two tenants’ apps each see and touch only their own definitions, instances and tasks', async () => {
      const startA = await h.call(a, 'POST', '/process-definition/key/order/start', {})
      const startB = await h.call(b, 'POST', '/process-definition/key/order/start', {})
      expect(startA.status).toBe(200)
      expect(startB.status).toBe(200)
      const piA = startA.json as { id: string; tenantId: string; links: { href: string }[] }
      const piB = startB.json as { id: string; tenantId: string }
      expect(piA.tenantId).toBe('tenantA')
      expect(piB.tenantId).toBe('tenantB')
      // the engine's absolute link now points at the gateway
      expect(piA.links[0]!.href).toBe(`${h.base}/process-instance/${piA.id}`)

      const defsA = (await h.call(a, 'GET', '/process-definition')).json as { tenantId: string }[]
      expect(defsA.length).toBeGreaterThan(0)
      expect(defsA.every((d) => d.tenantId === 'tenantA')).toBe(true)
      const pisB = (await h.call(b, 'GET', '/process-instance')).json as { id: string }[]
      expect(pisB.map((p) => p.id)).toContain(piB.id)
      expect(pisB.map((p) => p.id)).not.toContain(piA.id)
      const tasksA = (await h.call(a, 'GET', '/task')).json as { id: string; tenantId: string }[]
      expect(tasksA.length).toBeGreaterThan(0)
      expect(tasksA.every((t) => t.tenantId === 'tenantA')).toBe(true)
      const taskA = tasksA.find(
        (t) => (t as { processInstanceId?: string }).processInstanceId === piA.id,
      )!
      const count = (await h.call(b, 'GET', '/task/count')).json as { count: number }
      expect(count.count).toBe(((await h.call(b, 'GET', '/task')).json as unknown[]).length)

      // by id across tenants: the engine's own 404, and nothing changes
      const peek = await h.call(b, 'GET', `/task/${taskA.id}`)
      expect(peek.status).toBe(404)
      expect(peek.headers['content-type']).toBe('application/json')
      expect(peek.json).toMatchObject({
        type: 'InvalidRequestException',
        message: `No matching task with id ${taskA.id}`,
      })
      expect((await h.call(b, 'POST', `/task/${taskA.id}/complete`, {})).status).toBe(404)
      expect((await h.call(b, 'GET', `/process-instance/${piA.id}`)).status).toBe(404)
      expect((await h.call(b, 'DELETE', `/process-instance/${piA.id}`)).status).toBe(404)
      expect((await h.call(b, 'GET', `/process-instance/${piA.id}/variables`)).status).toBe(404)
      expect(await engineView.instanceActive(piA.id)).toBe(true)

      // the owner completes its own task
      expect((await h.call(a, 'POST', `/task/${taskA.id}/complete`, {})).status).toBe(204)
      expect((await h.call(a, 'GET', `/task/${taskA.id}`)).status).toBe(404)
    })

    it('forwards as the real user: the engine authenticates appA and its operation log names appA', async () => {
      const before = h.simulator?.requests.length ?? 0
      const r = await h.call(a, 'POST', '/process-definition/key/order/start', {
        businessKey: 'k1',
      })
      expect(r.status).toBe(200)
      const instanceId = (r.json as { id: string }).id
      if (h.simulator) {
        const seen = h.simulator.requests.slice(before).filter((q) => q.operationId !== null)
        const start = seen.find((q) => q.path.endsWith('/start'))!
        expect(start.user).toBe('appA')
        expect(start.path).toBe('/process-definition/key/order/tenant-id/tenantA/start')
        expect(start.headers.authorization).not.toContain('Bearer')
      }
      // the engine's own user operation log (history full) names the acting engine user
      const log = await engineAdmin<
        {
          operationType: string
          processInstanceId: string | null
          userId: string
          category: string
        }[]
      >(h.target, 'GET', '/history/user-operation')
      const entry = log.find(
        (e) => e.operationType === 'Create' && e.processInstanceId === instanceId,
      )
      expect(entry?.userId).toBe('appA')
      // the admin account only appears for identity provisioning, never for process operations
      expect(log.filter((e) => e.userId === 'admin').every((e) => e.category === 'Admin')).toBe(
        true,
      )
      expect(log.some((e) => e.processInstanceId !== null && e.userId === 'admin')).toBe(false)
      // the acting-user variable the policy injected reached the engine
      const variable = await engineAdmin<{ value: unknown }>(
        h.target,
        'GET',
        `/process-instance/${instanceId}/variables/c7authActingUser`,
      )
      expect(JSON.parse(String(variable.value))).toMatchObject({
        userId: 'appA',
        kind: 'app',
      })
    })

    it('provisions once per user: zero admin calls in the steady state, a fixed number for a new user', async () => {
      await h.call(a, 'GET', '/task')
      const admin0 = adminCalls()
      for (let i = 0; i < 20; i++) expect((await h.call(a, 'GET', '/task')).status).toBe(200)
      expect(adminCalls()).toBe(admin0)

      const alice = await h.userToken('alice', 'appA', ['billing'])
      expect((await h.call(alice, 'GET', '/task')).status).toBe(200)
      // user create + marker membership; new group: GET group + create; tenant + group membership
      expect(adminCalls() - admin0).toBe(6)
      const bob = await h.userToken('bob', 'appA', ['billing'])
      const admin1 = adminCalls()
      expect((await h.call(bob, 'GET', '/task')).status).toBe(200)
      expect(adminCalls() - admin1).toBe(4)
      for (let i = 0; i < 5; i++) await h.call(bob, 'GET', '/process-instance')
      expect(adminCalls() - admin1).toBe(4)
      // users live in their own engine-id namespace (docs/identity-namespaces.md)
      const bobId = (await h.principalOf(bob)).userId
      expect(bobId).toMatch(/^bob[a-z2-7]{33}$/)
      expect(await engineView.tenantsOf(bobId)).toEqual(['tenantA'])
    })

    it('never shares an engine account between a user and an app: {azp: appA, sub: appB} (issue 15 item 5)', async () => {
      // a user of the shared issuer whose sub is another tenant's app id
      const u = await h.userToken('appB', 'appA', [])
      const uId = (await h.principalOf(u)).userId
      expect((await h.principalOf(b)).userId).toBe('appB')
      expect(uId).not.toBe('appB')
      // alternating calls: neither account's memberships ever flip
      for (let i = 0; i < 3; i++) {
        expect((await h.call(u, 'GET', '/task')).status).toBe(200)
        expect(await engineView.tenantsOf('appB')).toEqual(['tenantB'])
        expect(await engineView.tenantsOf(uId)).toEqual(['tenantA'])
        expect((await h.call(b, 'GET', '/task')).status).toBe(200)
        expect(await engineView.tenantsOf('appB')).toEqual(['tenantB'])
        expect(await engineView.tenantsOf(uId)).toEqual(['tenantA'])
      }
      // the engine's operation log names the user's own account for the user's claim
      const start = await h.call(a, 'POST', '/process-definition/key/order/start', {})
      expect(start.status).toBe(200)
      const pi = (start.json as { id: string }).id
      const tasks = await h.call(a, 'GET', `/task?processInstanceId=${pi}`)
      const taskId = (tasks.json as { id: string }[])[0]!.id
      if (!ctx.isSimulator) {
        // engines with authorization checks: grant the user this one task (grants are for apps)
        await engineAdmin(h.target, 'POST', '/authorization/create', {
          type: 1,
          permissions: ['ALL'],
          userId: uId,
          groupId: null,
          resourceType: 7,
          resourceId: taskId,
        })
      }
      const claim = await h.call(u, 'POST', `/task/${taskId}/claim`, { userId: uId })
      expect(claim.status, claim.text).toBe(204)
      const log = await engineAdmin<
        { operationType: string; taskId: string | null; userId: string }[]
      >(h.target, 'GET', `/history/user-operation?taskId=${taskId}`)
      const claims = log.filter((e) => e.operationType === 'Claim')
      expect(claims.map((e) => e.userId)).toEqual([uId])
      expect(log.some((e) => e.userId === 'appB')).toBe(false)
    })

    it('reconciles token groups: a group removed from the token is removed in the engine; unlisted groups never appear', async () => {
      const t1 = await h.userToken('carol', 'appA', [
        'billing',
        'support',
        'hackers',
        'camunda-admin',
      ])
      const carol = (await h.principalOf(t1)).userId
      expect((await h.call(t1, 'GET', '/task')).status).toBe(200)
      expect(await engineView.groupsOf(carol)).toEqual(['billing', 'c7authbridged', 'support'])
      const t2 = await h.userToken('carol', 'appA', ['billing', 'c7authbridged'])
      expect((await h.call(t2, 'GET', '/task')).status).toBe(200)
      expect(await engineView.groupsOf(carol)).toEqual(['billing', 'c7authbridged'])
    })

    it('denies identity and admin resources to non-admin principals, also under /engine/default', async () => {
      const before = engineRequests()
      const attempts: [string, string, unknown?][] = [
        ['GET', '/user'],
        [
          'POST',
          '/user/create',
          { profile: { id: 'x' }, credentials: { password: 'Xx1!xxxxxxxx' } },
        ],
        ['PUT', '/tenant/tenantB/user-members/appA'],
        ['PUT', '/group/camunda-admin/members/appA'],
        ['GET', '/authorization'],
        ['POST', '/identity/verify', { username: 'appB', password: 'guess' }],
        ['GET', '/identity/groups?userId=appA'],
        ['GET', '/engine/default/user'],
        ['PUT', '/engine/default/tenant/tenantB/user-members/appA'],
        ['DELETE', '/user/appB'],
      ]
      for (const [method, path, body] of attempts) {
        const r = await h.call(a, method, path, body)
        expect(r.status, `${method} ${path}`).toBe(403)
        expect(r.headers['content-type']).toBe('application/json')
        expect((r.json as { code: string }).code).toMatch(/^C7AUTH_(ADMIN_ONLY|ROUTE_DENIED)$/)
      }
      expect(engineRequests()).toBe(before)
    })

    it('denies an unclassified operation without calling the engine', async () => {
      const before = engineRequests()
      for (const path of ['/optimize/process-instance/completed', '/case-definition', '/nope']) {
        const r = await h.call(a, 'GET', path)
        expect(r.status).toBe(403)
        expect(r.json).toMatchObject({ code: 'C7AUTH_ROUTE_DENIED' })
      }
      expect(engineRequests()).toBe(before)
    })

    it('answers 401 with a Bearer challenge without a token, never reaching the engine', async () => {
      const before = engineRequests()
      const r = await h.call(undefined, 'GET', '/task')
      expect(r.status).toBe(401)
      expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer /)
      expect(engineRequests()).toBe(before)
    })

    it('repairs a bridged user whose engine password no longer matches and retries once', async () => {
      const dave = await h.userToken('dave', 'appA', [])
      const daveId = (await h.principalOf(dave)).userId
      expect((await h.call(dave, 'GET', '/task')).status).toBe(200)
      // someone changes dave's password in the engine behind the gateway's back
      const admin = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`
      const changePassword = async (userId: string, password: string) => {
        const put = await request(`${h.target.url}/user/${userId}/credentials`, {
          method: 'PUT',
          headers: { authorization: admin, 'content-type': 'application/json' },
          body: JSON.stringify({ password, authenticatedUserPassword: ADMIN_PASSWORD }),
        })
        expect(put.statusCode).toBe(204)
        await put.body.dump()
      }
      await changePassword(daveId, 'Other-Passw0rd!')
      const repairs = h.events.repairs
      // A user may not start processes on an engine with authorization checks (grants are for
      // apps): there dave repeats a task query with a body, which must be replayed all the same.
      const r = h.simulator
        ? await h.call(dave, 'POST', '/process-definition/key/order/start', {})
        : await h.call(dave, 'POST', '/task?firstResult=0&maxResults=10', {})
      expect(r.status).toBe(200)
      expect(h.events.repairs).toBe(repairs + 1)
      // dave works again without a second repair
      expect((await h.call(dave, 'GET', '/task?firstResult=0&maxResults=10')).status).toBe(200)
      expect(h.events.repairs).toBe(repairs + 1)
      // the same for a relayed GET (another user: repairs of one user are rate-limited): the
      // engine's 401 is discarded, the user repaired, the GET relayed again, and only the
      // engine's second answer reaches the client
      const erin = await h.userToken('erin', 'appA', [])
      expect((await h.call(erin, 'GET', '/task')).status).toBe(200)
      await changePassword((await h.principalOf(erin)).userId, 'Third-Passw0rd!')
      const again = await h.call(erin, 'GET', '/task')
      expect(again.status, again.text).toBe(200)
      expect(again.json).toEqual(expect.any(Array))
      expect(h.events.repairs).toBe(repairs + 2)
      if (h.simulator) {
        expect(h.simulator.inspect.user(daveId)?.locked).toBe(false)
        expect(h.simulator.inspect.user('admin')?.attempts).toBe(0)
      }
    })
  })
})

describe('bridge restart on an engine with authorization checks', () => {
  it('a second gateway with the same secret finds everything in place: tenants and groups unchanged, canary ok', async () => {
    const h = await startHarness({
      mode: 'bridge',
      framework: 'express',
      engine: { authorizationChecks: true },
    })
    try {
      const a = await h.appToken('appA')
      expect((await h.call(a, 'GET', '/task')).status).toBe(200)
      const again = createGateway({ config: h.config, logger: pino({ level: 'silent' }) })
      const report = await again.start()
      await again.close()
      expect(report.bootstrap?.tenants).toEqual({
        created: [],
        updated: [],
        unchanged: ['tenantA', 'tenantB'],
      })
      expect(report.bootstrap?.groups.unchanged).toEqual(['apps'])
      expect(report.canary?.status).toBe('ok')
      expect(h.engine.inspect.user('admin')?.attempts).toBe(0)
    } finally {
      await h.close()
    }
  })

  it('a changed bridge secret is detected at startup (canary) and reported', async () => {
    const h = await startHarness({ mode: 'bridge', framework: 'express' })
    try {
      const rotated = createGateway({
        config: {
          ...h.config,
          engine: { ...h.config.engine, bridgeSecret: 'another-secret-0123456789abcdefgh' },
        },
        logger: pino({ level: 'silent' }),
      })
      const report = await rotated.start()
      await rotated.close()
      expect(report.canary?.status).toBe('rotated')
      expect(report.warnings.join(' ')).toMatch(/secret/)
      expect(h.engine.inspect.user('c7authcanary')?.locked).toBe(false)
    } finally {
      await h.close()
    }
  })
})

describe('gateway admins in bridge mode', () => {
  it('reach the identity resources as their own engine user in the engine admin group, not as the gateway’s admin', async () => {
    const h = await startHarness({
      mode: 'bridge',
      framework: 'koa',
      env: { C7AUTH_GATEWAY_ADMIN_GROUPS: 'ops' },
    })
    try {
      const opsToken = await h.userToken('olga', 'appA', ['ops'])
      expect((await h.principalOf(opsToken)).admin).toBe(true)
      const olga = (await h.principalOf(opsToken)).userId
      const before = h.engine.requests.length
      const users = await h.call(opsToken, 'GET', '/user')
      expect(users.status).toBe(200)
      expect((users.json as { id: string }[]).map((u) => u.id)).toContain(olga)
      const seen = h.engine.requests.slice(before).filter((q) => q.operationId === 'getUsers')
      expect(seen.map((q) => q.user)).toEqual([olga])
      expect(h.engine.inspect.groupsOf(olga)).toContain('camunda-admin')
      // a token that loses the admin group loses the engine admin group too
      const plain = await h.userToken('olga', 'appA', [])
      expect((await h.call(plain, 'GET', '/user')).status).toBe(403)
      expect((await h.call(plain, 'GET', '/task')).status).toBe(200)
      expect(h.engine.inspect.groupsOf(olga)).not.toContain('camunda-admin')
    } finally {
      await h.close()
    }
  })
})

describe('bridge ownership: engine users the bridge did not create are never managed', () => {
  const OPS_PASSWORD = 'Operat0r-Secret!'

  it.each<Framework>(['express', 'koa'])(
    'an operator account created by hand (ops in camunda-admin) is refused through %s, untouched',
    async (framework) => {
      const h = await startHarness({ mode: 'bridge', framework })
      try {
        // the engine account a token with sub `ops` maps to (users are namespaced by issuer)
        const opsToken = await h.userToken('ops', 'appA', ['billing'])
        const ops = (await h.principalOf(opsToken)).userId
        h.engine.seed.user({ id: ops, password: OPS_PASSWORD })
        h.engine.seed.membership({ userId: ops, groupId: 'camunda-admin' })
        h.engine.seed.tenant({ id: 'opsTenant' })
        h.engine.seed.membership({ tenantId: 'opsTenant', userId: ops })
        const repairs = h.events.repairs
        const before = h.engine.requests.length

        for (const [method, path] of [
          ['GET', '/task'],
          ['POST', '/process-definition/key/order/start'],
        ] as const) {
          const r = await h.call(opsToken, method, path, method === 'POST' ? {} : undefined)
          expect(r.status, `${method} ${path}`).toBe(502)
          expect(r.headers['content-type']).toBe('application/json')
          expect(r.json).toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
          expect(r.text).not.toContain(OPS_PASSWORD)
        }

        // the engine saw no request as ops and no identity write for it
        const seen = h.engine.requests.slice(before)
        expect(seen.some((q) => q.user === ops)).toBe(false)
        expect(
          seen.filter((q) => q.method !== 'GET' && q.path.includes(`/${ops}`)).map((q) => q.path),
        ).toEqual([])
        expect(h.engine.inspect.groupsOf(ops)).toEqual(['camunda-admin'])
        expect(h.engine.inspect.tenantsOf(ops)).toEqual(['opsTenant'])
        expect(h.events.repairs).toBe(repairs)
        // ops' own password still works against the engine directly
        const own = await request(`${h.engine.url}/user/${ops}/profile`, {
          headers: {
            authorization: `Basic ${Buffer.from(`${ops}:${OPS_PASSWORD}`).toString('base64')}`,
          },
        })
        expect(own.statusCode).toBe(200)
        await own.body.dump()
        expect(h.engine.inspect.user(ops)).toEqual({ attempts: 0, locked: false })

        // a user the bridge created is still provisioned (and marked) as before
        const erin = await h.userToken('erin', 'appA', [])
        expect((await h.call(erin, 'GET', '/task')).status).toBe(200)
        expect(h.engine.inspect.groupsOf((await h.principalOf(erin)).userId)).toContain(
          'c7authbridged',
        )
        expect(h.engine.inspect.groupsOf('c7authcanary')).toEqual(['c7authbridged'])
      } finally {
        await h.close()
      }
    },
  )

  it('an operator adding the user to the marker group hands it over to the bridge', async () => {
    const h = await startHarness({ mode: 'bridge', framework: 'express' })
    try {
      const t = await h.userToken('legacy', 'appA', [])
      const legacy = (await h.principalOf(t)).userId
      h.engine.seed.user({ id: legacy, password: OPS_PASSWORD })
      expect((await h.call(t, 'GET', '/task')).status).toBe(502)
      h.engine.seed.membership({ userId: legacy, groupId: 'c7authbridged' })
      h.gateway.bridge!.invalidate(legacy) // or wait for the short refusal memory to pass
      const repairs = h.events.repairs
      // its password is not the derived one yet: the first request repairs it, then works
      expect((await h.call(t, 'GET', '/task')).status).toBe(200)
      expect(h.events.repairs).toBe(repairs + 1)
      expect(h.engine.inspect.tenantsOf(legacy)).toEqual(['tenantA'])
    } finally {
      await h.close()
    }
  })
})

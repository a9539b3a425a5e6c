import { describe, expect, it } from 'vitest'
import { createEngineEndpoint, createIdentityBridge } from '../../packages/gateway/src/internal.js'
import type { IdentityBridgeOptions } from '../../packages/gateway/src/internal.js'
import { testPrincipal, useClosers } from '../../packages/gateway/src/__tests__/fixtures.js'
import { startEngineSimulator } from '@c7auth/testkit'
import type { EngineSimulator } from '@c7auth/testkit'

/**
 * The identity bridge against the engine-rest simulator: the engine's sharp edges (no upsert,
 * duplicate membership → 500, login lockout, read-only identity service) are the simulator's,
 * the same ones the parity suite checks against Camunda 7.24 and Operaton.
 */
const ADMIN = { id: 'admin', password: 'adminpw' }
const closers = useClosers()

async function setup(
  over: Partial<IdentityBridgeOptions> = {},
  engineOptions: { readOnlyIdentity?: boolean } = {},
) {
  const engine = await startEngineSimulator({ adminUser: ADMIN, ...engineOptions })
  closers.push(() => engine.close())
  // the engine's login back-off is measured on its clock: frozen, a lock holds until unlocked
  engine.clock.freeze()
  const endpoint = createEngineEndpoint(engine.url)
  closers.push(() => endpoint.dispatcher.close())
  const make = (extra: Partial<IdentityBridgeOptions> = {}) => {
    const bridge = createIdentityBridge({
      endpoint,
      adminUser: ADMIN.id,
      adminPassword: ADMIN.password,
      secret: 's'.repeat(32),
      adminGroup: 'camunda-admin',
      defaultGroups: { app: ['apps'], user: [] },
      groupAllowlist: ['billing', 'camunda-admin'],
      ...over,
      ...extra,
    })
    closers.push(() => bridge.close())
    return bridge
  }
  /** Status of an authenticated engine request with these credentials. */
  const asUser = async (authorization: string) => {
    const r = await fetch(`${engine.url}/version`, { headers: { authorization } })
    await r.arrayBuffer()
    return r.status
  }
  return { engine, make, asUser, view: view(engine) }
}

/** The engine's identity state, read as its admin reads it (REST) or from its tables. */
function view(engine: EngineSimulator) {
  const basic = 'Basic ' + Buffer.from(`${ADMIN.id}:${ADMIN.password}`).toString('base64')
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${engine.url}${path}`, {
      method,
      headers: {
        authorization: basic,
        'x-c7auth-test': 'view', // not one of the bridge's calls
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await r.text()
    return { status: r.status, json: text ? (JSON.parse(text) as unknown) : undefined }
  }
  return {
    admin,
    exists: async (kind: 'tenant' | 'group', id: string) =>
      (await admin('GET', `/${kind}/${id}`)).status === 200,
    tenantName: async (id: string) =>
      ((await admin('GET', `/tenant/${id}`)).json as { name: string }).name,
    groups: (userId: string) => [...engine.inspect.groupsOf(userId)].sort(),
    tenants: (userId: string) => [...engine.inspect.tenantsOf(userId)].sort(),
    attempts: (userId: string) => engine.inspect.user(userId)?.attempts,
    /** Does this password authenticate the user? (A wrong one counts as a failed attempt.) */
    passwordWorks: async (userId: string, password: string) =>
      (
        (await admin('POST', '/identity/verify', { username: userId, password })).json as {
          authenticated: boolean
        }
      ).authenticated,
    /** Requests the gateway made with the admin account, as `METHOD /path?query`. */
    calls: () =>
      engine.requests
        .filter((q) => q.user === ADMIN.id && q.headers['x-c7auth-test'] === undefined)
        .map((q) => {
          const search = new URLSearchParams(
            q.queryAll.map(([k, v]): [string, string] => [k, v]),
          ).toString()
          return `${q.method} ${q.path}${search ? `?${search}` : ''}`
        }),
  }
}

describe('identity bridge', () => {
  it('provisions a new user once (user, tenant, memberships) and costs nothing afterwards', async () => {
    const { make, asUser, view: v } = await setup()
    const bridge = make()
    const { authorization } = await bridge.ensure(
      testPrincipal({ groupIds: ['billing', 'unlisted'] }),
    )
    expect(await v.exists('tenant', 'tenantA')).toBe(true)
    expect(v.tenants('appA')).toEqual(['tenantA'])
    expect(v.groups('appA')).toEqual(['apps', 'billing', 'c7authbridged'])
    expect(await v.exists('group', 'unlisted')).toBe(false)
    expect(await asUser(authorization)).toBe(200)
    const first = bridge.adminCalls
    // user create, marker group (GET+create) and membership, tenant (GET+create),
    // 2 groups (GET+create each), 3 memberships
    expect(first).toBe(1 + 2 + 1 + 2 + 4 + 3)
    expect(v.calls()).toHaveLength(first)
    for (let i = 0; i < 5; i++)
      await bridge.ensure(testPrincipal({ groupIds: ['billing', 'unlisted'] }))
    expect(bridge.adminCalls).toBe(first)
    // a second new user in the same tenant and groups: user create + memberships only
    await bridge.ensure(testPrincipal({ userId: 'appB', groupIds: ['billing'] }))
    expect(bridge.adminCalls - first).toBe(1 + 1 + 3)
    expect(v.calls()).toHaveLength(bridge.adminCalls)
  })

  it('single-flights concurrent first requests of one user', async () => {
    const { make, view: v } = await setup()
    const bridge = make()
    await Promise.all(Array.from({ length: 10 }, () => bridge.ensure(testPrincipal())))
    expect(v.calls().filter((c) => c === 'POST /user/create')).toHaveLength(1)
  })

  it('reconciles a changed token: removes a dropped group and tenant, adds new ones, keeps unmanaged groups', async () => {
    const { engine, make, view: v } = await setup()
    const bridge = make()
    await bridge.ensure(testPrincipal({ groupIds: ['billing'], tenantIds: ['tenantA', 'tenantB'] }))
    // an admin group a non-admin must not keep, and a group the gateway does not manage
    engine.seed.membership({ userId: 'appA', groupId: 'camunda-admin' })
    engine.seed.group({ id: 'opsManual' })
    engine.seed.membership({ userId: 'appA', groupId: 'opsManual' })
    await bridge.ensure(testPrincipal({ groupIds: [], tenantIds: ['tenantA', 'tenantC'] }))
    // camunda-admin appears in the allowlist but is never granted through a token, and is removed
    expect(v.groups('appA')).toEqual(['apps', 'c7authbridged', 'opsManual'])
    expect(v.tenants('appA')).toEqual(['tenantA', 'tenantC'])
  })

  it('never re-adds an existing membership after a restart (no upsert: read, then diff)', async () => {
    const { engine, make, view: v } = await setup()
    await make().ensure(testPrincipal({ groupIds: ['billing'] }))
    const restarted = make()
    await restarted.ensure(testPrincipal({ groupIds: ['billing'] }))
    const calls = v.calls()
    expect(calls.filter((c) => c.startsWith('PUT /tenant/tenantA/user-members'))).toHaveLength(1)
    expect(calls.filter((c) => c.startsWith('PUT /group/billing/members'))).toHaveLength(1)
    expect(calls).toContain('GET /tenant?userMember=appA')
    expect(calls).toContain('GET /group?member=appA')
    // a duplicate membership would have been the engine's 500: there was none
    expect(engine.requests.filter((q) => q.status >= 500)).toEqual([])
  })

  it('gives admin principals the engine admin group', async () => {
    const { make, view: v } = await setup()
    await make().ensure(testPrincipal({ userId: 'ops1', kind: 'user', admin: true }))
    expect(v.groups('ops1')).toContain('camunda-admin')
  })

  it('repairs a user whose password no longer matches (rotated secret), unlocking it, rate-limited', async () => {
    const { engine, make, asUser, view: v } = await setup()
    await make({ secret: 'old'.repeat(12) }).ensure(testPrincipal())
    const bridge = make({ secret: 'new'.repeat(12) })
    const { authorization } = await bridge.ensure(testPrincipal())
    expect(await asUser(authorization)).toBe(401)
    expect(v.attempts('appA')).toBe(1)
    expect(engine.inspect.user('appA')?.locked).toBe(true) // locked until the clock moves
    expect(await asUser(authorization)).toBe(401)
    expect(await bridge.repair('appA')).toBe(true)
    expect(engine.inspect.user('appA')).toEqual({ attempts: 0, locked: false })
    expect(await asUser(authorization)).toBe(200)
    expect(await bridge.repair('appA')).toBe(false) // too soon: rate-limited
  })

  it('stops using a rejected admin password at once (never locks the admin)', async () => {
    const { make, view: v } = await setup()
    const bridge = make({ adminPassword: 'wrong' })
    await expect(bridge.ensure(testPrincipal())).rejects.toMatchObject({
      code: 'C7AUTH_BRIDGE_FAILED',
    })
    await expect(bridge.ensure(testPrincipal())).rejects.toMatchObject({
      code: 'C7AUTH_BRIDGE_FAILED',
    })
    await expect(bridge.repair('x')).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    expect(bridge.adminCalls).toBe(1)
    expect(v.attempts(ADMIN.id)).toBe(1)
  })

  it('refuses ids that collide with its own accounts or break the id pattern', async () => {
    const { engine, make } = await setup()
    const bridge = make()
    const ids = ['admin', 'ADMIN', 'c7authcanary', 'a-b', 'x'.repeat(65), 'ümlaut']
    for (const userId of ids) {
      await expect(bridge.ensure(testPrincipal({ userId }))).rejects.toMatchObject({
        code: 'C7AUTH_BRIDGE_FAILED',
      })
    }
    expect(bridge.adminCalls).toBe(0)
    expect(engine.requests).toHaveLength(0)
  })

  it('canary: created, then ok, then rotated (and repaired) when the secret changes', async () => {
    const { make, asUser } = await setup()
    expect(await make().checkCanary()).toEqual({ userId: 'c7authcanary', status: 'created' })
    expect(await make().checkCanary()).toEqual({ userId: 'c7authcanary', status: 'ok' })
    const rotated = make({ secret: 'other'.repeat(8) })
    expect(await rotated.checkCanary()).toEqual({ userId: 'c7authcanary', status: 'rotated' })
    expect(await asUser(rotated.canaryAuthorization())).toBe(200)
  })

  it('canary: says clearly that a read-only identity service cannot be bridged', async () => {
    const { make } = await setup({}, { readOnlyIdentity: true })
    await expect(make().checkCanary()).rejects.toMatchObject({
      code: 'C7AUTH_CONFIG_INVALID',
      message: expect.stringContaining('read-only'),
    })
  })

  it('bootstrap helpers create or update tenants idempotently', async () => {
    const { make, view: v } = await setup()
    const bridge = make()
    expect(await bridge.ensureTenant('tenantA', 'Tenant A')).toBe('created')
    expect(await bridge.ensureTenant('tenantA', 'Tenant A')).toBe('unchanged')
    expect(await bridge.ensureTenant('tenantA', 'Tenant A2')).toBe('updated')
    expect(await v.tenantName('tenantA')).toBe('Tenant A2')
  })
})

describe('identity bridge ownership (marker group)', () => {
  const OPS_PASSWORD = 'Ops-Passw0rd!'
  /** An operator's own engine account, created by hand: not the bridge's to manage. */
  function seedOperator(engine: EngineSimulator, id = 'ops') {
    engine.seed.user({ id, password: OPS_PASSWORD })
    engine.seed.membership({ userId: id, groupId: 'camunda-admin' })
    engine.seed.group({ id: 'opsteam' })
    engine.seed.membership({ userId: id, groupId: 'opsteam' })
    engine.seed.tenant({ id: 'tenantX', name: 'X' })
    engine.seed.membership({ tenantId: 'tenantX', userId: id })
  }
  const snapshot = (v: ReturnType<typeof view>, id: string) => ({
    groups: v.groups(id),
    tenants: v.tenants(id),
    attempts: v.attempts(id),
  })
  const writesFor = (v: ReturnType<typeof view>, id: string) =>
    v.calls().filter((c) => !c.startsWith('GET ') && c.includes(`/${id}`))

  it('refuses an existing engine user it did not create, touching nothing, and remembers the refusal', async () => {
    const { engine, make, view: v } = await setup()
    seedOperator(engine)
    const before = snapshot(v, 'ops')
    const bridge = make()
    const ops = testPrincipal({ userId: 'ops', kind: 'user', tenantIds: ['tenantA'], admin: false })
    const err = await bridge.ensure(ops).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED', status: 502 })
    expect((err as { detail: string }).detail).toContain('c7authbridged')
    expect(snapshot(v, 'ops')).toEqual(before)
    expect(writesFor(v, 'ops')).toEqual([])
    // refused before anything is created for it
    expect(await v.exists('tenant', 'tenantA')).toBe(false)
    const calls = bridge.adminCalls
    await expect(bridge.ensure(ops)).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    expect(bridge.adminCalls).toBe(calls) // remembered: no admin calls per refused request
    // an admin principal with that id is refused too
    bridge.invalidate('ops')
    await expect(bridge.ensure({ ...ops, admin: true })).rejects.toMatchObject({
      code: 'C7AUTH_BRIDGE_FAILED',
    })
    expect(snapshot(v, 'ops')).toEqual(before)
    expect(await v.passwordWorks('ops', OPS_PASSWORD)).toBe(true)
  })

  it('never repairs (resets or unlocks) a user outside the marker group', async () => {
    const { engine, make, view: v } = await setup()
    seedOperator(engine)
    expect(await v.passwordWorks('ops', 'not-the-password')).toBe(false) // one failed attempt
    const before = snapshot(v, 'ops')
    expect(before.attempts).toBe(1)
    const bridge = make()
    await expect(bridge.repair('ops')).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    expect(snapshot(v, 'ops')).toEqual(before)
    expect(engine.inspect.user('ops')?.locked).toBe(true)
    expect(writesFor(v, 'ops')).toEqual([])
  })

  it('reconciles a marker member like any bridged user, and never removes the marker group', async () => {
    const { engine, make, view: v } = await setup()
    engine.seed.user({ id: 'legacy', password: 'whatever-Passw0rd!' })
    engine.seed.group({ id: 'c7authbridged' })
    engine.seed.group({ id: 'billing' })
    engine.seed.membership({ userId: 'legacy', groupId: 'c7authbridged' })
    engine.seed.membership({ userId: 'legacy', groupId: 'billing' })
    engine.seed.membership({ userId: 'legacy', groupId: 'camunda-admin' })
    engine.seed.tenant({ id: 'tenantB', name: 'B' })
    engine.seed.membership({ tenantId: 'tenantB', userId: 'legacy' })
    const bridge = make()
    await bridge.ensure(testPrincipal({ userId: 'legacy', groupIds: ['c7authbridged'] }))
    expect(v.groups('legacy')).toEqual(['apps', 'c7authbridged'])
    expect(v.tenants('legacy')).toEqual(['tenantA'])
    // an engine 401 for it is repaired: it is the bridge's
    expect(await bridge.repair('legacy')).toBe(true)
    expect(await v.passwordWorks('legacy', 'whatever-Passw0rd!')).toBe(false)
  })

  it('keeps the marker group out of tokens and configuration', async () => {
    const { make } = await setup()
    expect(() => make({ groupAllowlist: ['c7authbridged'] })).toThrow(/marker group/)
    expect(() => make({ defaultGroups: { app: ['c7authbridged'], user: [] } })).toThrow(
      /marker group/,
    )
    expect(() => make({ markerGroupId: 'c7auth-bridged' })).toThrow(/marker group/)
    expect(() => make({ markerGroupId: 'camunda-admin' })).toThrow(/marker group/)
    expect(make({ markerGroupId: 'mybridge' }).markerGroupId).toBe('mybridge')
  })

  it('uses a configured marker group, created as a SYSTEM group at first use', async () => {
    const { make, view: v } = await setup()
    const bridge = make({ markerGroupId: 'mybridge' })
    await bridge.ensure(testPrincipal())
    const group = (await v.admin('GET', '/group/mybridge')).json as { type: string }
    expect(group.type).toBe('SYSTEM')
    expect(v.groups('appA')).toContain('mybridge')
    expect(await v.exists('group', 'c7authbridged')).toBe(false)
  })

  it('adoptExistingUsers (migration) adopts an old bridged user but never an engine admin', async () => {
    const { engine, make, view: v } = await setup()
    engine.seed.user({ id: 'olduser', password: 'old-Passw0rd!' })
    seedOperator(engine)
    const before = snapshot(v, 'ops')
    const bridge = make({ adoptExistingUsers: true })
    await bridge.ensure(testPrincipal({ userId: 'olduser' }))
    expect(v.groups('olduser')).toContain('c7authbridged')
    expect(v.tenants('olduser')).toEqual(['tenantA'])
    await expect(
      bridge.ensure(testPrincipal({ userId: 'ops', kind: 'user' })),
    ).rejects.toMatchObject({
      code: 'C7AUTH_BRIDGE_FAILED',
    })
    expect(snapshot(v, 'ops')).toEqual(before)
  })

  it('canary from an older bridge: adopted when its derived password works, else a clear startup error', async () => {
    const { make, asUser, view: v } = await setup()
    const first = make()
    expect((await first.checkCanary()).status).toBe('created')
    expect(v.groups('c7authcanary')).toContain('c7authbridged')
    const unmark = async () =>
      expect((await v.admin('DELETE', '/group/c7authbridged/members/c7authcanary')).status).toBe(
        204,
      ) // as an older version left it
    await unmark()
    expect((await make().checkCanary()).status).toBe('ok')
    expect(v.groups('c7authcanary')).toContain('c7authbridged')
    await unmark()
    await expect(make({ secret: 'other'.repeat(8) }).checkCanary()).rejects.toMatchObject({
      code: 'C7AUTH_CONFIG_INVALID',
      message: expect.stringContaining('c7authbridged'),
    })
    // the foreign canary keeps its password (once unlocked: the refused check was a failed login)
    expect((await v.admin('POST', '/user/c7authcanary/unlock')).status).toBe(204)
    expect(await asUser(first.canaryAuthorization())).toBe(200)
  })
})

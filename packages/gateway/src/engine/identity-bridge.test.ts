import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Principal } from '@c7auth/core'
import { createEngineEndpoint } from './engine-client.js'
import { createIdentityBridge } from './identity-bridge.js'
import type { IdentityBridgeOptions } from './identity-bridge.js'

/**
 * A minimal identity part of engine-rest with the engine's sharp edges (no upsert, duplicate
 * membership → 500, lockout after failed checks, read-only mode). The full engine simulator is
 * exercised in test/e2e; this keeps the bridge's unit tests self-contained.
 */
async function identityEngine(options: { readOnly?: boolean } = {}) {
  const users = new Map<string, { password: string; attempts: number }>([
    ['admin', { password: 'adminpw', attempts: 0 }],
  ])
  const tenants = new Map<string, string>()
  const groups = new Set<string>(['camunda-admin'])
  const tenantMembers = new Set<string>()
  const groupMembers = new Set<string>(['camunda-admin\u0000admin'])
  const calls: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined
      const url = new URL(req.url!, 'http://x')
      const path = url.pathname.replace(/^\/engine-rest/, '')
      const send = (status: number, json?: unknown) => {
        res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' })
        res.end(json === undefined ? undefined : JSON.stringify(json))
      }
      const [user, pw] = Buffer.from(
        (req.headers.authorization ?? '').replace(/^Basic /, ''),
        'base64',
      )
        .toString()
        .split(':')
      const u = users.get(user ?? '')
      if (!u || u.attempts >= 10 || u.password !== pw) {
        if (u) u.attempts++
        return send(401)
      }
      u.attempts = 0
      calls.push(`${req.method} ${path}${url.search}`)
      const isAdmin = groupMembers.has(`camunda-admin\u0000${user}`)
      const ro = () =>
        send(403, {
          type: 'InvalidRequestException',
          message: 'Identity service implementation is read-only.',
        })
      let m: RegExpExecArray | null
      if (req.method === 'POST' && path === '/user/create') {
        if (options.readOnly) return ro()
        if (users.has(body.profile.id)) return send(400, { message: 'The user already exists' })
        users.set(body.profile.id, { password: body.credentials.password, attempts: 0 })
        return send(204)
      }
      if ((m = /^\/user\/([^/]+)\/profile$/.exec(path)) && req.method === 'GET') {
        return users.has(m[1]!) ? send(200, { id: m[1] }) : send(404, { message: 'no user' })
      }
      if ((m = /^\/user\/([^/]+)\/credentials$/.exec(path)) && req.method === 'PUT') {
        if (body.authenticatedUserPassword !== pw) return send(400, { message: 'wrong password' })
        const t = users.get(m[1]!)
        if (!t) return send(404, {})
        t.password = body.password
        return send(204)
      }
      if ((m = /^\/user\/([^/]+)\/unlock$/.exec(path)) && req.method === 'POST') {
        if (!isAdmin) return send(403, {})
        const t = users.get(m[1]!)
        if (!t) return send(404, {})
        t.attempts = 0
        return send(204)
      }
      if ((m = /^\/tenant\/([^/]+)$/.exec(path))) {
        const id = decodeURIComponent(m[1]!)
        if (req.method === 'GET')
          return tenants.has(id) ? send(200, { id, name: tenants.get(id) }) : send(404, {})
        if (req.method === 'PUT') {
          if (!tenants.has(id)) return send(404, {})
          tenants.set(id, body.name)
          return send(204)
        }
      }
      if (req.method === 'POST' && path === '/tenant/create') {
        if (tenants.has(body.id)) return send(400, { message: 'The tenant already exists' })
        tenants.set(body.id, body.name)
        return send(204)
      }
      if ((m = /^\/group\/([^/]+)$/.exec(path)) && req.method === 'GET') {
        return groups.has(m[1]!) ? send(200, { id: m[1] }) : send(404, {})
      }
      if (req.method === 'POST' && path === '/group/create') {
        if (groups.has(body.id)) return send(400, {})
        groups.add(body.id)
        return send(204)
      }
      if (req.method === 'GET' && path === '/tenant') {
        const who = url.searchParams.get('userMember')
        return send(
          200,
          [...tenants.keys()]
            .filter((t) => tenantMembers.has(`${t}\u0000${who}`))
            .map((id) => ({ id })),
        )
      }
      if (req.method === 'GET' && path === '/group') {
        const who = url.searchParams.get('member')
        return send(
          200,
          [...groups].filter((g) => groupMembers.has(`${g}\u0000${who}`)).map((id) => ({ id })),
        )
      }
      if ((m = /^\/(tenant|group)\/([^/]+)\/(?:user-members|members)\/([^/]+)$/.exec(path))) {
        const set = m[1] === 'tenant' ? tenantMembers : groupMembers
        const exists = m[1] === 'tenant' ? tenants.has(m[2]!) : groups.has(m[2]!)
        const key = `${m[2]}\u0000${m[3]}`
        if (req.method === 'PUT') {
          if (!exists) return send(404, {})
          if (set.has(key))
            return send(500, { type: 'ProcessEngineException', message: 'duplicate key' })
          set.add(key)
          return send(204)
        }
        set.delete(key)
        return send(204)
      }
      if (req.method === 'GET' && path === '/whoami') return send(200, { user })
      send(404, { message: `no route ${req.method} ${path}` })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/engine-rest`
  return {
    url,
    users,
    tenants,
    groups,
    tenantMembers,
    groupMembers,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

const principal = (over: Partial<Principal> = {}): Principal => ({
  kind: 'app',
  userId: 'appA',
  groupIds: [],
  tenantIds: ['tenantA'],
  clientId: 'app-a',
  issuer: 'http://127.0.0.1/idp',
  subject: 'app-a',
  scopes: [],
  expiresAt: 0,
  admin: false,
  ...over,
})

async function setup(over: Partial<IdentityBridgeOptions> = {}, engineOptions = {}) {
  const engine = await identityEngine(engineOptions)
  closers.push(engine.close)
  const endpoint = createEngineEndpoint(engine.url)
  closers.push(() => endpoint.dispatcher.close())
  const make = (extra: Partial<IdentityBridgeOptions> = {}) => {
    const bridge = createIdentityBridge({
      endpoint,
      adminUser: 'admin',
      adminPassword: 'adminpw',
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
  const asUser = async (authorization: string) => {
    const r = await endpoint.dispatcher.request({
      path: '/engine-rest/whoami',
      method: 'GET',
      headers: { authorization },
    })
    await r.body.dump()
    return r.statusCode
  }
  return { engine, make, asUser }
}

describe('identity bridge', () => {
  it('provisions a new user once (user, tenant, memberships) and costs nothing afterwards', async () => {
    const { engine, make, asUser } = await setup()
    const bridge = make()
    const { authorization } = await bridge.ensure(principal({ groupIds: ['billing', 'unlisted'] }))
    expect(engine.tenants.has('tenantA')).toBe(true)
    expect(engine.tenantMembers.has('tenantA\u0000appA')).toBe(true)
    expect(engine.groupMembers.has('apps\u0000appA')).toBe(true)
    expect(engine.groupMembers.has('billing\u0000appA')).toBe(true)
    expect(engine.groupMembers.has('unlisted\u0000appA')).toBe(false)
    expect(engine.users.get('appA')!.password).not.toContain('appA')
    expect(await asUser(authorization)).toBe(200)
    const first = bridge.adminCalls
    // user create, marker group (GET+create) and membership, tenant (GET+create),
    // 2 groups (GET+create each), 3 memberships
    expect(first).toBe(1 + 2 + 1 + 2 + 4 + 3)
    expect(engine.groupMembers.has('c7authbridged\u0000appA')).toBe(true)
    for (let i = 0; i < 5; i++)
      await bridge.ensure(principal({ groupIds: ['billing', 'unlisted'] }))
    expect(bridge.adminCalls).toBe(first)
    // a second new user in the same tenant and groups: user create + memberships only
    await bridge.ensure(principal({ userId: 'appB', groupIds: ['billing'] }))
    expect(bridge.adminCalls - first).toBe(1 + 1 + 3)
  })

  it('single-flights concurrent first requests of one user', async () => {
    const { engine, make } = await setup()
    const bridge = make()
    await Promise.all(Array.from({ length: 10 }, () => bridge.ensure(principal())))
    expect(engine.calls.filter((c) => c === 'POST /user/create')).toHaveLength(1)
  })

  it('reconciles a changed token: removes a dropped group and tenant, adds new ones, keeps unmanaged groups', async () => {
    const { engine, make } = await setup()
    const bridge = make()
    await bridge.ensure(principal({ groupIds: ['billing'], tenantIds: ['tenantA', 'tenantB'] }))
    engine.groupMembers.add('camunda-admin\u0000appA') // an admin group a non-admin must not keep
    engine.groupMembers.add('opsManual\u0000appA')
    await bridge.ensure(principal({ groupIds: [], tenantIds: ['tenantA', 'tenantC'] }))
    expect(engine.groupMembers.has('billing\u0000appA')).toBe(false)
    expect(engine.groupMembers.has('apps\u0000appA')).toBe(true)
    expect(engine.tenantMembers.has('tenantB\u0000appA')).toBe(false)
    expect(engine.tenantMembers.has('tenantC\u0000appA')).toBe(true)
    expect(engine.tenantMembers.has('tenantA\u0000appA')).toBe(true)
    // camunda-admin appears in the allowlist but is never granted through a token, and is removed
    expect(engine.groupMembers.has('camunda-admin\u0000appA')).toBe(false)
    // groups the gateway does not manage are left alone (no 'opsManual' in config); only the
    // engine knows it, so the fake has no such group to list — checked via the set directly
    expect(engine.groupMembers.has('opsManual\u0000appA')).toBe(true)
  })

  it('never re-adds an existing membership after a restart (no upsert: read, then diff)', async () => {
    const { engine, make } = await setup()
    await make().ensure(principal({ groupIds: ['billing'] }))
    const restarted = make()
    await restarted.ensure(principal({ groupIds: ['billing'] }))
    expect(
      engine.calls.filter((c) => c.startsWith('PUT /tenant/tenantA/user-members')),
    ).toHaveLength(1)
    expect(engine.calls.filter((c) => c.startsWith('PUT /group/billing/members'))).toHaveLength(1)
    expect(engine.calls).toContain('GET /tenant?userMember=appA')
    expect(engine.calls).toContain('GET /group?member=appA')
  })

  it('gives admin principals the engine admin group', async () => {
    const { engine, make } = await setup()
    await make().ensure(principal({ userId: 'ops1', kind: 'user', admin: true }))
    expect(engine.groupMembers.has('camunda-admin\u0000ops1')).toBe(true)
  })

  it('repairs a user whose password no longer matches (rotated secret), unlocking it, rate-limited', async () => {
    const { engine, make, asUser } = await setup()
    await make({ secret: 'old'.repeat(12) }).ensure(principal())
    const bridge = make({ secret: 'new'.repeat(12) })
    const { authorization } = await bridge.ensure(principal())
    for (let i = 0; i < 10; i++) expect(await asUser(authorization)).toBe(401) // locked now
    expect(engine.users.get('appA')!.attempts).toBeGreaterThanOrEqual(10)
    expect(await bridge.repair('appA')).toBe(true)
    expect(await asUser(authorization)).toBe(200)
    expect(await bridge.repair('appA')).toBe(false) // too soon: rate-limited
  })

  it('stops using a rejected admin password at once (never locks the admin)', async () => {
    const { engine, make } = await setup()
    const bridge = make({ adminPassword: 'wrong' })
    await expect(bridge.ensure(principal())).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    await expect(bridge.ensure(principal())).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    await expect(bridge.repair('x')).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    expect(bridge.adminCalls).toBe(1)
    expect(engine.users.get('admin')!.attempts).toBe(1)
  })

  it('refuses ids that collide with its own accounts or break the id pattern', async () => {
    const { make } = await setup()
    const bridge = make()
    for (const userId of ['admin', 'ADMIN', 'c7authcanary', 'a-b', 'x'.repeat(65), 'ümlaut']) {
      await expect(bridge.ensure(principal({ userId }))).rejects.toMatchObject({
        code: 'C7AUTH_BRIDGE_FAILED',
      })
    }
    expect(bridge.adminCalls).toBe(0)
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
    const { make } = await setup({}, { readOnly: true })
    await expect(make().checkCanary()).rejects.toMatchObject({
      code: 'C7AUTH_CONFIG_INVALID',
      message: expect.stringContaining('read-only'),
    })
  })

  it('bootstrap helpers create or update tenants idempotently', async () => {
    const { engine, make } = await setup()
    const bridge = make()
    expect(await bridge.ensureTenant('tenantA', 'Tenant A')).toBe('created')
    expect(await bridge.ensureTenant('tenantA', 'Tenant A')).toBe('unchanged')
    expect(await bridge.ensureTenant('tenantA', 'Tenant A2')).toBe('updated')
    expect(engine.tenants.get('tenantA')).toBe('Tenant A2')
  })
})

describe('identity bridge ownership (marker group)', () => {
  /** An operator's own engine account, created by hand: not the bridge's to manage. */
  function seedOperator(engine: Awaited<ReturnType<typeof identityEngine>>, id = 'ops') {
    engine.users.set(id, { password: 'Ops-Passw0rd!', attempts: 0 })
    engine.groupMembers.add(`camunda-admin\u0000${id}`)
    engine.groups.add('opsteam')
    engine.groupMembers.add(`opsteam\u0000${id}`)
    engine.tenants.set('tenantX', 'X')
    engine.tenantMembers.add(`tenantX\u0000${id}`)
  }
  const snapshot = (engine: Awaited<ReturnType<typeof identityEngine>>, id: string) => ({
    password: engine.users.get(id)?.password,
    groups: [...engine.groupMembers].filter((m) => m.endsWith(`\u0000${id}`)).sort(),
    tenants: [...engine.tenantMembers].filter((m) => m.endsWith(`\u0000${id}`)).sort(),
  })
  const writesFor = (engine: Awaited<ReturnType<typeof identityEngine>>, id: string) =>
    engine.calls.filter((c) => !c.startsWith('GET ') && c.includes(`/${id}`))

  it('refuses an existing engine user it did not create, touching nothing, and remembers the refusal', async () => {
    const { engine, make } = await setup()
    seedOperator(engine)
    const before = snapshot(engine, 'ops')
    const bridge = make()
    const ops = principal({ userId: 'ops', kind: 'user', tenantIds: ['tenantA'], admin: false })
    const err = await bridge.ensure(ops).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED', status: 502 })
    expect((err as { detail: string }).detail).toContain('c7authbridged')
    expect(snapshot(engine, 'ops')).toEqual(before)
    expect(writesFor(engine, 'ops')).toEqual([])
    // refused before anything is created for it
    expect(engine.tenants.has('tenantA')).toBe(false)
    const calls = bridge.adminCalls
    await expect(bridge.ensure(ops)).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    expect(bridge.adminCalls).toBe(calls) // remembered: no admin calls per refused request
    // an admin principal with that id is refused too
    bridge.invalidate('ops')
    await expect(bridge.ensure({ ...ops, admin: true })).rejects.toMatchObject({
      code: 'C7AUTH_BRIDGE_FAILED',
    })
    expect(snapshot(engine, 'ops')).toEqual(before)
  })

  it('never repairs (resets or unlocks) a user outside the marker group', async () => {
    const { engine, make } = await setup()
    seedOperator(engine)
    engine.users.get('ops')!.attempts = 3
    const before = snapshot(engine, 'ops')
    const bridge = make()
    await expect(bridge.repair('ops')).rejects.toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    expect(snapshot(engine, 'ops')).toEqual(before)
    expect(engine.users.get('ops')!.attempts).toBe(3)
    expect(writesFor(engine, 'ops')).toEqual([])
  })

  it('reconciles a marker member like any bridged user, and never removes the marker group', async () => {
    const { engine, make } = await setup()
    engine.users.set('legacy', { password: 'whatever-Passw0rd!', attempts: 0 })
    engine.groups.add('c7authbridged')
    engine.groups.add('billing')
    engine.groupMembers.add('c7authbridged\u0000legacy')
    engine.groupMembers.add('billing\u0000legacy')
    engine.groupMembers.add('camunda-admin\u0000legacy')
    engine.tenants.set('tenantB', 'B')
    engine.tenantMembers.add('tenantB\u0000legacy')
    const bridge = make()
    await bridge.ensure(principal({ userId: 'legacy', groupIds: ['c7authbridged'] }))
    expect(snapshot(engine, 'legacy')).toMatchObject({
      groups: ['apps\u0000legacy', 'c7authbridged\u0000legacy'],
      tenants: ['tenantA\u0000legacy'],
    })
    // an engine 401 for it is repaired: it is the bridge's
    expect(await bridge.repair('legacy')).toBe(true)
    expect(engine.users.get('legacy')!.password).not.toBe('whatever-Passw0rd!')
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
    const { engine, make } = await setup()
    const bridge = make({ markerGroupId: 'mybridge' })
    await bridge.ensure(principal())
    expect(engine.groups.has('mybridge')).toBe(true)
    expect(engine.groupMembers.has('mybridge\u0000appA')).toBe(true)
    expect(engine.groups.has('c7authbridged')).toBe(false)
  })

  it('adoptExistingUsers (migration) adopts an old bridged user but never an engine admin', async () => {
    const { engine, make } = await setup()
    engine.users.set('olduser', { password: 'old-Passw0rd!', attempts: 0 })
    seedOperator(engine)
    const before = snapshot(engine, 'ops')
    const bridge = make({ adoptExistingUsers: true })
    await bridge.ensure(principal({ userId: 'olduser' }))
    expect(engine.groupMembers.has('c7authbridged\u0000olduser')).toBe(true)
    expect(engine.tenantMembers.has('tenantA\u0000olduser')).toBe(true)
    await expect(bridge.ensure(principal({ userId: 'ops', kind: 'user' }))).rejects.toMatchObject({
      code: 'C7AUTH_BRIDGE_FAILED',
    })
    expect(snapshot(engine, 'ops')).toEqual(before)
  })

  it('canary from an older bridge: adopted when its derived password works, else a clear startup error', async () => {
    const { engine, make } = await setup()
    expect((await make().checkCanary()).status).toBe('created')
    expect(engine.groupMembers.has('c7authbridged\u0000c7authcanary')).toBe(true)
    engine.groupMembers.delete('c7authbridged\u0000c7authcanary') // as an older version left it
    expect((await make().checkCanary()).status).toBe('ok')
    expect(engine.groupMembers.has('c7authbridged\u0000c7authcanary')).toBe(true)
    engine.groupMembers.delete('c7authbridged\u0000c7authcanary')
    const foreign = engine.users.get('c7authcanary')!.password
    await expect(make({ secret: 'other'.repeat(8) }).checkCanary()).rejects.toMatchObject({
      code: 'C7AUTH_CONFIG_INVALID',
      message: expect.stringContaining('c7authbridged'),
    })
    expect(engine.users.get('c7authcanary')!.password).toBe(foreign)
  })
})

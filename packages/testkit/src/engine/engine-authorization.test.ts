import { afterEach, describe, expect, it } from 'vitest'
import { startEngineSimulator } from './engine-simulator.js'
import type { EngineSimulator } from './engine-simulator.js'
import { approveThenCharge, client } from './test-support.js'

const ADMIN = { user: 'admin', password: 'adminPw' }
const ALICE = { user: 'alice', password: 'alicePw' }

describe('engine simulator: /authorization', () => {
  let engine: EngineSimulator | undefined

  afterEach(async () => {
    engine?.assertNoValidationErrors()
    await engine?.close()
    engine = undefined
  })

  const start = async (authorizationChecks: boolean) => {
    engine = await startEngineSimulator({
      adminUser: { id: ADMIN.user, password: ADMIN.password },
      authorizationChecks,
    })
    engine.seed.user({ id: ALICE.user, password: ALICE.password })
    engine.seed.group({ id: 'apps' })
    engine.seed.membership({ userId: ALICE.user, groupId: 'apps' })
    return engine
  }

  it('creates, queries, counts, updates and deletes grants like the engine', async () => {
    const e = await start(true)
    const admin = client(e.url, ADMIN)
    const grant = {
      type: 1,
      permissions: ['READ', 'CREATE_INSTANCE'],
      userId: null,
      groupId: 'apps',
      resourceType: 6,
      resourceId: '*',
    }
    const created = await admin.post('/authorization/create', grant)
    expect(created.status).toBe(200)
    const dto = created.body as Record<string, unknown>
    expect(dto).toMatchObject(grant)
    const id = dto['id'] as string
    expect(dto['links']).toEqual([
      { method: 'GET', href: `${e.url}/authorization/${id}`, rel: 'self' },
      { method: 'PUT', href: `${e.url}/authorization/${id}`, rel: 'update' },
      { method: 'DELETE', href: `${e.url}/authorization/${id}`, rel: 'delete' },
    ])
    e.seed.authorization({ userId: 'alice', resourceType: 7, permissions: ['READ'] })

    const q = await admin.get('/authorization?groupIdIn=apps,other&resourceType=6&type=1')
    expect((q.body as { id: string }[]).map((a) => a.id)).toEqual([id])
    expect((await admin.get('/authorization?userIdIn=alice')).body).toMatchObject([
      { userId: 'alice', groupId: null, resourceType: 7, permissions: ['READ'] },
    ])
    expect((await admin.get('/authorization/count')).body).toEqual({ count: 2 })
    expect((await admin.get('/authorization/count?resourceType=8')).body).toEqual({ count: 0 })

    const put = await admin.put(`/authorization/${id}`, {
      permissions: ['READ', 'CREATE_INSTANCE', 'READ_TASK'],
      userId: null,
      groupId: 'apps',
      resourceType: 6,
      resourceId: '*',
    })
    expect(put.status).toBe(204)
    expect((await admin.get(`/authorization/${id}`)).body).toMatchObject({
      id,
      type: 1,
      permissions: ['READ', 'CREATE_INSTANCE', 'READ_TASK'],
    })
    expect((await admin.delete(`/authorization/${id}`)).status).toBe(204)
    expect(await admin.get(`/authorization/${id}`)).toMatchObject({
      status: 404,
      body: {
        type: 'InvalidRequestException',
        message: `Authorization with id ${id} does not exist.`,
      },
    })
    expect(e.inspect.authorizations().map((a) => a.userId)).toEqual(['alice'])
  })

  it('rejects duplicates, invalid permissions and rows for both or neither user and group', async () => {
    const e = await start(false)
    const admin = client(e.url, ADMIN)
    const grant = {
      type: 1,
      permissions: ['READ'],
      userId: null,
      groupId: 'apps',
      resourceType: 8,
      resourceId: '*',
    }
    expect((await admin.post('/authorization/create', grant)).status).toBe(200)
    expect(await admin.post('/authorization/create', grant)).toMatchObject({
      status: 500,
      body: { type: 'ProcessEngineException' },
    })
    expect(
      await admin.post('/authorization/create', { ...grant, permissions: ['CREATE_INSTANCE'] }),
    ).toMatchObject({
      status: 400,
      body: {
        type: 'BadUserRequestException',
        message:
          "The permission 'CREATE_INSTANCE' is not valid for 'ProcessInstance' resource type.",
      },
    })
    const both = await admin.post('/authorization/create', { ...grant, userId: 'alice' })
    expect(both).toMatchObject({
      status: 500,
      body: { message: "Authorization must either have a 'userId' or a 'groupId'." },
    })
    const neither = await admin.post('/authorization/create', { ...grant, groupId: null })
    expect(neither.status).toBe(500)
    expect(e.inspect.authorizations()).toHaveLength(1)
  })

  it('lets only admins manage authorizations when checks are on', async () => {
    const e = await start(true)
    const alice = client(e.url, ALICE)
    const grant = {
      type: 1,
      permissions: ['ALL'],
      userId: 'alice',
      groupId: null,
      resourceType: 6,
      resourceId: '*',
    }
    expect(await alice.post('/authorization/create', grant)).toMatchObject({
      status: 403,
      body: { type: 'AuthorizationException' },
    })
    const id = e.seed.authorization({ groupId: 'apps', resourceType: 6, permissions: ['READ'] })
    expect((await alice.get('/authorization')).body).toEqual([])
    expect((await alice.get(`/authorization/${id}`)).status).toBe(404)
    expect((await alice.delete(`/authorization/${id}`)).status).toBe(403)
    expect(e.inspect.authorizations()).toHaveLength(1)
  })

  it('enforces READ on definition queries and CREATE/CREATE_INSTANCE on starts', async () => {
    const e = await start(true)
    e.deploy(approveThenCharge('invoice'))
    e.deploy(approveThenCharge('payroll'))
    const alice = client(e.url, ALICE)
    const admin = client(e.url, ADMIN)
    const keys = async (c: typeof alice) =>
      ((await c.get('/process-definition')).body as { key: string }[]).map((d) => d.key).sort()

    expect(await keys(admin)).toEqual(['invoice', 'payroll'])
    expect(await keys(alice)).toEqual([])
    expect((await alice.get('/process-definition/count')).body).toEqual({ count: 0 })
    expect((await alice.get('/process-definition/key/invoice')).status).toBe(404)
    expect((await alice.post('/process-definition/key/invoice/start', {})).status).toBe(404)

    e.seed.authorization({
      groupId: 'apps',
      resourceType: 6,
      resourceId: 'invoice',
      permissions: ['READ'],
    })
    expect(await keys(alice)).toEqual(['invoice'])
    expect(await alice.post('/process-definition/key/invoice/start', {})).toMatchObject({
      status: 403,
      body: {
        type: 'AuthorizationException',
        message:
          "The user with id 'alice' does not have 'CREATE' permission on resource 'ProcessInstance'.",
      },
    })
    e.seed.authorization({ groupId: 'apps', resourceType: 8, permissions: ['CREATE'] })
    expect((await alice.post('/process-definition/key/invoice/start', {})).body).toMatchObject({
      type: 'AuthorizationException',
      message:
        "The user with id 'alice' does not have 'CREATE_INSTANCE' permission on resource 'invoice' of type 'ProcessDefinition'.",
    })
    const own = e.seed.authorization({
      userId: 'alice',
      resourceType: 6,
      resourceId: 'invoice',
      permissions: ['READ', 'CREATE_INSTANCE'],
    })
    expect((await alice.post('/process-definition/key/invoice/start', {})).status).toBe(200)

    // The user's own revoke beats the group's grant.
    await admin.delete(`/authorization/${own}`)
    e.seed.authorization({
      type: 2,
      userId: 'alice',
      resourceType: 6,
      resourceId: 'invoice',
      permissions: ['READ'],
    })
    expect(await keys(alice)).toEqual([])
  })

  it('checks nothing with authorization checks off (the default)', async () => {
    const e = await start(false)
    e.deploy(approveThenCharge('invoice'))
    const alice = client(e.url, ALICE)
    expect((await alice.get('/process-definition/count')).body).toEqual({ count: 1 })
    expect((await alice.post('/process-definition/key/invoice/start', {})).status).toBe(200)
    const grant = {
      type: 1,
      permissions: ['READ'],
      userId: 'alice',
      resourceType: 1,
      resourceId: '*',
    }
    expect((await alice.post('/authorization/create', grant)).status).toBe(200)
  })
})

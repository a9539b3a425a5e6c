import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EngineSimulator } from './engine-simulator.js'
import { startEngineSimulator } from './engine-simulator.js'
import { client } from './test-support.js'

describe('engine simulator: identity without upsert', () => {
  let engine: EngineSimulator
  let admin: ReturnType<typeof client>
  beforeEach(async () => {
    engine = await startEngineSimulator()
    admin = client(engine.url, { user: 'admin', password: 'admin' })
  })
  afterEach(async () => {
    engine.assertNoValidationErrors()
    await engine.close()
  })

  it('creates a user with profile and credentials; the user can then log in', async () => {
    const res = await admin.post('/user/create', {
      profile: { id: 'u1', firstName: 'Ann', lastName: 'Lee', email: 'ann@example.org' },
      credentials: { password: 'pw1' },
    })
    expect(res.status).toBe(204)
    expect((await admin.get('/user/u1/profile')).body).toEqual({
      id: 'u1',
      firstName: 'Ann',
      lastName: 'Lee',
      email: 'ann@example.org',
    })
    expect((await client(engine.url, { user: 'u1', password: 'pw1' }).get('/version')).status).toBe(
      200,
    )
    expect((await admin.get('/user?id=u1')).body).toEqual([
      { id: 'u1', firstName: 'Ann', lastName: 'Lee', email: 'ann@example.org' },
    ])
    expect((await admin.get('/user/count')).body).toEqual({ count: 2 })
  })

  it('needs only profile.id; a missing id is a 400', async () => {
    expect((await admin.post('/user/create', { profile: { id: 'u2' } })).status).toBe(204)
    const missing = await admin.post('/user/create', { profile: { firstName: 'x' } })
    expect(missing).toMatchObject({
      status: 400,
      body: {
        type: 'InvalidRequestException',
        message: 'request object must provide profile information with valid id.',
      },
    })
  })

  it('refuses duplicates with 400 (no upsert)', async () => {
    expect((await admin.post('/user/create', { profile: { id: 'u1' } })).status).toBe(204)
    expect(await admin.post('/user/create', { profile: { id: 'u1' } })).toMatchObject({
      status: 400,
      body: { type: 'BadUserRequestException', message: 'The user already exists' },
    })
    expect((await admin.post('/group/create', { id: 'g1', name: 'G' })).status).toBe(204)
    expect(await admin.post('/group/create', { id: 'g1' })).toMatchObject({
      status: 400,
      body: { message: 'The group already exists' },
    })
    expect((await admin.post('/tenant/create', { id: 't1', name: 'T' })).status).toBe(204)
    expect(await admin.post('/tenant/create', { id: 't1' })).toMatchObject({
      status: 400,
      body: { message: 'The tenant already exists' },
    })
  })

  it('answers PUT /tenant/{id} with 404 when the tenant does not exist (it does not create)', async () => {
    const res = await admin.put('/tenant/nope', { id: 'nope', name: 'x' })
    expect(res).toMatchObject({
      status: 404,
      body: { type: 'InvalidRequestException', message: 'Tenant with id nope does not exist' },
    })
    expect((await admin.get('/tenant/nope')).status).toBe(404)
    expect((await admin.post('/tenant/create', { id: 'nope', name: 'x' })).status).toBe(204)
    expect((await admin.put('/tenant/nope', { id: 'nope', name: 'renamed' })).status).toBe(204)
    expect((await admin.get('/tenant/nope')).body).toEqual({ id: 'nope', name: 'renamed' })
  })

  it('fails with 500 when a membership is added twice; deleting a missing membership succeeds', async () => {
    engine.seed.user({ id: 'u1' })
    engine.seed.group({ id: 'g1' })
    engine.seed.tenant({ id: 't1' })
    expect((await admin.put('/group/g1/members/u1')).status).toBe(204)
    expect(await admin.put('/group/g1/members/u1')).toMatchObject({
      status: 500,
      body: { type: 'ProcessEngineException' },
    })
    expect((await admin.put('/tenant/t1/user-members/u1')).status).toBe(204)
    expect((await admin.put('/tenant/t1/user-members/u1')).status).toBe(500)
    expect((await admin.put('/tenant/t1/group-members/g1')).status).toBe(204)
    expect((await admin.put('/tenant/t1/group-members/g1')).status).toBe(500)
    expect((await admin.delete('/tenant/t1/user-members/nobody')).status).toBe(204)
    expect((await admin.delete('/group/g1/members/nobody')).status).toBe(204)
  })

  it('requires the group, tenant and user to exist for memberships', async () => {
    engine.seed.user({ id: 'u1' })
    expect(await admin.put('/group/missing/members/u1')).toMatchObject({
      status: 500,
      body: {
        type: 'NullValueException',
        message: "No group found with id 'missing'.: group is null",
      },
    })
    expect(await admin.put('/tenant/missing/user-members/u1')).toMatchObject({
      status: 500,
      body: { message: "No tenant found with id 'missing'.: tenant is null" },
    })
    engine.seed.tenant({ id: 't1' })
    expect(await admin.put('/tenant/t1/user-members/ghost')).toMatchObject({
      status: 500,
      body: { message: "No user found with id 'ghost'.: user is null" },
    })
  })

  it('lists memberships for diffing: GET /tenant?userMember= and GET /group?member=', async () => {
    engine.seed.user({ id: 'u1' })
    engine.seed.group({ id: 'g1' })
    engine.seed.group({ id: 'g2' })
    engine.seed.tenant({ id: 't1' })
    engine.seed.tenant({ id: 't2' })
    engine.seed.membership({ userId: 'u1', groupId: 'g1' })
    engine.seed.membership({ tenantId: 't1', userId: 'u1' })
    engine.seed.membership({ tenantId: 't2', groupId: 'g1' })
    expect((await admin.get('/group?member=u1')).body).toEqual([
      { id: 'g1', name: null, type: null },
    ])
    expect((await admin.get('/tenant?userMember=u1')).body).toEqual([{ id: 't1', name: null }])
    expect((await admin.get('/tenant?userMember=u1&includingGroupsOfUser=true')).body).toEqual([
      { id: 't1', name: null },
      { id: 't2', name: null },
    ])
    expect((await admin.get('/user?memberOfTenant=t1')).body).toMatchObject([{ id: 'u1' }])
    expect(engine.inspect.tenantsOf('u1')).toEqual(['t1', 't2'])
    expect((await admin.delete('/tenant/t1/user-members/u1')).status).toBe(204)
    expect((await admin.get('/tenant?userMember=u1')).body).toEqual([])
  })

  it('checks ids against the whitelist pattern and the 64-character column', async () => {
    const bad = await admin.post('/user/create', { profile: { id: 'auth0|abc-def' } })
    expect(bad).toMatchObject({
      status: 500,
      body: {
        type: 'ProcessEngineException',
        message: "User has an invalid id: 'auth0|abc-def' is not a valid resource identifier.",
      },
    })
    expect((await admin.post('/tenant/create', { id: 'tenant-a' })).status).toBe(500)
    expect((await admin.post('/group/create', { id: 'a'.repeat(65) })).status).toBe(500)
    expect((await admin.post('/group/create', { id: 'a'.repeat(64) })).status).toBe(204)
  })

  it('counts provisioning calls and removes memberships with the user', async () => {
    engine.seed.tenant({ id: 't1' })
    await admin.post('/user/create', { profile: { id: 'u1' }, credentials: { password: 'p' } })
    await admin.put('/tenant/t1/user-members/u1')
    await admin.get('/tenant?userMember=u1')
    expect(engine.stats.provisioningCalls).toBe(2)
    await admin.delete('/user/u1')
    expect(engine.inspect.tenantsOf('u1')).toEqual([])
    expect(engine.stats.provisioningCalls).toBe(3)
  })

  it('logs identity operations for the acting admin', async () => {
    await admin.post('/tenant/create', { id: 't9' })
    expect(engine.userOperationLog()).toContainEqual(
      expect.objectContaining({
        userId: 'admin',
        operationType: 'Create',
        entityType: 'Tenant',
        category: 'Admin',
        property: 'tenantId',
        newValue: 't9',
      }),
    )
  })
})

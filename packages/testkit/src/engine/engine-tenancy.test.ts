import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EngineSimulator } from './engine-simulator.js'
import { startEngineSimulator } from './engine-simulator.js'
import { approveThenCharge, client } from './test-support.js'

interface Row {
  id: string
  tenantId: string | null
}

describe('engine simulator: transparent tenant check', () => {
  let engine: EngineSimulator
  let admin: ReturnType<typeof client>
  let alice: ReturnType<typeof client>
  let aTask: string
  let bTask: string
  let bInstance: string
  let bDefinition: string
  beforeEach(async () => {
    engine = await startEngineSimulator()
    engine.seed.tenant({ id: 'tenantA' })
    engine.seed.tenant({ id: 'tenantB' })
    engine.seed.user({ id: 'alice', password: 'pa' })
    engine.seed.group({ id: 'teamA' })
    engine.seed.membership({ userId: 'alice', groupId: 'teamA' })
    engine.seed.membership({ tenantId: 'tenantA', groupId: 'teamA' }) // tenant via group
    engine.deploy(approveThenCharge(), { tenantId: 'tenantA' })
    bDefinition = engine.deploy(approveThenCharge(), { tenantId: 'tenantB' }).definitions[0]
      ?.id as string
    engine.deploy(approveThenCharge('shared'))
    engine.startProcess('invoice', { tenantId: 'tenantA' })
    bInstance = engine.startProcess('invoice', { tenantId: 'tenantB' }).id
    engine.startProcess('shared')
    aTask = engine.inspect.tasks().find((t) => t.tenantId === 'tenantA')?.id as string
    bTask = engine.inspect.tasks().find((t) => t.tenantId === 'tenantB')?.id as string
    admin = client(engine.url, { user: 'admin', password: 'admin' })
    alice = client(engine.url, { user: 'alice', password: 'pa' })
  })
  afterEach(async () => {
    engine.assertNoValidationErrors()
    await engine.close()
  })

  const tenants = (rows: unknown): (string | null)[] =>
    (rows as Row[])
      .map((r) => r.tenantId)
      .sort((a, b) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a.localeCompare(b)))

  it('shows a tenant user its tenants plus NULL-tenant rows; admin sees everything', async () => {
    expect(tenants((await alice.get('/process-definition')).body)).toEqual(['tenantA', null])
    expect(tenants((await alice.get('/task')).body)).toEqual(['tenantA', null])
    expect(tenants((await alice.post('/task', {})).body)).toEqual(['tenantA', null])
    expect(tenants((await alice.get('/process-instance')).body)).toEqual(['tenantA', null])
    expect(tenants((await alice.get('/deployment')).body)).toEqual(['tenantA', null])
    expect(tenants((await alice.get('/history/process-instance')).body)).toEqual(['tenantA', null])
    expect((await alice.get('/task/count')).body).toEqual({ count: 2 })
    expect(tenants((await admin.get('/task')).body)).toEqual(['tenantA', 'tenantB', null])
    // explicit filters only narrow the visible set
    expect(tenants((await alice.get('/task?tenantIdIn=tenantB')).body)).toEqual([])
    expect(tenants((await admin.get('/task?tenantIdIn=tenantB')).body)).toEqual(['tenantB'])
  })

  it('uses the first value of a duplicated query parameter and treats an empty tenantIdIn as no filter', async () => {
    expect(tenants((await admin.get('/task?tenantIdIn=tenantA&tenantIdIn=tenantB')).body)).toEqual([
      'tenantA',
    ])
    expect(tenants((await admin.get('/task?tenantIdIn=')).body)).toEqual([
      'tenantA',
      'tenantB',
      null,
    ])
    expect(tenants((await admin.post('/task', { tenantIdIn: [] })).body)).toEqual([
      'tenantA',
      'tenantB',
      null,
    ])
    expect(tenants((await admin.get('/task?withoutTenantId=true')).body)).toEqual([null])
    expect(
      tenants((await admin.get('/process-definition?tenantIdIn=tenantA,tenantB')).body),
    ).toEqual(['tenantA', 'tenantB'])
    const withShared = await admin.get(
      '/process-definition?tenantIdIn=tenantA&includeProcessDefinitionsWithoutTenantId=true',
    )
    expect(tenants(withShared.body)).toEqual(['tenantA', null])
  })

  it('answers foreign by-id reads with the engine 404 body (identical to a missing id)', async () => {
    const ire = (message: string, code: number | null = null) => ({
      type: 'InvalidRequestException',
      message,
      code,
    })
    expect(await alice.get(`/task/${bTask}`)).toEqual(
      expect.objectContaining({ status: 404, body: ire(`No matching task with id ${bTask}`) }),
    )
    expect((await alice.get('/task/does-not-exist')).body).toEqual(
      ire('No matching task with id does-not-exist'),
    )
    expect((await alice.get(`/process-instance/${bInstance}`)).body).toEqual(
      ire(`Process instance with id ${bInstance} does not exist`),
    )
    // the definition resource wraps the engine exception, so its code is 0
    expect((await alice.get(`/process-definition/${bDefinition}`)).body).toEqual(
      ire(`No matching definition with id ${bDefinition}`, 0),
    )
    expect((await alice.get('/process-definition/nope')).body).toEqual(
      ire('No matching definition with id nope', 0),
    )
    const bExternal = engine.inspect.externalTasks().find((t) => t.tenantId === 'tenantB')
    expect(bExternal).toBeUndefined()
    expect((await alice.get(`/history/process-instance/${bInstance}`)).body).toEqual(
      ire(`Historic process instance with id ${bInstance} does not exist`),
    )
    expect((await alice.get(`/task/${aTask}`)).status).toBe(200)
    expect((await admin.get(`/task/${bTask}`)).status).toBe(200)
  })

  it('answers a foreign external task like a missing one (RestException, code null)', async () => {
    for (const t of engine.inspect.tasks()) await admin.post(`/task/${t.id}/complete`, {})
    const foreign = engine.inspect.externalTasks().find((t) => t.tenantId === 'tenantB')
      ?.id as string
    const body = (id: string) => ({
      type: 'RestException',
      message: `External task with id ${id} does not exist`,
      code: null,
    })
    expect(await alice.get(`/external-task/${foreign}`)).toMatchObject({
      status: 404,
      body: body(foreign),
    })
    expect((await alice.get('/external-task/missing')).body).toEqual(body('missing'))
    // commands: worker check first (400), then the tenant check (500 ENGINE-13034)
    await admin.post('/external-task/fetchAndLock', {
      workerId: 'wB',
      maxTasks: 1,
      topics: [{ topicName: 'charge', lockDuration: 60_000, tenantIdIn: ['tenantB'] }],
    })
    expect(
      await alice.post(`/external-task/${foreign}/complete`, { workerId: 'wA' }),
    ).toMatchObject({
      status: 400,
      body: {
        type: 'RestException',
        message: `External Task ${foreign} cannot be completed by worker 'wA'. It is locked by worker 'wB'.`,
        code: 0,
      },
    })
    expect(
      await alice.post(`/external-task/${foreign}/complete`, { workerId: 'wB' }),
    ).toMatchObject({
      status: 500,
      body: {
        type: 'ProcessEngineException',
        message: expect.stringMatching(
          /^ENGINE-13034 Cannot update the process instance '.+' because it belongs to no authenticated tenant\.$/,
        ),
      },
    })
    expect((await alice.post(`/external-task/${foreign}/unlock`)).status).toBe(500)
    expect(await alice.post('/external-task/missing/complete', { workerId: 'wA' })).toMatchObject({
      status: 404,
      body: {
        type: 'RestException',
        message: 'External task with id missing does not exist',
        code: 0,
      },
    })
    expect(await alice.post(`/external-task/${foreign}/complete`, {})).toMatchObject({
      status: 500,
      body: { type: 'NullValueException', message: 'workerId is null' },
    })
  })

  it('fails foreign commands with ENGINE-13034 (500)', async () => {
    expect(await alice.post(`/task/${bTask}/complete`, {})).toMatchObject({
      status: 500,
      body: {
        type: 'RestException',
        message: `Cannot complete task ${bTask}: ENGINE-13034 Cannot work on task '${bTask}' because it belongs to no authenticated tenant.`,
        code: 0,
      },
    })
    expect(await alice.delete(`/process-instance/nope`)).toMatchObject({
      status: 404,
      body: {
        type: 'InvalidRequestException',
        message: "No process instance found for id 'nope': processInstance is null",
        code: 0,
      },
    })
    expect(await alice.post(`/task/${bTask}/claim`, { userId: 'alice' })).toMatchObject({
      status: 500,
      body: { type: 'ProcessEngineException', message: expect.stringContaining('ENGINE-13034') },
    })
    expect((await alice.get(`/process-instance/${bInstance}/variables`)).status).toBe(500)
    expect((await alice.delete(`/process-instance/${bInstance}`)).body).toMatchObject({
      message: expect.stringContaining('ENGINE-13034'),
    })
    expect(await alice.post(`/process-definition/${bDefinition}/start`, {})).toMatchObject({
      status: 500,
      body: { type: 'RestException', message: expect.stringContaining('ENGINE-13034') },
    })
    expect((await alice.post(`/task/${aTask}/complete`, {})).status).toBe(204)
  })

  it('resolves key-only paths to the shared definition and key+tenant paths exactly', async () => {
    expect(await admin.post('/process-definition/key/invoice/start', {})).toMatchObject({
      status: 404,
      body: {
        type: 'RestException',
        message: 'No matching process definition with key: invoice and no tenant-id',
      },
    })
    expect((await admin.get('/process-definition/key/shared')).body).toMatchObject({
      key: 'shared',
      tenantId: null,
    })
    const started = await alice.post('/process-definition/key/invoice/tenant-id/tenantA/start', {
      businessKey: 'b1',
    })
    expect(started).toMatchObject({
      status: 200,
      body: { tenantId: 'tenantA', businessKey: 'b1', definitionKey: 'invoice' },
    })
    expect(
      await alice.post('/process-definition/key/invoice/tenant-id/tenantB/start', {}),
    ).toMatchObject({
      status: 404,
      body: { message: 'No matching process definition with key: invoice and tenant-id: tenantB' },
    })
  })

  it('lets a tenant user fetch only its own and NULL-tenant external tasks', async () => {
    for (const t of engine.inspect.tasks()) await admin.post(`/task/${t.id}/complete`, {})
    const all = await alice.post('/external-task/fetchAndLock', {
      workerId: 'w',
      maxTasks: 10,
      topics: [{ topicName: 'charge', lockDuration: 10_000 }],
    })
    expect(tenants(all.body)).toEqual(['tenantA', null])
    const asAdmin = await admin.post('/external-task/fetchAndLock', {
      workerId: 'w2',
      maxTasks: 10,
      topics: [{ topicName: 'charge', lockDuration: 10_000, tenantIdIn: ['tenantB'] }],
    })
    expect(tenants(asAdmin.body)).toEqual(['tenantB'])
  })

  it('does not tenant-check admins or unauthenticated engines', async () => {
    await engine.close()
    engine = await startEngineSimulator({ authentication: false })
    engine.deploy(approveThenCharge(), { tenantId: 'x' })
    engine.deploy(approveThenCharge(), { tenantId: 'y' })
    expect(tenants((await client(engine.url).get('/process-definition')).body)).toEqual(['x', 'y'])
  })
})

describe('engine simulator: orQueries', () => {
  it('ORs the criteria inside an orQuery and ANDs the group with top-level criteria', async () => {
    const engine = await startEngineSimulator()
    try {
      engine.seed.tenant({ id: 'tenantA' })
      engine.deploy(approveThenCharge(), { tenantId: 'tenantA' })
      engine.deploy(approveThenCharge(), { tenantId: 'tenantB' })
      engine.deploy(approveThenCharge())
      engine.startProcess('invoice', { tenantId: 'tenantA', businessKey: 'a' })
      engine.startProcess('invoice', { tenantId: 'tenantB', businessKey: 'b' })
      engine.startProcess('invoice', { businessKey: 'shared' })
      const admin = client(engine.url, { user: 'admin', password: 'admin' })
      const keys = async (path: string, body: unknown) =>
        ((await admin.post(path, body)).body as { businessKey?: string; id: string }[]).length
      // (tenantB OR withoutTenantId) → b + shared
      expect(
        await keys('/process-instance', {
          orQueries: [{ tenantIdIn: ['tenantB'], withoutTenantId: true }],
        }),
      ).toBe(2)
      // top-level tenantIdIn=[tenantA] AND (tenantB OR shared) → nothing: OR groups only narrow
      expect(
        await keys('/process-instance', {
          tenantIdIn: ['tenantA'],
          orQueries: [{ tenantIdIn: ['tenantB'], withoutTenantId: true }],
        }),
      ).toBe(0)
      expect(
        await keys('/task', { tenantIdIn: ['tenantA'], orQueries: [{ tenantIdIn: ['tenantB'] }] }),
      ).toBe(0)
      expect(
        await keys('/task', {
          orQueries: [{ tenantIdIn: ['tenantA'], processInstanceBusinessKey: 'shared' }],
        }),
      ).toBe(2)
      expect(
        await keys('/history/process-instance', {
          orQueries: [{ processInstanceBusinessKey: 'a' }, {}],
        }),
      ).toBe(1)
      engine.assertNoValidationErrors()
    } finally {
      await engine.close()
    }
  })
})

describe('engine simulator: TenantIdProvider', () => {
  it('assigns a tenant to instances of shared definitions only', async () => {
    const engine = await startEngineSimulator({
      tenantIdProvider: ({ variables, processDefinitionKey }) =>
        processDefinitionKey === 'shared' && typeof variables['tenant'] === 'string'
          ? variables['tenant']
          : null,
    })
    try {
      engine.seed.tenant({ id: 'tenantA' })
      engine.seed.user({ id: 'alice', password: 'pa' })
      engine.seed.membership({ tenantId: 'tenantA', userId: 'alice' })
      engine.deploy(approveThenCharge('shared'))
      engine.deploy(approveThenCharge('own'), { tenantId: 'tenantB' })
      const admin = client(engine.url, { user: 'admin', password: 'admin' })
      const started = await admin.post('/process-definition/key/shared/start', {
        variables: { tenant: { value: 'tenantB', type: 'String' } },
      })
      expect(started.body).toMatchObject({ tenantId: 'tenantB' })
      expect((await admin.post('/process-definition/key/shared/start', {})).body).toMatchObject({
        tenantId: null,
      })
      const own = await admin.post('/process-definition/key/own/tenant-id/tenantB/start', {
        variables: { tenant: { value: 'tenantA', type: 'String' } },
      })
      expect(own.body).toMatchObject({ tenantId: 'tenantB' })
      const alice = client(engine.url, { user: 'alice', password: 'pa' })
      const visible = (await alice.get('/task')).body as { tenantId: string | null }[]
      expect(visible.map((t) => t.tenantId)).toEqual([null])
      engine.assertNoValidationErrors()
    } finally {
      await engine.close()
    }
  })
})

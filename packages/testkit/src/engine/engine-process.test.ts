import { Agent, request } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { linearProcessXml } from './bpmn-builder.js'
import type { EngineSimulator } from './engine-simulator.js'
import { startEngineSimulator } from './engine-simulator.js'
import { approveThenCharge, basic, client, deploymentForm } from './test-support.js'

interface Locked {
  id: string
  tenantId: string | null
  topicName: string
  workerId: string
  businessKey: string | null
  variables: Record<string, { value: unknown; type: string; valueInfo: Record<string, unknown> }>
}

describe('engine simulator: deployments, processes, tasks and external tasks', () => {
  let engine: EngineSimulator
  let admin: ReturnType<typeof client>
  let bob: ReturnType<typeof client>
  beforeEach(async () => {
    engine = await startEngineSimulator()
    engine.seed.tenant({ id: 'tenantA' })
    engine.seed.user({ id: 'bob', password: 'pb' })
    engine.seed.membership({ tenantId: 'tenantA', userId: 'bob' })
    admin = client(engine.url, { user: 'admin', password: 'admin' })
    bob = client(engine.url, { user: 'bob', password: 'pb' })
  })
  afterEach(async () => {
    engine.assertNoValidationErrors()
    await engine.close()
  })

  it('deploys multipart with tenant-id, versions per key and tenant, and streams a 5 MB resource', async () => {
    const big = new Uint8Array(5 * 1024 * 1024).fill(65)
    const form = deploymentForm(
      { 'deployment-name': 'invoice', 'tenant-id': 'tenantA', 'deployment-source': 'test' },
      [
        { name: 'invoice.bpmn', content: approveThenCharge() },
        { name: 'blob.bin', content: big },
      ],
    )
    const res = await admin.post('/deployment/create', form)
    expect(res.status).toBe(200)
    expect(res.contentType).toBe('application/json')
    const body = res.body as {
      id: string
      tenantId: string
      deployedProcessDefinitions: Record<string, { key: string; version: number; tenantId: string }>
    }
    expect(body.tenantId).toBe('tenantA')
    expect(Object.values(body.deployedProcessDefinitions)).toEqual([
      expect.objectContaining({ key: 'invoice', version: 1, tenantId: 'tenantA' }),
    ])
    expect(engine.requests.at(-1)?.body).toMatchObject({
      files: [{ fileName: 'invoice.bpmn' }, { fileName: 'blob.bin', size: 5 * 1024 * 1024 }],
    })
    const resources = await admin.get(`/deployment/${body.id}/resources`)
    expect(resources.body).toHaveLength(2)
    // a second deployment for the same tenant → version 2; the shared one starts at 1 again
    await admin.post(
      '/deployment/create',
      deploymentForm({ 'tenant-id': 'tenantA' }, [
        { name: 'i.bpmn', content: approveThenCharge() },
      ]),
    )
    await admin.post(
      '/deployment/create',
      deploymentForm({}, [{ name: 'i.bpmn', content: approveThenCharge() }]),
    )
    const defs = (await admin.get('/process-definition?key=invoice&sortBy=version&sortOrder=asc'))
      .body as { version: number; tenantId: string | null }[]
    expect(defs.map((d) => [d.tenantId, d.version])).toEqual(
      [
        ['tenantA', 1],
        [null, 1],
        ['tenantA', 2],
      ].sort((a, b) => (a[1] as number) - (b[1] as number)),
    )
    const latest = (await admin.get('/process-definition?key=invoice&latestVersion=true')).body as {
      version: number
      tenantId: string | null
    }[]
    expect(latest.map((d) => `${d.tenantId}:${d.version}`).sort()).toEqual(['null:1', 'tenantA:2'])
    expect(
      (await admin.get('/process-definition/key/invoice/tenant-id/tenantA')).body,
    ).toMatchObject({ version: 2 })
    expect((await admin.get('/process-definition/key/invoice/xml')).body).toMatchObject({
      bpmn20Xml: expect.stringContaining('camunda:topic="charge"'),
    })
  })

  it('keeps the last duplicate tenant-id part, filters duplicates on request and rejects file-less parts', async () => {
    const fd = new FormData()
    fd.append('tenant-id', 'first')
    fd.append('tenant-id', 'tenantA')
    fd.append('enable-duplicate-filtering', 'true')
    fd.append('deployment-name', 'dup')
    fd.append('data', new Blob([approveThenCharge()]), 'p.bpmn')
    const first = await admin.post('/deployment/create', fd)
    expect(first.body).toMatchObject({ tenantId: 'tenantA' })
    const again = await admin.post('/deployment/create', fd)
    expect(again.body).toMatchObject({
      id: (first.body as { id: string }).id,
      deployedProcessDefinitions: null,
    })
    const noFile = new FormData()
    noFile.append('something', 'text')
    expect(await admin.post('/deployment/create', noFile)).toMatchObject({
      status: 400,
      body: { type: 'InvalidRequestException' },
    })
    const notBpmn = deploymentForm({}, [{ name: 'x.bpmn', content: '<nope/>' }])
    expect(await admin.post('/deployment/create', notBpmn)).toMatchObject({
      status: 400,
      body: { type: 'ParseException' },
    })
  })

  it('runs start → user task → complete → external task → fetchAndLock(tenantIdIn) → complete → end', async () => {
    engine.deploy(approveThenCharge(), { tenantId: 'tenantA' })
    const started = await bob.post('/process-definition/key/invoice/tenant-id/tenantA/start', {
      businessKey: 'order-1',
      variables: { amount: { value: 42, type: 'Integer' }, customer: { value: 'ACME' } },
      withVariablesInReturn: true,
    })
    expect(started).toMatchObject({
      status: 200,
      body: {
        tenantId: 'tenantA',
        businessKey: 'order-1',
        variables: {
          amount: { value: 42, type: 'Integer', valueInfo: {} },
          customer: { type: 'String' },
        },
      },
    })
    const pi = (started.body as { id: string }).id
    const tasks = (await bob.get(`/task?processInstanceId=${pi}`)).body as {
      id: string
      name: string
      taskDefinitionKey: string
      tenantId: string
    }[]
    expect(tasks).toEqual([
      expect.objectContaining({
        name: 'Approve',
        taskDefinitionKey: 'approve',
        tenantId: 'tenantA',
      }),
    ])
    const taskId = tasks[0]?.id as string
    expect((await bob.get('/task?candidateGroup=accounting')).body).toHaveLength(1)
    expect((await bob.post(`/task/${taskId}/claim`, { userId: 'bob' })).status).toBe(204)
    expect((await bob.get(`/task/${taskId}`)).body).toMatchObject({ assignee: 'bob' })
    expect(await admin.post(`/task/${taskId}/claim`, { userId: 'admin' })).toMatchObject({
      status: 500,
      body: { type: 'TaskAlreadyClaimedException' },
    })
    expect(
      (await bob.put(`/task/${taskId}/variables/note`, { value: 'ok', type: 'String' })).status,
    ).toBe(204)
    expect(
      (
        await bob.post(`/task/${taskId}/complete`, {
          variables: { approved: { value: true, type: 'Boolean' } },
        })
      ).status,
    ).toBe(204)
    expect((await bob.get(`/task/${taskId}`)).status).toBe(404)

    const fetched = await bob.post('/external-task/fetchAndLock', {
      workerId: 'worker-1',
      maxTasks: 5,
      usePriority: true,
      topics: [
        {
          topicName: 'charge',
          lockDuration: 60_000,
          tenantIdIn: ['tenantA'],
          variables: ['amount', 'approved'],
        },
      ],
    })
    expect(fetched.contentType).toBe('application/json')
    const locked = fetched.body as Locked[]
    expect(locked).toHaveLength(1)
    expect(locked[0]).toMatchObject({
      topicName: 'charge',
      tenantId: 'tenantA',
      workerId: 'worker-1',
      businessKey: 'order-1',
      variables: {
        amount: { value: 42, type: 'Integer', valueInfo: {} },
        approved: { value: true, type: 'Boolean' },
      },
    })
    expect(Object.keys(locked[0]?.variables ?? {}).sort()).toEqual(['amount', 'approved'])
    const extId = locked[0]?.id as string
    // locked: nobody else gets it; another worker may not complete it
    expect(
      (
        await admin.post('/external-task/fetchAndLock', {
          workerId: 'w2',
          maxTasks: 5,
          topics: [{ topicName: 'charge', lockDuration: 1000 }],
        })
      ).body,
    ).toEqual([])
    expect(
      await bob.post(`/external-task/${extId}/complete`, { workerId: 'intruder' }),
    ).toMatchObject({
      status: 400,
      body: {
        type: 'RestException',
        message: `External Task ${extId} cannot be completed by worker 'intruder'. It is locked by worker 'worker-1'.`,
      },
    })
    expect(
      (
        await bob.post(`/external-task/${extId}/extendLock`, {
          workerId: 'worker-1',
          newDuration: 5000,
        })
      ).status,
    ).toBe(204)
    expect(
      (
        await bob.post(`/external-task/${extId}/complete`, {
          workerId: 'worker-1',
          variables: { charged: { value: true, type: 'Boolean' } },
        })
      ).status,
    ).toBe(204)
    expect(engine.inspect.processInstance(pi)).toMatchObject({
      state: 'COMPLETED',
      variables: { amount: 42, approved: true, charged: true, note: 'ok' },
    })
    expect((await bob.get(`/process-instance/${pi}`)).status).toBe(404)
    expect((await bob.get(`/history/process-instance/${pi}`)).body).toMatchObject({
      state: 'COMPLETED',
      tenantId: 'tenantA',
      startUserId: 'bob',
    })
    expect((await bob.get(`/history/task?processInstanceId=${pi}`)).body).toEqual([
      expect.objectContaining({
        assignee: 'bob',
        deleteReason: 'completed',
        taskState: 'Completed',
      }),
    ])
  })

  it('writes the user operation log with the acting user at history level full', async () => {
    engine.deploy(approveThenCharge(), { tenantId: 'tenantA' })
    const pi = (
      (await bob.post('/process-definition/key/invoice/tenant-id/tenantA/start', {})).body as {
        id: string
      }
    ).id
    const taskId = engine.inspect.tasks()[0]?.id as string
    await bob.post(`/task/${taskId}/claim`, { userId: 'bob' })
    await bob.post(`/task/${taskId}/complete`, {})
    const log = engine
      .userOperationLog()
      .map((e) => [e.userId, e.operationType, e.entityType, e.tenantId])
    expect(log).toEqual([
      ['bob', 'Create', 'ProcessInstance', 'tenantA'],
      ['bob', 'Claim', 'Task', 'tenantA'],
      ['bob', 'Complete', 'Task', 'tenantA'],
    ])
    const rest = (
      await admin.get(`/history/user-operation?processInstanceId=${pi}&operationType=Complete`)
    ).body as Record<string, unknown>[]
    expect(rest).toEqual([
      expect.objectContaining({
        userId: 'bob',
        operationType: 'Complete',
        entityType: 'Task',
        taskId,
        processInstanceId: pi,
        category: 'TaskWorker',
      }),
    ])
    expect(rest[0]).not.toHaveProperty('tenantId')
    // external task completion writes no entry (operation type null in the engine)
    const ext = engine.inspect.externalTasks()[0]?.id as string
    await bob.post('/external-task/fetchAndLock', {
      workerId: 'w',
      maxTasks: 1,
      topics: [{ topicName: 'charge', lockDuration: 1000 }],
    })
    await bob.post(`/external-task/${ext}/complete`, { workerId: 'w' })
    expect(engine.userOperationLog()).toHaveLength(3)
  })

  it('writes no operation log below history level full or without authentication', async () => {
    await engine.close()
    engine = await startEngineSimulator({ historyLevel: 'audit' })
    engine.deploy(approveThenCharge())
    await client(engine.url, { user: 'admin', password: 'admin' }).post(
      '/process-definition/key/invoice/start',
      {},
    )
    expect(engine.userOperationLog()).toEqual([])
    await engine.close()
    engine = await startEngineSimulator({ authentication: false })
    engine.deploy(approveThenCharge())
    await client(engine.url).post('/process-definition/key/invoice/start', {})
    expect(engine.userOperationLog()).toEqual([])
  })

  it('creates an incident when failure retries reach 0, and retries with a timeout otherwise', async () => {
    engine.deploy(approveThenCharge('p'))
    engine.clock.freeze()
    engine.startProcess('p')
    await admin.post(`/task/${engine.inspect.tasks()[0]?.id}/complete`, {})
    const fetch1 = (
      await admin.post('/external-task/fetchAndLock', {
        workerId: 'w',
        maxTasks: 1,
        topics: [{ topicName: 'charge', lockDuration: 1000 }],
      })
    ).body as Locked[]
    const id = fetch1[0]?.id as string
    expect(
      (
        await admin.post(`/external-task/${id}/failure`, {
          workerId: 'w',
          errorMessage: 'boom',
          retries: 1,
          retryTimeout: 5000,
        })
      ).status,
    ).toBe(204)
    const fetchNow = () =>
      admin.post('/external-task/fetchAndLock', {
        workerId: 'w',
        maxTasks: 1,
        topics: [{ topicName: 'charge', lockDuration: 1000 }],
      })
    expect((await fetchNow()).body).toEqual([])
    engine.clock.advance(5000)
    expect((await fetchNow()).body).toMatchObject([{ id, retries: 1, errorMessage: 'boom' }])
    expect(
      (
        await admin.post(`/external-task/${id}/failure`, {
          workerId: 'w',
          errorMessage: 'dead',
          retries: 0,
        })
      ).status,
    ).toBe(204)
    engine.clock.advance(60_000)
    expect((await fetchNow()).body).toEqual([])
    expect((await admin.get('/external-task?noRetriesLeft=true')).body).toMatchObject([
      { id, retries: 0 },
    ])
    expect((await admin.post(`/external-task/${id}/unlock`)).status).toBe(204)
  })

  it('long-polls: answers as soon as a task appears, times out with [], and keeps an abandoned poll', async () => {
    engine.deploy(
      linearProcessXml({ key: 'lp', steps: [{ type: 'externalTask', id: 'e', topic: 'poll' }] }),
    )
    const body = {
      workerId: 'w',
      maxTasks: 1,
      asyncResponseTimeout: 10_000,
      topics: [{ topicName: 'poll', lockDuration: 1000 }],
    }
    const pending = admin.post('/external-task/fetchAndLock', body)
    await waitFor(() => engine.pendingLongPolls === 1)
    engine.startProcess('lp')
    const res = await pending
    // the new task answered the poll (a poll that ran out would answer an empty list)
    expect((res.body as Locked[])[0]?.topicName).toBe('poll')
    expect(engine.pendingLongPolls).toBe(0)

    const t0 = Date.now()
    const empty = await admin.post('/external-task/fetchAndLock', {
      ...body,
      asyncResponseTimeout: 300,
    })
    expect(empty).toMatchObject({ status: 200, body: [] })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)

    const raw = JSON.stringify({ ...body, asyncResponseTimeout: 60_000 })
    const req = request(`${engine.url}/external-task/fetchAndLock`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: basic('admin', 'admin'),
        'content-length': Buffer.byteLength(raw),
      },
    })
    req.on('error', () => {})
    req.end(raw)
    await waitFor(() => engine.pendingLongPolls === 1)
    req.destroy()
    await waitFor(() => engine.pendingLongPolls === 0)
    // like the real engines, the poll outlives its client and locks a task created meanwhile
    expect(engine.abandonedLongPolls).toBe(1)
    const late = engine.startProcess('lp')
    expect(
      (await admin.post('/external-task/fetchAndLock', { ...body, asyncResponseTimeout: 0 })).body,
    ).toEqual([])
    expect(engine.abandonedLongPolls).toBe(0)
    expect(
      engine.inspect.externalTasks().find((t) => t.processInstanceId === late.id)?.workerId,
    ).toBe('w')
  })

  it('closes pending long polls on close()', async () => {
    const pending = admin
      .post('/external-task/fetchAndLock', {
        workerId: 'w',
        maxTasks: 1,
        asyncResponseTimeout: 60_000,
        topics: [{ topicName: 'x', lockDuration: 1 }],
      })
      .then(
        () => 'answered',
        () => 'closed',
      )
    await waitFor(() => engine.pendingLongPolls === 1)
    await engine.close()
    expect(await pending).toBe('closed')
    engine = await startEngineSimulator()
  })

  it('rejects an asyncResponseTimeout above 30 minutes', async () => {
    const res = await admin.post('/external-task/fetchAndLock', {
      workerId: 'w',
      maxTasks: 1,
      asyncResponseTimeout: 1_800_001,
      topics: [],
    })
    expect(res).toMatchObject({ status: 400, body: { type: 'InvalidRequestException' } })
  })

  it('correlates messages to waiting receive tasks and message start events, per tenant', async () => {
    engine.deploy(
      linearProcessXml({ key: 'm', steps: [{ type: 'receiveTask', id: 'wait', message: 'paid' }] }),
      { tenantId: 'tenantA' },
    )
    engine.deploy(
      linearProcessXml({ key: 's', startMessage: 'go', steps: [{ type: 'userTask', id: 'u' }] }),
      { tenantId: 'tenantA' },
    )
    const pi = engine.startProcess('m', { tenantId: 'tenantA', businessKey: 'k1' }).id
    expect((await bob.post('/message', { messageName: 'paid', tenantId: 'other' })).status).toBe(
      400,
    )
    expect(
      await bob.post('/message', {
        messageName: 'paid',
        tenantId: 'tenantA',
        withoutTenantId: true,
      }),
    ).toMatchObject({ status: 400 })
    const res = await bob.post('/message', {
      messageName: 'paid',
      businessKey: 'k1',
      tenantId: 'tenantA',
      processVariables: { x: { value: 1, type: 'Integer' } },
      resultEnabled: true,
    })
    expect(res).toMatchObject({ status: 200, body: [{ resultType: 'Execution' }] })
    expect(engine.inspect.processInstance(pi)).toMatchObject({
      state: 'COMPLETED',
      variables: { x: 1 },
    })
    const start = await bob.post('/message', {
      messageName: 'go',
      tenantId: 'tenantA',
      resultEnabled: true,
    })
    expect(start).toMatchObject({
      status: 200,
      body: [{ resultType: 'ProcessDefinition', processInstance: { tenantId: 'tenantA' } }],
    })
  })

  it('reads and modifies process instance variables', async () => {
    engine.deploy(approveThenCharge())
    const pi = engine.startProcess('invoice', { variables: { a: { value: 'x' } } }).id
    expect((await admin.get(`/process-instance/${pi}/variables`)).body).toEqual({
      a: { value: 'x', type: 'String', valueInfo: {} },
    })
    expect(
      (
        await admin.post(`/process-instance/${pi}/variables`, {
          modifications: { b: { value: 2.5, type: 'Double' } },
          deletions: ['a'],
        })
      ).status,
    ).toBe(204)
    expect((await admin.get(`/process-instance/${pi}/variables/b`)).body).toEqual({
      value: 2.5,
      type: 'Double',
      valueInfo: {},
    })
    expect(await admin.get(`/process-instance/${pi}/variables/a`)).toMatchObject({
      status: 404,
      body: { message: 'process instance variable with name a does not exist' },
    })
    expect(
      await admin.put(`/process-instance/${pi}/variables/c`, { value: 'no', type: 'Integer' }),
    ).toMatchObject({ status: 400 })
    expect((await admin.delete(`/process-instance/${pi}`)).status).toBe(204)
    expect((await admin.get(`/history/process-instance/${pi}`)).body).toMatchObject({
      state: 'EXTERNALLY_TERMINATED',
    })
  })

  it('simulates faults: delay, down and status', async () => {
    engine.setFault({ kind: 'status', status: 503 })
    expect((await admin.get('/version')).status).toBe(503)
    engine.setFault({ kind: 'down' })
    await expect(fetch(`${engine.url}/version`)).rejects.toThrow()
    engine.setFault({ kind: 'delay', ms: 200 })
    const t0 = Date.now()
    expect((await admin.get('/version')).status).toBe(200)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190)
    engine.setFault(null)
  })

  it('simulates a stalled answer: half a body, recorded once the client leaves', async () => {
    engine.setFault({ kind: 'stall', status: 200, body: '[' })
    const ac = new AbortController()
    const r = await fetch(`${engine.url}/task`, { signal: ac.signal })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/json')
    const reader = r.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('[')
    expect(engine.requests).toHaveLength(0) // still open
    ac.abort()
    await waitFor(() => engine.requests.length === 1)
    expect(engine.requests[0]).toMatchObject({
      method: 'GET',
      rawPath: '/engine-rest/task',
      status: 200,
    })
    engine.setFault(null)
  })

  it('counts connections and request body bytes as they arrive', async () => {
    const before = engine.stats.connections
    const agent = new Agent({ keepAlive: true })
    const post = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${engine.url}/message`,
          {
            method: 'POST',
            agent,
            headers: { authorization: basic('admin', 'admin'), 'content-type': 'application/json' },
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode!))
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    const body = JSON.stringify({ messageName: 'none', all: true })
    for (let i = 0; i < 3; i++) await post(body)
    agent.destroy()
    expect(engine.stats.connections - before).toBe(1) // one kept-alive connection
    expect(engine.stats.bodyBytesReceived).toBe(3 * Buffer.byteLength(body))
    // an upload is counted while it is still being sent
    const bytes = engine.stats.bodyBytesReceived
    const upload = request(`${engine.url}/message`, {
      method: 'POST',
      headers: { authorization: basic('admin', 'admin'), 'content-type': 'application/json' },
    })
    const answered = new Promise<number>((resolve) =>
      upload.on('response', (res) => {
        res.resume()
        resolve(res.statusCode!)
      }),
    )
    upload.write('{"messageName":"none",')
    await waitFor(() => engine.stats.bodyBytesReceived > bytes)
    upload.end('"all":true}')
    expect(await answered).toBeGreaterThan(0)
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

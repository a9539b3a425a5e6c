/**
 * The engines (simulator, Camunda 7.24, Operaton) against the real camunda-external-task-client-js
 * (no gateway): Basic auth interceptor, long polling, exact `application/json` parsing, typed
 * variables, tenant check.
 */
import '@c7auth/worker' // types of camunda-external-task-client-js
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { BasicAuthInterceptor, Client, Variables } from 'camunda-external-task-client-js'
import { linearProcessXml } from '@c7auth/testkit'
import { describeEngines, engineAdmin, engineDeploy } from './engines.js'

const xml = linearProcessXml({
  key: 'pay',
  steps: [
    { type: 'externalTask', id: 'charge', topic: 'charge' },
    { type: 'externalTask', id: 'notify', topic: 'notify' },
  ],
})

/** Valid under the engines' password policy. */
const WORKER = { id: 'workerA', password: 'Wrk-Passw0rd!x' }

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

interface ExternalTaskDto {
  id: string
  tenantId: string | null
  workerId: string | null
  retries: number | null
  processInstanceId: string
}

describeEngines('engine with the real external task client', (ctx) => {
  let client: Client | undefined
  beforeAll(async () => {
    const e = ctx.engine
    await engineAdmin(e, 'POST', '/tenant/create', { id: 'tenantA', name: 'A' })
    await engineAdmin(e, 'POST', '/tenant/create', { id: 'tenantB', name: 'B' })
    await engineAdmin(e, 'POST', '/user/create', {
      profile: { id: WORKER.id, firstName: 'Worker', lastName: 'Alpha', email: 'w@example.org' },
      credentials: { password: WORKER.password },
    })
    await engineAdmin(e, 'PUT', `/tenant/tenantA/user-members/${WORKER.id}`)
    // what a worker needs on an engine with authorization checks: lock, read, complete, fail
    await engineAdmin(e, 'POST', '/authorization/create', {
      type: 1,
      permissions: ['READ', 'UPDATE'],
      userId: WORKER.id,
      groupId: null,
      resourceType: 8,
      resourceId: '*',
    })
    await engineAdmin(e, 'POST', '/authorization/create', {
      type: 1,
      permissions: ['READ', 'READ_INSTANCE', 'UPDATE_INSTANCE'],
      userId: WORKER.id,
      groupId: null,
      resourceType: 6,
      resourceId: '*',
    })
    await engineDeploy(e, xml, { name: 'pay', tenantId: 'tenantA' })
    await engineDeploy(e, xml, { name: 'pay', tenantId: 'tenantB' })
  })
  afterEach(() => {
    client?.stop()
    client = undefined
    ctx.engine.simulator?.assertNoValidationErrors()
  })
  afterAll(() => client?.stop())

  const start = async (tenant: string, variables: Record<string, unknown> = {}) =>
    (
      await engineAdmin<{ id: string }>(
        ctx.engine,
        'POST',
        `/process-definition/key/pay/tenant-id/${tenant}/start`,
        { variables },
      )
    ).id

  it('long-polls, handles only its tenant, completes with typed variables and reports failures', async () => {
    const engine = ctx.engine
    const piB = await start('tenantB')
    const seen: { topic: string; tenantId: string | null; amount: unknown }[] = []
    let polls = 0
    client = new Client({
      baseUrl: engine.url,
      workerId: 'worker-a',
      asyncResponseTimeout: 2_000,
      interval: 10,
      autoPoll: false,
      interceptors: new BasicAuthInterceptor({ username: WORKER.id, password: WORKER.password }),
    })
    client.on('poll:start', () => void polls++)
    client.subscribe('charge', async ({ task, taskService }) => {
      seen.push({
        topic: task.topicName,
        tenantId: task.tenantId,
        amount: task.variables.get('amount'),
      })
      await taskService.complete(task, new Variables().set('receipt', 'r-1').set('paid', true))
    })
    client.subscribe('notify', async ({ task, taskService }) => {
      seen.push({
        topic: task.topicName,
        tenantId: task.tenantId,
        amount: task.variables.get('amount'),
      })
      await taskService.handleFailure(task, {
        errorMessage: 'smtp down',
        retries: 0,
        retryTimeout: 0,
      })
    })
    client.start()
    // the simulator shows the waiting long poll; on a real engine, the client has started polling
    await until(() => (engine.simulator ? engine.simulator.pendingLongPolls > 0 : polls > 0))
    const piA = await start('tenantA', { amount: { value: 42, type: 'Integer' } })
    await until(() => seen.length === 2)
    const tasks = () => engineAdmin<ExternalTaskDto[]>(engine, 'GET', '/external-task')
    await until(async () => (await tasks()).some((t) => t.retries === 0))
    expect(seen).toEqual([
      { topic: 'charge', tenantId: 'tenantA', amount: 42 },
      { topic: 'notify', tenantId: 'tenantA', amount: 42 },
    ])
    const instanceA = await engineAdmin<{ suspended: boolean; ended?: boolean }>(
      engine,
      'GET',
      `/process-instance/${piA}`,
    )
    expect(instanceA.suspended).toBe(false)
    const vars = await engineAdmin<Record<string, { value: unknown }>>(
      engine,
      'GET',
      `/process-instance/${piA}/variables`,
    )
    expect({
      amount: vars.amount?.value,
      receipt: vars.receipt?.value,
      paid: vars.paid?.value,
    }).toEqual({ amount: 42, receipt: 'r-1', paid: true })
    expect(
      (
        await engineAdmin<{ id: string }[]>(
          engine,
          'GET',
          `/process-instance?processInstanceIds=${piB}`,
        )
      ).length,
    ).toBe(1)
    expect((await tasks()).filter((t) => t.tenantId === 'tenantB').map((t) => t.workerId)).toEqual([
      null,
    ])
    if (engine.simulator) {
      const polled = engine.simulator.requests.filter((r) => r.operationId === 'fetchAndLock')
      expect(polled.length).toBeGreaterThan(0)
      expect(polled.every((r) => r.user === WORKER.id)).toBe(true)
    }
  })

  it('surfaces a 401 to the client when the password is wrong', async () => {
    const errors: unknown[] = []
    client = new Client({
      baseUrl: ctx.engine.url,
      workerId: 'w',
      interval: 10,
      autoPoll: false,
      interceptors: new BasicAuthInterceptor({ username: WORKER.id, password: 'wrong' }),
    })
    client.on('poll:error', (e: unknown) => errors.push(e))
    client.subscribe('charge', async () => {})
    client.start()
    await until(() => errors.length > 0)
    client.stop()
    expect(String(errors[0])).toMatch(/401|Unauthorized/i)
    const sim = ctx.engine.simulator
    if (sim) {
      expect(sim.requests.some((r) => r.status === 401)).toBe(true)
      expect(sim.inspect.user(WORKER.id)?.attempts).toBeGreaterThan(0)
    }
  })
})

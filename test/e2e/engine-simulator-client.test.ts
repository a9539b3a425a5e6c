/**
 * The engine simulator against the real camunda-external-task-client-js (no gateway): Basic auth
 * interceptor, long polling, exact `application/json` parsing, typed variables, tenant check.
 */
import '@c7auth/worker' // types of camunda-external-task-client-js
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BasicAuthInterceptor, Client, Variables } from 'camunda-external-task-client-js'
import { linearProcessXml, startEngineSimulator } from '@c7auth/testkit'
import type { EngineSimulator } from '@c7auth/testkit'

const xml = linearProcessXml({
  key: 'pay',
  steps: [
    { type: 'externalTask', id: 'charge', topic: 'charge' },
    { type: 'externalTask', id: 'notify', topic: 'notify' },
  ],
})

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('engine simulator with the real external task client', () => {
  let engine: EngineSimulator
  let client: Client | undefined
  beforeEach(async () => {
    engine = await startEngineSimulator()
    engine.seed.tenant({ id: 'tenantA' })
    engine.seed.tenant({ id: 'tenantB' })
    engine.seed.user({ id: 'workerA', password: 'secretA' })
    engine.seed.membership({ tenantId: 'tenantA', userId: 'workerA' })
    engine.deploy(xml, { tenantId: 'tenantA' })
    engine.deploy(xml, { tenantId: 'tenantB' })
  })
  afterEach(async () => {
    client?.stop()
    engine.assertNoValidationErrors()
    await engine.close()
  })

  it('long-polls, handles only its tenant, completes with typed variables and reports failures', async () => {
    const piB = engine.startProcess('pay', { tenantId: 'tenantB' }).id
    const seen: { topic: string; tenantId: string | null; amount: unknown }[] = []
    client = new Client({
      baseUrl: engine.url,
      workerId: 'worker-a',
      asyncResponseTimeout: 2_000,
      interval: 10,
      autoPoll: false,
      interceptors: new BasicAuthInterceptor({ username: 'workerA', password: 'secretA' }),
    })
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
    await until(() => engine.pendingLongPolls > 0)
    const piA = engine.startProcess('pay', {
      tenantId: 'tenantA',
      variables: { amount: { value: 42, type: 'Integer' } },
    }).id
    await until(() => seen.length === 2)
    await until(() => engine.inspect.externalTasks().some((t) => t.retries === 0))
    expect(seen).toEqual([
      { topic: 'charge', tenantId: 'tenantA', amount: 42 },
      { topic: 'notify', tenantId: 'tenantA', amount: 42 },
    ])
    expect(engine.inspect.processInstance(piA)).toMatchObject({
      state: 'ACTIVE',
      variables: { amount: 42, receipt: 'r-1', paid: true },
    })
    expect(engine.inspect.processInstance(piB)?.state).toBe('ACTIVE')
    expect(
      engine.inspect
        .externalTasks()
        .filter((t) => t.tenantId === 'tenantB')
        .map((t) => t.workerId),
    ).toEqual([null])
    const polls = engine.requests.filter((r) => r.operationId === 'fetchAndLock')
    expect(polls.length).toBeGreaterThan(0)
    expect(polls.every((r) => r.user === 'workerA')).toBe(true)
  })

  it('surfaces a 401 to the client when the password is wrong', async () => {
    const errors: unknown[] = []
    client = new Client({
      baseUrl: engine.url,
      workerId: 'w',
      interval: 10,
      autoPoll: false,
      interceptors: new BasicAuthInterceptor({ username: 'workerA', password: 'wrong' }),
    })
    client.on('poll:error', (e: unknown) => errors.push(e))
    client.subscribe('charge', async () => {})
    client.start()
    await until(() => errors.length > 0)
    client.stop()
    expect(engine.requests.some((r) => r.status === 401)).toBe(true)
    expect(engine.inspect.user('workerA')?.attempts).toBeGreaterThan(0)
  })
})

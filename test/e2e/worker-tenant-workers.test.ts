/**
 * createTenantWorkers against the engine simulator (authentication off, so the test sees the
 * engine's semantics and every request as it arrived), each tenant with its own app credentials at
 * the testkit IdP (core token client).
 */
import { hostname } from 'node:os'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import type { Interceptor } from 'camunda-external-task-client-js'
import { createTokenClient, isC7AuthError } from '@c7auth/core'
import type { OAuthClientConfig } from '@c7auth/core'
import { createTenantWorkers } from '@c7auth/worker'
import type { TaskContext, TenantWorkers, TenantWorkersOptions, WorkerEvent } from '@c7auth/worker'
import { linearProcessXml, startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, RecordedRequest, TestIdp } from '@c7auth/testkit'
import { PROCESS_KEY, TENANTS, TOPIC, until } from './worker-stack.js'
import { recordTokens } from './worker-token-recorder.js'
import type { RecordedTokenSource } from './worker-token-recorder.js'

const secretOf = (tenant: string): string => `${tenant}-worker-secret`

let idp: TestIdp
beforeAll(async () => {
  idp = await startTestIdp({
    clients: TENANTS.map((tenant) => ({
      clientId: `${tenant}-worker`,
      clientSecret: secretOf(tenant),
      tenant,
    })),
  })
})
afterAll(async () => {
  await idp?.close()
})

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function clientOf(tenant: string): OAuthClientConfig {
  return {
    tokenEndpoint: idp.tokenEndpoint,
    clientId: `${tenant}-worker`,
    clientSecret: secretOf(tenant),
    authMethod: 'client_secret_basic',
    params: {},
  }
}

interface Setup {
  engine: EngineSimulator
  workers: TenantWorkers
  sources: Map<string, RecordedTokenSource>
  events: WorkerEvent[]
}

async function setup(options: Partial<TenantWorkersOptions> = {}): Promise<Setup> {
  const engine = await startEngineSimulator({ authentication: false })
  cleanups.push(() => engine.close())
  const xml = linearProcessXml({
    key: PROCESS_KEY,
    steps: [{ type: 'externalTask', id: 'charge', topic: TOPIC }],
  })
  for (const tenant of TENANTS) engine.deploy(xml, { tenantId: tenant })
  const sources = new Map<string, RecordedTokenSource>()
  const events: WorkerEvent[] = []
  const workers = createTenantWorkers({
    config: {
      tenants: TENANTS.map((id) => ({ id, client: clientOf(id) })),
      engine: { url: engine.url },
    },
    clientOptions: { interval: 10, asyncResponseTimeout: 2_000, lockDuration: 5_000 },
    tokenSourceFactory: (tenant) => {
      if (!tenant.client) throw new Error(`${tenant.id} has no client credentials`)
      const source = recordTokens(createTokenClient(tenant.client))
      sources.set(tenant.id, source)
      return source
    },
    onEvent: (e) => events.push(e),
    ...options,
  })
  cleanups.push(() => workers.close({ timeoutMs: 100 }))
  return { engine, workers, sources, events }
}

const start = (engine: EngineSimulator, tenantId: string): string =>
  engine.startProcess(PROCESS_KEY, { tenantId }).id

const externalTaskOf = (engine: EngineSimulator, pi: string): string | undefined =>
  engine.inspect.externalTasks().find((t) => t.processInstanceId === pi)?.id

const polls = (engine: EngineSimulator): RecordedRequest[] =>
  engine.requests.filter((r) => r.path === '/external-task/fetchAndLock')

/** External task ids of the engine's `op` calls (`complete`, `failure`, `unlock`) that it accepted. */
const taskCalls = (engine: EngineSimulator, op: string): RecordedRequest[] =>
  engine.requests.filter((r) => r.path.endsWith(`/${op}`) && r.status === 204)
const taskIdOf = (r: RecordedRequest): string => r.path.split('/')[2] as string

describe('createTenantWorkers', () => {
  it('gives every tenant its own client, credentials, unique worker id and tenant filter', async () => {
    const { engine, workers, sources } = await setup()
    const handled: Array<[string, string, string | null]> = []
    const tenantOfTask = new Map<string, string>()
    workers.subscribe(TOPIC, async (ctx: TaskContext) => {
      handled.push([ctx.tenant, ctx.task.processInstanceId, ctx.task.tenantId])
      tenantOfTask.set(ctx.task.id, ctx.tenant)
      await ctx.taskService.complete(ctx.task)
    })
    const started = ['acme', 'globex', 'acme', 'globex'].map(
      (tenant) => [tenant, start(engine, tenant), tenant] as [string, string, string],
    )
    await until(() => taskCalls(engine, 'complete').length === 4, 'four completions')

    expect([...workers.clients.keys()]).toEqual(['acme', 'globex'])
    const ids = [...workers.workerIds.values()]
    expect(new Set(ids).size).toBe(2)
    for (const [tenant, id] of workers.workerIds) {
      expect(id).not.toBe('some-random-id')
      expect(id).toMatch(
        new RegExp(
          `^${hostname().replace(/[^A-Za-z0-9.-]/g, '-')}:${process.pid}:[0-9a-f]{8}:${tenant}$`,
        ),
      )
    }
    expect(handled.sort()).toEqual(started.sort())
    for (const pi of started.map(([, id]) => id)) {
      expect(engine.inspect.processInstance(pi)?.state).toBe('COMPLETED')
    }
    // Each tenant's token is its own app's.
    for (const tenant of TENANTS) {
      const issued = sources.get(tenant)?.issued ?? []
      expect(issued).toHaveLength(1)
      expect(decodeJwt(issued[0] as string).client_id).toBe(`${tenant}-worker`)
    }
    expect(polls(engine).length).toBeGreaterThanOrEqual(2) // one per tenant at least
    for (const poll of polls(engine)) {
      const body = poll.body as { workerId: string; topics: unknown }
      const tenant = body.workerId.split(':').pop() as string
      expect(body.topics).toEqual([{ topicName: TOPIC, lockDuration: 5_000, tenantIdIn: [tenant] }])
      expect(poll.headers.authorization).toBe(`Bearer ${sources.get(tenant)?.issued[0]}`)
    }
    for (const done of taskCalls(engine, 'complete')) {
      const tenant = tenantOfTask.get(taskIdOf(done)) as string
      expect((done.body as { workerId?: string }).workerId).toBe(workers.workerIds.get(tenant))
      expect(done.headers.authorization).toBe(`Bearer ${sources.get(tenant)?.issued[0]}`)
    }
  })

  it('does not run a task of another tenant and reports it failed with a clear message', async () => {
    // An extra interceptor (they run after c7auth's) that points acme's polls at globex: a broken
    // extension hands globex's task to acme's worker.
    const crossWire: Interceptor = (config) => {
      const body = config.json as { topics?: Array<Record<string, unknown>> } | undefined
      if (!body?.topics) return config
      return {
        ...config,
        json: { ...body, topics: body.topics.map((t) => ({ ...t, tenantIdIn: ['globex'] })) },
      }
    }
    const { engine, workers, events } = await setup({
      tenants: ['acme'],
      clientOptions: {
        interval: 10,
        asyncResponseTimeout: 2_000,
        lockDuration: 5_000,
        interceptors: [crossWire],
      },
    })
    const handled: string[] = []
    workers.subscribe(TOPIC, (ctx) => {
      handled.push(ctx.task.id)
    })
    const g1 = externalTaskOf(engine, start(engine, 'globex')) as string
    await until(() => taskCalls(engine, 'failure').length === 1, 'a failure report')

    expect(handled).toEqual([])
    const [failure] = taskCalls(engine, 'failure')
    expect(taskIdOf(failure as RecordedRequest)).toBe(g1)
    expect(failure?.body).toMatchObject({
      retries: 0,
      workerId: workers.workerIds.get('acme'),
      errorMessage:
        'c7auth: task of tenant "globex" reached the worker of tenant "acme"; not executed',
    })
    expect(engine.inspect.externalTasks().find((t) => t.id === g1)?.retries).toBe(0)
    expect(events).toContainEqual({
      type: 'task:foreign-tenant',
      tenant: 'acme',
      taskId: g1,
      taskTenantId: 'globex',
    })
  })

  it('refuses tenant options on subscribe and always fetches the acting-user variable', async () => {
    // The engine records a poll when it answers it: short long polls.
    const { engine, workers } = await setup({
      clientOptions: { interval: 10, asyncResponseTimeout: 100, lockDuration: 5_000 },
    })
    for (const bad of [{ tenantIdIn: [] }, { tenantIdIn: ['globex'] }, { withoutTenantId: true }]) {
      let thrown: unknown
      try {
        workers.subscribe(TOPIC, bad as never, () => undefined)
      } catch (error) {
        thrown = error
      }
      expect(isC7AuthError(thrown) && thrown.code).toBe('C7AUTH_CONFIG_INVALID')
    }
    workers.subscribe(TOPIC, { variables: ['amount'] }, () => undefined)
    await until(() => polls(engine).length >= 2, 'polls')
    for (const poll of polls(engine)) {
      const [topic] = (poll.body as { topics: Array<Record<string, unknown>> }).topics
      expect(topic?.variables).toEqual(['amount', 'c7authActingUser'])
      expect(topic?.tenantIdIn).toHaveLength(1)
    }
  })

  it('close() stops polling, lets running handlers finish, hands back late tasks, stops tokens', async () => {
    // Long polls outlast the test: one that ends early was cut.
    const { engine, workers, sources } = await setup({
      clientOptions: { interval: 10, asyncResponseTimeout: 60_000, lockDuration: 5_000 },
    })
    const abortedPolls = new Map<string, number>()
    for (const [tenant, client] of workers.clients) {
      client.on('poll:error', (error: unknown) => {
        if (error instanceof Error && error.name === 'AbortError') {
          abortedPolls.set(tenant, (abortedPolls.get(tenant) ?? 0) + 1)
        }
      })
    }
    // The client reschedules its poll after each one ends, reading `this.poll` (not in the
    // typings) each time: counting those calls shows when the last one after close() has run.
    let closeCalled = false
    const pollCallsAfterClose = new Map<string, number>()
    let pollStartsAfterClose = 0
    for (const [tenant, client] of workers.clients) {
      const pollable = client as unknown as { poll: () => unknown }
      const poll = pollable.poll
      pollable.poll = () => {
        if (closeCalled) pollCallsAfterClose.set(tenant, (pollCallsAfterClose.get(tenant) ?? 0) + 1)
        return poll()
      }
      client.on('poll:start', () => {
        if (closeCalled) pollStartsAfterClose += 1
      })
    }
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const started: string[] = []
    workers.subscribe(TOPIC, async (ctx) => {
      started.push(ctx.task.processInstanceId)
      await gate
      await ctx.taskService.complete(ctx.task)
    })
    const a1 = start(engine, 'acme')
    const a1Task = externalTaskOf(engine, a1)
    await until(() => started.length === 1 && engine.pendingLongPolls === 2, 'a running handler')

    closeCalled = true
    const closing = workers.close({ timeoutMs: 10_000 })
    // A poll already under way when close() began returns a task: it is handed back, not run.
    const g1Task = externalTaskOf(engine, start(engine, 'globex'))
    await until(() => taskCalls(engine, 'unlock').length === 1, 'the late task handed back')
    release()
    const result = await closing

    expect(result).toEqual({ drained: true, abandoned: 0 })
    expect(await workers.close()).toBe(result) // idempotent
    expect(started).toEqual([a1])
    expect(taskCalls(engine, 'complete').map(taskIdOf)).toEqual([a1Task])
    expect(taskCalls(engine, 'unlock').map(taskIdOf)).toEqual([g1Task])
    expect(engine.inspect.externalTasks().find((t) => t.id === g1Task)?.workerId).toBeNull()
    await until(() => engine.pendingLongPolls === 0, 'long polls aborted')
    // globex's poll was answered (with g1); acme's was still open and is cut.
    expect(Object.fromEntries(abortedPolls)).toEqual({ acme: 1 })
    expect([...sources.values()].map((s) => s.closed)).toEqual([1, 1])
    const pollsAtClose = polls(engine).length
    // Each client's poll under way at close() (cut, or answered with g1) schedules one more call;
    // that call finds polling stopped and schedules nothing: once it has run, no poll can follow.
    await until(
      () => [...workers.clients.keys()].every((t) => (pollCallsAfterClose.get(t) ?? 0) >= 1),
      'the last rescheduled poll of each client',
    )
    expect(pollStartsAfterClose).toBe(0)
    expect(polls(engine).length).toBe(pollsAtClose)
  })

  it('close() gives up on handlers after the bound and aborts their engine calls', async () => {
    const { engine, workers } = await setup()
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    let started = false
    let finished = false
    workers.subscribe(TOPIC, async (ctx) => {
      started = true
      await gate
      await ctx.taskService.complete(ctx.task).catch(() => undefined)
      finished = true
    })
    const a1 = start(engine, 'acme')
    await until(() => started, 'a running handler')

    const result = await workers.close({ timeoutMs: 20 })
    expect(result).toEqual({ drained: false, abandoned: 1 })
    release()
    await until(() => finished, 'the abandoned handler to end')
    expect(engine.requests.filter((r) => r.path.endsWith('/complete'))).toEqual([])
    expect(engine.inspect.processInstance(a1)?.state).not.toBe('COMPLETED')
  })
})

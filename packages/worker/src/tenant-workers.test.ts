import { hostname } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { isC7AuthError } from '@c7auth/core'
import { createTenantWorkers } from './tenant-workers.js'
import type { TenantWorkers, TenantWorkersOptions } from './tenant-workers.js'
import type { TaskContext } from './task-context.js'
import type { WorkerEvent } from './worker-events.js'
import { CountingTokenSource, startFakeEngine, until } from './fake-engine.test-helper.js'
import type { FakeEngine, FakeEngineOptions } from './fake-engine.test-helper.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Setup {
  engine: FakeEngine
  workers: TenantWorkers
  sources: Map<string, CountingTokenSource>
  events: WorkerEvent[]
}

async function setup(
  engineOptions: FakeEngineOptions = {},
  options: Partial<TenantWorkersOptions> = {},
): Promise<Setup> {
  const engine = await startFakeEngine(engineOptions)
  cleanups.push(() => engine.close())
  const sources = new Map<string, CountingTokenSource>()
  const events: WorkerEvent[] = []
  const workers = createTenantWorkers({
    config: { tenants: [{ id: 'acme' }, { id: 'globex' }], engine: { url: engine.url } },
    clientOptions: { interval: 10, asyncResponseTimeout: 2_000, lockDuration: 5_000 },
    tokenSourceFactory: (tenant) => {
      const source = new CountingTokenSource(`${tenant.id}-tok`)
      sources.set(tenant.id, source)
      return source
    },
    onEvent: (e) => events.push(e),
    ...options,
  })
  cleanups.push(() => workers.close({ timeoutMs: 100 }))
  return { engine, workers, sources, events }
}

const polls = (engine: FakeEngine) =>
  engine.requests.filter((r) => r.path.endsWith('/external-task/fetchAndLock'))

describe('createTenantWorkers', () => {
  it('gives every tenant its own client, credentials, unique worker id and tenant filter', async () => {
    const { engine, workers } = await setup()
    const handled: Array<[string, string, string | null]> = []
    workers.subscribe('charge', async (ctx: TaskContext) => {
      handled.push([ctx.tenant, ctx.task.id, ctx.task.tenantId])
      await ctx.taskService.complete(ctx.task)
    })
    for (const [id, tenantId] of [
      ['a1', 'acme'],
      ['g1', 'globex'],
      ['a2', 'acme'],
      ['g2', 'globex'],
    ] as const) {
      engine.addTask({ id, topicName: 'charge', tenantId })
    }
    await until(() => engine.completed.length === 4, 'four completions')

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
    expect(handled.sort()).toEqual([
      ['acme', 'a1', 'acme'],
      ['acme', 'a2', 'acme'],
      ['globex', 'g1', 'globex'],
      ['globex', 'g2', 'globex'],
    ])
    for (const poll of polls(engine)) {
      const workerId = poll.body?.workerId as string
      const tenant = workerId.split(':').pop() as string
      expect(poll.body?.topics).toEqual([
        { topicName: 'charge', lockDuration: 5_000, tenantIdIn: [tenant] },
      ])
      expect(poll.authorization).toBe(`Bearer ${tenant}-tok-1`)
    }
    for (const done of engine.completed) {
      const tenant = done.id.startsWith('a') ? 'acme' : 'globex'
      expect(done.workerId).toBe(workers.workerIds.get(tenant))
    }
  })

  it('does not run a task of another tenant and reports it failed with a clear message', async () => {
    // A broken gateway hands globex's task to acme's worker.
    const { engine, workers, events } = await setup({
      route: (body, matching, all) =>
        String(body.workerId).endsWith(':acme')
          ? all.filter((t) => t.tenantId === 'globex')
          : matching,
    })
    const handled: string[] = []
    workers.subscribe('charge', (ctx) => {
      handled.push(ctx.task.id)
    })
    engine.addTask({ id: 'g1', topicName: 'charge', tenantId: 'globex' })
    await until(() => engine.failures.length === 1, 'a failure report')

    expect(handled).toEqual([])
    expect(engine.failures[0]?.id).toBe('g1')
    expect(engine.failures[0]?.body).toMatchObject({
      retries: 0,
      workerId: workers.workerIds.get('acme'),
      errorMessage:
        'c7auth: task of tenant "globex" reached the worker of tenant "acme"; not executed',
    })
    expect(events).toContainEqual({
      type: 'task:foreign-tenant',
      tenant: 'acme',
      taskId: 'g1',
      taskTenantId: 'globex',
    })
  })

  it('refuses tenant options on subscribe and always fetches the acting-user variable', async () => {
    const { engine, workers } = await setup()
    for (const bad of [{ tenantIdIn: [] }, { tenantIdIn: ['globex'] }, { withoutTenantId: true }]) {
      let thrown: unknown
      try {
        workers.subscribe('charge', bad as never, () => undefined)
      } catch (error) {
        thrown = error
      }
      expect(isC7AuthError(thrown) && thrown.code).toBe('C7AUTH_CONFIG_INVALID')
    }
    workers.subscribe('charge', { variables: ['amount'] }, () => undefined)
    await until(() => polls(engine).length >= 2, 'polls')
    for (const poll of polls(engine)) {
      const [topic] = poll.body?.topics as Array<Record<string, unknown>>
      expect(topic?.variables).toEqual(['amount', 'c7authActingUser'])
      expect(topic?.tenantIdIn).toHaveLength(1)
    }
  })

  it('rejects unknown tenants and tenants without app credentials, naming the env key', () => {
    const engineUrl = 'http://127.0.0.1:1/engine-rest'
    const attempt = (options: TenantWorkersOptions): string[] => {
      try {
        createTenantWorkers(options)
      } catch (error) {
        return (error as { issues?: string[] }).issues ?? []
      }
      return []
    }
    expect(
      attempt({
        config: { tenants: [{ id: 'acme' }], engine: { url: engineUrl } },
        tenants: ['globex'],
        tokenSourceFactory: () => new CountingTokenSource(),
      }),
    ).toEqual(['tenants: "globex" is not a configured tenant'])
    expect(
      attempt({
        config: { tenants: [{ id: 'acme' }, { id: 'acme' }], engine: { url: engineUrl } },
        tokenSourceFactory: () => new CountingTokenSource(),
      }),
    ).toEqual(['tenants: "acme" is listed twice'])
    expect(
      attempt({ config: { tenants: [{ id: 'acme-eu' }], engine: { url: engineUrl } } }),
    ).toEqual([
      'C7AUTH_TENANT_ACME_EU_CLIENT_ID: tenant "acme-eu" has no app credentials (workers need them)',
    ])
  })

  it('close() stops polling, lets running handlers finish, hands back late tasks, stops tokens', async () => {
    const { engine, workers, sources } = await setup()
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const started: string[] = []
    workers.subscribe('charge', async (ctx) => {
      started.push(ctx.task.id)
      await gate
      await ctx.taskService.complete(ctx.task)
    })
    engine.addTask({ id: 'a1', topicName: 'charge', tenantId: 'acme' })
    await until(() => started.length === 1 && engine.pendingPolls() === 2, 'a running handler')

    const closing = workers.close({ timeoutMs: 10_000 })
    // A poll already under way when close() began returns a task: it is handed back, not run.
    engine.addTask({ id: 'g1', topicName: 'charge', tenantId: 'globex' })
    await until(() => engine.unlocked.length === 1, 'the late task handed back')
    release()
    const result = await closing

    expect(result).toEqual({ drained: true, abandoned: 0 })
    expect(await workers.close()).toBe(result) // idempotent
    expect(started).toEqual(['a1'])
    expect(engine.completed.map((c) => c.id)).toEqual(['a1'])
    expect(engine.unlocked).toEqual(['g1'])
    await until(() => engine.pendingPolls() === 0, 'long polls aborted')
    // globex's poll was answered (with g1); acme's was still open and is cut.
    expect(engine.abortedPolls).toBe(1)
    expect([...sources.values()].map((s) => s.closed)).toEqual([1, 1])
    const pollsAtClose = polls(engine).length
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(polls(engine).length).toBe(pollsAtClose)
  })

  it('close() gives up on handlers after the bound and aborts their engine calls', async () => {
    const { engine, workers } = await setup()
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    let started = false
    let finished = false
    workers.subscribe('charge', async (ctx) => {
      started = true
      await gate
      await ctx.taskService.complete(ctx.task).catch(() => undefined)
      finished = true
    })
    engine.addTask({ id: 'a1', topicName: 'charge', tenantId: 'acme' })
    await until(() => started, 'a running handler')

    const result = await workers.close({ timeoutMs: 20 })
    expect(result).toEqual({ drained: false, abandoned: 1 })
    release()
    await until(() => finished, 'the abandoned handler to end')
    expect(engine.completed).toEqual([])
  })
})

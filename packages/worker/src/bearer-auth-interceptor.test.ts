import { afterEach, describe, expect, it } from 'vitest'
import { Client } from 'camunda-external-task-client-js'
import type { EngineRequestOptions, Interceptor } from 'camunda-external-task-client-js'
import { bearerAuthInterceptor } from './bearer-auth-interceptor.js'
import { c7authMiddleware } from './c7auth-middleware.js'
import type { WorkerEvent } from './worker-events.js'
import { CountingTokenSource, startFakeEngine, until } from './fake-engine.test-helper.js'
import type { FakeEngine } from './fake-engine.test-helper.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function engineWith(
  options: Parameters<typeof startFakeEngine>[0] = {},
): Promise<FakeEngine> {
  const engine = await startFakeEngine(options)
  cleanups.push(() => engine.close())
  return engine
}

function client(
  engine: FakeEngine,
  interceptors: Interceptor[],
  events: WorkerEvent[] = [],
): Client {
  const auth = interceptors.find((i) => 'listen' in i) as ReturnType<typeof bearerAuthInterceptor>
  const c = new Client({
    baseUrl: engine.url,
    workerId: 'w1',
    interval: 10,
    autoPoll: false,
    interceptors,
    use: [c7authMiddleware({ auth, onEvent: (e) => events.push(e) })],
  })
  cleanups.push(() => c.stop())
  return c
}

describe('bearerAuthInterceptor', () => {
  it('authenticates fetchAndLock and complete with the token source’s token', async () => {
    const engine = await engineWith()
    engine.addTask({ id: 't1', topicName: 'charge', tenantId: 'a' })
    const tokens = new CountingTokenSource()
    const c = client(engine, [bearerAuthInterceptor(tokens)])
    c.subscribe('charge', {}, async ({ task, taskService }) => {
      await taskService.complete(task)
    })
    c.start()
    await until(() => engine.completed.length === 1, 'complete')
    const used = engine.requests.filter(
      (r) => r.path.endsWith('/fetchAndLock') || r.path.endsWith('/complete'),
    )
    expect(used.length).toBeGreaterThanOrEqual(2)
    expect(new Set(used.map((r) => r.authorization))).toEqual(new Set(['Bearer tok-1']))
    expect(tokens.issued).toBe(1)
  })

  it('appends its hooks and keeps hooks other interceptors added, in order', async () => {
    const engine = await engineWith()
    const seen: string[] = []
    const earlier: Interceptor = (config) => ({
      ...config,
      hooks: {
        ...config.hooks,
        beforeRequest: [
          ...(config.hooks?.beforeRequest ?? []),
          (o) => {
            seen.push('earlier')
            o.headers['x-earlier'] = 'yes'
          },
        ],
        afterResponse: [
          ...(config.hooks?.afterResponse ?? []),
          (response) => {
            seen.push('earlier-after')
            return response
          },
        ],
      },
    })
    const auth = bearerAuthInterceptor(new CountingTokenSource())
    const base: EngineRequestOptions = { method: 'POST' }
    const combined = auth(earlier(base))
    expect(combined.hooks?.beforeRequest).toHaveLength(2)
    expect(combined.hooks?.afterResponse).toHaveLength(2)
    // Applying it twice does not add its hooks twice.
    expect(auth(combined).hooks?.beforeRequest).toHaveLength(2)
    expect(base.hooks).toBeUndefined()

    const c = client(engine, [earlier, auth])
    c.subscribe('none', {}, () => undefined)
    c.start()
    await until(() => seen.includes('earlier-after'), 'a poll answered')
    c.stop()
    expect(engine.requests[0]?.authorization).toBe('Bearer tok-1')
    expect(seen.slice(0, 2)).toEqual(['earlier', 'earlier-after'])
  })

  it('after a 401 invalidates exactly the refused token and retries once with a fresh one', async () => {
    // The engine refuses the first fetchAndLock and the first complete, whatever their token.
    const refused = new Set<string>()
    const engine = await engineWith({
      authorize: (_header, path) => {
        const op = path.split('/').pop() as string
        if (refused.has(op)) return true
        refused.add(op)
        return false
      },
    })
    engine.addTask({ id: 't1', topicName: 'charge', tenantId: 'a' })
    const tokens = new CountingTokenSource()
    const events: WorkerEvent[] = []
    const c = client(engine, [bearerAuthInterceptor(tokens)], events)
    c.subscribe('charge', {}, async ({ task, taskService }) => {
      await taskService.complete(task)
    })
    c.start()
    await until(() => engine.completed.length === 1, 'complete')
    c.stop()
    const calls = (op: string) =>
      engine.requests.filter((r) => r.path.endsWith(op)).map((r) => r.authorization)
    expect(calls('/fetchAndLock').slice(0, 2)).toEqual(['Bearer tok-1', 'Bearer tok-2'])
    expect(calls('/complete')).toEqual(['Bearer tok-2', 'Bearer tok-3'])
    expect(tokens.invalidated).toEqual(['tok-1', 'tok-2'])
    expect(tokens.issued).toBe(3)
    expect(events.filter((e) => e.type === 'engine:unauthorized')).toEqual([
      { type: 'engine:unauthorized', retrying: true },
      { type: 'engine:unauthorized', retrying: true },
    ])
    expect(events.flatMap((e) => (e.type === 'token:acquired' ? [e.refreshed] : []))).toEqual([
      false,
      true,
      true,
    ])
  })

  it('gives up after the one retry: a second 401 reaches the client as an engine error', async () => {
    const engine = await engineWith({ authorize: () => false })
    const tokens = new CountingTokenSource()
    const events: WorkerEvent[] = []
    const c = client(engine, [bearerAuthInterceptor(tokens)], events)
    c.subscribe('charge', {}, () => undefined)
    const pollError = new Promise<unknown>((resolve) => c.once('poll:error', resolve))
    c.start()
    const error = await pollError
    c.stop()
    expect((error as { httpStatusCode?: number }).httpStatusCode).toBe(401)
    const polls = engine.requests.filter((r) => r.path.endsWith('/fetchAndLock'))
    expect(polls.length).toBe(2)
    expect(tokens.invalidated).toEqual(['tok-1'])
    expect(events.filter((e) => e.type !== 'token:acquired').slice(0, 3)).toEqual([
      { type: 'engine:unauthorized', retrying: true },
      { type: 'engine:unauthorized', retrying: false },
      { type: 'poll:error', status: 401, error },
    ])
  })

  it('sends nothing when no token can be obtained, and reports token:failed', async () => {
    const engine = await engineWith()
    const tokens = new CountingTokenSource()
    tokens.failWith = new Error('idp down')
    const events: WorkerEvent[] = []
    const c = client(engine, [bearerAuthInterceptor(tokens, { tenant: 'a' })], events)
    c.subscribe('charge', {}, () => undefined)
    const pollError = new Promise<unknown>((resolve) => c.once('poll:error', resolve))
    c.start()
    await pollError
    c.stop()
    expect(engine.requests).toHaveLength(0)
    expect(events[0]).toMatchObject({ type: 'token:failed', tenant: 'a', target: 'engine' })
  })

  it('parses JSON answered as application/json; charset=utf-8 (the client alone would not)', async () => {
    const engine = await engineWith({ contentType: 'application/json; charset=utf-8' })
    engine.addTask({ id: 't1', topicName: 'charge', tenantId: 'a' })
    const c = client(engine, [bearerAuthInterceptor(new CountingTokenSource())])
    const ids: string[] = []
    c.subscribe('charge', {}, async ({ task, taskService }) => {
      ids.push(task.id)
      await taskService.complete(task)
    })
    c.start()
    await until(() => engine.completed.length === 1, 'complete')
    expect(ids).toEqual(['t1'])
  })
})

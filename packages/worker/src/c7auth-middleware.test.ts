import { afterEach, describe, expect, it } from 'vitest'
import { Client } from 'camunda-external-task-client-js'
import { bearerAuthInterceptor } from './bearer-auth-interceptor.js'
import { C7AUTH_CLIENT_EVENT, c7authMiddleware } from './c7auth-middleware.js'
import type { WorkerEvent, WorkerLogger } from './worker-events.js'
import { CountingTokenSource, startFakeEngine, until } from './fake-engine.test-helper.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function recordingLogger(): WorkerLogger & {
  lines: Array<[string, Record<string, unknown>, string]>
} {
  const lines: Array<[string, Record<string, unknown>, string]> = []
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push([level, fields, message])
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

describe('c7authMiddleware', () => {
  it('reports token, 401, task-call and stop events to onEvent, the logger and the client', async () => {
    // The first fetchAndLock and its one retry are refused: the client then sees an engine error.
    const engine = await startFakeEngine({
      authorize: (_h, path) => !path.endsWith('/fetchAndLock') || engine.requests.length > 2,
    })
    cleanups.push(() => engine.close())
    engine.addTask({ id: 't1', topicName: 'charge', tenantId: 'acme' })
    const tokens = new CountingTokenSource('secret-token')
    const auth = bearerAuthInterceptor(tokens)
    const events: WorkerEvent[] = []
    const onClient: WorkerEvent[] = []
    const logger = recordingLogger()
    const client = new Client({
      baseUrl: engine.url,
      workerId: 'w',
      interval: 10,
      autoPoll: false,
      interceptors: [auth],
      use: [c7authMiddleware({ auth, logger, tenant: 'acme', onEvent: (e) => events.push(e) })],
    })
    client.on(C7AUTH_CLIENT_EVENT, (e: WorkerEvent) => onClient.push(e))
    cleanups.push(() => client.stop())
    client.subscribe('charge', {}, async ({ task, taskService }) => {
      await taskService.complete(task).catch(() => undefined)
    })
    client.start()
    await until(() => events.some((e) => e.type === 'poll:error'), 'a poll error')
    client.stop()

    const types = events.map((e) => e.type)
    expect(types.slice(0, 4)).toEqual([
      'token:acquired',
      'engine:unauthorized',
      'token:acquired',
      'engine:unauthorized',
    ])
    expect(events.find((e) => e.type === 'poll:error')).toMatchObject({ status: 401 })
    expect(types.at(-1)).toBe('worker:stopped')
    expect(onClient.map((e) => e.type)).toEqual(types)

    // A failed task call (unknown task: 404) is reported with its status.
    const missing = new Client({
      baseUrl: engine.url,
      workerId: 'w2',
      interval: 10,
      autoPoll: false,
      interceptors: [auth],
      use: [c7authMiddleware({ tenant: 'acme', onEvent: (e) => events.push(e) })],
    })
    cleanups.push(() => missing.stop())
    await missing.taskService.complete('nope').catch(() => undefined)
    expect(events.at(-1)).toMatchObject({
      type: 'task:error',
      tenant: 'acme',
      operation: 'complete',
      taskId: 'nope',
      status: 404,
    })

    const logged = JSON.stringify(logger.lines)
    expect(logged).not.toContain('secret-token')
    expect(logger.lines.map(([level, fields]) => [level, fields.event])).toContainEqual([
      'warn',
      'engine:unauthorized',
    ])
    expect(logger.lines.map(([level, fields]) => [level, fields.event])).toContainEqual([
      'error',
      'poll:error',
    ])
  })

  it('keeps working when the metrics hook throws', async () => {
    const engine = await startFakeEngine()
    cleanups.push(() => engine.close())
    engine.addTask({ id: 't1', topicName: 'charge', tenantId: 'acme' })
    const auth = bearerAuthInterceptor(new CountingTokenSource())
    const client = new Client({
      baseUrl: engine.url,
      interval: 10,
      autoPoll: false,
      interceptors: [auth],
      use: [
        c7authMiddleware({
          auth,
          onEvent: () => {
            throw new Error('broken metrics')
          },
        }),
      ],
    })
    cleanups.push(() => client.stop())
    client.subscribe('charge', {}, async ({ task, taskService }) => {
      await taskService.complete(task)
    })
    client.start()
    await until(() => engine.completed.length === 1, 'complete')
  })
})

/**
 * c7authMiddleware with the real external-task client and the core token client at the testkit
 * IdP: 401s from the real gateway, task calls and handler work against the engine simulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Client } from 'camunda-external-task-client-js'
import { createTokenClient } from '@c7auth/core'
import type { TokenClientOptions } from '@c7auth/core'
import { C7AUTH_CLIENT_EVENT, bearerAuthInterceptor, c7authMiddleware } from '@c7auth/worker'
import type { WorkerEvent, WorkerLogger } from '@c7auth/worker'
import { linearProcessXml, startEngineSimulator } from '@c7auth/testkit'
import { DOWNSTREAM_AUDIENCE, PROCESS_KEY, TOPIC, startWorkerStack, until } from './worker-stack.js'
import type { WorkerStack } from './worker-stack.js'
import { recordTokens } from './worker-token-recorder.js'
import type { RecordedTokenSource } from './worker-token-recorder.js'

let stack: WorkerStack
beforeAll(async () => {
  stack = await startWorkerStack()
})
afterAll(async () => {
  await stack?.close()
})

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function acmeClient(): NonNullable<WorkerStack['workerConfig']['tenants'][number]['client']> {
  const client = stack.workerConfig.tenants.find((t) => t.id === 'acme')?.client
  if (!client) throw new Error('acme has no client credentials')
  return client
}

function acmeTokens(overrides: Partial<TokenClientOptions> = {}): RecordedTokenSource {
  const tokens = recordTokens(createTokenClient({ ...acmeClient(), ...overrides }))
  cleanups.push(() => tokens.close())
  return tokens
}

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
    // Engine calls with tokens for the billing API: the gateway refuses the fetchAndLock and its
    // one retry, and the client then sees an engine error.
    const tokens = acmeTokens()
    const auth = bearerAuthInterceptor(tokens, { params: { audience: DOWNSTREAM_AUDIENCE } })
    const events: WorkerEvent[] = []
    const onClient: WorkerEvent[] = []
    const logger = recordingLogger()
    const client = new Client({
      baseUrl: stack.gatewayUrl,
      workerId: 'w',
      interval: 10,
      autoPoll: false,
      interceptors: [auth],
      use: [c7authMiddleware({ auth, logger, tenant: 'acme', onEvent: (e) => events.push(e) })],
    })
    client.on(C7AUTH_CLIENT_EVENT, (e: WorkerEvent) => onClient.push(e))
    cleanups.push(() => client.stop())
    client.subscribe(TOPIC, {}, async ({ task, taskService }) => {
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

    // A failed task call (unknown task: the engine's 404, through the gateway) is reported with
    // its status.
    const engineTokens = acmeTokens()
    const missing = new Client({
      baseUrl: stack.gatewayUrl,
      workerId: 'w2',
      interval: 10,
      autoPoll: false,
      interceptors: [bearerAuthInterceptor(engineTokens)],
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
    expect(tokens.issued.length).toBeGreaterThanOrEqual(2)
    for (const token of tokens.issued) expect(logged).not.toContain(token)
    expect(logged).not.toContain(acmeClient().clientSecret)
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
    const engine = await startEngineSimulator({ authentication: false })
    cleanups.push(() => engine.close())
    const xml = linearProcessXml({
      key: PROCESS_KEY,
      steps: [{ type: 'externalTask', id: 'charge', topic: TOPIC }],
    })
    engine.deploy(xml, { tenantId: 'acme' })
    const pi = engine.startProcess(PROCESS_KEY, { tenantId: 'acme' }).id
    const auth = bearerAuthInterceptor(acmeTokens())
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
    client.subscribe(TOPIC, {}, async ({ task, taskService }) => {
      await taskService.complete(task)
    })
    client.start()
    await until(() => engine.inspect.processInstance(pi)?.state === 'COMPLETED', 'complete')
  })
})

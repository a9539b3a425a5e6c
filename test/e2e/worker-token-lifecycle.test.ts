/**
 * Token lifecycle of workers end to end (IdP, gateway, engine simulator, real external-task
 * client): expiry during long work, IdP outage, and a 401 from the engine side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenClient } from '@c7auth/core'
import type { TokenClient, TokenEvent } from '@c7auth/core'
import { createTenantWorkers } from '@c7auth/worker'
import type { TaskContext, TenantWorkers, WorkerEvent } from '@c7auth/worker'
import type { Client } from 'camunda-external-task-client-js'
import { DOWNSTREAM_AUDIENCE, TOPIC, startWorkerStack, until } from './worker-stack.js'
import type { WorkerStack } from './worker-stack.js'
import { describeEngines } from './engines.js'

const FAILURES = new Set([
  'token:failed',
  'engine:unauthorized',
  'downstream:unauthorized',
  'poll:error',
  'task:error',
  'handler:error',
])

interface Harness {
  workers: TenantWorkers
  events: WorkerEvent[]
  tokenEvents: TokenEvent[]
  sources: Map<string, TokenClient>
  /** Resolves when no client has a poll in flight (once polling is stopped, it stays so). */
  pollsSettled(): Promise<void>
}

/**
 * The poll a client has in flight, from the client's own events (lib/Client.js): `poll:start`
 * sends a request when a topic is subscribed, and that request ends in `poll:success` or
 * `poll:error`; after `stop()` no poll starts.
 */
function trackPolls(client: Client): () => Promise<void> {
  let topics = 0
  let current: Promise<void> | null = null
  let settle = (): void => undefined
  client.on('subscribe', () => topics++)
  client.on('unsubscribe', () => topics--)
  client.on('poll:start', () => {
    if (topics === 0) return
    current = new Promise<void>((resolve) => (settle = resolve))
  })
  const end = (): void => {
    current = null
    settle()
  }
  client.on('poll:success', end)
  client.on('poll:error', end)
  return () => current ?? Promise.resolve()
}

/**
 * Closes the workers once their polls have their answers. `close()` alone aborts a waiting long
 * poll, and an engine does not notice that: the abandoned poll still locks the next task for its
 * lock duration (the simulator agrees, see the parity suite), a task a later test waits for. A poll
 * answered through the gateway has ended at the engine too, on every engine.
 */
async function closeWorkers(h: Harness): Promise<void> {
  for (const client of h.workers.clients.values()) client.stop()
  await h.pollsSettled()
  await h.workers.close({ timeoutMs: 2_000 })
}

function acmeWorkers(stack: WorkerStack): Harness {
  const events: WorkerEvent[] = []
  const tokenEvents: TokenEvent[] = []
  const sources = new Map<string, TokenClient>()
  const workers = createTenantWorkers({
    config: stack.workerConfig,
    tenants: ['acme'],
    clientOptions: { asyncResponseTimeout: 1_000, interval: 20, lockDuration: 30_000 },
    tokenSourceFactory: (tenant) => {
      const source = createTokenClient({
        ...tenant.client!,
        onEvent: (e) => tokenEvents.push(e),
      })
      sources.set(tenant.id, source)
      return source
    },
    onEvent: (e) => events.push(e),
  })
  const settled = [...workers.clients.values()].map(trackPolls)
  const pollsSettled = async (): Promise<void> => {
    await Promise.all(settled.map((s) => s()))
  }
  return { workers, events, tokenEvents, sources, pollsSettled }
}

describeEngines('worker token lifecycle', (engineCtx) => {
  describe('a token expiring during long work', () => {
    let stack: WorkerStack
    beforeAll(async () => {
      stack = await startWorkerStack({
        idp: { accessTokenTtlSeconds: 4 },
        testEngine: engineCtx.engine,
      })
    })
    afterAll(async () => {
      await stack?.close()
    })

    it('causes no failed call: engine and downstream tokens are refreshed ahead of expiry', async () => {
      const h = acmeWorkers(stack)
      const { workers, events } = h
      let done = false
      workers.subscribe(TOPIC, async (ctx: TaskContext) => {
        const call = (): Promise<Response> =>
          ctx.fetch(stack.downstreamUrl, { method: 'POST', audience: DOWNSTREAM_AUDIENCE })
        expect((await call()).status).toBe(200)
        const firstExp = stack.downstreamCalls[0]?.exp as number
        // Work until the first token has certainly expired, keeping the lock meanwhile.
        await until(() => Date.now() / 1000 > firstExp + 0.5, 'the first token to expire')
        await ctx.taskService.extendLock(ctx.task, 30_000)
        expect((await call()).status).toBe(200)
        await ctx.taskService.complete(ctx.task)
        done = true
      })
      const pi = await stack.startAsUser('acme', 'alice')
      try {
        await until(() => done, 'the long handler to finish')
      } finally {
        await closeWorkers(h)
      }

      expect(await stack.instanceState(pi)).toBe('COMPLETED')
      expect(events.filter((e) => FAILURES.has(e.type))).toEqual([])
      expect(stack.gatewayResponses.filter((r) => r.status >= 400)).toEqual([])
      const [first, second] = stack.downstreamCalls
      expect(stack.downstreamCalls.map((c) => c.status)).toEqual([200, 200])
      expect(second?.token).not.toBe(first?.token)
      expect(second?.exp as number).toBeGreaterThan(first?.exp as number)
      // Engine-token refreshes happened too (the poll loop ran past several 4 s lifetimes).
      expect(stack.idp.counts.tokenByGrant.client_credentials).toBeGreaterThanOrEqual(4)
    })
  })

  describe('IdP trouble', () => {
    let stack: WorkerStack
    beforeAll(async () => {
      // No refetch cooldown, so the gateway learns a rotated key at the first unknown kid.
      stack = await startWorkerStack({
        jwksRefetchCooldownSeconds: 0,
        testEngine: engineCtx.engine,
      })
    })
    afterAll(async () => {
      await stack?.close()
    })
    it('an IdP outage while tokens are still valid does not stop work', async () => {
      const h = acmeWorkers(stack)
      const { workers, events, tokenEvents } = h
      const handled: string[] = []
      workers.subscribe(TOPIC, async (ctx) => {
        const res = await ctx.fetch(stack.downstreamUrl, { audience: DOWNSTREAM_AUDIENCE })
        expect(res.status).toBe(200)
        await ctx.taskService.complete(ctx.task)
        handled.push(ctx.task.processInstanceId)
      })
      try {
        const warm = await stack.startAsUser('acme', 'alice')
        await until(() => handled.includes(warm), 'the warm-up task')
        const tokenRequests = stack.idp.counts.token

        await stack.idp.stop()
        const during = [
          await stack.startAsUser('acme', 'bob'),
          await stack.startAsUser('acme', 'carol'),
        ]
        await until(() => during.every((pi) => handled.includes(pi)), 'tasks during the outage')
        await stack.idp.restart()

        for (const pi of [warm, ...during]) {
          expect(await stack.instanceState(pi)).toBe('COMPLETED')
        }
        expect(stack.idp.counts.token).toBe(tokenRequests)
        expect(events.filter((e) => FAILURES.has(e.type))).toEqual([])
        expect(tokenEvents.filter((e) => e.type === 'failed')).toEqual([])
        expect(stack.downstreamCalls.map((c) => c.status)).toEqual([200, 200, 200])
      } finally {
        await closeWorkers(h)
      }
    })

    it('a 401 from the engine side causes exactly one token refresh and one retry', async () => {
      const h = acmeWorkers(stack)
      const { workers, events, sources } = h
      try {
        await sources.get('acme')?.getToken() // warm: the worker holds a token the IdP is about to disown
        const tokenRequests = stack.idp.counts.token
        const responsesBefore = stack.gatewayResponses.length
        await stack.idp.rotateKeys({ dropOld: true })
        // A user token signed with the new key makes the gateway reload the JWKS (old key gone).
        const pi = await stack.startAsUser('acme', 'alice')

        const handled: string[] = []
        workers.subscribe(TOPIC, async (ctx) => {
          await ctx.taskService.complete(ctx.task)
          handled.push(ctx.task.processInstanceId)
        })
        await until(() => handled.includes(pi), 'the task after the 401')

        expect(await stack.instanceState(pi)).toBe('COMPLETED')
        expect(stack.idp.counts.token - tokenRequests).toBe(1)
        expect(events.filter((e) => FAILURES.has(e.type))).toEqual([
          { type: 'engine:unauthorized', tenant: 'acme', retrying: true },
        ])
        const workerResponses = stack.gatewayResponses
          .slice(responsesBefore)
          .filter((r) => r.path.includes('/external-task/'))
        expect(workerResponses.filter((r) => r.status === 401)).toEqual([
          { method: 'POST', path: '/engine-rest/external-task/fetchAndLock', status: 401 },
        ])
        expect(workerResponses[0]?.status).toBe(401)
        expect(workerResponses[1]).toMatchObject({
          path: '/engine-rest/external-task/fetchAndLock',
          status: 200,
        })
      } finally {
        await closeWorkers(h)
      }
    })
  })
})

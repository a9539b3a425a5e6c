/**
 * Tenant workers end to end: the real external-task client, the testkit IdP, the gateway and the
 * engine simulator, plus a downstream API verifying app tokens.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTenantWorkers } from '@c7auth/worker'
import type { TenantWorkers, WorkerEvent } from '@c7auth/worker'
import { DOWNSTREAM_AUDIENCE, TENANTS, TOPIC, startWorkerStack, until } from './worker-stack.js'
import type { TenantId, WorkerStack } from './worker-stack.js'
import { describeEngines } from './engines.js'

function workersFor(stack: WorkerStack, events: WorkerEvent[]): TenantWorkers {
  return createTenantWorkers({
    config: stack.workerConfig,
    clientOptions: { asyncResponseTimeout: 1_000, interval: 20, lockDuration: 10_000 },
    onEvent: (e) => events.push(e),
  })
}

describeEngines('tenant workers through the gateway', (engineCtx) => {
  let stack: WorkerStack
  beforeAll(async () => {
    stack = await startWorkerStack({ testEngine: engineCtx.engine })
  })
  afterAll(async () => {
    await stack?.close()
  })

  it('two tenants on the same topic each receive only their own tasks; downstream sees app token and context', async () => {
    const events: WorkerEvent[] = []
    const workers = workersFor(stack, events)
    const started: Record<TenantId, string[]> = { acme: [], globex: [] }
    for (const tenant of TENANTS) {
      for (const user of ['alice', 'bob'])
        started[tenant].push(await stack.startAsUser(tenant, user))
    }
    const handled: Array<{ tenant: string; taskTenant: string | null; pi: string; user?: string }> =
      []
    workers.subscribe(TOPIC, async (ctx) => {
      const res = await ctx.fetch(stack.downstreamUrl, {
        method: 'POST',
        body: JSON.stringify({ pi: ctx.task.processInstanceId }),
        audience: DOWNSTREAM_AUDIENCE,
      })
      expect(res.status).toBe(200)
      handled.push({
        tenant: ctx.tenant,
        taskTenant: ctx.task.tenantId,
        pi: ctx.task.processInstanceId,
        ...(ctx.actingUser ? { user: ctx.actingUser.userId } : {}),
      })
      await ctx.taskService.complete(ctx.task)
    })
    try {
      await until(() => handled.length === 4, 'four handled tasks')
      await until(async () => (await stack.openExternalTasks()).length === 0, 'tasks completed')
    } finally {
      await workers.close({ timeoutMs: 2_000 })
    }

    for (const tenant of TENANTS) {
      const mine = handled.filter((h) => h.tenant === tenant)
      expect(mine.map((h) => h.pi).sort()).toEqual([...started[tenant]].sort())
      expect(mine.every((h) => h.taskTenant === tenant)).toBe(true)
      // users have their own engine-id namespace: `<raw id><33 base32>` (docs/identity-namespaces.md)
      expect(mine.map((h) => h.user).every((u) => /^(alice|bob)[a-z2-7]{33}$/.test(u ?? ''))).toBe(
        true,
      )
      expect(mine.map((h) => h.user!.slice(0, -33)).sort()).toEqual(['alice', 'bob'])
    }
    expect(Object.values(started).flat()).toHaveLength(4)
    for (const pi of Object.values(started).flat()) {
      expect(await stack.instanceState(pi)).toBe('COMPLETED')
    }

    // Every fetchAndLock that reached the engine was restricted to exactly one tenant.
    if (stack.target.simulator) {
      const polls = stack.target.simulator.requests.filter(
        (r) => r.path === '/external-task/fetchAndLock',
      )
      expect(polls.length).toBeGreaterThanOrEqual(2)
      for (const poll of polls) {
        const topics = (poll.body as { topics: Array<{ tenantIdIn?: string[] }> }).topics
        for (const topic of topics) expect(topic.tenantIdIn).toHaveLength(1)
      }
      const workerIds = new Set(polls.map((p) => (p.body as { workerId: string }).workerId))
      expect(workerIds.size).toBe(2)
      // the gateway namespaced each worker id by its tenant (issue 15 item 7)
      expect([...workerIds].map((w) => w.split(':')[0]).sort()).toEqual(['acme', 'globex'])
    }

    // The downstream API verified every app token (signature, issuer, audience) and saw context.
    expect(stack.downstreamCalls).toHaveLength(4)
    for (const call of stack.downstreamCalls) {
      expect(call.status).toBe(200)
      expect(call.claims?.aud).toBe(DOWNSTREAM_AUDIENCE)
      expect(call.claims?.azp ?? call.claims?.client_id).toBe(`${call.tenantHeader}-worker`)
      expect(call.actingUserHeader).toMatch(/^(alice|bob)[a-z2-7]{33}$/)
    }
    expect(stack.downstreamCalls.map((c) => c.tenantHeader).sort()).toEqual([
      'acme',
      'acme',
      'globex',
      'globex',
    ])
    expect(
      events.filter((e) => e.type.endsWith(':error') || e.type.endsWith('unauthorized')),
    ).toEqual([])
    // Cached per tenant and audience: one engine token and one billing token per tenant, for all
    // polls, completions and downstream calls.
    expect(stack.idp.counts.tokenByGrant.client_credentials).toBe(4)
  })
})

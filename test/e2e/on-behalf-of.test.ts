/**
 * On-behalf-of calls end to end (simulator; camunda7/operaton via C7AUTH_TEST_ENGINES): the real
 * gateway (bridge mode) stores a user’s delegation grant in a Redis vault when the user starts an opted-in process, a real tenant worker
 * calls the billing API as that user (`sub` = user, `act` = the tenant app), the grant is gone
 * once the instance ends, and every failure is a clear error without a downstream call.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Client, Variables } from 'camunda-external-task-client-js'
import type { Task } from 'camunda-external-task-client-js'
import { createOnBehalfOfVault, createTokenClient, isC7AuthError } from '@c7auth/core'
import type { OnBehalfOfVault, TokenClient } from '@c7auth/core'
import type { DelegationEvent } from '../../packages/gateway/src/internal.js'
import { createTaskContext, createTenantWorkers } from '@c7auth/worker'
import type { TenantWorkers } from '@c7auth/worker'
import { linearProcessXml } from '@c7auth/testkit'
import { describeEngines, engineAdmin, engineDeploy } from './engines.js'
import { freshNamespace, randomKey, rawStore, storeUrl } from './token-store-harness.js'
import { DOWNSTREAM_AUDIENCE, PROCESS_KEY, TOPIC, startWorkerStack, until } from './worker-stack.js'
import type { TenantId, WorkerStack } from './worker-stack.js'

describeEngines('on-behalf-of calls through the gateway and a tenant worker', (engineCtx) => {
  const namespace = freshNamespace()
  const raw = rawStore('redis', namespace, 'vault')
  let vault: OnBehalfOfVault
  let stack: WorkerStack
  let acmeApp: TokenClient
  const events: DelegationEvent[] = []

  beforeAll(async () => {
    vault = await createOnBehalfOfVault({
      url: storeUrl('redis'),
      keys: [randomKey('k1')],
      namespace,
      timeoutMs: 5000,
    })
    stack = await startWorkerStack({
      testEngine: engineCtx.engine,
      gatewayEnv: {
        C7AUTH_TENANT_ACME_ON_BEHALF_OF: `${PROCESS_KEY},approval`,
        // globex opted in for another process only
        C7AUTH_TENANT_GLOBEX_ON_BEHALF_OF: 'payout',
      },
      gatewayOptions: { vault, hooks: { onDelegation: (e) => events.push(e) } },
    })
    const acme = stack.workerConfig.tenants.find((t) => t.id === 'acme')!.client!
    acmeApp = createTokenClient({ ...acme })
    const approval = linearProcessXml({
      key: 'approval',
      steps: [
        { type: 'userTask', id: 'approve' },
        { type: 'externalTask', id: 'pay', topic: 'approved-payment' },
      ],
    })
    await engineDeploy(stack.target, approval, { name: 'approval', tenantId: 'acme' })
    if (!engineCtx.isSimulator) {
      // engines with authorization checks: the apps may also delete their instances
      const [grant] = await engineAdmin<{ id: string; permissions: string[] }[]>(
        stack.target,
        'GET',
        '/authorization?groupIdIn=apps&resourceType=8&resourceId=*',
      )
      await engineAdmin(stack.target, 'PUT', `/authorization/${grant!.id}`, {
        permissions: [...grant!.permissions, 'DELETE'],
        groupId: 'apps',
        resourceType: 8,
        resourceId: '*',
      })
    }
  })
  afterAll(async () => {
    acmeApp?.close()
    await stack?.close()
    await vault?.close()
    await raw.drop()
  })

  const eventOf = async (processInstanceId: string): Promise<DelegationEvent> => {
    await until(
      () => events.some((e) => e.processInstanceId === processInstanceId),
      `a delegation event for ${processInstanceId}`,
    )
    return events.find((e) => e.processInstanceId === processInstanceId)!
  }

  /** A task of `tenant` in `processInstanceId` whose acting user is `userId`. */
  function taskOf(tenant: TenantId, processInstanceId: string, userId: string): Task {
    const variables = new Variables({
      c7authActingUser: {
        type: 'String',
        value: JSON.stringify({ userId, kind: 'user', clientId: `${tenant}-portal` }),
      },
    })
    return { id: 'task', tenantId: tenant, processInstanceId, variables } as unknown as Task
  }
  /** The engine user id in the instance's acting-user variable. */
  async function actingUserOf(processInstanceId: string): Promise<string> {
    const variable = await engineAdmin<{ value: string }>(
      stack.target,
      'GET',
      `/process-instance/${processInstanceId}/variables/c7authActingUser`,
    )
    return (JSON.parse(variable.value) as { userId: string }).userId
  }
  const { taskService } = new Client({ baseUrl: 'http://127.0.0.1:1/engine-rest', autoPoll: false })

  async function codeOf(call: Promise<unknown>): Promise<string> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isC7AuthError(error)).toBe(true)
    return (error as { code: string }).code
  }

  it('stores the grant of a user start, never in the engine, encrypted in the vault', async () => {
    const pid = await stack.startAsUser('acme', 'dora')
    expect(await eventOf(pid)).toEqual({
      type: 'stored',
      tenantId: 'acme',
      processInstanceId: pid,
    })
    const [entry] = await vault.list({ tenant: 'acme', processInstanceId: pid })
    // bound to the engine user id the acting-user variable carries
    const dora = await actingUserOf(pid)
    expect(dora).toMatch(/^dora/)
    expect(entry).toMatchObject({ user: dora, processDefinitionKey: PROCESS_KEY })
    const grant = await vault.get({ tenant: 'acme', processInstanceId: pid, user: dora })
    expect(grant?.token).toBeTruthy()
    const stored = [...(await raw.entries()).values()].join(' ')
    expect(stored).not.toContain(grant!.token)
    // The engine holds only the acting-user variable.
    const variables = await engineAdmin<Record<string, unknown>>(
      stack.target,
      'GET',
      `/process-instance/${pid}/variables`,
    )
    expect(Object.keys(variables).sort()).toEqual(['c7authActingUser'])
    expect(JSON.stringify(variables)).not.toContain(grant!.token)
  })

  it('stores nothing for a process definition key the tenant did not opt in', async () => {
    const pid = await stack.startAsUser('globex', 'erin')
    expect((await eventOf(pid)).type).toBe('skipped')
    expect(await vault.list({ tenant: 'globex' })).toEqual([])
  })

  it('fails closed: another user, another tenant, no vault, a revoked grant', async () => {
    const pid = await stack.startAsUser('acme', 'bob')
    expect((await eventOf(pid)).type).toBe('stored')
    const bob = await actingUserOf(pid)
    const calls = stack.downstreamCalls.length
    const ctx = (tenant: TenantId, user: string, instance = pid) =>
      createTaskContext({
        task: taskOf(tenant, instance, user),
        taskService,
        tenant,
        tokenSource: acmeApp,
        onBehalfOf: { vault, exchanger: acmeApp },
      })
    const call = (c: ReturnType<typeof ctx>) =>
      c.fetch(stack.downstreamUrl, { onBehalfOf: 'actingUser', audience: DOWNSTREAM_AUDIENCE })

    // another user of the same instance, and globex naming acme's instance id: nothing
    expect(await codeOf(call(ctx('acme', 'mallory')))).toBe('C7AUTH_DELEGATION_MISSING')
    expect(await codeOf(call(ctx('globex', bob)))).toBe('C7AUTH_DELEGATION_MISSING')
    // without a vault at all
    const noVault = createTaskContext({
      task: taskOf('acme', pid, bob),
      taskService,
      tenant: 'acme',
      tokenSource: acmeApp,
    })
    expect(await codeOf(call(noVault))).toBe('C7AUTH_DELEGATION_MISSING')

    // revoked at the IdP (RFC 7009, by the app that holds it): refused, and the entry goes
    const grant = await vault.get({ tenant: 'acme', processInstanceId: pid, user: bob })
    const acme = stack.workerConfig.tenants.find((t) => t.id === 'acme')!.client!
    const revoked = await fetch(stack.idp.revocationEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${acme.clientId}:${acme.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: grant!.token }),
    })
    expect(revoked.status).toBe(200)
    expect(await codeOf(call(ctx('acme', bob)))).toBe('C7AUTH_DELEGATION_REVOKED')
    expect(await vault.get({ tenant: 'acme', processInstanceId: pid, user: bob })).toBe(undefined)
    expect(await codeOf(call(ctx('acme', bob)))).toBe('C7AUTH_DELEGATION_MISSING')
    // none of these reached the API, with any token
    expect(stack.downstreamCalls.length).toBe(calls)
  })

  it('a worker calls the billing API as alice (act = the acme app); the grant goes when the instance ends', async () => {
    const pid = await stack.startAsUser('acme', 'alice')
    expect((await eventOf(pid)).type).toBe('stored')
    const results = new Map<string, { status?: number; code?: string | undefined }>()
    const workers: TenantWorkers = createTenantWorkers({
      config: stack.workerConfig,
      tenants: ['acme'],
      vault,
      clientOptions: { asyncResponseTimeout: 1000, interval: 50 },
    })
    try {
      workers.subscribe(TOPIC, async (ctx) => {
        try {
          const res = await ctx.fetch(stack.downstreamUrl, {
            method: 'POST',
            onBehalfOf: 'actingUser',
            audience: DOWNSTREAM_AUDIENCE,
          })
          results.set(ctx.task.processInstanceId!, { status: res.status })
        } catch (e) {
          results.set(ctx.task.processInstanceId!, { code: (e as { code?: string }).code })
        }
        await ctx.taskService.complete(ctx.task)
      })
      await until(() => results.has(pid), 'the worker ran the task of alice')
    } finally {
      await workers.close()
    }
    expect(results.get(pid)).toEqual({ status: 200 })
    const call = stack.downstreamCalls.find((c) => c.claims?.sub === 'alice')
    expect(call?.claims).toMatchObject({
      sub: 'alice',
      preferred_username: 'alice',
      act: { sub: 'acme-worker' },
    })
    expect(call?.tenantHeader).toBe('acme')
    await until(
      async () => (await stack.instanceState(pid)) === 'COMPLETED',
      'the instance of alice ended',
    )
    await until(
      () => events.some((e) => e.processInstanceId === pid && e.type === 'deleted'),
      'the grant of alice deleted',
    )
    expect(await vault.list({ tenant: 'acme', processInstanceId: pid })).toEqual([])
  })

  it('deletes the grants of an instance deleted through the gateway, and sweeps the rest', async () => {
    const viaGateway = await stack.startAsUser('acme', 'frank')
    const behindItsBack = await stack.startAsUser('acme', 'grace')
    const running = await stack.startAsUser('acme', 'heidi')
    for (const pid of [viaGateway, behindItsBack, running]) {
      expect((await eventOf(pid)).type).toBe('stored')
    }
    const appToken = await acmeApp.getToken()
    const deleted = await fetch(`${stack.gatewayUrl}/process-instance/${viaGateway}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${appToken}` },
    })
    expect(deleted.status).toBe(204)
    await until(
      () => events.some((e) => e.processInstanceId === viaGateway && e.type === 'deleted'),
      'the grant of the deleted instance deleted',
    )
    // Deleted in the engine directly: the gateway saw nothing, the sweep asks the history.
    await engineAdmin(stack.target, 'DELETE', `/process-instance/${behindItsBack}`)
    expect(await vault.list({ tenant: 'acme', processInstanceId: behindItsBack })).toHaveLength(1)
    expect(await stack.gateway.sweepDelegations()).toBeGreaterThanOrEqual(1)
    expect(await vault.list({ tenant: 'acme', processInstanceId: behindItsBack })).toEqual([])
    expect(await vault.list({ tenant: 'acme', processInstanceId: running })).toHaveLength(1)
  })

  it('stores the grant of the user who completes a user task, nothing for an app start', async () => {
    const headers = (token: string) => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    })
    const started = await fetch(`${stack.gatewayUrl}/process-definition/key/approval/start`, {
      method: 'POST',
      headers: headers(await acmeApp.getToken()),
      body: '{}',
    })
    expect(started.status).toBe(200)
    const pid = ((await started.json()) as { id: string }).id
    const [task] = await engineAdmin<{ id: string }[]>(
      stack.target,
      'GET',
      `/task?processInstanceId=${pid}`,
    )
    const completed = await fetch(`${stack.gatewayUrl}/task/${task!.id}/complete`, {
      method: 'POST',
      headers: headers(await stack.userToken('acme', 'ivan')),
      body: '{}',
    })
    expect(completed.status).toBe(204)
    expect(await eventOf(pid)).toEqual({ type: 'stored', tenantId: 'acme', processInstanceId: pid })
    const entries = await vault.list({ tenant: 'acme', processInstanceId: pid })
    expect(entries.map((e) => e.user)).toEqual([await actingUserOf(pid)])
    expect(entries[0]).toMatchObject({ processDefinitionKey: 'approval' })
    expect(entries[0]!.user).toMatch(/^ivan/)
  })
})

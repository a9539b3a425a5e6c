import { linearProcessXml } from '@c7auth/testkit'
/**
 * The `examples/worker` program as a separate process, configured only by environment: against the
 * worker test stack and against the demo stack (`examples/demo/stack.ts`). It handles a task, calls
 * the downstream API with an app token and context headers, and on SIGTERM exits by itself.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  BILLING_AUDIENCE,
  TENANTS as DEMO_TENANTS,
  startDemoStack,
} from '../../examples/demo/stack.js'
import { spawnTsx } from './tsx-process.js'
import { DOWNSTREAM_AUDIENCE, TOPIC, startWorkerStack, until } from './worker-stack.js'

const EXAMPLE = fileURLToPath(new URL('../../examples/worker/src/worker.ts', import.meta.url))

interface ExampleRun {
  output(): string
  /** Sends SIGTERM and resolves with how the process ended (it must end by itself). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(): void
}

async function startExample(env: Record<string, string>): Promise<ExampleRun> {
  const proc = spawnTsx(EXAMPLE, env)
  const run: ExampleRun = {
    output: proc.output,
    async stop() {
      proc.child.kill('SIGTERM')
      // A process that does not exit by itself would hang here (and fail on the test timeout).
      const [code, signal] = await proc.exited
      return { code, signal }
    },
    kill: proc.kill,
  }
  try {
    await until(
      () => proc.output().includes('worker started') || proc.child.exitCode !== null,
      'the example to start',
    )
  } catch (error) {
    run.kill()
    throw error
  }
  if (!proc.output().includes('worker started'))
    throw new Error(`the example did not start:\n${proc.output()}`)
  return run
}

describe('examples/worker', () => {
  it('handles a task from env config and exits by itself on SIGTERM', async () => {
    const stack = await startWorkerStack()
    const example = await startExample({
      ...stack.workerEnv,
      WORKER_TOPIC: TOPIC,
      BILLING_URL: stack.downstreamUrl,
      BILLING_AUDIENCE: DOWNSTREAM_AUDIENCE,
    })
    try {
      const pi = await stack.startAsUser('globex', 'dora')
      await until(
        () => example.output().includes('task completed'),
        'the example to complete a task',
      )
      expect(stack.engine.inspect.processInstance(pi)?.state).toBe('COMPLETED')
      expect(stack.downstreamCalls).toHaveLength(1)
      expect(stack.downstreamCalls[0]).toMatchObject({
        status: 200,
        tenantHeader: 'globex',
        // users have their own engine-id namespace (docs/identity-namespaces.md)
        actingUserHeader: expect.stringMatching(/^dora[a-z2-7]{33}$/),
      })
      expect(example.output()).toMatch(/"actingUser":"dora[a-z2-7]{33}"/)

      expect(await example.stop()).toEqual({ code: 0, signal: null })
      expect(example.output()).toContain('worker stopped')
      expect(example.output()).toContain('"drained":true')
      // Never a token or secret in the example's logs.
      expect(example.output()).not.toMatch(/eyJ[\w-]+\.[\w-]+\./)
      expect(example.output()).not.toContain(stack.workerEnv.C7AUTH_TENANT_ACME_CLIENT_SECRET)
    } finally {
      example.kill()
      await stack.close()
    }
  })

  it('runs against the demo stack', async () => {
    const demo = await startDemoStack()
    const [acme] = DEMO_TENANTS
    const env: Record<string, string> = {
      C7AUTH_TENANTS: DEMO_TENANTS.map((t) => t.id).join(','),
      C7AUTH_WORKER_GATEWAY_URL: `${demo.gateway.url}/engine-rest`,
      WORKER_TOPIC: 'c7auth-example',
      BILLING_URL: `${demo.billing.url}/charges`,
      BILLING_AUDIENCE,
    }
    for (const t of DEMO_TENANTS) {
      const p = `C7AUTH_TENANT_${t.id.toUpperCase()}_`
      env[`${p}ISSUER`] = demo.idp.issuer
      env[`${p}CLIENT_ID`] = t.app
      env[`${p}CLIENT_SECRET`] = t.secret
      env[`${p}TOKEN_SCOPE`] = 'engine:read engine:write'
    }
    const simulator = demo.simulator
    if (simulator === null) throw new Error('the demo stack starts its own simulator by default')
    simulator.deploy(EXAMPLE_BPMN, { tenantId: acme.id })
    const example = await startExample(env)
    try {
      const token = await demo.idp.issueUserToken({
        sub: 'erin',
        clientId: acme.tasklist,
        claims: { preferred_username: 'erin' },
      })
      const res = await fetch(
        `${demo.gateway.url}/engine-rest/process-definition/key/exampleFlow/start`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ variables: { amount: { value: 42, type: 'Integer' } } }),
        },
      )
      expect(res.status).toBe(200)
      const { id } = (await res.json()) as { id: string }

      await until(
        () => example.output().includes('task completed'),
        'the example to complete a task',
      )
      expect(simulator.inspect.processInstance(id)?.state).toBe('COMPLETED')
      expect(demo.billing.calls).toEqual([
        {
          path: '/charges',
          subject: acme.app,
          actor: undefined,
          caller: acme.app,
          audience: BILLING_AUDIENCE,
          tenant: acme.id,
          actingUser: expect.stringMatching(/^erin[a-z2-7]{33}$/),
          amount: 42,
        },
      ])
      expect(await example.stop()).toEqual({ code: 0, signal: null })
    } finally {
      example.kill()
      await demo.close()
    }
  })
})

const EXAMPLE_BPMN = linearProcessXml({
  key: 'exampleFlow',
  steps: [{ type: 'externalTask', id: 'charge', topic: 'c7auth-example' }],
})

import { describe, expect, it } from 'vitest'
import { Client, Variables } from 'camunda-external-task-client-js'
import type { Task } from 'camunda-external-task-client-js'
import { createTokenClient } from '@c7auth/core'
import { createTaskContext } from './task-context.js'

// ctx.fetch with the token client at the testkit IdP: test/e2e/worker-task-context.test.ts.

/** Reading the acting user asks for no token: this token client is never used. */
const tokenSource = createTokenClient({
  tokenEndpoint: 'http://127.0.0.1:9/token',
  clientId: 'unused',
  clientSecret: 'unused',
})

function taskWith(variables: Record<string, { value: unknown; type: string }>): Task {
  return { id: 't1', tenantId: 'acme', variables: new Variables(variables) } as unknown as Task
}
const { taskService } = new Client({ baseUrl: 'http://127.0.0.1:9/engine-rest', autoPoll: false })
const alice = {
  c7authActingUser: {
    type: 'String',
    value: JSON.stringify({ userId: 'alice', kind: 'user', clientId: 'portal' }),
  },
}

describe('createTaskContext', () => {
  it('reads the acting user from the gateway’s variable and exposes tenant and task', () => {
    const ctx = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource,
    })
    expect(ctx.tenant).toBe('acme')
    expect(ctx.task.id).toBe('t1')
    expect(ctx.taskService).toBe(taskService)
    expect(ctx.actingUser).toEqual({ userId: 'alice', kind: 'user', clientId: 'portal' })
  })

  it('leaves actingUser undefined when the variable is absent, malformed, or named differently', () => {
    const none = createTaskContext({ task: taskWith({}), taskService, tenant: 'acme', tokenSource })
    const bad = createTaskContext({
      task: taskWith({ c7authActingUser: { type: 'String', value: '{"kind":"root"}' } }),
      taskService,
      tenant: 'acme',
      tokenSource,
    })
    const renamed = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource,
      actingUserVariable: 'startedBy',
    })
    expect([none.actingUser, bad.actingUser, renamed.actingUser]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
  })
})

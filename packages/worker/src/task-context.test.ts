import { createServer } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Variables } from 'camunda-external-task-client-js'
import type { Task, TaskService } from 'camunda-external-task-client-js'
import { createTaskContext } from './task-context.js'
import type { WorkerEvent } from './worker-events.js'
import { CountingTokenSource } from './fake-engine.test-helper.js'

/** A downstream API over a real socket: accepts only `acceptedToken`, records what it saw. */
let url = ''
let acceptedToken = ''
const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = []
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk: Buffer) => (body += chunk.toString()))
  req.on('end', () => {
    seen.push({ headers: req.headers, body })
    const ok = req.headers.authorization === `Bearer ${acceptedToken}`
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ ok }))
  })
})
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  seen.length = 0
})

function taskWith(variables: Record<string, { value: unknown; type: string }>): Task {
  return { id: 't1', tenantId: 'acme', variables: new Variables(variables) } as unknown as Task
}
const taskService = {} as TaskService
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
      tokenSource: new CountingTokenSource(),
    })
    expect(ctx.tenant).toBe('acme')
    expect(ctx.task.id).toBe('t1')
    expect(ctx.taskService).toBe(taskService)
    expect(ctx.actingUser).toEqual({ userId: 'alice', kind: 'user', clientId: 'portal' })
  })

  it('leaves actingUser undefined when the variable is absent, malformed, or named differently', () => {
    const tokenSource = new CountingTokenSource()
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

describe('ctx.fetch', () => {
  it('sends the app token for the requested audience plus tenant and acting-user headers', async () => {
    const tokenSource = new CountingTokenSource()
    acceptedToken = 'tok-1'
    const ctx = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource,
    })
    const res = await ctx.fetch(url, {
      method: 'POST',
      body: 'x=1',
      audience: 'billing',
      scope: 'charge',
      headers: { 'x-c7auth-acting-user': 'mallory', 'x-custom': 'kept' },
    })
    expect(res.status).toBe(200)
    expect(tokenSource.requests).toEqual([{ audience: 'billing', scope: 'charge' }])
    expect(seen).toHaveLength(1)
    expect(seen[0]?.headers).toMatchObject({
      authorization: 'Bearer tok-1',
      'x-c7auth-tenant': 'acme',
      'x-c7auth-acting-user': 'alice',
      'x-custom': 'kept',
    })
    expect(seen[0]?.body).toBe('x=1')
  })

  it('uses configured header names, omits disabled ones, and never forwards a spoofed acting user', async () => {
    acceptedToken = 'tok-1'
    const ctx = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource: new CountingTokenSource(),
      downstream: { tenantHeader: 'X-Org', actingUserHeader: 'X-On-Behalf-Of' },
    })
    await ctx.fetch(url, { headers: { 'X-On-Behalf-Of': 'mallory' } })
    const off = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource: new CountingTokenSource(),
      downstream: { tenantHeader: false, actingUserHeader: false },
    })
    await off.fetch(url)
    expect(seen[0]?.headers['x-org']).toBe('acme')
    expect(seen[0]?.headers['x-on-behalf-of']).toBeUndefined()
    expect(seen[1]?.headers['x-c7auth-tenant']).toBeUndefined()
    expect(seen[1]?.headers['x-c7auth-acting-user']).toBeUndefined()
  })

  it('after a 401 invalidates that token and retries exactly once with a fresh one', async () => {
    const tokenSource = new CountingTokenSource()
    acceptedToken = 'tok-2'
    const events: WorkerEvent[] = []
    const ctx = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource,
      onEvent: (e) => events.push(e),
    })
    const res = await ctx.fetch(url, { method: 'PUT', body: '{"a":1}', audience: 'crm' })
    expect(res.status).toBe(200)
    expect(seen.map((s) => [s.headers.authorization, s.body])).toEqual([
      ['Bearer tok-1', '{"a":1}'],
      ['Bearer tok-2', '{"a":1}'],
    ])
    expect(tokenSource.invalidated).toEqual(['tok-1'])
    expect(events).toEqual([
      {
        type: 'downstream:unauthorized',
        tenant: 'acme',
        retrying: true,
        origin: new URL(url).origin,
      },
    ])

    acceptedToken = 'never'
    const refused = await ctx.fetch(url, { audience: 'crm' })
    expect(refused.status).toBe(401)
    expect(seen).toHaveLength(4)
    expect(tokenSource.invalidated).toEqual(['tok-1', 'tok-2'])
  })

  it('does not replay a streamed body after a 401', async () => {
    const tokenSource = new CountingTokenSource()
    acceptedToken = 'tok-2'
    const ctx = createTaskContext({ task: taskWith({}), taskService, tenant: 'acme', tokenSource })
    const body = Readable.toWeb(Readable.from(['chunk'])) as ReadableStream
    const res = await ctx.fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(401)
    expect(seen).toHaveLength(1)
    expect(tokenSource.invalidated).toEqual(['tok-1'])
  })

  it('refuses plain http off loopback unless allowed, before asking for a token', async () => {
    const tokenSource = new CountingTokenSource()
    const sent: string[] = []
    const recordingFetch: typeof fetch = async (input) => {
      sent.push(String(input))
      return new Response('{}', { status: 200 })
    }
    const strict = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource,
      fetch: recordingFetch,
    })
    await expect(strict.fetch('http://billing.example.com/charges')).rejects.toMatchObject({
      code: 'C7AUTH_CONFIG_INVALID',
    })
    expect(tokenSource.requests).toEqual([])
    const lenient = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource,
      fetch: recordingFetch,
      downstream: { allowInsecureHttp: true },
    })
    await lenient.fetch('http://billing.example.com/charges')
    await strict.fetch('https://billing.example.com/charges')
    expect(sent).toEqual([
      'http://billing.example.com/charges',
      'https://billing.example.com/charges',
    ])
  })

  it('fails the call without sending it when no token can be obtained', async () => {
    const tokenSource = new CountingTokenSource()
    tokenSource.failWith = new Error('idp down')
    const events: WorkerEvent[] = []
    const ctx = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource,
      onEvent: (e) => events.push(e),
    })
    await expect(ctx.fetch(url, { audience: 'crm' })).rejects.toThrow('idp down')
    expect(seen).toHaveLength(0)
    expect(events[0]).toMatchObject({ type: 'token:failed', tenant: 'acme', target: 'downstream' })
  })
})

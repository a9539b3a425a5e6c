/**
 * bearerAuthInterceptor with the real external-task client and the core token client at the
 * testkit IdP: against the engine simulator directly (authentication off, so the test sees the
 * engine's semantics and the headers it received) and through the real gateway, where a token it
 * refuses gets a real 401.
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Client } from 'camunda-external-task-client-js'
import type { ClientConfig, Interceptor } from 'camunda-external-task-client-js'
import { TokenEndpointError, createTokenClient } from '@c7auth/core'
import type { TokenClientOptions } from '@c7auth/core'
import { bearerAuthInterceptor, c7authMiddleware } from '@c7auth/worker'
import type { BearerAuthInterceptor, WorkerEvent } from '@c7auth/worker'
import { linearProcessXml, startEngineSimulator } from '@c7auth/testkit'
import type { EngineSimulator } from '@c7auth/testkit'
import { DOWNSTREAM_AUDIENCE, PROCESS_KEY, TOPIC, startWorkerStack, until } from './worker-stack.js'
import type { WorkerStack } from './worker-stack.js'
import { recordTokens } from './worker-token-recorder.js'
import type { RecordedTokenSource } from './worker-token-recorder.js'

let stack: WorkerStack
beforeAll(async () => {
  // No verified-token cache and no JWKS refetch cooldown: once the IdP drops a key, the gateway
  // refuses every token signed with it.
  stack = await startWorkerStack({ jwksRefetchCooldownSeconds: 0, verifiedTokenCache: false })
})
afterAll(async () => {
  await stack?.close()
})

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The engine simulator without authentication, with the charge process deployed for acme. */
async function simulator(): Promise<EngineSimulator> {
  const engine = await startEngineSimulator({ authentication: false })
  cleanups.push(() => engine.close())
  const xml = linearProcessXml({
    key: PROCESS_KEY,
    steps: [{ type: 'externalTask', id: 'charge', topic: TOPIC }],
  })
  engine.deploy(xml, { tenantId: 'acme' })
  return engine
}

/** acme's app credentials at the IdP as a recorded core token client. */
function acmeTokens(overrides: Partial<TokenClientOptions> = {}): RecordedTokenSource {
  const client = stack.workerConfig.tenants.find((t) => t.id === 'acme')?.client
  if (!client) throw new Error('acme has no client credentials')
  const tokens = recordTokens(createTokenClient({ ...client, ...overrides }))
  cleanups.push(() => tokens.close())
  return tokens
}

function client(
  baseUrl: string,
  interceptors: Interceptor[],
  events: WorkerEvent[] = [],
  options: Partial<ClientConfig> = {},
): Client {
  const auth = interceptors.find((i) => 'listen' in i) as BearerAuthInterceptor
  const c = new Client({
    baseUrl,
    workerId: 'w1',
    interval: 10,
    autoPoll: false,
    ...options,
    interceptors,
    use: [c7authMiddleware({ auth, onEvent: (e) => events.push(e) })],
  })
  cleanups.push(() => c.stop())
  return c
}

const completed = (engine: EngineSimulator, pi: string): boolean =>
  engine.inspect.processInstance(pi)?.state === 'COMPLETED'

/** Makes the gateway load the IdP's current keys: it sees a token signed with the newest one. */
async function reloadGatewayKeys(): Promise<void> {
  const token = await stack.idp.issueUserToken({ sub: 'alice', clientId: 'acme-portal' })
  const res = await fetch(`${stack.gatewayUrl}/version`, {
    headers: { authorization: `Bearer ${token}` },
  })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
}

describe('bearerAuthInterceptor', () => {
  it('is the one thing a hand-made Client needs: built from the OAuth client settings', async () => {
    const settings = stack.workerConfig.tenants.find((t) => t.id === 'acme')?.client
    if (!settings) throw new Error('acme has no client credentials')
    const auth = bearerAuthInterceptor(settings)
    cleanups.push(() => auth.close())
    const pi = await stack.startAsUser('acme', 'alice')
    const from = stack.gatewayRequests.length
    const c = new Client({
      baseUrl: stack.gatewayUrl,
      workerId: 'hand-made',
      interval: 10,
      autoPoll: false,
      interceptors: [auth],
    })
    cleanups.push(() => c.stop())
    c.subscribe(TOPIC, {}, async ({ task, taskService }) => {
      await taskService.complete(task)
    })
    c.start()
    const completes = () =>
      stack.gatewayRequests.slice(from).filter((r) => r.path.endsWith('/complete'))
    // The gateway records a response when it has been written, after the engine completed.
    await until(() => completed(stack.engine, pi) && completes().length > 0, 'complete')
    c.stop()
    expect(completes().map((r) => r.status)).toEqual([204])
    expect(completes()[0]?.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
  })

  it('authenticates fetchAndLock and complete with the token source’s token', async () => {
    const engine = await simulator()
    const pi = engine.startProcess(PROCESS_KEY, { tenantId: 'acme' }).id
    const tokens = acmeTokens()
    const c = client(engine.url, [bearerAuthInterceptor(tokens)])
    c.subscribe(TOPIC, {}, async ({ task, taskService }) => {
      await taskService.complete(task)
    })
    c.start()
    await until(() => completed(engine, pi), 'complete')
    const used = engine.requests.filter(
      (r) => r.path === '/external-task/fetchAndLock' || r.path.endsWith('/complete'),
    )
    expect(used.length).toBeGreaterThanOrEqual(2)
    expect(used.filter((r) => r.path.endsWith('/complete'))).toHaveLength(1)
    expect(new Set(used.map((r) => r.headers.authorization))).toEqual(
      new Set([`Bearer ${tokens.issued[0]}`]),
    )
    expect(tokens.issued).toHaveLength(1)
  })

  it('runs the hooks other interceptors added, before its own', async () => {
    const engine = await simulator()
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
    const tokens = acmeTokens()
    const c = client(engine.url, [earlier, bearerAuthInterceptor(tokens)])
    c.subscribe('none', {}, () => undefined)
    c.start()
    await until(() => seen.includes('earlier-after'), 'a poll answered')
    c.stop()
    expect(engine.requests[0]?.headers.authorization).toBe(`Bearer ${tokens.issued[0]}`)
    expect(engine.requests[0]?.headers['x-earlier']).toBe('yes')
    expect(seen.slice(0, 2)).toEqual(['earlier', 'earlier-after'])
  })

  it('after a 401 invalidates exactly the refused token and retries once with a fresh one', async () => {
    const tokens = acmeTokens()
    // The worker holds a token; then the IdP rotates its keys, dropping the one that signed it.
    await tokens.getToken()
    await stack.idp.rotateKeys({ dropOld: true })
    // Started with a token of the new key, so the gateway knows only the new key.
    const pi = await stack.startAsUser('acme', 'alice')
    const from = stack.gatewayRequests.length
    const events: WorkerEvent[] = []
    // One task at a time: no poll runs while the handler does.
    const c = client(stack.gatewayUrl, [bearerAuthInterceptor(tokens)], events, {
      maxParallelExecutions: 1,
    })
    c.subscribe(TOPIC, {}, async ({ task, taskService }) => {
      // The key of the token that fetched the task is dropped too, before it is completed.
      await stack.idp.rotateKeys({ dropOld: true })
      await reloadGatewayKeys()
      await taskService.complete(task)
    })
    c.start()
    // The gateway records a response once written, after the engine completed the task.
    const recordedCompletes = () =>
      stack.gatewayRequests.slice(from).filter((r) => r.path.endsWith('/complete')).length
    await until(() => completed(stack.engine, pi) && recordedCompletes() >= 2, 'complete')
    c.stop()

    const [tok1, tok2, tok3] = tokens.issued
    const calls = (suffix: string) =>
      stack.gatewayRequests
        .slice(from)
        .filter((r) => r.path.endsWith(suffix))
        .map((r) => [r.authorization, r.status])
    expect(calls('/fetchAndLock').slice(0, 2)).toEqual([
      [`Bearer ${tok1}`, 401],
      [`Bearer ${tok2}`, 200],
    ])
    expect(calls('/complete')).toEqual([
      [`Bearer ${tok2}`, 401],
      [`Bearer ${tok3}`, 204],
    ])
    expect(tokens.invalidated).toEqual([tok1, tok2])
    expect(tokens.issued).toHaveLength(3)
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
    const tokens = acmeTokens()
    const events: WorkerEvent[] = []
    // Engine calls with tokens for the billing API: the gateway refuses every one (audience).
    const auth = bearerAuthInterceptor(tokens, { params: { audience: DOWNSTREAM_AUDIENCE } })
    const c = client(stack.gatewayUrl, [auth], events)
    c.subscribe(TOPIC, {}, () => undefined)
    const pollError = new Promise<unknown>((resolve) => c.once('poll:error', resolve))
    c.start()
    const error = await pollError
    c.stop()
    expect((error as { httpStatusCode?: number }).httpStatusCode).toBe(401)
    const mine = new Set(tokens.issued.map((t) => `Bearer ${t}`))
    const polls = stack.gatewayRequests.filter(
      (r) => r.path.endsWith('/fetchAndLock') && mine.has(r.authorization ?? ''),
    )
    expect(polls.map((r) => r.status)).toEqual([401, 401])
    expect(new Set(tokens.requests.map((p) => p?.audience))).toEqual(new Set([DOWNSTREAM_AUDIENCE]))
    expect(tokens.invalidated).toEqual([tokens.issued[0]])
    expect(events.filter((e) => e.type !== 'token:acquired').slice(0, 3)).toEqual([
      { type: 'engine:unauthorized', retrying: true },
      { type: 'engine:unauthorized', retrying: false },
      { type: 'poll:error', status: 401, error },
    ])
  })

  it('sends nothing when no token can be obtained, and reports token:failed', async () => {
    const engine = await simulator()
    // The IdP refuses the client (wrong secret): no token at all.
    const tokens = acmeTokens({ clientSecret: 'not-the-secret' })
    const events: WorkerEvent[] = []
    const c = client(engine.url, [bearerAuthInterceptor(tokens, { tenant: 'acme' })], events)
    c.subscribe(TOPIC, {}, () => undefined)
    const pollError = new Promise<unknown>((resolve) => c.once('poll:error', resolve))
    c.start()
    await pollError
    c.stop()
    expect(engine.requests).toHaveLength(0)
    expect(events[0]).toMatchObject({ type: 'token:failed', tenant: 'acme', target: 'engine' })
    const failure = events[0] as { error?: unknown }
    expect(failure.error).toBeInstanceOf(TokenEndpointError)
    expect(failure.error).toMatchObject({ oauthError: 'invalid_client' })
  })

  it('parses JSON answered as application/json; charset=utf-8 (the client alone would not)', async () => {
    const engine = await simulator()
    const pi = engine.startProcess(PROCESS_KEY, { tenantId: 'acme' }).id
    const taskId = engine.inspect.externalTasks().find((t) => t.processInstanceId === pi)?.id

    // A proxy that appends a charset, as a non-c7auth proxy in front of the engine may.
    let charsetAnswers = 0
    const proxyThatAppendsACharset = createServer((req, res) => {
      const upstream = request(
        `${engine.origin}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          const headers = { ...answer.headers }
          if (headers['content-type'] === 'application/json') {
            headers['content-type'] = 'application/json; charset=utf-8'
            charsetAnswers++
          }
          res.writeHead(answer.statusCode ?? 502, headers)
          answer.pipe(res)
        },
      )
      // the simulator closes with a long poll still open when the test ends: not an error here
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => proxyThatAppendsACharset.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      proxyThatAppendsACharset.closeAllConnections()
      await new Promise((resolve) => proxyThatAppendsACharset.close(resolve))
    })
    const { port } = proxyThatAppendsACharset.address() as AddressInfo

    const c = client(`http://127.0.0.1:${port}/engine-rest`, [bearerAuthInterceptor(acmeTokens())])
    const ids: string[] = []
    c.subscribe(TOPIC, {}, async ({ task, taskService }) => {
      ids.push(task.id)
      await taskService.complete(task)
    })
    c.start()
    await until(() => completed(engine, pi), 'complete')
    expect(ids).toEqual([taskId])
    expect(charsetAnswers).toBeGreaterThan(0)
  })
})

import { Writable } from 'node:stream'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { request } from 'undici'
import type { EngineAuthMode } from '@c7auth/core'
import {
  createAuditLog,
  createEngineEndpoint,
  createEngineProxy,
  createPolicy,
  createUpstreamCredentials,
  engineNotFound,
} from '../../packages/gateway/src/internal.js'
import type { EngineProxyOptions } from '../../packages/gateway/src/internal.js'
import { testPrincipal, useClosers } from '../../packages/gateway/src/__tests__/fixtures.js'
import { linearProcessXml, startEngineSimulator } from '@c7auth/testkit'
import type { EngineSimulator, EngineSimulatorOptions } from '@c7auth/testkit'

/**
 * The engine proxy's forwarding and failure handling with the real route-table policy in front of
 * the engine-rest simulator (its request log shows what reached the engine; its fault API makes
 * it slow, down or failing). The transport mechanics (body limits, long polls, streamed uploads,
 * relays, clients that leave, credentials that resolve late) are in
 * packages/gateway/src/engine/proxy.test.ts, on the simulator and the real policy too.
 */
const SERVICE = { id: 'svc', password: 'Svc-Passw0rd!' }
const principal = testPrincipal()
const closers = useClosers()

/** A simulator with the service account and one instance per tenant waiting in a user task. */
async function engineWithData(options: EngineSimulatorOptions = {}) {
  const sim = await startEngineSimulator({
    adminUser: { id: 'admin', password: 'admin' },
    ...options,
  })
  closers.push(() => sim.close())
  sim.seed.user({ ...SERVICE })
  sim.seed.membership({ userId: SERVICE.id, groupId: 'camunda-admin' })
  const xml = linearProcessXml({ key: 'order', steps: [{ type: 'userTask', id: 'approve' }] })
  sim.deploy(xml, { tenantId: 'tenantA' })
  sim.deploy(xml, { tenantId: 'tenantB' })
  const a = sim.startProcess('order', { tenantId: 'tenantA' })
  const b = sim.startProcess('order', { tenantId: 'tenantB' })
  const taskOf = (pi: string) => sim.inspect.tasks().find((t) => t.processInstanceId === pi)!.id
  return { sim, taskA: taskOf(a.id), taskB: taskOf(b.id), instanceA: a.id }
}

async function gatewayFor(
  sim: EngineSimulator,
  overrides: Partial<EngineProxyOptions> & { mode?: EngineAuthMode; password?: string } = {},
) {
  const { mode, password, ...proxyOptions } = overrides
  const endpoint = createEngineEndpoint(sim.url)
  closers.push(() => endpoint.dispatcher.close())
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>)
        cb()
      },
    }),
  )
  const proxy = createEngineProxy({
    endpoint,
    credentials: createUpstreamCredentials({
      mode: mode ?? 'service',
      serviceUser: SERVICE.id,
      servicePassword: password ?? SERVICE.password,
      userHeader: 'Context-User-ID',
    }),
    policy: createPolicy(),
    timeoutMs: 2_000,
    maxLongPollMs: 1_000,
    maxJsonBytes: 64 * 1024,
    maxStreamBytes: 32 * 1024 * 1024,
    audit: createAuditLog(logger),
    logger,
    ...proxyOptions,
  })
  const server = createServer((req, res) => {
    void proxy.handle(req, res, principal, { mountPath: '/engine-rest' })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/engine-rest`
  return { url, lines }
}

describe('engine proxy over the simulator: forwarding', () => {
  it('forwards method, path, query and body with tenant A’s filter; strips client credentials and identity headers; adds service Basic', async () => {
    const { sim, taskA } = await engineWithData()
    const gw = await gatewayFor(sim)
    const r = await request(`${gw.url}/task?taskDefinitionKey=approve&maxResults=5`, {
      headers: {
        authorization: 'Bearer secret-token',
        cookie: 'JSESSIONID=abc',
        'context-user-id': 'demo',
        'x-forwarded-user': 'demo',
        accept: 'application/hal+json',
        'x-custom': 'kept',
        'x-http-method-override': 'DELETE',
        'X-HTTP-Method': 'DELETE',
        'x-method-override': 'DELETE',
      },
    })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    expect(((await r.body.json()) as { id: string }[]).map((t) => t.id)).toEqual([taskA])
    expect(sim.requests).toHaveLength(1)
    const s = sim.requests[0]!
    expect(s.method).toBe('GET')
    expect(s.path).toBe('/task')
    expect(s.query).toMatchObject({ taskDefinitionKey: 'approve', maxResults: '5' })
    expect(s.query.tenantIdIn).toBe('tenantA')
    expect(s.user).toBe(SERVICE.id)
    expect(s.headers.authorization).toBe(
      `Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.password}`).toString('base64')}`,
    )
    expect(s.headers.cookie).toBeUndefined()
    expect(s.headers['context-user-id']).toBeUndefined()
    expect(s.headers['x-forwarded-user']).toBeUndefined()
    expect(s.headers.accept).toBe('application/json')
    expect(s.headers['x-custom']).toBe('kept')
    expect(s.headers['x-http-method-override']).toBeUndefined()
    expect(s.headers['x-http-method']).toBeUndefined()
    expect(s.headers['x-method-override']).toBeUndefined()
    expect(s.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(r.headers['x-request-id']).toBe(s.headers['x-request-id'])

    // a JSON body reaches the engine as sent (plus the acting user the policy records)
    const done = await request(`${gw.url}/task/${taskA}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ variables: { ok: { value: true, type: 'Boolean' } } }),
    })
    expect(done.statusCode).toBe(204)
    await done.body.dump()
    const complete = sim.requests.find((q) => q.path === `/task/${taskA}/complete`)!
    expect(complete.method).toBe('POST')
    expect(complete.body).toMatchObject({ variables: { ok: { value: true, type: 'Boolean' } } })
    expect(sim.inspect.tasks().map((t) => t.id)).not.toContain(taskA)
    sim.assertNoValidationErrors()
  })

  it('keeps a valid incoming x-request-id and replaces a malformed one', async () => {
    const { sim } = await engineWithData()
    const gw = await gatewayFor(sim)
    const a = await request(`${gw.url}/version`, { headers: { 'x-request-id': 'req-1.a:b' } })
    await a.body.dump()
    const b = await request(`${gw.url}/version`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    })
    await b.body.dump()
    expect(a.statusCode).toBe(200)
    expect(a.headers['x-request-id']).toBe('req-1.a:b')
    expect(sim.requests[0]!.headers['x-request-id']).toBe('req-1.a:b')
    expect(b.headers['x-request-id']).not.toBe('bad id with spaces')
    expect(sim.requests[1]!.headers['x-request-id']).toBe(b.headers['x-request-id'])
  })

  it('header mode sets the trusted user header from the principal and drops the client value; none mode sends no credentials', async () => {
    const { sim } = await engineWithData({ authentication: false })
    const header = await gatewayFor(sim, { mode: 'header' })
    const r = await request(`${header.url}/task`, {
      headers: { 'Context-User-ID': 'camundaAdmin', authorization: 'Bearer x' },
    })
    expect(r.statusCode).toBe(200)
    await r.body.dump()
    expect(sim.requests[0]!.headers['context-user-id']).toBe('appA')
    expect(sim.requests[0]!.headers.authorization).toBeUndefined()
    const none = await gatewayFor(sim, { mode: 'none' })
    const n = await request(`${none.url}/task`, { headers: { authorization: 'Bearer x' } })
    expect(n.statusCode).toBe(200)
    await n.body.dump()
    expect(sim.requests).toHaveLength(2)
    expect(sim.requests[1]!.headers.authorization).toBeUndefined()
    expect(sim.requests[1]!.headers['context-user-id']).toBeUndefined()
  })

  it('passes non-JSON answers back byte for byte', async () => {
    const { sim } = await engineWithData()
    const gw = await gatewayFor(sim)
    const deployment = (
      (await (await request(`${gw.url}/deployment`)).body.json()) as { id: string }[]
    )[0]!
    const resources = (await (
      await request(`${gw.url}/deployment/${deployment.id}/resources`)
    ).body.json()) as { id: string }[]
    const data = await request(
      `${gw.url}/deployment/${deployment.id}/resources/${resources[0]!.id}/data`,
    )
    const direct = await fetch(
      `${sim.url}/deployment/${deployment.id}/resources/${resources[0]!.id}/data`,
      { headers: { authorization: 'Basic ' + Buffer.from('admin:admin').toString('base64') } },
    )
    expect(data.statusCode).toBe(200)
    expect(data.headers['content-type']).toBe(direct.headers.get('content-type'))
    expect(Buffer.from(await data.body.arrayBuffer())).toEqual(
      Buffer.from(await direct.arrayBuffer()),
    )
  })

  it('rewrites the engine’s absolute links to the public URL', async () => {
    const { sim } = await engineWithData()
    const gw = await gatewayFor(sim, { publicUrl: 'https://gw.example.com' })
    const r = await request(`${gw.url}/process-definition/key/order/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    const json = (await r.body.json()) as { id: string; links: { href: string }[] }
    expect(json.links.length).toBeGreaterThan(0)
    expect(json.links[0]!.href).toBe(
      `https://gw.example.com/engine-rest/process-instance/${json.id}`,
    )
    // the engine had stamped the caller's tenant into the key-only path
    expect(sim.requests.at(-1)!.path).toBe('/process-definition/key/order/tenant-id/tenantA/start')
  })

  it('renders policy denials Camunda-shaped and audits them; a foreign id gets the engine’s 404 after the owner lookup only', async () => {
    const { sim, taskB } = await engineWithData()
    const gw = await gatewayFor(sim)
    const denied = await request(`${gw.url}/user/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(denied.statusCode).toBe(403)
    expect(denied.headers['content-type']).toBe('application/json')
    expect(await denied.body.json()).toEqual({
      type: 'C7AuthError',
      message: 'This operation is reserved to administrators.',
      code: 'C7AUTH_ADMIN_ONLY',
    })
    expect(sim.requests).toHaveLength(0)
    const foreign = await request(`${gw.url}/task/${taskB}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(foreign.statusCode).toBe(404)
    expect(await foreign.body.json()).toEqual(engineNotFound('task', taskB).body)
    expect(sim.requests.map((q) => `${q.method} ${q.path}`)).toEqual([`GET /task/${taskB}`])
    expect(sim.inspect.tasks().map((t) => t.id)).toContain(taskB)
    const audit = gw.lines.filter((l) => l.audit === true)
    expect(audit.length).toBeGreaterThanOrEqual(1)
    expect(audit[0]).toMatchObject({
      userId: 'appA',
      clientId: 'app-a',
      kind: 'app',
      outcome: 'denied',
      status: 403,
      code: 'C7AUTH_ADMIN_ONLY',
    })
    expect(JSON.stringify(gw.lines)).not.toContain('Bearer')
  })

  it('writes one audit line per mutating call with request id, principal, tenant, operation and outcome', async () => {
    const { sim, taskA } = await engineWithData()
    const gw = await gatewayFor(sim)
    const r = await request(`${gw.url}/task/${taskA}/complete`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'rq1',
        authorization: 'Bearer tok',
      },
      body: '{}',
    })
    expect(r.statusCode).toBe(204)
    await r.body.dump()
    const get = await request(`${gw.url}/task`)
    await get.body.dump()
    const audit = gw.lines.filter((l) => l.audit === true)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({
      requestId: 'rq1',
      userId: 'appA',
      clientId: 'app-a',
      kind: 'app',
      tenant: 'tenantA',
      operationId: 'complete', // the engine-rest OpenAPI's name
      method: 'POST',
      status: 204,
      outcome: 'success',
    })
    expect(JSON.stringify(audit)).not.toContain('tok')
  })
})

describe('engine proxy over the simulator: failures (the simulator’s fault API)', () => {
  it('answers 502 when the engine drops the connection and when it is gone', async () => {
    const { sim } = await engineWithData()
    const gw = await gatewayFor(sim)
    sim.setFault({ kind: 'down' })
    const r = await request(`${gw.url}/task`)
    expect(r.statusCode).toBe(502)
    expect(r.headers['content-type']).toBe('application/json')
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_UPSTREAM_UNAVAILABLE' })
    sim.setFault(null)
    await sim.close()
    const gone = await request(`${gw.url}/task`)
    expect(gone.statusCode).toBe(502)
    expect(await gone.body.json()).toMatchObject({ code: 'C7AUTH_UPSTREAM_UNAVAILABLE' })
  })

  it('answers 504 when the engine is slow', async () => {
    const { sim } = await engineWithData()
    const gw = await gatewayFor(sim, { timeoutMs: 1_000 })
    // far beyond the timeout: the answer cannot depend on how busy the machine is
    sim.setFault({ kind: 'delay', ms: 30_000 })
    const r = await request(`${gw.url}/task`)
    expect(r.statusCode).toBe(504)
    expect(await r.body.json()).toMatchObject({
      type: 'UpstreamError',
      code: 'C7AUTH_UPSTREAM_TIMEOUT',
    })
    sim.setFault(null)
  })

  it('never passes an engine 401 (Basic challenge) to the client in service mode', async () => {
    const { sim } = await engineWithData()
    const gw = await gatewayFor(sim, { password: 'not-the-password' })
    const r = await request(`${gw.url}/task`)
    expect(r.statusCode).toBe(502)
    expect(r.headers['www-authenticate']).toBeUndefined()
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_UPSTREAM_UNAVAILABLE' })
    expect(sim.requests.map((q) => q.status)).toEqual([401])
  })

  it('passes the engine’s own errors through unchanged', async () => {
    const { sim, taskA } = await engineWithData()
    const gw = await gatewayFor(sim)
    // the engine's own 400 for a malformed variable, byte for byte
    const bad = { variables: { x: { value: 'abc', type: 'Integer' } } }
    const r = await request(`${gw.url}/task/${taskA}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bad),
    })
    const engineAnswer = sim.requests.at(-1)!
    expect(engineAnswer.path).toBe(`/task/${taskA}/complete`)
    expect(r.statusCode).toBe(engineAnswer.status)
    expect(r.statusCode).toBeGreaterThanOrEqual(400)
    const text = await r.body.text()
    expect(JSON.parse(text)).toMatchObject({
      type: expect.any(String),
      message: expect.any(String),
    })
    expect(text).not.toContain('C7Auth')
    // and a failing engine (500) the same way
    sim.setFault({ kind: 'status', status: 500 })
    const failed = await request(`${gw.url}/task`)
    expect(failed.statusCode).toBe(500)
    expect(await failed.body.json()).toEqual({
      type: 'ServiceUnavailable',
      message: 'Simulated engine fault',
    })
    sim.setFault(null)
  })
})

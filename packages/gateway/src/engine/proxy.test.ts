import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable, Writable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { Pool, request as undiciRequest } from 'undici'
import type { Dispatcher } from 'undici'
import type { Principal } from '@c7auth/core'
import { linearProcessXml, startEngineSimulator } from '@c7auth/testkit'
import type { EngineSimulator } from '@c7auth/testkit'
import { testPrincipal, useClosers } from '../__tests__/fixtures.js'
import { createAuditLog } from './audit.js'
import { createEngineEndpoint } from './engine-client.js'
import type { EngineEndpoint } from './engine-client.js'
import { createIdentityBridge } from './identity-bridge.js'
import { createEngineProxy } from './proxy.js'
import type { EngineProxyOptions } from './proxy.js'
import { createUpstreamCredentials } from './upstream-credentials.js'
import type { UpstreamCredentials } from './upstream-credentials.js'
import type { GatewayHooks } from './types.js'
import { openApiDocumentPath } from '../policy/__tests__/support.js'
import { createPolicy } from '../policy/index.js'
import { ROUTES } from '../policy/routes.js'

/**
 * The proxy's transport mechanics (body limits, long polls, streaming, relays, aborts, request ids)
 * with the real route-table policy in front of the engine-rest simulator: its request log and
 * counters show what reached the engine, its fault API stalls an answer. Forwarding, denials,
 * audit contents and engine failures (down, slow, 5xx, 401) are in
 * test/e2e/gateway-proxy-engine.test.ts, on the simulator and the real engines.
 */
const closers = useClosers()
const principal = testPrincipal()
const SERVICE = { id: 'svc', password: 'Svc-Passw0rd!' }
const ADMIN = { id: 'admin', password: 'admin' }
const basic = (u: { id: string; password: string }) =>
  'Basic ' + Buffer.from(`${u.id}:${u.password}`).toString('base64')

/** The real policy; tenant A lets this app deploy under the `trusted` profile (no resource scan). */
const policy = () =>
  createPolicy({
    tenantSettings: { tenantA: { deployers: ['client:app-a'], deployProfile: 'trusted' } },
  })

const serviceCredentials = (): UpstreamCredentials =>
  createUpstreamCredentials({
    mode: 'service',
    serviceUser: SERVICE.id,
    servicePassword: SERVICE.password,
    userHeader: 'Context-User-ID',
  })

/** A simulator with the service account (an engine admin) and process `order` in tenant A. */
async function engine(): Promise<EngineSimulator> {
  const sim = await startEngineSimulator({ adminUser: ADMIN })
  closers.push(() => sim.close())
  sim.seed.user({ ...SERVICE })
  sim.seed.membership({ userId: SERVICE.id, groupId: 'camunda-admin' })
  sim.seed.tenant({ id: 'tenantA' })
  sim.deploy(ORDER_XML, { tenantId: 'tenantA' })
  return sim
}

const ORDER_XML = linearProcessXml({ key: 'order', steps: [{ type: 'userTask', id: 'approve' }] })
const CHARGE_XML = linearProcessXml({
  key: 'charge',
  steps: [{ type: 'externalTask', id: 'charge', topic: 'charge' }],
})

/** Polls a counter or state of a real component until `condition` holds (no fixed wait). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** The engine's own answer to a request, as the service account, straight from the simulator. */
async function direct(sim: EngineSimulator, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers)
  headers.set('authorization', basic(SERVICE))
  headers.set('x-c7auth-test', 'direct')
  return fetch(`${sim.url}${path}`, { ...init, headers })
}

/** Requests that reached the simulator from the gateway (not the test's own direct calls). */
const viaGateway = (sim: EngineSimulator) =>
  sim.requests.filter((r) => r.headers['x-c7auth-test'] !== 'direct')

interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
}

async function gatewayFor(
  sim: EngineSimulator,
  overrides: Partial<EngineProxyOptions> & { caller?: Principal } = {},
) {
  const { caller, ...proxyOptions } = overrides
  const endpoint = createEngineEndpoint(sim.url)
  closers.push(() => endpoint.dispatcher.close())
  const lines: Record<string, unknown>[] = []
  let audited!: (line: Record<string, unknown>) => void
  /** The first audit line, resolved when the audit log writes it. */
  const audit = new Promise<Record<string, unknown>>((r) => (audited = r))
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        const line = JSON.parse(String(chunk)) as Record<string, unknown>
        lines.push(line)
        if (line.audit === true) audited(line)
        cb()
      },
    }),
  )
  const proxy = createEngineProxy({
    endpoint,
    credentials: serviceCredentials(),
    policy: policy(),
    timeoutMs: 2_000,
    maxLongPollMs: 1_000,
    maxJsonBytes: 64 * 1024,
    maxStreamBytes: 32 * 1024 * 1024,
    audit: createAuditLog(logger),
    logger,
    ...proxyOptions,
  })
  const exchanges: Exchange[] = []
  const server = createServer((req, res) => {
    exchanges.push({ req, res })
    void proxy.handle(req, res, caller ?? principal, { mountPath: '/engine-rest' })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/engine-rest`
  return { url, lines, audit, exchanges }
}

/** A multipart body of these parts (`[name, value]` fields and `[name, fileName, data]` files). */
function multipart(boundary: string, parts: ([string, string] | [string, string, string])[]) {
  return (
    parts
      .map((p) =>
        p.length === 2
          ? `--${boundary}\r\nContent-Disposition: form-data; name="${p[0]}"\r\n\r\n${p[1]}\r\n`
          : `--${boundary}\r\nContent-Disposition: form-data; name="${p[0]}"; filename="${p[1]}"\r\n\r\n${p[2]}\r\n`,
      )
      .join('') + `--${boundary}--\r\n`
  )
}

/** Deployments the engine holds (asked directly, so not part of the gateway's traffic). */
async function deploymentCount(sim: EngineSimulator): Promise<number> {
  const r = await direct(sim, '/deployment/count')
  return ((await r.json()) as { count: number }).count
}

const FETCH = '/external-task/fetchAndLock'
const TOPICS = [{ topicName: 'charge', lockDuration: 10_000 }]
const SUSPEND = '/process-definition/key/order/tenant-id/tenantA/suspended'

describe('engine proxy: body limits', () => {
  it('answers 413 for JSON and streamed bodies over the limits', async () => {
    const sim = await engine()
    const gwJson = await gatewayFor(sim, { maxJsonBytes: 100 })
    const a = await undiciRequest(`${gwJson.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(200) }),
    })
    expect(a.statusCode).toBe(413)
    expect(await a.body.json()).toMatchObject({ code: 'C7AUTH_BODY_TOO_LARGE' })
    // a tenant-path suspension is forwarded as it is: its body streams under maxStreamBytes
    const gwStream = await gatewayFor(sim, { maxStreamBytes: 1000 })
    const b = await undiciRequest(`${gwStream.url}${SUSPEND}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ suspended: true, pad: 'x'.repeat(5000) }),
    })
    expect(b.statusCode).toBe(413)
    expect(await b.body.json()).toMatchObject({ code: 'C7AUTH_BODY_TOO_LARGE' })
    // no declared length: the limit is enforced while streaming
    const c = await undiciRequest(`${gwStream.url}${SUSPEND}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: Readable.from(
        (async function* () {
          yield Buffer.from('{"suspended":true,"pad":"')
          for (let i = 0; i < 10; i++) yield Buffer.alloc(500, 0x78)
          yield Buffer.from('"}')
        })(),
      ),
    })
    expect(c.statusCode).toBe(413)
    expect(await c.body.json()).toMatchObject({ code: 'C7AUTH_BODY_TOO_LARGE' })
    expect(sim.stats.bodyBytesReceived).toBeLessThanOrEqual(1000)
    expect(viaGateway(sim).filter((r) => r.status < 300)).toEqual([])
    const definition = await direct(sim, '/process-definition/key/order/tenant-id/tenantA')
    expect(await definition.json()).toMatchObject({ key: 'order', suspended: false })
  })
})

describe('engine proxy: long polling', () => {
  it('caps asyncResponseTimeout and waits longer than its own timeout for the engine’s poll', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim, {
      maxLongPollMs: 30_000, // far above every wait below: only a new task ends the poll early
      timeoutMs: 1_000, // shorter than the poll: the proxy must add the poll time
    })
    let settled = false
    const pending = undiciRequest(`${gw.url}${FETCH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        workerId: 'w',
        maxTasks: 1,
        asyncResponseTimeout: 1_800_000,
        topics: TOPICS,
      }),
    })
    pending.then(
      () => (settled = true),
      () => (settled = true),
    )
    await until(() => sim.pendingLongPolls === 1, 'the poll open at the engine')
    // Past the proxy's own timeout without a clock: a call sent after the poll, which the engine
    // does not answer, runs into that timeout. Its timer started later than the poll's would have
    // (undici fires such timers in order), so once its 504 is here a poll held to the plain
    // timeout would have been cut already. The delay is far above the timeout: only the proxy's
    // timer can end that call.
    sim.setFault({ kind: 'delay', ms: 30_000, path: '/task' })
    const late = await undiciRequest(`${gw.url}/task`)
    sim.setFault(null)
    expect(await late.body.json()).toMatchObject({ code: 'C7AUTH_UPSTREAM_TIMEOUT' })
    expect(late.statusCode).toBe(504)
    expect(settled).toBe(false)
    expect(sim.pendingLongPolls).toBe(1)
    // a task for the poll's topic: the engine ends the poll itself, with that task
    sim.deploy(CHARGE_XML, { tenantId: 'tenantA' })
    const pi = sim.startProcess('charge', { tenantId: 'tenantA' })
    const r = await pending
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    expect(await r.body.json()).toMatchObject([{ topicName: 'charge', processInstanceId: pi.id }])
    expect(sim.pendingLongPolls).toBe(0)
    const seen = viaGateway(sim).filter((q) => q.operationId === 'fetchAndLock')
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ status: 200 })
    expect((seen[0]!.body as { asyncResponseTimeout: number }).asyncResponseTimeout).toBe(30_000)
  })

  it('aborts the upstream request when the client disconnects', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim, { maxLongPollMs: 30_000 })
    const ac = new AbortController()
    const pending = undiciRequest(`${gw.url}${FETCH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        workerId: 'w',
        maxTasks: 1,
        asyncResponseTimeout: 20_000,
        topics: TOPICS,
      }),
      signal: ac.signal,
    })
    await until(() => sim.pendingLongPolls === 1, 'the poll open at the engine')
    ac.abort()
    await expect(pending).rejects.toThrow()
    // the engine saw its connection go away (an abandoned poll), long before 20 s
    await until(() => sim.abandonedLongPolls === 1, 'the engine to see the poll abandoned')
    expect(sim.pendingLongPolls).toBe(0)
    expect(await gw.audit).toMatchObject({ outcome: 'aborted', operationId: 'fetchAndLock' })
  })
})

describe('engine proxy: one report per request', () => {
  it('a GET whose client leaves mid-answer aborts the relay and reports once, as aborted', async () => {
    const sim = await engine()
    sim.setFault({ kind: 'stall', body: '[' }) // and never more: the client leaves meanwhile
    const events: { outcome: string; status: number }[] = []
    let reported!: () => void
    const report = new Promise<void>((r) => (reported = r))
    const gw = await gatewayFor(sim, {
      hooks: {
        onRequest: (e) => {
          events.push({ outcome: e.outcome, status: e.status })
          reported()
        },
      },
    })
    const ac = new AbortController()
    const r = await undiciRequest(`${gw.url}/task`, { signal: ac.signal })
    expect(r.statusCode).toBe(200)
    ac.abort()
    await until(() => sim.requests.length === 1, 'the engine to see its answer abandoned')
    await report
    // a second report would come from the same close event or the proxy's own end
    await new Promise((r) => setImmediate(r))
    expect(events).toEqual([{ outcome: 'aborted', status: 200 }])
  })

  it('service credentials answer synchronously and stay unchanged by the requests they serve', async () => {
    const sim = await engine()
    const service = serviceCredentials()
    const answered = service.headersFor(principal)
    expect(answered).not.toBeInstanceOf(Promise)
    const first = answered as Record<string, string>
    const gw = await gatewayFor(sim, { credentials: service })
    for (const id of ['req-one', 'req-two']) {
      const r = await undiciRequest(`${gw.url}/task`, { headers: { 'x-request-id': id } })
      expect(r.statusCode).toBe(200)
      await r.body.dump()
    }
    const seen = viaGateway(sim)
    expect(seen.map((s) => s.headers['x-request-id'])).toEqual(['req-one', 'req-two'])
    expect(seen.map((s) => s.user)).toEqual([SERVICE.id, SERVICE.id])
    expect(seen.every((s) => s.headers.authorization === first.authorization)).toBe(true)
    expect(service.headersFor(principal)).toEqual({ authorization: first.authorization })
  })
})

describe('engine proxy: multipart deployments', () => {
  it('streams a 20 MB deployment without buffering it and stamps exactly one tenant-id part', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim, { maxStreamBytes: 64 * 1024 * 1024 })
    const boundary = 'XyZ123boundary'
    const file = Buffer.alloc(20 * 1024 * 1024)
    for (let i = 0; i < file.length; i += 4096) file.writeUInt32BE(i, i)
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\nd1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="TENANT-ID"\r\n\r\ntenantA\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="p.bin"; filename="p.bin"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`,
    )
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    let stillUploading = false
    const heapBefore = process.memoryUsage().heapUsed
    async function* body() {
      yield head
      yield file.subarray(0, 1024 * 1024)
      // the engine already receives the upload while the client still holds 19 MB of it
      await until(() => sim.stats.bodyBytesReceived > 0, 'the engine to receive the first bytes')
      stillUploading = true
      for (let off = 1024 * 1024; off < file.length; off += 1024 * 1024) {
        yield file.subarray(off, off + 1024 * 1024)
      }
      yield tail
    }
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Readable.from(body()),
    })
    expect(r.statusCode).toBe(200)
    const { id } = (await r.body.json()) as { id: string }
    expect(stillUploading).toBe(true)
    const [seen] = viaGateway(sim)
    expect(viaGateway(sim)).toHaveLength(1)
    expect(seen!.headers['content-length']).toBeUndefined()
    expect(seen!.body).toEqual({
      fields: { 'deployment-name': ['d1'], 'tenant-id': ['tenantA'] },
      files: [{ fieldName: 'p.bin', fileName: 'p.bin', size: file.length }],
    })
    const resources = (await (await direct(sim, `/deployment/${id}/resources`)).json()) as {
      id: string
    }[]
    expect(resources).toHaveLength(1)
    const stored = await direct(sim, `/deployment/${id}/resources/${resources[0]!.id}/data`)
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    expect(sha(Buffer.from(await stored.arrayBuffer()))).toBe(sha(file))
    // the proxy itself holds far less than the upload (generous bound; the file alone is 20 MB)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(60 * 1024 * 1024)
  })

  it('refuses the upload (engine sees no complete body) when the tenant resolution throws', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const b = 'bnd'
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      // the policy's tenant resolution throws for a tenant the caller is not in
      body: multipart(b, [
        ['tenant-id', 'other'],
        ['p.bpmn', 'p.bpmn', ORDER_XML],
      ]),
    })
    expect(r.statusCode).toBe(403)
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    expect(viaGateway(sim).filter((s) => s.status < 300)).toEqual([])
    expect(await deploymentCount(sim)).toBe(1) // only the seeded one
  })
})

describe('engine proxy: security review fixes', () => {
  it('refuses the duplicate-boundary attack with 400 before the engine sees anything', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const inner =
      `--BBB\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n` +
      `--BBB\r\nContent-Disposition: form-data; name="x.bpmn"; filename="x.bpmn"\r\n\r\n<definitions/>\r\n` +
      `--BBB--\r\n`
    const types = [
      'multipart/form-data; boundary=AAA; boundary=BBB',
      'multipart/form-data; boundary=AAA, boundary=BBB',
    ]
    for (const ct of types) {
      const r = await undiciRequest(`${gw.url}/deployment/create`, {
        method: 'POST',
        headers: { 'content-type': ct },
        body: `--AAA\r\nContent-Disposition: form-data; name="data"\r\n\r\n${inner}\r\n--AAA--\r\n`,
      })
      expect(r.statusCode).toBe(400)
      expect(r.headers['content-type']).toBe('application/json')
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(types).toHaveLength(2)
    expect(sim.requests).toHaveLength(0)
  })

  it('forwards a Content-Type it builds itself, never the client’s string', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const b = 'a b'
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `Multipart/Form-Data; charset=utf-8; boundary="${b}"` },
      body: multipart(b, [['p.bpmn', 'p.bpmn', ORDER_XML]]),
    })
    expect(r.statusCode).toBe(200)
    await r.body.dump()
    const [seen] = viaGateway(sim)
    expect(seen!.headers['content-type']).toBe('multipart/form-data; boundary="a b"')
    expect(seen!.body).toMatchObject({
      fields: { 'tenant-id': ['tenantA'] },
      files: [{ fieldName: 'p.bpmn', fileName: 'p.bpmn' }],
    })
    sim.assertNoValidationErrors()
  })

  it('refuses a deployment resource calling into another tenant (403) before the closing boundary', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const b = 'bnd'
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      body: multipart(b, [
        ['p.bpmn', 'p.bpmn', '<callActivity camunda:calledElementTenantId="tenantB"/>'],
      ]),
    })
    expect(r.statusCode).toBe(403)
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    expect(viaGateway(sim).filter((s) => s.status < 300)).toEqual([])
    expect(await deploymentCount(sim)).toBe(1) // only the seeded one
  })

  it('renders a body refused before anyone reads it (credentials resolved late) and stays up', async () => {
    const sim = await engine()
    const service = serviceCredentials()
    // like bridge provisioning on an app's first request: the credentials resolve when the test
    // says so, after the body has failed
    const asked: (() => void)[] = []
    let release: (() => void) | undefined
    let credentialCalls = 0
    const late: UpstreamCredentials = {
      ...service,
      headersFor(p: Principal) {
        credentialCalls++
        const answer = service.headersFor(p) as Record<string, string>
        return new Promise<Record<string, string>>((resolve) => {
          release = () => resolve(answer)
          asked.shift()?.()
        })
      },
    }
    const gw = await gatewayFor(sim, { credentials: late, maxStreamBytes: 4096 })
    const b = 'XB'
    const post = (body: string | Readable) =>
      undiciRequest(`${gw.url}/deployment/create`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${b}` },
        body,
      })
    /** The gateway read all of the request's body, or stopped reading it (refused mid-way). */
    const bodyDone = (req: IncomingMessage) =>
      new Promise<void>((resolve) => {
        if (req.readableEnded || req.readableFlowing === false) resolve()
        req.once('end', resolve)
        req.once('pause', resolve)
      })
    const cases: [string | Readable, number, string][] = [
      [`--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc`, 400, 'C7AUTH_BODY_INVALID'],
      [
        multipart(b, [
          ['p.bpmn', 'p.bpmn', '<callActivity camunda:calledElementTenantId="tenantB"/>'],
        ]),
        403,
        'C7AUTH_TENANT_FORBIDDEN',
      ],
      // chunked (no content-length): only the streaming limit can refuse it
      [Readable.from([Buffer.alloc(8192, 0x61)]), 413, 'C7AUTH_BODY_TOO_LARGE'],
    ]
    for (const [i, [body, status, code]] of cases.entries()) {
      const credentialsAsked = new Promise<void>((r) => asked.push(r))
      const pending = post(body)
      await credentialsAsked
      await bodyDone(gw.exchanges[i]!.req)
      // every stream step the body's end or failure started has run (none waits on I/O)
      await new Promise((r) => setImmediate(r))
      release!()
      const r = await pending
      expect(r.statusCode, code).toBe(status)
      expect(r.headers['content-type']).toBe('application/json')
      expect(await r.body.json()).toMatchObject({ code })
    }
    expect(credentialCalls).toBe(3) // one per refused body: the loop ran for every case
    expect(sim.requests).toHaveLength(0)
    const credentialsAsked = new Promise<void>((r) => asked.push(r))
    const ok = post(multipart(b, [['p.bpmn', 'p.bpmn', ORDER_XML]]))
    await credentialsAsked
    release!()
    expect((await ok).statusCode).toBe(200)
    await (await ok).body.dump()
    expect(viaGateway(sim)).toHaveLength(1)
  })

  it('refuses a non-number asyncResponseTimeout (Jackson would coerce "60000") with 400', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim, { maxLongPollMs: 600 })
    const values = ['1800000', null, true, { n: 1 }, [1]]
    for (const asyncResponseTimeout of values) {
      const r = await undiciRequest(`${gw.url}${FETCH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workerId: 'w', maxTasks: 1, asyncResponseTimeout, topics: TOPICS }),
      })
      expect(r.statusCode, JSON.stringify(asyncResponseTimeout)).toBe(400)
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(values).toHaveLength(5)
    expect(sim.requests).toHaveLength(0)
    const absent = await undiciRequest(`${gw.url}${FETCH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: 'w', maxTasks: 1, topics: TOPICS }),
    })
    expect(absent.statusCode).toBe(200)
    expect(await absent.body.json()).toEqual([])
    expect(sim.requests).toHaveLength(1)
    expect(sim.requests[0]!.body).not.toHaveProperty('asyncResponseTimeout')
  })

  it('streams large POST query answers untouched; only DTOs with links are buffered', async () => {
    const sim = await engine()
    for (let i = 0; i < 150; i++) {
      sim.startProcess('order', { tenantId: 'tenantA', businessKey: `order-${i}` })
    }
    const maxJsonBytes = 16 * 1024
    const query = await gatewayFor(sim, { maxJsonBytes })
    const r = await undiciRequest(`${query.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    const relayed = await r.body.text()
    expect(relayed.length).toBeGreaterThan(4 * maxJsonBytes)
    expect(JSON.parse(relayed)).toHaveLength(150)
    // byte for byte what the engine answers to the query the gateway sent (tenant filter added)
    const [sent] = viaGateway(sim)
    expect(sent!.body).toMatchObject({ tenantIdIn: ['tenantA'] })
    const own = await direct(sim, '/task', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sent!.body),
    })
    expect(relayed).toBe(await own.text())
    // a deployment answer has its links rewritten, so it is read (and capped): here it is too large
    const b = 'many'
    const resources = Array.from(
      { length: 80 },
      (_, i) =>
        [
          `p${i}.bpmn`,
          `p${i}.bpmn`,
          linearProcessXml({ key: `p${i}`, steps: [{ type: 'userTask', id: 'approve' }] }),
        ] as [string, string, string],
    )
    const s = await undiciRequest(`${query.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      body: multipart(b, resources),
    })
    expect(s.statusCode).toBe(502)
    await s.body.dump()
    // the engine did answer, with more than the proxy reads
    expect(viaGateway(sim).at(-1)).toMatchObject({ operationId: 'createDeployment', status: 200 })
    sim.assertNoValidationErrors()
  })

  it('buffers exactly the POST operations whose 2xx DTO has `links` in the OpenAPI document', () => {
    const file = openApiDocumentPath('7.24.0')
    interface Schema {
      $ref?: string
      properties?: Record<string, unknown>
      allOf?: Schema[]
      oneOf?: Schema[]
      anyOf?: Schema[]
    }
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string
            responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>
          }
        >
      >
      components: { schemas: Record<string, Schema> }
    }
    const hasLinks = (schema: Schema, seen: Set<string>): boolean => {
      if (schema.$ref) {
        const name = schema.$ref.split('/').at(-1)!
        if (seen.has(name)) return false
        return hasLinks(doc.components.schemas[name]!, new Set([...seen, name]))
      }
      if (schema.properties && 'links' in schema.properties) return true
      return [...(schema.allOf ?? []), ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].some((s) =>
        hasLinks(s, seen),
      )
    }
    const derived = new Set<string>()
    for (const item of Object.values(doc.paths)) {
      const op = item.post
      if (!op) continue
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!status.startsWith('2')) continue
        for (const media of Object.values(response.content ?? {})) {
          if (media.schema && hasLinks(media.schema, new Set())) derived.add(op.operationId)
        }
      }
    }
    expect(derived.size).toBeGreaterThan(5)
    const linked = ROUTES.filter((r) => r.links === true)
    expect(linked.every((r) => r.method === 'POST')).toBe(true)
    expect(linked.map((r) => r.operationId).sort()).toEqual([...derived].sort())
  })
})

describe('engine proxy: input hardening (issue 15 item 6)', () => {
  it('refuses an encoded JSON body and never forwards Content-Encoding on a rebuilt body', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const encoded = [
      ['gzip', gzipSync('{"name":"Review"}')],
      ['gzip', Buffer.from('{"name":"Review"}')], // plain JSON labelled gzip: refused too, not relabelled
      ['deflate, identity', Buffer.from('{"name":"Review"}')],
    ] as const
    for (const [encoding, body] of encoded) {
      const r = await undiciRequest(`${gw.url}/task`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      })
      expect(r.statusCode, encoding).toBe(400)
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(encoded).toHaveLength(3)
    expect(sim.requests).toHaveLength(0)
    const ok = await undiciRequest(`${gw.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
      body: '{"name":"Review"}',
    })
    expect(ok.statusCode).toBe(200)
    await ok.body.dump()
    expect(sim.requests).toHaveLength(1)
    expect(sim.requests[0]!.headers['content-encoding']).toBeUndefined()
    expect(sim.requests[0]!.body).toEqual({ name: 'Review', tenantIdIn: ['tenantA'] })
    sim.assertNoValidationErrors()
  })

  it('refuses an encoded multipart body (the tenant stamper cannot read it)', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=AAA', 'content-encoding': 'gzip' },
      body: multipart('AAA', [['x.bpmn', 'x.bpmn', ORDER_XML]]),
    })
    expect(r.statusCode).toBe(400)
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    expect(sim.requests).toHaveLength(0)
  })

  it('answers 400 (not 500) to JSON nested 100,000 levels deep and keeps serving', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim, { maxJsonBytes: 1024 * 1024 })
    const bodies = [
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(65) + '1' + '}'.repeat(65),
    ]
    for (const body of bodies) {
      const r = await undiciRequest(`${gw.url}/task`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      expect(r.statusCode).toBe(400)
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(bodies).toHaveLength(2)
    expect(sim.requests).toHaveLength(0)
    // 64 levels, and brackets inside strings (escaped quotes too), are fine.
    const deepest = '{"a":'.repeat(63) + '["[[[\\"{{{"]' + '}'.repeat(63)
    const ok = await undiciRequest(`${gw.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deepest,
    })
    await ok.body.dump()
    expect(sim.requests).toHaveLength(1)
    expect(sim.requests[0]!.body).toEqual({ ...JSON.parse(deepest), tenantIdIn: ['tenantA'] })
    expect(ok.statusCode).toBe(sim.requests[0]!.status) // the engine's own answer, passed back
  })
})

describe('engine proxy: relay (answers written straight from the upstream handler)', () => {
  it('relays a 16 MB answer intact to a slow reader (backpressure), with its headers', async () => {
    const sim = await engine()
    const payload = Buffer.alloc(16 * 1024 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff
    const form = new FormData()
    form.set('tenant-id', 'tenantA')
    form.set('data.bin', new Blob([payload]), 'data.bin')
    const deployed = await direct(sim, '/deployment/create', { method: 'POST', body: form })
    expect(deployed.status).toBe(200)
    const { id } = (await deployed.json()) as { id: string }
    const resources = (await (await direct(sim, `/deployment/${id}/resources`)).json()) as {
      id: string
    }[]
    const gw = await gatewayFor(sim)
    const r = await undiciRequest(`${gw.url}/deployment/${id}/resources/${resources[0]!.id}/data`, {
      headers: { 'x-request-id': 'relay-1' },
    })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/octet-stream')
    expect(r.headers['content-length']).toBe(String(payload.length))
    expect(r.headers['x-request-id']).toBe('relay-1')
    const hash = createHash('sha256')
    let chunks = 0
    for await (const chunk of r.body) {
      hash.update(chunk as Buffer)
      if (chunks++ === 0) {
        // a reader that stops: the proxy's answer backs up until it must wait for the client
        const answer = gw.exchanges.at(-1)!.res
        await until(() => answer.writableNeedDrain, 'the relay to meet backpressure')
      }
    }
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'))
  })

  it('keeps one upstream keep-alive connection across sequential GETs', async () => {
    const sim = await engine()
    const gw = await gatewayFor(sim)
    const before = sim.stats.connections
    const gets = 5
    for (let i = 0; i < gets; i++) {
      const r = await undiciRequest(`${gw.url}/task`)
      expect(r.statusCode).toBe(200)
      expect(await r.body.json()).toEqual([])
    }
    expect(viaGateway(sim)).toHaveLength(gets)
    expect(sim.stats.connections - before).toBe(1)
  })

  it('aborts the upstream answer when the client goes away mid-body', async () => {
    const sim = await engine()
    // half an answer, then silence: only the client's departure can end this exchange
    sim.setFault({
      kind: 'stall',
      contentType: 'application/octet-stream',
      body: Buffer.alloc(64 * 1024, 1),
    })
    const gw = await gatewayFor(sim, { timeoutMs: 30_000 })
    const r = await undiciRequest(`${gw.url}/task`)
    expect(r.statusCode).toBe(200)
    let read = 0
    for await (const chunk of r.body) {
      read += (chunk as Buffer).length
      break // leaving the loop destroys the body and its socket
    }
    expect(read).toBeGreaterThan(0)
    // long before the 30 s body timeout, the engine sees its answer abandoned
    await until(() => sim.requests.length === 1, 'the engine to see its answer abandoned')
  })
})

/** The engine's pool, counting what the proxy dispatches to it (by path). */
class CountingPool extends Pool {
  readonly paths: string[] = []
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.paths.push(options.path)
    return super.dispatch(options, handler)
  }
}

describe('engine proxy: relay on an engine 401 (UpstreamRelay)', () => {
  /**
   * Bridge credentials on a real identity bridge (the caller's own engine user; a 401 repairs it
   * once), with `onRecover` run after each recovery the bridge allowed.
   */
  function bridgeCredentials(
    sim: EngineSimulator,
    onRecover: (attempt: number) => Promise<void> | void = () => undefined,
  ) {
    const endpoint = createEngineEndpoint(sim.url)
    closers.push(() => endpoint.dispatcher.close())
    const bridge = createIdentityBridge({
      endpoint,
      adminUser: ADMIN.id,
      adminPassword: ADMIN.password,
      secret: 's'.repeat(32),
      adminGroup: 'camunda-admin',
      defaultGroups: { app: [], user: [] },
      groupAllowlist: [],
      // no repair interval: a second repair would be allowed, so only the attempt count stops it
      repairIntervalMs: 0,
    })
    closers.push(() => bridge.close())
    const bridged = createUpstreamCredentials({
      mode: 'bridge',
      bridge,
      userHeader: 'Context-User-ID',
    })
    const recovered: number[] = []
    const credentials: UpstreamCredentials = {
      ...bridged,
      async recover(p, attempt, replayable) {
        await bridged.recover(p, attempt, replayable)
        recovered.push(attempt)
        await onRecover(attempt)
      },
    }
    return { credentials, recovered }
  }

  /** A gateway whose engine pool counts dispatches, with the hooks' events recorded. */
  async function watched(sim: EngineSimulator, credentials: UpstreamCredentials) {
    const pool = new CountingPool(new URL(sim.url).origin, { connections: 4 })
    closers.push(() => pool.close())
    const base = createEngineEndpoint(sim.url)
    closers.push(() => base.dispatcher.close())
    const endpoint: EngineEndpoint = { ...base, dispatcher: pool }
    const upstream: { status: number | undefined; error?: string }[] = []
    const requests: { status: number; outcome: string; code?: string | undefined }[] = []
    let finished!: () => void
    const done = new Promise<void>((r) => (finished = r))
    const hooks: GatewayHooks = {
      onUpstream: (e) => upstream.push(e.error === undefined ? { status: e.status } : e),
      onRequest: (e) => {
        requests.push({ status: e.status, outcome: e.outcome, code: e.code })
        finished()
      },
    }
    const gw = await gatewayFor(sim, { endpoint, credentials, hooks })
    const tasks = () => pool.paths.filter((p) => p.startsWith('/engine-rest/task'))
    return { gw, upstream, requests, done, tasks }
  }

  it('recovers once and relays the retry’s answer, observing each attempt once', async () => {
    const sim = await engine()
    // the engine refuses the caller's first call; the repair lets the retry through
    sim.setFault({ kind: 'status', status: 401, path: '/task' })
    const { credentials, recovered } = bridgeCredentials(sim, () => sim.setFault(null))
    const w = await watched(sim, credentials)
    const r = await undiciRequest(`${w.gw.url}/task`)
    expect(r.statusCode).toBe(200)
    expect(await r.body.json()).toEqual([])
    await w.done
    expect(recovered).toEqual([1])
    expect(w.tasks()).toHaveLength(2)
    expect(w.upstream).toEqual([{ status: 401 }, { status: 200 }])
    expect(w.requests).toEqual([{ status: 200, outcome: 'success', code: undefined }])
  })

  it('answers C7AUTH_BRIDGE_FAILED when the retry after a repair is refused again', async () => {
    const sim = await engine()
    sim.setFault({ kind: 'status', status: 401, path: '/task' })
    const { credentials, recovered } = bridgeCredentials(sim)
    const w = await watched(sim, credentials)
    const r = await undiciRequest(`${w.gw.url}/task`)
    expect(r.statusCode).toBe(502)
    expect(r.headers['www-authenticate']).toBeUndefined()
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BRIDGE_FAILED' })
    await w.done
    // the second 401 was not repaired again: one recovery, two attempts, each observed once
    expect(recovered).toEqual([1])
    expect(w.tasks()).toHaveLength(2)
    expect(w.upstream).toEqual([{ status: 401 }, { status: 401 }])
    expect(w.requests).toMatchObject([{ status: 502, code: 'C7AUTH_BRIDGE_FAILED' }])
  })

  it('sends no second attempt when the client left while the credentials recovered', async () => {
    const sim = await engine()
    sim.setFault({ kind: 'status', status: 401, path: '/task' })
    let recovering!: () => void
    const inRecovery = new Promise<void>((r) => (recovering = r))
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const { credentials } = bridgeCredentials(sim, async () => {
      recovering()
      await gate
    })
    const w = await watched(sim, credentials)
    const client = new AbortController()
    const pending = undiciRequest(`${w.gw.url}/task`, { signal: client.signal })
    await inRecovery
    // the client leaves while the repair is out; the proxy sees its response close
    const answer = w.gw.exchanges.at(-1)!.res
    const closed = new Promise<void>((r) => answer.once('close', () => r()))
    client.abort()
    await expect(pending).rejects.toThrow()
    await closed
    release()
    await w.done
    expect(w.tasks()).toHaveLength(1)
    expect(w.upstream).toEqual([{ status: 401 }])
    expect(w.requests).toMatchObject([{ outcome: 'aborted' }])
  })
})

describe('engine proxy: request ids upstream', () => {
  it('an owner lookup’s request id never leaks into a later request (service mode shares its headers)', async () => {
    const sim = await engine()
    const { id: instance } = sim.startProcess('order', { tenantId: 'tenantA' })
    const task = sim.inspect.tasks().find((t) => t.processInstanceId === instance)!.id
    const gw = await gatewayFor(sim) // service mode
    const first = await undiciRequest(`${gw.url}/task/${task}/variables`, {
      headers: { 'x-request-id': 'first' },
    })
    expect(first.statusCode).toBe(200)
    await first.body.dump()
    const second = await undiciRequest(`${gw.url}/task`, { headers: { 'x-request-id': 'second' } })
    expect(second.statusCode).toBe(200)
    await second.body.dump()
    const seen = viaGateway(sim)
    expect(seen.map((s) => [s.path, s.headers['x-request-id']])).toEqual([
      [`/task/${task}`, 'first'],
      [`/task/${task}/variables`, 'first'],
      ['/task', 'second'],
    ])
    expect(seen.every((s) => s.user === SERVICE.id)).toBe(true)
  })
})

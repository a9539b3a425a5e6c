import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable, Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { pino } from 'pino'
import { request as undiciRequest } from 'undici'
import { C7AuthError } from '@c7auth/core'
import type { EngineAuthMode, Principal } from '@c7auth/core'
import { createAuditLog } from './audit.js'
import { createEngineEndpoint } from './engine-client.js'
import type { EngineEndpoint } from './engine-client.js'
import { createEngineProxy } from './proxy.js'
import { openApiDocumentPath } from '../policy/__tests__/support.js'
import { ROUTES } from '../policy/routes.js'
import type {
  BodyPlan,
  ForwardDecision,
  Policy,
  PolicyRequest,
  RouteMethod,
  RouteRule,
} from '../policy/index.js'
import type { EngineProxyOptions } from './proxy.js'
import { createUpstreamCredentials } from './upstream-credentials.js'

const principal: Principal = {
  kind: 'app',
  userId: 'appA',
  groupIds: [],
  tenantIds: ['tenantA'],
  clientId: 'app-a',
  issuer: 'http://127.0.0.1/idp',
  subject: 'app-a',
  scopes: [],
  expiresAt: Math.floor(Date.now() / 1000) + 300,
  admin: false,
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

/** A tiny engine-rest stand-in: records requests, answers with `handler`. */
async function upstream(
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
  options: { readBody?: boolean } = {},
) {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    if (options.readBody === false) {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0) })
      handler(req, res, Buffer.alloc(0))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      handler(req, res, body)
    })
  })
  const url = await listen(server)
  closers.push(() => close(server))
  return { url: `${url}/engine-rest`, seen, server }
}

type TestPolicy = Pick<Policy, 'settle'>

/** A JSON body plan that forwards the body as it is. */
const JSON_AS_IS: BodyPlan = { kind: 'json', rewrite: (json) => ({ kind: 'forward', json }) }
const STREAM: BodyPlan = { kind: 'stream' }

/** The forward decision a route row with these flags gives for `request` (tenant `tenantA`). */
function forwardOf(
  request: PolicyRequest,
  body: BodyPlan,
  extra: Partial<Pick<RouteRule, 'operationId' | 'longPoll' | 'links'>> = {},
): ForwardDecision {
  const route: RouteRule = {
    method: request.method as RouteMethod,
    path: request.path,
    operationId: extra.operationId ?? 'op',
    rule: { kind: 'public' },
    ...(extra.longPoll ? { longPoll: true } : {}),
    ...(extra.links ? { links: true } : {}),
  }
  return {
    action: 'forward',
    operationId: route.operationId,
    route,
    rule: route.rule,
    engine: undefined,
    path: request.path,
    query: request.query,
    body,
    ownerCheck: undefined,
    mutating: request.method !== 'GET',
    tenant: 'tenantA',
  }
}

/** Forward-everything policy: the proxy's mechanics, not the route table, are under test here. */
function passPolicy(body: BodyPlan, extra: Parameters<typeof forwardOf>[2] = {}): TestPolicy {
  return { settle: (request) => forwardOf(request, body, extra) }
}

async function gatewayFor(
  engineUrl: string,
  policy: TestPolicy,
  overrides: Partial<EngineProxyOptions> & { mode?: EngineAuthMode } = {},
) {
  const endpoint: EngineEndpoint = createEngineEndpoint(engineUrl)
  closers.push(() => endpoint.dispatcher.close())
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)))
        cb()
      },
    }),
  )
  const proxy = createEngineProxy({
    endpoint,
    credentials: createUpstreamCredentials({
      mode: overrides.mode ?? 'service',
      serviceUser: 'svc',
      servicePassword: 'svc-pw',
      userHeader: 'Context-User-ID',
    }),
    policy,
    timeoutMs: 2_000,
    maxLongPollMs: 1_000,
    maxJsonBytes: 64 * 1024,
    maxStreamBytes: 32 * 1024 * 1024,
    audit: createAuditLog(logger),
    logger,
    ...overrides,
  })
  const server = createServer((req, res) => {
    void proxy.handle(req, res, principal, { mountPath: '/engine-rest' })
  })
  const url = await listen(server)
  closers.push(() => close(server))
  return { url: `${url}/engine-rest`, lines }
}

// Forwarding, policy denials, audit lines, and engine failures (down, slow, 401, own errors) run
// with the real policy against the engine-rest simulator in test/e2e/gateway-proxy-engine.test.ts.
describe('engine proxy: body limits', () => {
  it('answers 413 for JSON and streamed bodies over the limits', async () => {
    const up = await upstream((_req, res) => res.end())
    const gwJson = await gatewayFor(up.url, passPolicy(JSON_AS_IS), { maxJsonBytes: 100 })
    const a = await undiciRequest(`${gwJson.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(200) }),
    })
    expect(a.statusCode).toBe(413)
    expect(await a.body.json()).toMatchObject({ code: 'C7AUTH_BODY_TOO_LARGE' })
    const gwStream = await gatewayFor(up.url, passPolicy(STREAM), {
      maxStreamBytes: 1000,
    })
    const b = await undiciRequest(`${gwStream.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(5000),
    })
    expect(b.statusCode).toBe(413)
    await b.body.dump()
    // no declared length: the limit is enforced while streaming
    const c = await undiciRequest(`${gwStream.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.from(
        (async function* () {
          for (let i = 0; i < 10; i++) yield Buffer.alloc(500)
        })(),
      ),
    })
    expect(c.statusCode).toBe(413)
    expect(await c.body.json()).toMatchObject({ code: 'C7AUTH_BODY_TOO_LARGE' })
    expect(up.seen.every((s) => s.body.length <= 1000)).toBe(true)
  })
})

describe('engine proxy: long polling', () => {
  it('caps asyncResponseTimeout and waits longer than the cap upstream', async () => {
    const up = await upstream((_req, res, body) => {
      const { asyncResponseTimeout } = JSON.parse(body.toString()) as {
        asyncResponseTimeout: number
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('[]')
      }, asyncResponseTimeout)
    })
    const gw = await gatewayFor(
      up.url,
      passPolicy(JSON_AS_IS, { operationId: 'fetchAndLock', longPoll: true }),
      {
        maxLongPollMs: 600,
        timeoutMs: 300, // shorter than the poll: the proxy must add the poll time
      },
    )
    const r = await undiciRequest(`${gw.url}/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        workerId: 'w',
        maxTasks: 1,
        asyncResponseTimeout: 1_800_000,
        topics: [],
      }),
    })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    // the upstream answered only after the capped 600 ms, past the 300 ms timeout: a 200 with its
    // answer (not the proxy's timeout refusal) shows the proxy added the poll time
    expect(await r.body.json()).toEqual([])
    expect(JSON.parse(up.seen[0]!.body.toString()).asyncResponseTimeout).toBe(600)
  })

  it('aborts the upstream request when the client disconnects', async () => {
    let upstreamClosed!: () => void
    const closed = new Promise<void>((r) => (upstreamClosed = r))
    let received!: () => void
    const got = new Promise<void>((r) => (received = r))
    const up = await upstream((req, res) => {
      received()
      res.on('close', () => upstreamClosed())
      void req
    })
    const gw = await gatewayFor(
      up.url,
      passPolicy(JSON_AS_IS, { operationId: 'fetchAndLock', longPoll: true }),
      {
        maxLongPollMs: 30_000,
      },
    )
    const ac = new AbortController()
    const pending = undiciRequest(`${gw.url}/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        workerId: 'w',
        maxTasks: 1,
        asyncResponseTimeout: 20_000,
        topics: [],
      }),
      signal: ac.signal,
    })
    await got
    ac.abort()
    await expect(pending).rejects.toThrow()
    await closed // the engine saw its connection go away, long before 20 s
    // the audit line follows the upstream's close: wait for it rather than for a fixed 20 ms
    await vi.waitFor(() => expect(gw.lines.some((l) => l.audit === true)).toBe(true), {
      timeout: 10_000,
      interval: 10,
    })
    expect(gw.lines.filter((l) => l.audit === true)).toEqual([
      expect.objectContaining({ outcome: 'aborted' }),
    ])
  })
})

describe('engine proxy: one report per request', () => {
  it('a GET whose client leaves mid-answer aborts the relay and reports once, as aborted', async () => {
    let upstreamClosed!: () => void
    const closed = new Promise<void>((r) => (upstreamClosed = r))
    const up = await upstream((_req, res) => {
      res.on('close', () => upstreamClosed())
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('[') // and never more: the client leaves while the relay is open
    })
    const events: { outcome: string; status: number }[] = []
    let reported!: () => void
    const report = new Promise<void>((r) => (reported = r))
    const gw = await gatewayFor(up.url, passPolicy(JSON_AS_IS, { operationId: 'getTasks' }), {
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
    await closed
    await report
    // a second report would come from the same close event or the proxy's own end
    await new Promise((r) => setImmediate(r))
    expect(events).toEqual([{ outcome: 'aborted', status: 200 }])
  })

  it('service credentials answer synchronously and stay unchanged by the requests they serve', async () => {
    const service = createUpstreamCredentials({
      mode: 'service',
      serviceUser: 'svc',
      servicePassword: 'svc-pw',
      userHeader: 'Context-User-ID',
    })
    const answered = service.headersFor(principal)
    expect(answered).not.toBeInstanceOf(Promise)
    const first = answered as Record<string, string>
    const up = await upstream((_req, res) => res.end('[]'))
    const gw = await gatewayFor(up.url, passPolicy(JSON_AS_IS, { operationId: 'getTasks' }), {
      credentials: service,
    })
    for (const id of ['req-one', 'req-two']) {
      const r = await undiciRequest(`${gw.url}/task`, { headers: { 'x-request-id': id } })
      await r.body.dump()
    }
    expect(up.seen.map((s) => s.headers['x-request-id'])).toEqual(['req-one', 'req-two'])
    expect(up.seen.every((s) => s.headers.authorization === first.authorization)).toBe(true)
    expect(service.headersFor(principal)).toEqual({ authorization: first.authorization })
  })
})

describe('engine proxy: multipart deployments', () => {
  it('streams a 20 MB deployment without buffering it and stamps exactly one tenant-id part', async () => {
    let firstChunkAt = 0
    let firstChunk!: () => void
    const sawFirst = new Promise<void>((r) => (firstChunk = r))
    const received: Buffer[] = []
    const up = await upstream(
      (req, res) => {
        req.on('data', (c: Buffer) => {
          if (received.length === 0) {
            firstChunkAt = Date.now()
            firstChunk()
          }
          received.push(c)
        })
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end('{"id":"dep1"}')
        })
      },
      { readBody: false },
    )
    const gw = await gatewayFor(
      up.url,
      {
        settle: (request) =>
          forwardOf(
            request,
            {
              kind: 'multipart',
              field: 'tenant-id',
              resolveTenant: (values) => {
                expect(values).toEqual(['tenantB', 'tenantA'])
                return 'tenantA'
              },
            },
            { operationId: 'createDeployment' },
          ),
      },
      { maxStreamBytes: 64 * 1024 * 1024 },
    )
    const boundary = 'XyZ123boundary'
    const file = Buffer.alloc(20 * 1024 * 1024)
    for (let i = 0; i < file.length; i += 4096) file.writeUInt32BE(i, i)
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\nd1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="TENANT-ID"\r\n\r\ntenantB\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="p.bpmn"; filename="p.bpmn"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`,
    )
    const tail = Buffer.from(
      `\r\n--${boundary}\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantA\r\n--${boundary}--\r\n`,
    )
    let lastChunkSentAt = 0
    const heapBefore = process.memoryUsage().heapUsed
    async function* body() {
      yield head
      yield file.subarray(0, 1024 * 1024)
      await sawFirst // the engine already has data while the client is still uploading
      for (let off = 1024 * 1024; off < file.length; off += 1024 * 1024) {
        yield file.subarray(off, off + 1024 * 1024)
      }
      lastChunkSentAt = Date.now()
      yield tail
    }
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Readable.from(body()),
    })
    expect(r.statusCode).toBe(200)
    expect(await r.body.json()).toEqual({ id: 'dep1' })
    expect(firstChunkAt).toBeGreaterThan(0)
    expect(firstChunkAt).toBeLessThanOrEqual(lastChunkSentAt)
    expect(received.length).toBeGreaterThan(10) // arrived in many chunks, not one buffered blob
    const out = Buffer.concat(received)
    const text = out.toString('latin1')
    expect(text.match(/name="tenant-id"/gi)).toHaveLength(1)
    expect(text).toContain('name="tenant-id"\r\n\r\ntenantA\r\n')
    expect(text).not.toContain('tenantB')
    expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true)
    const start = out.indexOf('filename="p.bpmn"')
    const fileStart = out.indexOf('\r\n\r\n', start) + 4
    const fileOut = out.subarray(fileStart, fileStart + file.length)
    expect(createHash('sha256').update(fileOut).digest('hex')).toBe(
      createHash('sha256').update(file).digest('hex'),
    )
    expect(up.seen[0]!.headers['content-length']).toBeUndefined()
    // the proxy itself holds far less than the upload (generous bound; the file alone is 20 MB)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(60 * 1024 * 1024)
  })

  it('refuses the upload (engine sees no complete body) when the tenant resolution throws', async () => {
    let ended = false
    const up = await upstream(
      (req, res) => {
        req.on('data', () => undefined)
        req.on('end', () => {
          ended = true
          res.end()
        })
        req.on('error', () => undefined)
      },
      { readBody: false },
    )
    const gw = await gatewayFor(up.url, {
      settle: (request) =>
        forwardOf(
          request,
          {
            kind: 'multipart',
            field: 'tenant-id',
            resolveTenant: () => {
              throw new C7AuthError('C7AUTH_TENANT_FORBIDDEN')
            },
          },
          { operationId: 'createDeployment' },
        ),
    })
    const b = 'bnd'
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      body: `--${b}\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\nother\r\n--${b}--\r\n`,
    })
    expect(r.statusCode).toBe(403)
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    expect(ended).toBe(false)
  })
})

describe('engine proxy: security review fixes', () => {
  const multipartPolicy = (resolve: () => string = () => 'tenantA'): TestPolicy => ({
    settle: (request) =>
      forwardOf(
        request,
        { kind: 'multipart', field: 'tenant-id', resolveTenant: resolve },
        { operationId: 'createDeployment' },
      ),
  })

  it('refuses the duplicate-boundary attack with 400 before the engine sees anything', async () => {
    const up = await upstream((_req, res) => res.end('{}'))
    const gw = await gatewayFor(up.url, multipartPolicy())
    const inner =
      `--BBB\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n` +
      `--BBB\r\nContent-Disposition: form-data; name="x.bpmn"; filename="x.bpmn"\r\n\r\n<definitions/>\r\n` +
      `--BBB--\r\n`
    for (const ct of [
      'multipart/form-data; boundary=AAA; boundary=BBB',
      'multipart/form-data; boundary=AAA, boundary=BBB',
    ]) {
      const r = await undiciRequest(`${gw.url}/deployment/create`, {
        method: 'POST',
        headers: { 'content-type': ct },
        body: `--AAA\r\nContent-Disposition: form-data; name="data"\r\n\r\n${inner}\r\n--AAA--\r\n`,
      })
      expect(r.statusCode).toBe(400)
      expect(r.headers['content-type']).toBe('application/json')
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(up.seen).toHaveLength(0)
  })

  it('forwards a Content-Type it builds itself, never the client’s string', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"id":"d"}')
    })
    const gw = await gatewayFor(up.url, multipartPolicy())
    const b = 'a b'
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `Multipart/Form-Data; charset=utf-8; boundary="${b}"` },
      body: `--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--${b}--\r\n`,
    })
    expect(r.statusCode).toBe(200)
    await r.body.dump()
    expect(up.seen[0]!.headers['content-type']).toBe('multipart/form-data; boundary="a b"')
    expect(up.seen[0]!.body.toString()).toContain('name="tenant-id"\r\n\r\ntenantA\r\n--a b--')
  })

  it('refuses a deployment resource calling into another tenant (403) before the closing boundary', async () => {
    const up = await upstream((_req, res) => res.end('{}'))
    const gw = await gatewayFor(up.url, multipartPolicy())
    const b = 'bnd'
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      body:
        `--${b}\r\nContent-Disposition: form-data; name="p.bpmn"; filename="p.bpmn"\r\n\r\n` +
        `<callActivity camunda:calledElementTenantId="tenantB"/>\r\n--${b}--\r\n`,
    })
    expect(r.statusCode).toBe(403)
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    expect(up.seen.every((s) => !s.body.includes(`--${b}--`))).toBe(true)
  })

  it('renders a body refused before anyone reads it (slow upstream credentials) and stays up', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"id":"d"}')
    })
    const service = createUpstreamCredentials({
      mode: 'service',
      serviceUser: 'svc',
      servicePassword: 'svc-pw',
      userHeader: 'Context-User-ID',
    })
    let credentialCalls = 0
    // like bridge provisioning on an app's first request: the body fails while this is awaited
    const slow = {
      ...service,
      async headersFor(p: Principal) {
        credentialCalls++
        await new Promise((r) => setTimeout(r, 150))
        return service.headersFor(p)
      },
    }
    const gw = await gatewayFor(up.url, multipartPolicy(), {
      credentials: slow,
      maxStreamBytes: 4096,
    })
    const b = 'XB'
    const post = (body: string | Readable) =>
      undiciRequest(`${gw.url}/deployment/create`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${b}` },
        body,
      })
    const cases: [string | Readable, number, string][] = [
      [`--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc`, 400, 'C7AUTH_BODY_INVALID'],
      [
        `--${b}\r\nContent-Disposition: form-data; name="p.bpmn"; filename="p.bpmn"\r\n\r\n` +
          `<callActivity camunda:calledElementTenantId="tenantB"/>\r\n--${b}--\r\n`,
        403,
        'C7AUTH_TENANT_FORBIDDEN',
      ],
      // chunked (no content-length): only the streaming limit can refuse it
      [Readable.from([Buffer.alloc(8192, 0x61)]), 413, 'C7AUTH_BODY_TOO_LARGE'],
    ]
    for (const [body, status, code] of cases) {
      const r = await post(body)
      expect(r.statusCode, code).toBe(status)
      expect(r.headers['content-type']).toBe('application/json')
      expect(await r.body.json()).toMatchObject({ code })
    }
    expect(credentialCalls).toBe(3)
    expect(up.seen).toHaveLength(0)
    const ok = await post(
      `--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--${b}--\r\n`,
    )
    expect(ok.statusCode).toBe(200)
    await ok.body.dump()
    expect(up.seen).toHaveLength(1)
  })

  it('refuses a non-number asyncResponseTimeout (Jackson would coerce "60000") with 400', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('[]')
    })
    const gw = await gatewayFor(
      up.url,
      passPolicy(JSON_AS_IS, { operationId: 'fetchAndLock', longPoll: true }),
      { maxLongPollMs: 600 },
    )
    for (const asyncResponseTimeout of ['1800000', null, true, { n: 1 }, [1]]) {
      const r = await undiciRequest(`${gw.url}/external-task/fetchAndLock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workerId: 'w', maxTasks: 1, asyncResponseTimeout, topics: [] }),
      })
      expect(r.statusCode, JSON.stringify(asyncResponseTimeout)).toBe(400)
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(up.seen).toHaveLength(0)
    const absent = await undiciRequest(`${gw.url}/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: 'w', maxTasks: 1, topics: [] }),
    })
    expect(absent.statusCode).toBe(200)
    await absent.body.dump()
    expect(JSON.parse(up.seen[0]!.body.toString())).not.toHaveProperty('asyncResponseTimeout')
  })

  it('streams large POST query answers untouched; only DTOs with links are buffered', async () => {
    const big = JSON.stringify(
      Array.from({ length: 2_000 }, (_, i) => ({
        id: `task-${i}`,
        name: 'Review',
        links: [{ href: 'http://engine/engine-rest/x' }],
      })),
    )
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(big)
    })
    const maxJsonBytes = 16 * 1024
    expect(big.length).toBeGreaterThan(4 * maxJsonBytes)
    const query = await gatewayFor(up.url, passPolicy(JSON_AS_IS, { operationId: 'queryTasks' }), {
      maxJsonBytes,
    })
    const r = await undiciRequest(`${query.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    expect(await r.body.text()).toBe(big)
    // a start answer still has its links rewritten, so it is read (and capped)
    const start = await gatewayFor(
      up.url,
      passPolicy(JSON_AS_IS, { operationId: 'startProcessInstance', links: true }),
      { maxJsonBytes },
    )
    const s = await undiciRequest(`${start.url}/process-definition/x/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(s.statusCode).toBe(502)
    await s.body.dump()
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
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    const gw = await gatewayFor(up.url, passPolicy(JSON_AS_IS))
    const { gzipSync } = await import('node:zlib')
    for (const [encoding, body] of [
      ['gzip', gzipSync('{"a":1}')],
      ['gzip', Buffer.from('{"a":1}')], // plain JSON labelled gzip: refused too, not relabelled
      ['deflate, identity', Buffer.from('{"a":1}')],
    ] as const) {
      const r = await undiciRequest(`${gw.url}/task`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      })
      expect(r.statusCode, encoding).toBe(400)
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(up.seen).toHaveLength(0)
    const ok = await undiciRequest(`${gw.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
      body: '{"a":1}',
    })
    expect(ok.statusCode).toBe(200)
    await ok.body.dump()
    expect(up.seen).toHaveLength(1)
    expect(up.seen[0]!.headers['content-encoding']).toBeUndefined()
    expect(up.seen[0]!.body.toString()).toBe('{"a":1}')
  })

  it('refuses an encoded multipart body (the tenant stamper cannot read it)', async () => {
    const up = await upstream((_req, res) => res.end('{}'))
    const gw = await gatewayFor(up.url, {
      settle: (request) =>
        forwardOf(
          request,
          { kind: 'multipart', field: 'tenant-id', resolveTenant: () => 'tenantA' },
          { operationId: 'createDeployment' },
        ),
    })
    const r = await undiciRequest(`${gw.url}/deployment/create`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=AAA', 'content-encoding': 'gzip' },
      body: '--AAA\r\nContent-Disposition: form-data; name="x.bpmn"; filename="x.bpmn"\r\n\r\n<d/>\r\n--AAA--\r\n',
    })
    expect(r.statusCode).toBe(400)
    expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    expect(up.seen).toHaveLength(0)
  })

  it('answers 400 (not 500) to JSON nested 100,000 levels deep and keeps serving', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    const gw = await gatewayFor(up.url, passPolicy(JSON_AS_IS), {
      maxJsonBytes: 1024 * 1024,
    })
    for (const body of [
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(65) + '1' + '}'.repeat(65),
    ]) {
      const r = await undiciRequest(`${gw.url}/task`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      expect(r.statusCode).toBe(400)
      expect(await r.body.json()).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(up.seen).toHaveLength(0)
    // 64 levels, and brackets inside strings (escaped quotes too), are fine.
    const deepest = '{"a":'.repeat(63) + '["[[[\\"{{{"]' + '}'.repeat(63)
    const ok = await undiciRequest(`${gw.url}/task`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deepest,
    })
    expect(ok.statusCode).toBe(200)
    await ok.body.dump()
    expect(JSON.parse(up.seen[0]!.body.toString())).toEqual(JSON.parse(deepest))
  })
})

describe('engine proxy: relay (answers written straight from the upstream handler)', () => {
  it('relays an 8 MB answer intact to a slow reader (backpressure), with its headers', async () => {
    const payload = Buffer.alloc(8 * 1024 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-engine': 'yes' })
      res.end(payload)
    })
    const gw = await gatewayFor(up.url, passPolicy(STREAM))
    const r = await undiciRequest(`${gw.url}/resource`, { headers: { 'x-request-id': 'relay-1' } })
    expect(r.statusCode).toBe(200)
    expect(r.headers['x-engine']).toBe('yes')
    expect(r.headers['x-request-id']).toBe('relay-1')
    const hash = createHash('sha256')
    let chunks = 0
    for await (const chunk of r.body) {
      hash.update(chunk as Buffer)
      // A slow start: the proxy's socket buffer fills and the upstream read must pause.
      if (chunks++ < 20) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'))
  })

  it('keeps one upstream keep-alive connection across sequential GETs', async () => {
    const sockets = new Set<string>()
    const up = await upstream((req, res) => {
      sockets.add(`${req.socket.remotePort}`)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('[]')
    })
    const gw = await gatewayFor(up.url, passPolicy(STREAM))
    for (let i = 0; i < 5; i++) {
      const r = await undiciRequest(`${gw.url}/task`)
      expect(r.statusCode).toBe(200)
      expect(await r.body.text()).toBe('[]')
    }
    expect(up.seen).toHaveLength(5)
    expect(sockets.size).toBe(1)
  })

  it('aborts the upstream answer when the client goes away mid-body', async () => {
    let upstreamClosed!: () => void
    const closed = new Promise<void>((r) => (upstreamClosed = r))
    const up = await upstream((_req, res) => {
      res.on('close', () => upstreamClosed())
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      // Half an answer, then silence: only the client's departure can end this exchange.
      res.write(Buffer.alloc(64 * 1024, 1))
    })
    const gw = await gatewayFor(up.url, passPolicy(STREAM), { timeoutMs: 30_000 })
    const r = await undiciRequest(`${gw.url}/resource`)
    expect(r.statusCode).toBe(200)
    for await (const chunk of r.body) {
      expect((chunk as Buffer).length).toBeGreaterThan(0)
      break // leaving the loop destroys the body and its socket
    }
    await closed // long before the 30 s body timeout
  })
})

describe('engine proxy: request ids upstream', () => {
  it('an owner lookup’s request id never leaks into a later request (service mode shares its headers)', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    const lookupThenForward: TestPolicy = {
      async settle(request, engine) {
        if (request.path === '/owned') await engine.lookup('/task/t1')
        return forwardOf(request, STREAM)
      },
    }
    const gw = await gatewayFor(up.url, lookupThenForward, { mode: 'service' })
    const first = await undiciRequest(`${gw.url}/owned`, { headers: { 'x-request-id': 'first' } })
    await first.body.dump()
    const second = await undiciRequest(`${gw.url}/plain`, { headers: { 'x-request-id': 'second' } })
    await second.body.dump()
    expect(up.seen.map((s) => [s.url, s.headers['x-request-id']])).toEqual([
      ['/engine-rest/task/t1', 'first'],
      ['/engine-rest/owned', 'first'],
      ['/engine-rest/plain', 'second'],
    ])
    expect(up.seen.every((s) => s.headers.authorization?.startsWith('Basic '))).toBe(true)
  })
})

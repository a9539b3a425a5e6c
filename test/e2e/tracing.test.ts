import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SpanKind, context, propagation, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGatewayServer } from '@c7auth/gateway'
import type { GatewayServer } from '@c7auth/gateway'
import { createTenantWorkers } from '@c7auth/worker'
import type { TenantWorkers } from '@c7auth/worker'
import { linearProcessXml, requestToken, startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'

/**
 * One business call followed through every hop with a real OpenTelemetry SDK (in-memory exporter):
 * the app's span → the gateway's server span (JWKS fetch, bridge provisioning and the upstream
 * call as children, `traceparent` sent to the engine) → the process variable the gateway leaves →
 * the worker's task span (its engine calls, token request and `ctx.fetch` as children) → the
 * downstream API, which receives the same trace. No span attribute holds a token or secret.
 */

const SECRET = 'acme-tracing-secret-1'
const TOPIC = 'charge'
const AUDIENCE = 'urn:c7auth:test:billing'

const exporter = new InMemorySpanExporter()
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
provider.register()
const tracer = provider.getTracer('c7auth-tracing-test')

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const byName = (spans: readonly ReadableSpan[], name: string): ReadableSpan[] =>
  spans.filter((s) => s.name === name)
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId

describe('OpenTelemetry: one trace from the app through gateway, engine and worker to the API', () => {
  let idp: TestIdp
  let engine: EngineSimulator
  let server: GatewayServer
  let workers: TenantWorkers
  let downstream: Server
  let downstreamUrl: string
  const received: { traceparent: string }[] = []
  let token: string

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [{ clientId: 'acme-worker', clientSecret: SECRET, tenant: 'acme' }],
      audiences: [{ audience: AUDIENCE, scopes: ['billing:charge'] }],
    })
    engine = await startEngineSimulator()
    engine.deploy(
      linearProcessXml({
        key: 'charged',
        steps: [{ type: 'externalTask', id: 'c', topic: TOPIC }],
      }),
      {
        tenantId: 'acme',
      },
    )
    const env = {
      C7AUTH_TENANTS: 'acme',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: 'admin',
      C7AUTH_ENGINE_ADMIN_PASSWORD: 'admin',
      C7AUTH_BRIDGE_SECRET: 'tracing-bridge-secret-0123456789abcdef',
      C7AUTH_GATEWAY_PORT: '0',
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_LOG_LEVEL: 'silent',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme-worker',
      C7AUTH_TENANT_ACME_CLIENT_ID: 'acme-worker',
      C7AUTH_TENANT_ACME_CLIENT_SECRET: SECRET,
    }
    server = await createGatewayServer({
      config: loadConfigFromEnv(env),
      logger: pino({ level: 'silent' }),
      tracer,
    })
    downstream = createServer((req, res) => {
      received.push({ traceparent: String(req.headers.traceparent) })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"charged":true}')
    })
    downstreamUrl = await listen(downstream)
    const issued = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials' },
      { basic: { clientId: 'acme-worker', clientSecret: SECRET } },
    )
    token = String(issued.body['access_token'])
    workers = createTenantWorkers({
      config: loadConfigFromEnv(
        { ...env, C7AUTH_WORKER_GATEWAY_URL: `${server.url}/engine-rest` },
        { role: 'worker' },
      ),
      tracer,
      clientOptions: { asyncResponseTimeout: 1000, interval: 50 },
    })
  }, 60_000)

  afterAll(async () => {
    await workers?.close({ timeoutMs: 2000 })
    await server?.close()
    downstream?.close()
    await idp?.close()
    await engine?.close()
    await provider.shutdown()
  })

  it('links every hop into one trace and never records a token', async () => {
    exporter.reset()
    const done = new Promise<void>((resolve) => {
      workers.subscribe(TOPIC, async (ctx) => {
        await ctx.fetch(`${downstreamUrl}/charges`, { method: 'POST', audience: AUDIENCE })
        await ctx.taskService.complete(ctx.task)
        resolve()
      })
    })

    // The app's own span: its traceparent goes to the gateway like any instrumented client's.
    const app = tracer.startSpan('app: place order', { kind: SpanKind.CLIENT })
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    }
    propagation.inject(trace.setSpan(context.active(), app), headers)
    const started = await fetch(`${server.url}/engine-rest/process-definition/key/charged/start`, {
      method: 'POST',
      headers,
      body: '{}',
    })
    expect(started.status).toBe(200)
    const instanceId = ((await started.json()) as { id: string }).id
    app.end()
    await done

    // The engine received the upstream span's traceparent (the task span below proves the process
    // variable held the server span's).
    const start = engine.requests.find(
      (r) =>
        r.method === 'POST' && r.path === '/process-definition/key/charged/tenant-id/acme/start',
    )
    expect(start?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
    // Spans end asynchronously on response close: wait until the worker's complete call is in.
    await expect
      .poll(() => byName(exporter.getFinishedSpans(), 'c7auth.task').length, { timeout: 10_000 })
      .toBe(1)
    await expect
      .poll(
        () =>
          exporter
            .getFinishedSpans()
            .filter(
              (s) =>
                s.kind === SpanKind.SERVER &&
                s.attributes['c7auth.operation'] === 'completeExternalTaskResource',
            ).length,
        { timeout: 10_000 },
      )
      .toBe(1)
    const spans = exporter.getFinishedSpans()
    const traceId = app.spanContext().traceId

    // gateway: the start call continues the app's trace
    const startServer = spans.find(
      (s) =>
        s.kind === SpanKind.SERVER &&
        s.attributes['c7auth.operation'] === 'startProcessInstanceByKey',
    )
    expect(startServer?.spanContext().traceId).toBe(traceId)
    expect(parentOf(startServer!)).toBe(app.spanContext().spanId)
    expect(startServer?.attributes).toMatchObject({
      'c7auth.tenant': 'acme',
      'c7auth.outcome': 'success',
      'http.response.status_code': 200,
    })
    const children = spans.filter((s) => parentOf(s) === startServer?.spanContext().spanId)
    const names = children.map((s) => s.name).sort()
    expect(names).toContain('engine-rest startProcessInstanceByKey')
    expect(names).toContain('c7auth.bridge.provision')
    expect(names).toContain('c7auth.jwks.fetch')
    const upstream = children.find((s) => s.name === 'engine-rest startProcessInstanceByKey')
    expect(start?.headers.traceparent).toBe(`00-${traceId}-${upstream?.spanContext().spanId}-01`)

    // worker: the task span continues the trace the gateway left in the process
    const [task] = byName(spans, 'c7auth.task')
    expect(task?.spanContext().traceId).toBe(traceId)
    expect(parentOf(task!)).toBe(startServer?.spanContext().spanId)
    expect(task?.attributes).toMatchObject({
      'c7auth.tenant': 'acme',
      'c7auth.topic': TOPIC,
      'c7auth.process_instance.id': instanceId,
    })
    const taskChildren = spans.filter((s) => parentOf(s) === task?.spanContext().spanId)
    const downstreamSpan = taskChildren.find((s) => s.name === 'POST downstream')
    expect(downstreamSpan?.attributes['http.response.status_code']).toBe(200)
    expect(received).toHaveLength(1)
    expect(received[0]?.traceparent).toBe(
      `00-${traceId}-${downstreamSpan?.spanContext().spanId}-01`,
    )
    // the downstream token was fetched for this task: its span sits under the task too
    expect(taskChildren.some((s) => s.name === 'c7auth.token')).toBe(true)
    // complete went out with the task's trace, and the gateway continued it
    const complete = taskChildren.find((s) =>
      /^POST \/external-task\/[^/]+\/complete$/.test(s.name),
    )
    expect(complete).toBeDefined()
    const completeServer = spans.find(
      (s) =>
        s.kind === SpanKind.SERVER &&
        s.attributes['c7auth.operation'] === 'completeExternalTaskResource',
    )
    expect(parentOf(completeServer!)).toBe(complete?.spanContext().spanId)

    // polls have spans of their own (fetchAndLock runs outside any task)
    expect(spans.some((s) => s.name === 'POST /external-task/fetchAndLock')).toBe(true)

    // no attribute anywhere holds a token, a secret or a JWT-looking value
    const values = spans.flatMap((s) => Object.values(s.attributes).map(String))
    expect(values.length).toBeGreaterThan(20)
    for (const v of values) {
      expect(v).not.toContain(token)
      expect(v).not.toContain(SECRET)
      expect(v).not.toMatch(/eyJ[\w-]+\.[\w-]+/)
    }
  }, 30_000)
})

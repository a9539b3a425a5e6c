import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { createServer as createTcpServer, connect } from 'node:net'
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { Agent, request } from 'undici'
import { createTestCa, startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { BIN_NODE_ARGS } from './built-bin.js'
import { describeEngines } from './engines.js'
import type { TestEngine } from './engines.js'

const BIN = fileURLToPath(new URL('../../packages/gateway/bin/c7auth-gateway.js', import.meta.url))
const SECRET = 'server-test-bridge-secret-0123456789abcdef'

interface Running {
  child: ChildProcessWithoutNullStreams
  url: string
  logs: string[]
  exited: Promise<number | null>
}

function spawnGateway(env: Record<string, string>): Running {
  const child = spawn(process.execPath, [...BIN_NODE_ARGS, BIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  createInterface({ input: child.stdout }).on('line', (l) => logs.push(l))
  createInterface({ input: child.stderr }).on('line', (l) => logs.push(l))
  return { child, url: '', logs, exited }
}

async function waitForListening(run: Running): Promise<string> {
  // until the line or the exit; a start that never comes ends on the test's timeout
  for (;;) {
    for (const line of run.logs) {
      if (line.includes('c7auth gateway listening'))
        return (JSON.parse(line) as { url: string }).url
    }
    const done = await Promise.race([run.exited.then(() => true), sleep(50).then(() => false)])
    if (done) throw new Error(`gateway exited early:\n${run.logs.join('\n')}`)
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const POLL_LINE = 'POST /engine-rest/external-task/fetchAndLock '

/**
 * A TCP relay between the gateway and the engine, so a test sees on any engine (a real one does
 * not show its waiting long polls) whether a long poll has reached the engine and whether the
 * engine has answered it yet.
 */
interface EngineRelay {
  /** The engine's URL through the relay. */
  readonly url: string
  /**
   * True while a connection has carried a whole `fetchAndLock` request to the engine and no byte
   * of an answer has come back on it since.
   */
  pollWaiting(): boolean
  close(): Promise<void>
}

async function startEngineRelay(engineUrl: string): Promise<EngineRelay> {
  const target = new URL(engineUrl)
  const sockets = new Set<Socket>()
  // per connection: what went to the engine, where its last poll starts, bytes the engine sent
  // in all and up to that poll's start (one request at a time on a connection)
  const exchanges: { toEngine: string; pollAt: number; fromEngine: number; beforePoll: number }[] =
    []
  const server: TcpServer = createTcpServer((client) => {
    const engine = connect(Number(target.port), target.hostname)
    const exchange = { toEngine: '', pollAt: -1, fromEngine: 0, beforePoll: 0 }
    exchanges.push(exchange)
    for (const s of [client, engine]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    // one side gone ends the other (a reset engine reaches the gateway as a reset)
    client.on('error', () => engine.destroy())
    engine.on('error', () => client.destroy())
    client.on('close', () => engine.destroy())
    engine.on('close', () => client.destroy())
    client.on('data', (chunk: Buffer) => {
      engine.write(chunk)
      exchange.toEngine += chunk.toString('latin1')
      const at = exchange.toEngine.lastIndexOf(POLL_LINE)
      if (at !== exchange.pollAt) {
        exchange.pollAt = at
        exchange.beforePoll = exchange.fromEngine
      }
    })
    engine.on('data', (chunk: Buffer) => {
      exchange.fromEngine += chunk.length
      client.write(chunk)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    pollWaiting: () =>
      exchanges.some(({ toEngine, pollAt, fromEngine, beforePoll }) => {
        if (pollAt < 0 || fromEngine > beforePoll) return false
        const headEnd = toEngine.indexOf('\r\n\r\n', pollAt)
        if (headEnd < 0) return false
        const length = /\r\ncontent-length: *(\d+)/i.exec(toEngine.slice(pollAt, headEnd))?.[1]
        if (length === undefined) throw new Error('the gateway sent the poll without a length')
        return toEngine.length >= headEnd + 4 + Number(length)
      }),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

describeEngines('c7auth-gateway bin (spawned process)', (ctx) => {
  let idp: TestIdp
  let engine: TestEngine
  let relay: EngineRelay
  let run: Running
  let baseEnv: Record<string, string>

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [
        { clientId: 'acme', clientSecret: 'acme-secret', tenant: 'acme' },
        { clientId: 'globex', clientSecret: 'globex-secret', tenant: 'globex' },
      ],
    })
    engine = ctx.engine
    relay = await startEngineRelay(engine.url)
    baseEnv = {
      C7AUTH_TENANTS: 'acme,globex',
      C7AUTH_LOG_LEVEL: 'info',
      C7AUTH_ENGINE_URL: relay.url,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: engine.admin.id,
      C7AUTH_ENGINE_ADMIN_PASSWORD: engine.admin.password,
      C7AUTH_ENGINE_ADMIN_GROUP: engine.adminGroup,
      // the engines check authorizations: the apps get their grants at startup
      C7AUTH_ENGINE_AUTHORIZATIONS: 'apps',
      C7AUTH_BRIDGE_SECRET: SECRET,
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_GATEWAY_PORT: '0',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
      C7AUTH_TENANT_GLOBEX_ISSUER: idp.issuer,
      C7AUTH_TENANT_GLOBEX_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_GLOBEX_ALLOWED_CLIENTS: 'globex',
    }
    run = spawnGateway(baseEnv)
    run.url = await waitForListening(run)
  }, 30_000)

  afterAll(async () => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL')
    await relay?.close()
    await idp?.close()
  })

  async function appToken(clientId: string, secret: string): Promise<string> {
    const res = await fetch(idp.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'engine:read' }),
    })
    return ((await res.json()) as { access_token: string }).access_token
  }

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${run.url}/healthz`)
    expect(live.status).toBe(200)
    const ready = await fetch(`${run.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ ready: true, engine: true, idp: true })
  })

  // fault injection exists on the simulator only
  if (ctx.isSimulator) {
    it('reports not ready while the engine is down, and ready again after', async () => {
      const sim = engine.simulator!
      sim.setFault({ kind: 'down' })
      const down = await fetch(`${run.url}/readyz`)
      expect(down.status).toBe(503)
      expect(await down.json()).toMatchObject({ ready: false, engine: false })
      sim.setFault(null)
      expect((await fetch(`${run.url}/readyz`)).status).toBe(200)
    })
  }

  it('proxies an authenticated call and counts it in /metrics', async () => {
    const token = await appToken('acme', 'acme-secret')
    const res = await fetch(`${run.url}/engine-rest/process-definition`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const denied = await fetch(`${run.url}/engine-rest/user`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(denied.status).toBe(403)
    const refused = await fetch(`${run.url}/engine-rest/process-definition`, {
      headers: { 'x-request-id': 'server-401' },
    })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm=/)
    expect(refused.headers.get('content-type')).toBe('application/json')
    expect(refused.headers.get('x-request-id')).toBe('server-401')
    expect(refused.headers.get('etag')).toBeNull()

    const metrics = await (await fetch(`${run.url}/metrics`)).text()
    // by tenant: the configured tenant's id, `none` where no tenant was known (a 401)
    expect(metrics).toMatch(
      /c7auth_requests_total\{outcome="success",code="ok",tenant="acme"\} [1-9]/,
    )
    expect(metrics).toMatch(
      /c7auth_requests_total\{outcome="refused",code="C7AUTH_TOKEN_MISSING",tenant="none"\} 1/,
    )
    expect(metrics).toMatch(/c7auth_token_verification_seconds_count\{result="ok"\} [1-9]/)
    expect(metrics).toMatch(
      /c7auth_upstream_seconds_count\{operation="getProcessDefinitions",status="2xx"\} [1-9]/,
    )
    expect(metrics).toMatch(/c7auth_bridge_provisioning_calls_total\{kind="admin_call"\} [1-9]/)
    expect(metrics).toMatch(/c7auth_jwks_refreshes_total\{result="ok"\} [1-9]/)
    expect(run.logs.join('\n')).not.toContain(token)
  })

  it('drains an in-flight long poll on SIGTERM and exits 0', async () => {
    const token = await appToken('globex', 'globex-secret')
    const poll = fetch(`${run.url}/engine-rest/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        workerId: 'w1',
        maxTasks: 1,
        asyncResponseTimeout: 4_000,
        topics: [{ topicName: 'nothing-here', lockDuration: 1000 }],
      }),
    })
    // The poll has reached the engine, which has not answered it (the test's timeout bounds the
    // wait); the simulator also shows it waiting.
    const sim = engine.simulator
    await vi.waitFor(
      () => {
        expect(relay.pollWaiting()).toBe(true)
        if (sim) expect(sim.pendingLongPolls).toBe(1)
      },
      { timeout: 15_000, interval: 10 },
    )
    run.child.kill('SIGTERM')
    // the gateway began its shutdown while the engine still held the poll (a precondition: the
    // poll's 4 s leave room for a busy machine)
    await vi.waitFor(() => expect(run.logs.join('\n')).toContain('"msg":"shutting down"'), {
      timeout: 15_000,
      interval: 10,
    })
    expect(relay.pollWaiting()).toBe(true)
    const res = await poll
    expect(relay.pollWaiting()).toBe(false)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual([])
    expect(await run.exited).toBe(0)
    await expect(fetch(`${run.url}/healthz`)).rejects.toThrow()
  })

  it('serves HTTPS from certificate and key files', async () => {
    const ca = await createTestCa()
    const leaf = await ca.issue('localhost', 'server')
    const tls = spawnGateway({
      ...baseEnv,
      C7AUTH_GATEWAY_TLS_CERT: leaf.certPem,
      C7AUTH_GATEWAY_TLS_KEY: leaf.keyPem,
    })
    try {
      const url = await waitForListening(tls)
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const dispatcher = new Agent({ connect: { ca: ca.caPem } })
      const res = await request(`${url}/healthz`, { dispatcher })
      expect(res.statusCode).toBe(200)
      expect(await res.body.json()).toEqual({ status: 'ok' })
      await dispatcher.close()
    } finally {
      tls.child.kill('SIGTERM')
      expect(await tls.exited).toBe(0)
    }
  })

  it('exits 2 on bad configuration and lists every bad key without values', async () => {
    const bad = spawnGateway({
      ...baseEnv,
      C7AUTH_ENGINE_URL: 'not a url',
      C7AUTH_GATEWAY_PORT: '99999',
      C7AUTH_BRIDGE_SECRET: 'short-secret-value',
    })
    expect(await bad.exited).toBe(2)
    const out = bad.logs.join('\n')
    expect(out).toContain('C7AUTH_ENGINE_URL')
    expect(out).toContain('C7AUTH_GATEWAY_PORT')
    expect(out).toContain('C7AUTH_BRIDGE_SECRET')
    expect(out).not.toContain('short-secret-value')
    expect(out).not.toContain('not a url')
  })
})

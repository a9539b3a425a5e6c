/**
 * Proxy overhead: the same GET straight to a node:http "engine" vs through the c7auth engine proxy
 * (real route-table policy with tenant scoping, service-mode Basic, audit, undici keep-alive pool).
 * Run: `pnpm exec tsx test/bench/engine-proxy.bench.ts`.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { pino } from 'pino'
import type { Principal } from '@c7auth/core'
import {
  createAuditLog,
  createEngineEndpoint,
  createEngineProxy,
  createPolicy,
  createUpstreamCredentials,
} from '../../packages/gateway/src/internal.js'

const principal: Principal = {
  kind: 'app',
  userId: 'appA',
  groupIds: [],
  tenantIds: ['tenantA'],
  clientId: 'appA',
  issuer: 'http://127.0.0.1/idp',
  subject: 'appA',
  scopes: [],
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
  admin: false,
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function measure(url: string, n: number, concurrency: number, agent: Agent) {
  let next = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const r = await request(url, { dispatcher: agent })
        await r.body.dump()
        if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`)
      }
    }),
  )
  return Number(process.hrtime.bigint() - t0) / 1000 / n // µs per request
}

const body = JSON.stringify([{ id: 't1', tenantId: 'tenantA', name: 'x' }])
const engine = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(body)
})
const engineUrl = await listen(engine)
const endpoint = createEngineEndpoint(`${engineUrl}/engine-rest`)
const proxy = createEngineProxy({
  endpoint,
  credentials: createUpstreamCredentials({
    mode: 'service',
    serviceUser: 'svc',
    servicePassword: 'pw',
    userHeader: 'Context-User-ID',
  }),
  policy: createPolicy(),
  timeoutMs: 10_000,
  maxLongPollMs: 60_000,
  maxJsonBytes: 1 << 20,
  maxStreamBytes: 64 << 20,
  audit: createAuditLog(pino({ level: 'silent' })),
})
const gateway = createServer((req, res) => {
  void proxy.handle(req, res, principal, { mountPath: '/engine-rest' })
})
const gatewayUrl = await listen(gateway)
const agent = new Agent({ connections: 64 })

const results: Record<string, number> = {}
for (const [label, concurrency] of [
  ['sequential', 1],
  ['concurrency 32', 32],
] as const) {
  await measure(`${engineUrl}/engine-rest/task`, 2_000, concurrency, agent) // warm-up
  await measure(`${gatewayUrl}/engine-rest/task`, 2_000, concurrency, agent)
  const direct = await measure(`${engineUrl}/engine-rest/task`, 10_000, concurrency, agent)
  const proxied = await measure(`${gatewayUrl}/engine-rest/task`, 10_000, concurrency, agent)
  results[`${label}: direct µs/req`] = Math.round(direct)
  results[`${label}: proxied µs/req`] = Math.round(proxied)
  results[`${label}: overhead µs/req`] = Math.round(proxied - direct)
}
console.table(results)
await agent.close()
await endpoint.dispatcher.close()
gateway.close()
engine.close()

/**
 * `assertion` vs `service` upstream mode: the same GET through the c7auth engine proxy (route-table
 * policy, audit, undici pool) to a node:http "engine", once with one technical Basic account and
 * once with a per-principal RS256 assertion (cached 45 s). Runs are interleaved, best of 5 each,
 * so a noisy neighbour on shared cores hurts both modes alike. The bar: assertion costs no
 * more than 10 % over service. Run: `pnpm exec tsx test/bench/engine-assertion.bench.ts`.
 */
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { pino } from 'pino'
import type { Principal } from '@c7auth/core'
import {
  createAssertionSigner,
  createAuditLog,
  createEngineEndpoint,
  createEngineProxy,
  createPolicy,
  createUpstreamCredentials,
} from '../../packages/gateway/src/internal.js'
import type { UpstreamCredentials } from '../../packages/gateway/src/internal.js'

const principals: Principal[] = Array.from({ length: 50 }, (_, i) => ({
  kind: 'app',
  userId: `app${i}`,
  groupIds: ['apps'],
  tenantIds: ['tenantA'],
  clientId: `app${i}`,
  issuer: 'http://127.0.0.1/idp',
  subject: `app${i}`,
  scopes: [],
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
  admin: false,
}))

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
let sawBearer = 0
const engine = createServer((req, res) => {
  if (req.headers.authorization?.startsWith('Bearer ')) sawBearer++
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(body)
})
const engineUrl = await listen(engine)
const endpoint = createEngineEndpoint(`${engineUrl}/engine-rest`)
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const signer = createAssertionSigner({
  issuer: 'https://gw',
  audience: 'engine',
  privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  groupsOf: (p) => p.groupIds,
})

async function gatewayFor(credentials: UpstreamCredentials): Promise<string> {
  const proxy = createEngineProxy({
    endpoint,
    credentials,
    policy: createPolicy(),
    timeoutMs: 10_000,
    maxLongPollMs: 60_000,
    maxJsonBytes: 1 << 20,
    maxStreamBytes: 64 << 20,
    audit: createAuditLog(pino({ level: 'silent' })),
  })
  let i = 0
  const server = createServer((req, res) => {
    // Round-robin over 50 principals: the cache holds one assertion each, as in production.
    void proxy.handle(req, res, principals[i++ % principals.length]!, { mountPath: '/engine-rest' })
  })
  servers.push(server)
  return listen(server)
}

const servers: Server[] = []
const common = { userHeader: 'Context-User-ID' }
const urls = {
  service: await gatewayFor(
    createUpstreamCredentials({
      mode: 'service',
      serviceUser: 'svc',
      servicePassword: 'pw',
      ...common,
    }),
  ),
  assertion: await gatewayFor(
    createUpstreamCredentials({ mode: 'assertion', assertion: signer, ...common }),
  ),
}
const agent = new Agent({ connections: 64 })

const results: Record<string, number | string> = {}
for (const [label, concurrency] of [
  ['sequential', 1],
  ['concurrency 32', 32],
] as const) {
  const best = { service: Infinity, assertion: Infinity }
  for (const mode of ['service', 'assertion'] as const) {
    await measure(`${urls[mode]}/engine-rest/task`, 2_000, concurrency, agent) // warm-up
  }
  for (let round = 0; round < 5; round++) {
    for (const mode of ['service', 'assertion'] as const) {
      const us = await measure(`${urls[mode]}/engine-rest/task`, 5_000, concurrency, agent)
      best[mode] = Math.min(best[mode], us)
    }
  }
  results[`${label}: service µs/req`] = Math.round(best.service)
  results[`${label}: assertion µs/req`] = Math.round(best.assertion)
  results[`${label}: assertion vs service`] =
    `${(((best.assertion - best.service) / best.service) * 100).toFixed(1)} %`
}
if (sawBearer === 0) throw new Error('the assertion gateway sent no bearer assertion')
console.table(results)
await agent.close()
await endpoint.dispatcher.close()
for (const s of servers) s.close()
engine.close()

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { loadConfigFromEnv } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { createGateway, createGatewayServer } from '@c7auth/gateway'
import * as gwExpress from '@c7auth/gateway/express'
import {
  basicAuth,
  createEngineEndpoint,
  createEngineProxy,
  createPolicy,
  createUpstreamCredentials,
  engineJson,
  engineNotFound,
} from '../../packages/gateway/src/internal.js'
import type { Policy } from '../../packages/gateway/src/internal.js'
import { testPrincipal } from '../../packages/gateway/src/__tests__/fixtures.js'
import { linearProcessXml, requestToken, startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'

/**
 * `adminBypassesTenantScope` is given once, to the policy, and holds for every check of a request
 * (query scoping, owner checks, guards) whichever way the policy is mounted: called directly, in
 * the engine proxy, in a gateway behind Express, in the standalone server, and wrapped in a policy
 * of one's own. A gateway admin of no tenant reads tenant B's task: with the bypass the engine's
 * answer, without it the engine's own 404 for a missing id — the same on every entry point.
 */
const SERVICE = { id: 'svc', password: 'Svc-Passw0rd!' }
const ADMIN_GROUP = 'gw-admins'

/** A gateway admin of no tenant, as the authenticator maps the `ops` client's token. */
const admin: Principal = testPrincipal({
  userId: 'ops',
  groupIds: [ADMIN_GROUP],
  tenantIds: [],
  clientId: 'ops',
  subject: 'ops',
  admin: true,
})

let sim: EngineSimulator
let idp: TestIdp
let taskB: string
let adminToken: string
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  sim = await startEngineSimulator({ adminUser: { id: 'admin', password: 'Adm1n-Passw0rd!' } })
  closers.push(() => sim.close())
  sim.seed.user({ ...SERVICE })
  sim.seed.membership({ userId: SERVICE.id, groupId: 'camunda-admin' })
  sim.deploy(linearProcessXml({ key: 'order', steps: [{ type: 'userTask', id: 'approve' }] }), {
    tenantId: 'tenantB',
  })
  const b = sim.startProcess('order', { tenantId: 'tenantB' })
  taskB = sim.inspect.tasks().find((t) => t.processInstanceId === b.id)!.id
  idp = await startTestIdp({
    clients: [
      { clientId: 'appB', clientSecret: 'secret-b' },
      { clientId: 'ops', clientSecret: 'secret-ops', extraClaims: { groups: [ADMIN_GROUP] } },
    ],
  })
  closers.push(() => idp.close())
  const r = await requestToken(
    idp.tokenEndpoint,
    { grant_type: 'client_credentials', scope: 'engine:read' },
    { basic: { clientId: 'ops', clientSecret: 'secret-ops' } },
  )
  adminToken = (r.body as { access_token: string }).access_token
})

afterAll(async () => {
  while (closers.length) await closers.pop()!()
})

function configFor() {
  return loadConfigFromEnv({
    C7AUTH_TENANTS: 'tenantB',
    C7AUTH_LOG_LEVEL: 'silent',
    C7AUTH_ENGINE_URL: sim.url,
    C7AUTH_ENGINE_AUTH: 'service',
    C7AUTH_ENGINE_SERVICE_USER: SERVICE.id,
    C7AUTH_ENGINE_SERVICE_PASSWORD: SERVICE.password,
    C7AUTH_ENGINE_TIMEOUT: '2s',
    C7AUTH_TENANT_TENANTB_ISSUER: idp.issuer,
    C7AUTH_TENANT_TENANTB_AUDIENCE: idp.defaultAudience,
    C7AUTH_TENANT_TENANTB_ALLOWED_CLIENTS: 'appB',
    C7AUTH_GATEWAY_ADMIN_ISSUERS: idp.issuer,
    C7AUTH_GATEWAY_ADMIN_GROUPS: ADMIN_GROUP,
    C7AUTH_GATEWAY_PORT: '0',
    C7AUTH_GATEWAY_HOST: '127.0.0.1',
  })
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/engine-rest`
}

/** The engine proxy in service mode with `policy`, serving the admin principal. */
async function proxyFor(policy: Pick<Policy, 'settle'>): Promise<string> {
  const endpoint = createEngineEndpoint(sim.url)
  closers.push(() => endpoint.dispatcher.close())
  const proxy = createEngineProxy({
    endpoint,
    credentials: createUpstreamCredentials({
      mode: 'service',
      serviceUser: SERVICE.id,
      servicePassword: SERVICE.password,
      userHeader: 'Context-User-ID',
    }),
    policy,
    timeoutMs: 2_000,
    maxLongPollMs: 1_000,
    maxJsonBytes: 64 * 1024,
    maxStreamBytes: 1024 * 1024,
  })
  return listen((req, res) => {
    void proxy.handle(req, res, admin, { mountPath: '/engine-rest' })
  })
}

/** What an admin's `GET /task/{taskB}` answers, by entry point. */
type Answer = { status: number; body: unknown }

async function get(url: string, token?: string): Promise<Answer> {
  const r = await request(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  return { status: r.statusCode, body: await r.body.json() }
}

const ENTRY_POINTS: Record<string, (policy: Policy) => Promise<Answer>> = {
  async 'policy.settle'(policy) {
    const endpoint = createEngineEndpoint(sim.url)
    closers.push(() => endpoint.dispatcher.close())
    const decision = await policy.settle(
      { method: 'GET', path: `/task/${taskB}`, query: new URLSearchParams(), principal: admin },
      {
        checksTenants: false,
        lookup: (path) =>
          engineJson(endpoint, 'GET', path, {
            headers: { authorization: basicAuth(SERVICE.id, SERVICE.password) },
            timeoutMs: 2_000,
          }),
      },
    )
    if (decision.action === 'respond') return { status: decision.status, body: decision.json }
    const r = await engineJson(endpoint, 'GET', decision.path, {
      headers: { authorization: basicAuth(SERVICE.id, SERVICE.password) },
      timeoutMs: 2_000,
    })
    return { status: r.status, body: r.body }
  },
  async createEngineProxy(policy) {
    return get(`${await proxyFor(policy)}/task/${taskB}`)
  },
  async 'createGateway + Express engineProxy'(policy) {
    const gateway = createGateway({ config: configFor(), policy })
    closers.push(() => gateway.close())
    const app = express()
    app.use(gwExpress.authenticate(gateway.authenticator))
    app.use('/engine-rest', gwExpress.engineProxy(gateway))
    const url = await listen(app)
    return get(`${url}/task/${taskB}`, adminToken)
  },
  async createGatewayServer(policy) {
    const server = await createGatewayServer({ config: configFor(), policy })
    closers.push(() => server.close())
    return get(`${server.url}/engine-rest/task/${taskB}`, adminToken)
  },
  async 'a policy of ones own around createPolicy'(policy) {
    let settled = 0
    const own: Pick<Policy, 'settle'> = {
      settle(request, engine) {
        settled++
        return policy.settle(request, engine)
      },
    }
    const answer = await get(`${await proxyFor(own)}/task/${taskB}`)
    expect(settled).toBe(1)
    return answer
  },
}

describe('adminBypassesTenantScope: one option, the same answer through every entry point', () => {
  for (const [name, through] of Object.entries(ENTRY_POINTS)) {
    it(`${name}: the bypass lets an admin read another tenant's object by id`, async () => {
      const answer = await through(createPolicy({ adminBypassesTenantScope: true }))
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ id: taskB, tenantId: 'tenantB' })
    })
    it(`${name}: without it the admin gets the engine's 404 for a missing id`, async () => {
      const answer = await through(createPolicy())
      expect(answer).toEqual(engineNotFound('task', taskB))
    })
  }
})

import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import express from 'express'
import Koa from 'koa'
import { pino } from 'pino'
import { request } from 'undici'
import { loadConfigFromEnv } from '@c7auth/core'
import type { EngineAuthMode, Principal } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import type { CreateGatewayOptions, Gateway, GatewayHooks } from '@c7auth/gateway'
import * as gwExpress from '@c7auth/gateway/express'
import * as gwKoa from '@c7auth/gateway/koa'
import { requestToken, startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, EngineSimulatorOptions } from '@c7auth/testkit'
import { engineAdmin, engineFetch } from './engines.js'
import type { TestEngine } from './engines.js'

/** The engine admin's password (valid under the engine's password policy). */
export const ADMIN_PASSWORD = 'Adm1n-Passw0rd!'

/**
 * The technical account of `service` mode on every engine: a member of the admin group, but not
 * the admin the gateway provisions with, so a test can tell the two apart.
 */
export const SERVICE_USER = { id: 'c7authservice', password: 'Serv1ce-Passw0rd!' } as const

export type Framework = 'express' | 'koa'

export interface HarnessOptions {
  mode: EngineAuthMode
  framework: Framework
  engine?: EngineSimulatorOptions
  /**
   * Run against this engine (from `describeEngines`) instead of a simulator of its own; the
   * harness does not close it. The gateway provisions with its admin account and, in service
   * mode, forwards as {@link SERVICE_USER} (created on first use).
   */
  testEngine?: TestEngine
  env?: Record<string, string>
  gateway?: Partial<Omit<CreateGatewayOptions, 'config'>>
}

export interface CallResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: unknown
}

/**
 * Real IdP (oidc-provider) + engine-rest simulator + c7auth gateway mounted in real Express or Koa,
 * all on 127.0.0.1 port 0. Tenants `tenantA` (app `appA`) and `tenantB` (app `appB`).
 */
/** Creates {@link SERVICE_USER} in the engine's admin group unless it is there (one per engine). */
async function ensureServiceUser(engine: TestEngine): Promise<void> {
  const profile = await engineFetch(engine, 'GET', `/user/${SERVICE_USER.id}/profile`)
  if (profile.status === 200) return
  await engineAdmin(engine, 'POST', '/user/create', {
    profile: { id: SERVICE_USER.id, firstName: 'c7auth', lastName: 'service' },
    credentials: { password: SERVICE_USER.password },
  })
  await engineAdmin(engine, 'PUT', `/group/${engine.adminGroup}/members/${SERVICE_USER.id}`)
}

export async function startHarness(options: HarnessOptions) {
  const shared = options.testEngine
  const ownSimulator: EngineSimulator | null = shared
    ? null
    : await startEngineSimulator({
        passwordPolicy: true,
        adminUser: { id: 'admin', password: ADMIN_PASSWORD },
        ...options.engine,
      })
  const simulator = ownSimulator ?? shared?.simulator ?? null
  if (ownSimulator) {
    ownSimulator.seed.user({ ...SERVICE_USER })
    ownSimulator.seed.membership({
      userId: SERVICE_USER.id,
      groupId: options.engine?.adminGroup ?? 'camunda-admin',
    })
  }
  if (shared && options.mode === 'service') await ensureServiceUser(shared)
  /** The engine behind the gateway as a {@link TestEngine} (closing it is the owner's job). */
  const target: TestEngine = {
    name: shared?.name ?? 'simulator',
    url: shared?.url ?? ownSimulator!.url,
    origin: shared?.origin ?? ownSimulator!.origin,
    adminGroup: shared?.adminGroup ?? options.engine?.adminGroup ?? 'camunda-admin',
    admin: shared?.admin ?? { id: 'admin', password: ADMIN_PASSWORD },
    simulator,
    logFile: shared?.logFile ?? null,
    close: async () => {},
  }
  // Simulator-only APIs (seed, inspect, requests, faults) fail loudly on a real engine.
  const engine: EngineSimulator =
    simulator ??
    new Proxy({ url: target.url } as EngineSimulator, {
      get(obj, key) {
        if (key === 'url') return obj.url
        if (key === 'then') return undefined
        throw new Error(
          `engine.${String(key)} is simulator-only; this suite runs on ${target.name}`,
        )
      },
    })
  const idp = await startTestIdp({
    clients: [
      { clientId: 'appA', clientSecret: 'secret-a' },
      { clientId: 'appB', clientSecret: 'secret-b' },
    ],
  })
  const env: Record<string, string> = {
    C7AUTH_TENANTS: 'tenantA,tenantB',
    C7AUTH_LOG_LEVEL: 'silent',
    C7AUTH_ENGINE_URL: target.url,
    C7AUTH_ENGINE_ADMIN_GROUP: target.adminGroup,
    C7AUTH_ENGINE_AUTH: options.mode,
    C7AUTH_ENGINE_ADMIN_USER: target.admin.id,
    C7AUTH_ENGINE_ADMIN_PASSWORD: target.admin.password,
    C7AUTH_BRIDGE_SECRET: 'bridge-secret-0123456789-abcdefghij',
    C7AUTH_ENGINE_SERVICE_USER: SERVICE_USER.id,
    C7AUTH_ENGINE_SERVICE_PASSWORD: SERVICE_USER.password,
    // a real engine's first calls after start (cold JIT, one busy shared machine) can take seconds
    C7AUTH_ENGINE_TIMEOUT: shared ? '30s' : '2s',
    C7AUTH_ENGINE_MAX_LONG_POLL: '5s',
    C7AUTH_GATEWAY_DEFAULT_APP_GROUPS: 'apps',
    C7AUTH_GATEWAY_GROUP_ALLOWLIST: 'billing,support',
    C7AUTH_TENANT_TENANTA_NAME: 'Tenant A',
    C7AUTH_TENANT_TENANTA_ISSUER: idp.issuer,
    C7AUTH_TENANT_TENANTA_AUDIENCE: idp.defaultAudience,
    C7AUTH_TENANT_TENANTA_ALLOWED_CLIENTS: 'appA',
    C7AUTH_TENANT_TENANTB_ISSUER: idp.issuer,
    C7AUTH_TENANT_TENANTB_AUDIENCE: idp.defaultAudience,
    C7AUTH_TENANT_TENANTB_ALLOWED_CLIENTS: 'appB',
    // deploying needs a grant (issue 15); the harness's apps deploy, under the default strict profile
    C7AUTH_TENANT_TENANTA_DEPLOYERS: 'client:appA',
    C7AUTH_TENANT_TENANTB_DEPLOYERS: 'client:appB',
    // Admin is opt-in per issuer; without C7AUTH_GATEWAY_ADMIN_GROUPS this grants nothing.
    C7AUTH_GATEWAY_ADMIN_ISSUERS: idp.issuer,
    // Shared engines check authorizations like production ones: apps need their grants.
    ...(shared ? { C7AUTH_ENGINE_AUTHORIZATIONS: 'apps' } : {}),
    ...options.env,
  }
  const config = loadConfigFromEnv(env)
  const logLines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        logLines.push(JSON.parse(String(chunk)) as Record<string, unknown>)
        cb()
      },
    }),
  )
  const events = { adminCalls: 0, provisions: 0, repairs: 0, upstream: 0 }
  /** Every forwarded client request (not admin calls), as the gateway saw it end: on any engine. */
  const upstreamCalls: { operationId: string; method: string; status: number | undefined }[] = []
  const hooks: GatewayHooks = {
    onAdminCall: () => void events.adminCalls++,
    onProvision: () => void events.provisions++,
    onRepair: () => void events.repairs++,
    onUpstream: (e) => {
      events.upstream++
      upstreamCalls.push({ operationId: e.operationId, method: e.method, status: e.status })
    },
  }
  const gateway: Gateway = createGateway({ config, logger, hooks, ...options.gateway })
  let report: Awaited<ReturnType<Gateway['start']>>
  try {
    report = await gateway.start()
  } catch (err) {
    await gateway.close()
    await ownSimulator?.close()
    await idp.close()
    throw err
  }

  let server: Server
  if (options.framework === 'express') {
    const app = express()
    // The one-line mount: the proxy authenticates with the gateway's own authenticator.
    app.use('/engine-rest', gwExpress.engineProxy(gateway))
    app.use(gwExpress.errorHandler())
    server = createServer(app)
  } else {
    const app = new Koa()
    app.use(gwKoa.errorHandler())
    app.use(gwKoa.authenticate(gateway.authenticator))
    app.use(gwKoa.engineProxy(gateway, { mountPath: '/engine-rest' }))
    server = createServer(app.callback())
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/engine-rest`

  async function appToken(clientId: 'appA' | 'appB'): Promise<string> {
    const r = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', scope: 'engine:read engine:write' },
      { basic: { clientId, clientSecret: clientId === 'appA' ? 'secret-a' : 'secret-b' } },
    )
    const token = (r.body as { access_token?: string }).access_token
    if (!token) throw new Error(`token request failed: ${r.text}`)
    return token
  }

  async function userToken(sub: string, clientId: 'appA' | 'appB', groups: string[]) {
    return idp.issueUserToken({ sub, clientId, claims: { groups, preferred_username: sub } })
  }

  async function principalOf(token: string): Promise<Principal> {
    return gateway.authenticator.verify(token)
  }

  async function call(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<CallResult> {
    const h: Record<string, string> = { ...headers }
    if (token) h.authorization = `Bearer ${token}`
    let payload: string | Buffer | undefined
    if (Buffer.isBuffer(body) || typeof body === 'string') payload = body
    else if (body !== undefined) {
      payload = JSON.stringify(body)
      h['content-type'] ??= 'application/json'
    }
    const r = await request(base + path, {
      method: method as 'GET',
      headers: h,
      ...(payload === undefined ? {} : { body: payload }),
    })
    const text = await r.body.text()
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = undefined
    }
    return { status: r.statusCode, headers: r.headers, text, json }
  }

  /** Deploys through the gateway as `token` (multipart), returns the engine's answer. */
  async function deploy(token: string, xml: string, name: string, extraParts = '') {
    const boundary = `----c7auth${Date.now()}`
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\n${name}\r\n` +
      extraParts.replaceAll('{b}', boundary) +
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}.bpmn"; filename="${name}.bpmn"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n${xml}\r\n--${boundary}--\r\n`
    return call(token, 'POST', '/deployment/create', body, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    })
  }

  async function close() {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    await gateway.close()
    await ownSimulator?.close()
    await idp.close()
  }

  return {
    engine,
    /** The engine this harness talks to, whatever its kind. */
    target,
    /** The simulator behind the gateway, or `null` on a real engine. */
    simulator,
    idp,
    gateway,
    config,
    report,
    base,
    events,
    upstreamCalls,
    logLines,
    appToken,
    userToken,
    principalOf,
    call,
    deploy,
    close,
  }
}

export type Harness = Awaited<ReturnType<typeof startHarness>>

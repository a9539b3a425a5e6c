/**
 * The stack the worker end-to-end tests run against: the testkit IdP, the engine simulator, the
 * real gateway (Express, bridge mode) in front of it, and a downstream API that verifies app
 * tokens with jose. Everything on real sockets on 127.0.0.1, port 0.
 */
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import { loadConfigFromEnv } from '@c7auth/core'
import type { C7AuthConfig } from '@c7auth/core'
import { authenticatorOptionsFromConfig, createAuthenticator, createGateway } from '@c7auth/gateway'
import type { CreateGatewayOptions, Gateway } from '@c7auth/gateway'
import { authenticate, engineProxy, errorHandler } from '@c7auth/gateway/express'
import { startEngineSimulator, startTestIdp, linearProcessXml } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp, TestIdpOptions } from '@c7auth/testkit'
import { engineAdmin, engineDeploy } from './engines.js'
import type { TestEngine } from './engines.js'

export const TENANTS = ['acme', 'globex'] as const
export type TenantId = (typeof TENANTS)[number]
export const DOWNSTREAM_AUDIENCE = 'urn:c7auth:test:billing'
export const PROCESS_KEY = 'chargeFlow'
export const TOPIC = 'charge'

const BPMN = linearProcessXml({
  key: PROCESS_KEY,
  steps: [{ type: 'externalTask', id: 'charge', topic: TOPIC }],
})

/** One call the downstream API received, after verifying its token. */
export interface DownstreamCall {
  status: number
  tenantHeader: string | undefined
  actingUserHeader: string | undefined
  /** Verified claims (only when the token verified). */
  claims: JWTPayload | undefined
  /** `exp` of the presented token, read without verification (to reason about expiry). */
  exp: number | undefined
  token: string | undefined
}

/** One response the gateway sent. */
export interface GatewayResponse {
  method: string
  path: string
  status: number
}

/** One request the gateway answered, with the `Authorization` header it was given. */
export interface GatewayRequest extends GatewayResponse {
  authorization: string | undefined
}

export interface WorkerStack {
  idp: TestIdp
  /** The simulator-only API; throws on a real engine (use `target`, `instanceState`, `openExternalTasks`). */
  engine: EngineSimulator
  /** The engine behind the gateway, whatever its kind. */
  target: TestEngine
  /** `ACTIVE`, `COMPLETED`, … from the engine's history, read as the admin. */
  instanceState(processInstanceId: string): Promise<string | undefined>
  /** External tasks not yet completed, read as the admin. */
  openExternalTasks(): Promise<{ id: string; tenantId: string | null; processInstanceId: string }[]>
  gateway: Gateway
  /** engine-rest base URL of the gateway (what workers call). */
  gatewayUrl: string
  gatewayResponses: GatewayResponse[]
  /** The same responses with the presented `Authorization` header (to tell tokens apart). */
  gatewayRequests: GatewayRequest[]
  downstreamUrl: string
  downstreamCalls: DownstreamCall[]
  /** Worker configuration as `loadConfigFromEnv(env, { role: 'worker' })` produces it. */
  workerConfig: C7AuthConfig
  workerEnv: Record<string, string>
  /** Starts a process in `tenant` through the gateway as the user `userId` (acting user recorded). */
  startAsUser(tenant: TenantId, userId: string): Promise<string>
  /** A user token of `tenant`'s portal app, as `startAsUser` presents it. */
  userToken(tenant: TenantId, userId: string): Promise<string>
  close(): Promise<void>
}

const SECRETS: Record<TenantId, string> = { acme: 'acme-secret-1', globex: 'globex-secret-2' }

/** `url` is the engine for the gateway's env, the gateway for the workers' (two keys). */
function env(
  idp: TestIdp,
  role: 'gateway' | 'worker',
  url: string,
  target?: TestEngine,
): Record<string, string> {
  const vars: Record<string, string> = {
    C7AUTH_TENANTS: TENANTS.join(','),
    [role === 'gateway' ? 'C7AUTH_ENGINE_URL' : 'C7AUTH_WORKER_GATEWAY_URL']: url,
    C7AUTH_ENGINE_AUTH: 'bridge',
    C7AUTH_ENGINE_ADMIN_USER: target?.admin.id ?? 'admin',
    C7AUTH_ENGINE_ADMIN_PASSWORD: target?.admin.password ?? 'admin',
    ...(target
      ? {
          C7AUTH_ENGINE_ADMIN_GROUP: target.adminGroup,
          // an engine with authorization checks: apps and portal users start and work processes
          C7AUTH_ENGINE_AUTHORIZATIONS: 'apps',
          C7AUTH_GATEWAY_DEFAULT_APP_GROUPS: 'apps',
          C7AUTH_GATEWAY_DEFAULT_USER_GROUPS: 'apps',
        }
      : {}),
    C7AUTH_BRIDGE_SECRET: 'worker-e2e-bridge-secret-0123456789abcdef',
    // Strict expiry at the gateway: an expired token is refused, not tolerated for 30 s.
    C7AUTH_GATEWAY_CLOCK_TOLERANCE: '0s',
    C7AUTH_LOG_LEVEL: 'silent',
  }
  for (const tenant of TENANTS) {
    const p = `C7AUTH_TENANT_${tenant.toUpperCase()}_`
    vars[`${p}ISSUER`] = idp.issuer
    vars[`${p}AUDIENCE`] = idp.defaultAudience
    vars[`${p}CLIENT_ID`] = `${tenant}-worker`
    vars[`${p}CLIENT_SECRET`] = SECRETS[tenant]
    vars[`${p}ALLOWED_CLIENTS`] = `${tenant}-worker,${tenant}-portal`
  }
  return vars
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Options of {@link startWorkerStack}. */
export interface WorkerStackOptions {
  idp?: TestIdpOptions
  /** Gateway JWKS refetch cooldown after an unknown `kid` (default: the gateway's, 10 s). */
  jwksRefetchCooldownSeconds?: number
  /** Gateway cache of verified tokens (default on); off, a token is refused once its key is gone. */
  verifiedTokenCache?: boolean
  /** Run on this engine (from `describeEngines`; not closed here) instead of an own simulator. */
  testEngine?: TestEngine
  /** Extra gateway environment (e.g. `C7AUTH_TENANT_ACME_ON_BEHALF_OF`). */
  gatewayEnv?: Record<string, string>
  /** Passed to `createGateway`. */
  gatewayOptions?: Pick<CreateGatewayOptions, 'vault' | 'hooks'>
}

export async function startWorkerStack(options: WorkerStackOptions = {}): Promise<WorkerStack> {
  const idpOptions = options.idp ?? {}
  const idp = await startTestIdp({
    ...idpOptions,
    clients: TENANTS.flatMap((tenant) => [
      { clientId: `${tenant}-worker`, clientSecret: SECRETS[tenant], tenant },
      { clientId: `${tenant}-portal`, authMethod: 'none' as const },
    ]),
    audiences: [
      { audience: DOWNSTREAM_AUDIENCE, scopes: ['billing:charge'] },
      ...(idpOptions.audiences ?? []),
    ],
  })
  const shared = options.testEngine
  const ownSimulator = shared ? null : await startEngineSimulator()
  const target: TestEngine = shared ?? {
    name: 'simulator',
    url: ownSimulator!.url,
    origin: ownSimulator!.origin,
    admin: { id: 'admin', password: 'admin' },
    adminGroup: 'camunda-admin',
    simulator: ownSimulator,
    logFile: null,
    close: async () => {},
  }
  const simulatorOnly = (what: string) => (): never => {
    throw new Error(`stack.engine.${what} is simulator-only; this stack runs on ${target.name}`)
  }
  const engine: EngineSimulator =
    target.simulator ??
    new Proxy({} as EngineSimulator, { get: (_o, key) => simulatorOnly(String(key))() })
  const gatewayConfig = loadConfigFromEnv({
    ...env(idp, 'gateway', target.url, shared),
    ...options.gatewayEnv,
  })
  const authOptions = authenticatorOptionsFromConfig(gatewayConfig)
  const authenticator =
    options.jwksRefetchCooldownSeconds === undefined && options.verifiedTokenCache !== false
      ? undefined
      : createAuthenticator({
          ...authOptions,
          ...(options.verifiedTokenCache === false ? { cache: false as const } : {}),
          jwks: {
            ...authOptions.jwks,
            ...(options.jwksRefetchCooldownSeconds === undefined
              ? {}
              : { refetchCooldownSeconds: options.jwksRefetchCooldownSeconds }),
          },
        })
  const gateway = createGateway({
    config: gatewayConfig,
    ...options.gatewayOptions,
    ...(authenticator === undefined ? {} : { authenticator }),
  })
  await gateway.start()

  const gatewayResponses: GatewayResponse[] = []
  const gatewayRequests: GatewayRequest[] = []
  const app = express()
  app.use((req, res, next) => {
    const { authorization } = req.headers
    res.on('finish', () => {
      const response = { method: req.method, path: req.originalUrl, status: res.statusCode }
      gatewayResponses.push(response)
      gatewayRequests.push({ ...response, authorization })
    })
    next()
  })
  app.use('/engine-rest', authenticate(gateway.authenticator), engineProxy(gateway))
  app.use(errorHandler())
  const gatewayServer = createServer(app)
  const gatewayUrl = `http://127.0.0.1:${await listen(gatewayServer)}/engine-rest`

  const downstreamCalls: DownstreamCall[] = []
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri))
  const downstream = createServer((req, res) => {
    void (async () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      let claims: JWTPayload | undefined
      try {
        if (token) {
          claims = (
            await jwtVerify(token, jwks, { issuer: idp.issuer, audience: DOWNSTREAM_AUDIENCE })
          ).payload
        }
      } catch {
        claims = undefined
      }
      const status = claims ? 200 : 401
      downstreamCalls.push({
        status,
        tenantHeader: header(req.headers, 'x-c7auth-tenant'),
        actingUserHeader: header(req.headers, 'x-c7auth-acting-user'),
        claims,
        exp: token ? decodeJwt(token).exp : undefined,
        token,
      })
      req.resume()
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: !!claims }))
    })()
  })
  const downstreamUrl = `http://127.0.0.1:${await listen(downstream)}/charges`

  for (const tenant of TENANTS) {
    await engineDeploy(target, BPMN, { name: PROCESS_KEY, tenantId: tenant })
  }

  const workerEnv = env(idp, 'worker', gatewayUrl)
  const userToken = (tenant: TenantId, userId: string) =>
    idp.issueUserToken({
      sub: userId,
      clientId: `${tenant}-portal`,
      claims: { preferred_username: userId },
    })
  const workerConfig = loadConfigFromEnv(workerEnv, { role: 'worker' })

  return {
    idp,
    engine,
    target,
    async instanceState(id) {
      const r = await engineAdmin<{ state?: string }[]>(
        target,
        'GET',
        `/history/process-instance?processInstanceId=${id}`,
      )
      return r[0]?.state
    },
    async openExternalTasks() {
      return engineAdmin(target, 'GET', '/external-task')
    },
    gateway,
    gatewayUrl,
    gatewayResponses,
    gatewayRequests,
    downstreamUrl,
    downstreamCalls,
    workerConfig,
    workerEnv,
    userToken,
    async startAsUser(tenant, userId) {
      const token = await userToken(tenant, userId)
      const res = await fetch(`${gatewayUrl}/process-definition/key/${PROCESS_KEY}/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({}),
      })
      const body = (await res.json()) as { id?: string }
      if (res.status !== 200 || !body.id) {
        throw new Error(`start as ${userId} in ${tenant}: ${res.status} ${JSON.stringify(body)}`)
      }
      return body.id
    },
    async close() {
      for (const server of [gatewayServer, downstream]) {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
      await gateway.close()
      await authenticator?.close()
      await ownSimulator?.close()
      await idp.close()
    },
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** Resolves when `predicate` holds (polls every 10 ms; fails after 15 s). */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const started = Date.now()
  while (!(await predicate())) {
    if (Date.now() - started > 15_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

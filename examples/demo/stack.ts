import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { createOnBehalfOfVault, loadConfigFromEnv } from '@c7auth/core'
import type { OnBehalfOfVault } from '@c7auth/core'
import { createGatewayServer } from '@c7auth/gateway'
import type { GatewayServer } from '@c7auth/gateway'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'
import { createTenantWorkers } from '@c7auth/worker'
import type { TenantWorkers } from '@c7auth/worker'

/** The two tenants of the demo, each with its own app (client credentials). */
export const TENANTS = [
  {
    id: 'acme',
    app: 'acme',
    secret: `acme-${randomBytes(6).toString('hex')}`,
    tasklist: 'acmetasks',
  },
  {
    id: 'globex',
    app: 'globex',
    secret: `globex-${randomBytes(6).toString('hex')}`,
    tasklist: 'globextasks',
  },
] as const

export const BILLING_AUDIENCE = 'urn:demo:billing'

/** What the downstream billing API saw on one call. */
export interface BillingCall {
  /** `/charges` (the app charges) or `/statements` (a statement sent as the acting user). */
  path: string
  /** The token's `sub`: the app for app tokens, the user for on-behalf-of tokens. */
  subject: string
  /** The token's `act.sub` (RFC 8693 actor), when it acts for someone. */
  actor: string | undefined
  caller: string
  audience: string
  tenant: string | null
  actingUser: string | null
  amount: unknown
}

/**
 * An engine the demo does not start (a real Camunda 7 or Operaton): its engine-rest URL and an
 * admin account (member of `adminGroup`, with every authorization).
 */
export interface ExternalEngine {
  /** `http://host:port/engine-rest` */
  url: string
  admin: { id: string; password: string }
  /** Default `camunda-admin` (Operaton: `operaton-admin`). */
  adminGroup?: string
  /** How the story names it (default `external engine`). */
  name?: string
}

/** The engine behind the gateway, whichever it is: the story reads it over engine-rest as the admin. */
export interface DemoEngine {
  readonly url: string
  /** `simulator` or the external engine's name. */
  readonly name: string
  /** `GET <engine-rest><path>` as the engine admin; throws unless 200. */
  read<T>(path: string): Promise<T>
}

/** Every process of the demo stack, started in-process on 127.0.0.1. */
export interface DemoStack {
  idp: TestIdp
  engine: DemoEngine
  /** The started simulator (seeding, inspection); `null` on an external engine. */
  simulator: EngineSimulator | null
  gateway: GatewayServer
  billing: { url: string; calls: BillingCall[] }
  workers: TenantWorkers
  /** Users' delegation grants for on-behalf-of calls (in memory: gateway and workers share this process). */
  vault: OnBehalfOfVault
  /** Environment the gateway was configured from (secrets included: demo only). */
  gatewayEnv: Record<string, string>
  close(): Promise<void>
}

/** Options of {@link startDemoStack}. */
export interface DemoStackOptions {
  gatewayPort?: number
  /** A running engine to put behind the gateway instead of starting the simulator. */
  engine?: ExternalEngine
}

/**
 * Starts the real testkit IdP, the engine simulator (Basic auth on, like Camunda Run) unless
 * `options.engine` names a running one, the gateway
 * in bridge mode configured from `C7AUTH_*` variables, a downstream billing API that verifies app
 * tokens, and one external-task worker per tenant connected through the gateway.
 */
export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  const idp = await startTestIdp({
    clients: TENANTS.flatMap((t) => [
      { clientId: t.app, clientSecret: t.secret, tenant: t.id },
      { clientId: t.tasklist, authMethod: 'none' as const },
    ]),
    audiences: [{ audience: BILLING_AUDIENCE, scopes: ['billing:charge'] }],
  })
  const admin = options.engine?.admin ?? {
    id: 'c7admin',
    password: randomBytes(12).toString('base64url'),
  }
  const simulator = options.engine ? null : await startEngineSimulator({ adminUser: admin })
  const engine = demoEngine(
    options.engine?.url ?? (simulator as EngineSimulator).url,
    options.engine ? (options.engine.name ?? 'external engine') : 'simulator',
    admin,
  )

  const gatewayEnv: Record<string, string> = {
    C7AUTH_TENANTS: TENANTS.map((t) => t.id).join(','),
    C7AUTH_LOG_LEVEL: 'silent',
    C7AUTH_ENGINE_URL: engine.url,
    C7AUTH_ENGINE_AUTH: 'bridge',
    C7AUTH_ENGINE_ADMIN_USER: admin.id,
    C7AUTH_ENGINE_ADMIN_PASSWORD: admin.password,
    C7AUTH_ENGINE_ADMIN_GROUP: options.engine?.adminGroup ?? 'camunda-admin',
    // a real engine checks authorizations: the gateway grants apps and users what the story needs
    C7AUTH_ENGINE_AUTHORIZATIONS: 'apps+users',
    C7AUTH_GATEWAY_DEFAULT_APP_GROUPS: 'demoapps',
    C7AUTH_GATEWAY_DEFAULT_USER_GROUPS: 'demousers',
    C7AUTH_BRIDGE_SECRET: randomBytes(32).toString('base64url'),
    C7AUTH_GATEWAY_HOST: '127.0.0.1',
    C7AUTH_GATEWAY_PORT: String(options.gatewayPort ?? 0),
  }
  for (const t of TENANTS) {
    const p = `C7AUTH_TENANT_${t.id.toUpperCase()}_`
    gatewayEnv[`${p}ISSUER`] = idp.issuer
    gatewayEnv[`${p}AUDIENCE`] = idp.defaultAudience
    gatewayEnv[`${p}ALLOWED_CLIENTS`] = `${t.app},${t.tasklist}`
    // the app deploys its model (strict profile: user and external tasks only); users do not
    gatewayEnv[`${p}DEPLOYERS`] = `client:${t.app}`
  }
  // acme keeps the approver's delegation grant for its workers' on-behalf-of calls
  gatewayEnv.C7AUTH_TENANT_ACME_CLIENT_ID = TENANTS[0].app
  gatewayEnv.C7AUTH_TENANT_ACME_CLIENT_SECRET = TENANTS[0].secret
  gatewayEnv.C7AUTH_TENANT_ACME_ON_BEHALF_OF = 'orderApproval'
  const vault = await createOnBehalfOfVault({ url: 'memory' })
  const gateway = await createGatewayServer({ config: loadConfigFromEnv(gatewayEnv), vault })

  const billing = await startBillingApi(idp)

  const workerEnv: Record<string, string> = {
    C7AUTH_TENANTS: gatewayEnv.C7AUTH_TENANTS as string,
    C7AUTH_WORKER_GATEWAY_URL: `${gateway.url}/engine-rest`,
  }
  for (const t of TENANTS) {
    const p = `C7AUTH_TENANT_${t.id.toUpperCase()}_`
    workerEnv[`${p}ISSUER`] = idp.issuer
    workerEnv[`${p}CLIENT_ID`] = t.app
    workerEnv[`${p}CLIENT_SECRET`] = t.secret
    workerEnv[`${p}TOKEN_SCOPE`] = 'engine:read engine:write'
  }
  const workers = createTenantWorkers({
    config: loadConfigFromEnv(workerEnv, { role: 'worker' }),
    clientOptions: { asyncResponseTimeout: 2_000, interval: 100, autoPoll: true },
    vault,
  })

  return {
    idp,
    engine,
    simulator,
    gateway,
    billing,
    workers,
    vault,
    gatewayEnv,
    async close() {
      await workers.close({ timeoutMs: 5_000 })
      await gateway.close()
      await vault.close()
      await new Promise<void>((r) => billing.server.close(() => r()))
      billing.server.closeAllConnections()
      await simulator?.close()
      await idp.close()
    },
  }
}

function demoEngine(
  url: string,
  name: string,
  admin: { id: string; password: string },
): DemoEngine {
  const authorization = `Basic ${Buffer.from(`${admin.id}:${admin.password}`).toString('base64')}`
  return {
    url,
    name,
    async read<T>(path: string): Promise<T> {
      const res = await fetch(`${url}${path}`, { headers: { authorization } })
      const text = await res.text()
      if (res.status !== 200) throw new Error(`engine: GET ${path} answered ${res.status}`)
      return JSON.parse(text) as T
    },
  }
}

async function startBillingApi(
  idp: TestIdp,
): Promise<{ url: string; calls: BillingCall[]; server: Server }> {
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri))
  const calls: BillingCall[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
      const deny = (status: number) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"denied"}')
      }
      if (!token) return deny(401)
      jwtVerify(token, jwks, { issuer: idp.issuer, audience: BILLING_AUDIENCE }).then(
        ({ payload }) => {
          const body = chunks.length
            ? (JSON.parse(Buffer.concat(chunks).toString()) as { amount?: unknown })
            : {}
          const act = payload['act'] as { sub?: unknown } | undefined
          calls.push({
            path: (req.url ?? '/').split('?')[0]!,
            subject: String(payload.sub),
            actor: typeof act?.sub === 'string' ? act.sub : undefined,
            caller: String(payload.azp ?? payload.client_id),
            audience: BILLING_AUDIENCE,
            tenant: header(req.headers['x-c7auth-tenant']),
            actingUser: header(req.headers['x-c7auth-acting-user']),
            amount: body.amount,
          })
          res.writeHead(201, { 'content-type': 'application/json' }).end('{"charged":true}')
        },
        () => deny(401),
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, calls, server }
}

function header(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null
}

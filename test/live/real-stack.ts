/**
 * The real-engine recipe of `examples/real-camunda`, without Docker: a real Keycloak (its realm
 * export), a real Camunda 7.24 engine (`startCamundaEngine`), the c7auth gateway in bridge mode
 * configured from the recipe's `gateway.env`, and one external-task worker per tenant. Used by the
 * live suite and by `pnpm stack:real`.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadConfigFromEnv } from '@c7auth/core'
import type { OnBehalfOfVault } from '@c7auth/core'
import { createGatewayServer } from '@c7auth/gateway'
import type { GatewayServer } from '@c7auth/gateway'
import { defaultEngineJar, startCamundaEngine } from '@c7auth/testkit'
import type { CamundaEngine } from '@c7auth/testkit'
import { createTenantWorkers } from '@c7auth/worker'
import type { TenantWorkers } from '@c7auth/worker'
import { readEnvFile } from './env-file.js'
import { keycloakAvailable, startKeycloak } from './keycloak.js'
import type { RunningKeycloak } from './keycloak.js'

const RECIPE = new URL('../../examples/real-camunda/', import.meta.url)

/** The recipe's realm export (what compose mounts into Keycloak). */
export const REALM_FILE = fileURLToPath(new URL('keycloak/c7auth-realm.json', RECIPE))
/** The recipe's gateway configuration (compose's `env_file`). */
export const GATEWAY_ENV_FILE = fileURLToPath(new URL('gateway.env', RECIPE))

/** The realm's apps, one per tenant, and its human user (see the realm export). */
export const REALM = {
  name: 'c7auth',
  apps: [
    { tenant: 'acme', clientId: 'acme', secret: 'acme-secret-change-me' },
    { tenant: 'globex', clientId: 'globex', secret: 'globex-secret-change-me' },
  ],
  user: { username: 'alice', password: 'alice-change-me', tenant: 'acme', clientId: 'tasklist' },
} as const

/** Whether the stack can start here (Java, Keycloak, the camunda7 jar), and else why not. */
export function realStackRunnable(): { runnable: boolean; why: string } {
  const keycloak = keycloakAvailable()
  if (!keycloak.ok) return { runnable: false, why: keycloak.reason ?? 'no Keycloak' }
  if (!existsSync(defaultEngineJar('camunda7'))) {
    return { runnable: false, why: 'no camunda7 jar (run `pnpm engines:build`)' }
  }
  return { runnable: true, why: '' }
}

/** One engine-rest call through the gateway as `token`: a JSON or multipart body, the JSON answer. */
export async function callGateway(
  gatewayUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- engine JSON, checked by expect()
): Promise<{ status: number; json: any }> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } }
  if (body instanceof FormData) init.body = body
  else if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers = { ...init.headers, 'content-type': 'application/json' }
  }
  const res = await fetch(`${gatewayUrl}${path}`, init)
  const text = await res.text()
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined }
}

/** Everything `startRealStack` started. */
export interface RealStack {
  readonly keycloak: RunningKeycloak
  readonly engine: CamundaEngine
  readonly gateway: GatewayServer
  /** `<gateway>/engine-rest` */
  readonly gatewayUrl: string
  readonly workers: TenantWorkers
  /** Seconds each part took to start. */
  readonly timings: Readonly<Record<'keycloak' | 'engine' | 'gateway', number>>
  close(): Promise<void>
}

/** Options of {@link startRealStack}. */
export interface RealStackOptions {
  /** Gateway port (default: a free one). */
  readonly gatewayPort?: number
  /** Gateway log level (default `silent`). */
  readonly logLevel?: string
  /** Engine database (default `postgres`). */
  readonly database?: 'postgres' | 'h2'
  /** Gateway variables on top of the recipe's (e.g. a tenant's `ON_BEHALF_OF`). */
  readonly gatewayEnv?: Readonly<Record<string, string>>
  /** The on-behalf-of vault gateway and workers share (they run in this one process). */
  readonly vault?: OnBehalfOfVault
}

/**
 * Starts Keycloak and Camunda 7.24 side by side, then the gateway (bridge mode, the recipe's
 * configuration with local URLs and fresh secrets) and one worker per tenant (client credentials
 * of the tenant's app, through the gateway). Stops what it started if a part fails.
 */
export async function startRealStack(options: RealStackOptions = {}): Promise<RealStack> {
  const started: { close(): Promise<void> }[] = []
  const stopAll = async (): Promise<void> => {
    for (const part of started.reverse()) await part.close().catch(() => undefined)
  }
  try {
    const t0 = Date.now()
    const timings = { keycloak: 0, engine: 0, gateway: 0 }
    const admin = { id: 'c7admin', password: `Adm1n-${randomBytes(9).toString('base64url')}!` }
    const [keycloak, engine] = await Promise.all([
      startKeycloak({ realmFile: REALM_FILE, realm: REALM.name }).then((kc) => {
        started.push(kc)
        timings.keycloak = (Date.now() - t0) / 1000
        return kc
      }),
      startCamundaEngine({
        flavor: 'camunda7',
        adminUser: admin,
        database: options.database ?? 'postgres',
      }).then((e) => {
        started.push(e)
        timings.engine = (Date.now() - t0) / 1000
        return e
      }),
    ])

    const t1 = Date.now()
    const gatewayEnv: Record<string, string> = {
      ...readEnvFile(GATEWAY_ENV_FILE),
      C7AUTH_LOG_LEVEL: options.logLevel ?? 'silent',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_ADMIN_USER: admin.id,
      C7AUTH_ENGINE_ADMIN_PASSWORD: admin.password,
      C7AUTH_BRIDGE_SECRET: randomBytes(32).toString('base64url'),
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_GATEWAY_PORT: String(options.gatewayPort ?? 0),
      ...options.gatewayEnv,
    }
    delete gatewayEnv.C7AUTH_GATEWAY_PUBLIC_URL
    for (const app of REALM.apps) {
      const p = `C7AUTH_TENANT_${app.tenant.toUpperCase()}_`
      gatewayEnv[`${p}ISSUER`] = keycloak.issuer
      gatewayEnv[`${p}JWKS_URI`] = keycloak.jwksUri
    }
    const gateway = await createGatewayServer({
      config: loadConfigFromEnv(gatewayEnv),
      ...(options.vault === undefined ? {} : { vault: options.vault }),
    })
    started.push(gateway)
    timings.gateway = (Date.now() - t1) / 1000
    const gatewayUrl = `${gateway.url}/engine-rest`

    const workerEnv: Record<string, string> = {
      C7AUTH_TENANTS: REALM.apps.map((a) => a.tenant).join(','),
      C7AUTH_WORKER_GATEWAY_URL: gatewayUrl,
    }
    for (const app of REALM.apps) {
      const p = `C7AUTH_TENANT_${app.tenant.toUpperCase()}_`
      workerEnv[`${p}ISSUER`] = keycloak.issuer
      workerEnv[`${p}CLIENT_ID`] = app.clientId
      workerEnv[`${p}CLIENT_SECRET`] = app.secret
    }
    const workers = createTenantWorkers({
      config: loadConfigFromEnv(workerEnv, { role: 'worker' }),
      clientOptions: { asyncResponseTimeout: 10_000, interval: 200, autoPoll: true },
      ...(options.vault === undefined ? {} : { vault: options.vault }),
    })
    started.push({ close: async () => void (await workers.close({ timeoutMs: 5_000 })) })

    return {
      keycloak,
      engine,
      gateway,
      gatewayUrl,
      workers,
      timings,
      close: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}

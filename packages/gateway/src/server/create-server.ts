import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Tracer } from '@opentelemetry/api'
import { pino } from 'pino'
import type { Logger } from 'pino'
import type { C7AuthConfig, OnBehalfOfVault } from '@c7auth/core'
import { createGateway } from '../engine/index.js'
import type { BootstrapReport, Gateway, GatewayHooks } from '../engine/index.js'
import type { Policy } from '../policy/index.js'
import { createRequestHandler } from './handler.js'
import { createGatewayMetrics } from './metrics.js'
import { startMetricsListener } from './metrics-access.js'
import type { GatewayMetrics } from './metrics.js'

/** Options of {@link createGatewayServer}. */
export interface GatewayServerOptions {
  /** The loaded configuration (`loadConfigFromEnv(process.env)`). */
  config: C7AuthConfig
  /** Default: pino JSON logs on stdout at `config.logLevel`. */
  logger?: Logger
  /** How long graceful shutdown waits for in-flight requests (ms). Default: 10000. */
  drainTimeoutMs?: number
  /** OpenTelemetry tracer (the bin builds one from the `OTEL_*` variables). Off when absent. */
  tracer?: Tracer
  /** The policy (see `CreateGatewayOptions.policy`). Default: `createPolicy` from `config`. */
  policy?: Policy
  /** The on-behalf-of vault (see `CreateGatewayOptions.vault`). Default: on `C7AUTH_TOKEN_STORE`. */
  vault?: OnBehalfOfVault
}

/** A running standalone gateway. */
export interface GatewayServer {
  /** `http(s)://host:port` the server listens on. */
  readonly url: string
  /** Where Prometheus `/metrics` is served (the gateway's listener, or its own listener). */
  readonly metricsUrl: string
  readonly gateway: Gateway
  readonly metrics: GatewayMetrics
  readonly bootstrap: BootstrapReport
  /** Stops accepting connections, drains in-flight requests, closes upstream pools. */
  close(): Promise<void>
}

/**
 * Starts the standalone gateway: `/healthz` (liveness), `/readyz` (every issuer's JWKS and the
 * engine reachable), Prometheus `/metrics`, and engine-rest at `config.gateway.basePath`.
 *
 * @example
 * ```ts
 * const server = await createGatewayServer({ config: loadConfigFromEnv(process.env) })
 * process.once('SIGTERM', () => void server.close())
 * ```
 */
export async function createGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const { config } = options
  const logger = options.logger ?? pino({ level: config.logLevel })
  const metrics = createGatewayMetrics()
  // Label values come from configuration only, so the series count stays bounded.
  const tenantLabels = new Set(config.tenants.map((t) => t.id))
  const tenantLabel = (id: string | undefined): string =>
    id === undefined ? 'none' : tenantLabels.has(id) ? id : 'other'
  const hooks: GatewayHooks = {
    onRequest: (e) => metrics.countRequest(e.outcome, e.code ?? 'ok', tenantLabel(e.tenantId)),
    onUpstream: (e) =>
      metrics.observeUpstream(e.operationId, statusClass(e.status), e.durationMs / 1000),
    onAdminCall: () => metrics.provisioningCalls.inc({ kind: 'admin_call' }),
    onProvision: (e) =>
      metrics.provisioningCalls.inc({ kind: e.created ? 'created' : 'reconciled' }),
    onRepair: (e) => metrics.provisioningCalls.inc({ kind: e.ok ? 'repaired' : 'repair_failed' }),
  }
  const { tracer } = options
  const gateway = createGateway({
    config,
    logger,
    hooks,
    ...(tracer === undefined ? {} : { tracer }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.vault === undefined ? {} : { vault: options.vault }),
  })
  registerAuthenticatorMetrics(gateway, metrics)

  const metricsConfig = config.gateway.metrics ?? { host: '127.0.0.1' }
  const metricsPort = metricsConfig.port
  const base = config.gateway.basePath
  const handler = createRequestHandler({
    gateway,
    metrics,
    basePath: base,
    // The engine plugin fetches this without credentials: outside the authenticated mount.
    jwksPath: config.engine.assertion?.jwksPath,
    // On the gateway's listener unless a listener of its own is configured; the token guards either.
    metricsHere: metricsPort === undefined,
    metricsToken: metricsConfig.token,
    logger,
    tracer,
  })

  // a failed start (engine not reachable yet) must not leave the gateway's pools open
  const bootstrap = await gateway.start().catch(async (err: unknown) => {
    await gateway.close().catch(() => undefined)
    throw err
  })

  const tls =
    config.gateway.tlsCertPem && config.gateway.tlsKeyPem
      ? { cert: config.gateway.tlsCertPem, key: config.gateway.tlsKeyPem }
      : undefined
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler)
  // Long polls (fetchAndLock) may legitimately outlive Node's default request timeout.
  server.requestTimeout = config.engine.maxLongPollMs + config.engine.timeoutMs
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.gateway.port, config.gateway.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`
  const metricsListener =
    metricsPort === undefined
      ? undefined
      : await startMetricsListener({ ...metricsConfig, port: metricsPort }, metrics.registry)
  logger.info(
    {
      url,
      basePath: base,
      engineAuth: config.engine.auth,
      metricsUrl: `${metricsListener?.url ?? url}/metrics`,
      metricsToken: metricsConfig.token !== undefined,
    },
    'c7auth gateway listening',
  )

  let closing: Promise<void> | undefined
  return {
    url,
    metricsUrl: `${metricsListener?.url ?? url}/metrics`,
    gateway,
    metrics,
    bootstrap,
    close() {
      closing ??= (async () => {
        const drained = new Promise<void>((resolve) => server.close(() => resolve()))
        // Keep-alive connections become idle as their in-flight responses finish: close them then.
        server.closeIdleConnections()
        const sweeper = setInterval(() => server.closeIdleConnections(), 50)
        const timer = setTimeout(
          () => server.closeAllConnections(),
          options.drainTimeoutMs ?? 10_000,
        )
        sweeper.unref()
        timer.unref()
        await Promise.all([drained, metricsListener?.close()])
        clearInterval(sweeper)
        clearTimeout(timer)
        await gateway.close()
        logger.info('c7auth gateway stopped')
      })()
      return closing
    },
  }
}

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx']

function statusClass(status: number | undefined): string {
  return status === undefined ? 'error' : (STATUS_CLASSES[Math.floor(status / 100)] ?? 'error')
}

function registerAuthenticatorMetrics(gateway: Gateway, metrics: GatewayMetrics): void {
  let seen = { fetches: 0, failures: 0 }
  // JWKS fetches are counted by the key stores; mirror the deltas when Prometheus scrapes.
  const collect = () => {
    const sets = gateway.authenticator.stats.keySets
    const fetches = sets.reduce((n, s) => n + s.fetches, 0)
    const failures = sets.reduce((n, s) => n + s.fetchFailures, 0)
    if (fetches > seen.fetches) metrics.jwksRefreshes.inc({ result: 'ok' }, fetches - seen.fetches)
    if (failures > seen.failures)
      metrics.jwksRefreshes.inc({ result: 'failed' }, failures - seen.failures)
    seen = { fetches, failures }
  }
  const original = metrics.registry.metrics.bind(metrics.registry)
  metrics.registry.metrics = async () => {
    collect()
    return original()
  }
}

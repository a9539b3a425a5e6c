import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context as otelContext } from '@opentelemetry/api'
import type { Tracer } from '@opentelemetry/api'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { pino } from 'pino'
import type { Logger } from 'pino'
import type { C7AuthConfig } from '@c7auth/core'
import { isC7AuthError } from '@c7auth/core'
import { createGateway } from '../engine/index.js'
import type { BootstrapReport, Gateway, GatewayHooks } from '../engine/index.js'
import { authenticate, errorHandler } from '../express/auth.js'
import { engineProxy } from '../express/proxy.js'
import { engineJwks } from '../express/jwks.js'
import { startRequestSpan } from '../observability/tracing.js'
import { createGatewayMetrics } from './metrics.js'
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
}

/** A running standalone gateway. */
export interface GatewayServer {
  /** `http(s)://host:port` the server listens on. */
  readonly url: string
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
    onRequest: (e) =>
      metrics.requests.inc({
        outcome: e.outcome,
        code: e.code ?? 'ok',
        tenant: tenantLabel(e.tenantId),
      }),
    onUpstream: (e) =>
      metrics.upstreamSeconds.observe(
        {
          operation: e.operationId,
          status: e.status === undefined ? 'error' : `${Math.floor(e.status / 100)}xx`,
        },
        e.durationMs / 1000,
      ),
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
  })
  registerAuthenticatorMetrics(gateway, metrics)

  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' })
  })
  app.get('/readyz', (_req, res, next) => {
    gateway.checkReady().then((report) => {
      res.status(report.ready ? 200 : 503).json(report)
    }, next)
  })
  app.get('/metrics', (_req, res, next) => {
    metrics.registry.metrics().then((text) => {
      res.status(200).type(metrics.registry.contentType).send(text)
    }, next)
  })
  if (config.engine.assertion) {
    // The engine plugin fetches this without credentials: outside the authenticated mount.
    app.get(config.engine.assertion.jwksPath, engineJwks(gateway))
  }
  const base = config.gateway.basePath
  if (tracer !== undefined) {
    // Before authentication, so JWKS fetches and 401s belong to the request's server span.
    app.use(base, (req, res, next) => otelContext.with(startRequestSpan(tracer, req, res), next))
  }
  app.use(base, timedAuthentication(gateway, metrics), engineProxy(gateway))
  app.use(countRefusals(metrics))
  app.use(errorHandler({ logger }))

  // a failed start (engine not reachable yet) must not leave the gateway's pools open
  const bootstrap = await gateway.start().catch(async (err: unknown) => {
    await gateway.close().catch(() => undefined)
    throw err
  })

  const tls =
    config.gateway.tlsCertPem && config.gateway.tlsKeyPem
      ? { cert: config.gateway.tlsCertPem, key: config.gateway.tlsKeyPem }
      : undefined
  const server: Server = tls ? createHttpsServer(tls, app) : createHttpServer(app)
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
  logger.info({ url, basePath: base, engineAuth: config.engine.auth }, 'c7auth gateway listening')

  let closing: Promise<void> | undefined
  return {
    url,
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
        await drained
        clearInterval(sweeper)
        clearTimeout(timer)
        await gateway.close()
        logger.info('c7auth gateway stopped')
      })()
      return closing
    },
  }
}

function timedAuthentication(gateway: Gateway, metrics: GatewayMetrics) {
  const inner = authenticate(gateway.authenticator)
  return function authenticateTimed(req: Request, res: Response, next: NextFunction): void {
    const end = metrics.verifySeconds.startTimer()
    inner(req, res, (err?: unknown) => {
      end({ result: err === undefined ? 'ok' : isC7AuthError(err) ? err.code : 'error' })
      next(err)
    })
  }
}

function countRefusals(metrics: GatewayMetrics) {
  return function countRefusal(
    err: unknown,
    _req: Request,
    _res: Response,
    next: NextFunction,
  ): void {
    metrics.requests.inc({
      outcome: 'refused',
      code: isC7AuthError(err) ? err.code : 'C7AUTH_INTERNAL',
      tenant: 'none',
    })
    next(err)
  }
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

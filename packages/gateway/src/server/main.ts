import { pino } from 'pino'
import { createGatewayServer } from './create-server.js'
import { tracingFromEnv } from './otel.js'
import { startWithRetry } from './startup-retry.js'
import { configOrExit } from './config-or-exit.js'

// The one place that reads process.env: the bin.
const config = configOrExit('c7auth-gateway', process.env)

const logger = pino({ level: config.logLevel })
const tracing = await tracingFromEnv(process.env).catch((err: unknown) => {
  logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'tracing setup failed')
  process.exit(2)
})
if (tracing) logger.info('OpenTelemetry tracing on (OTLP exporter from the OTEL_* variables)')
// Started together with the engine (compose, Kubernetes), the engine may not answer yet: wait.
const server = await startWithRetry(
  () =>
    createGatewayServer({
      config,
      logger,
      ...(tracing ? { tracer: tracing.tracer } : {}),
    }),
  {
    onRetry: ({ attempt, delayMs }) =>
      logger.warn({ attempt, delayMs }, 'engine not reachable yet; retrying'),
  },
).catch((err: unknown) => {
  logger.fatal({ err }, 'c7auth gateway failed to start')
  process.exit(1)
})

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    server
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
  })
}

import { pino } from 'pino'
import { ConfigError, loadConfigFromEnv } from '@c7auth/core'
import { createGatewayServer } from './create-server.js'
import { startWithRetry } from './startup-retry.js'

// The one place that reads process.env: the bin.
let config
try {
  config = loadConfigFromEnv(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`c7auth-gateway: ${err.message}\n`)
    process.exit(2)
  }
  throw err
}

const logger = pino({ level: config.logLevel })
// Started together with the engine (compose, Kubernetes), the engine may not answer yet: wait.
const server = await startWithRetry(() => createGatewayServer({ config, logger }), {
  onRetry: ({ attempt, delayMs }) =>
    logger.warn({ attempt, delayMs }, 'engine not reachable yet; retrying'),
}).catch((err: unknown) => {
  logger.fatal({ err }, 'c7auth gateway failed to start')
  process.exit(1)
})

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  })
}

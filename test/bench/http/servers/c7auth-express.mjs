// c7auth mounted in Express (compiled dist, see ../dist-hooks.mjs); config from the C7AUTH_* env.
import express from 'express'
import { pino } from 'pino'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import { authenticate, engineProxy, errorHandler } from '@c7auth/gateway/express'

const config = loadConfigFromEnv(process.env)
const gateway = createGateway({ config, logger: pino({ level: 'warn' }) })
await gateway.start()
const app = express()
app.disable('x-powered-by')
app.use('/engine-rest', authenticate(gateway.authenticator), engineProxy(gateway))
app.use(errorHandler())
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000

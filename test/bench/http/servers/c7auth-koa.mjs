// c7auth mounted in Koa (compiled dist, see ../dist-hooks.mjs); config from the C7AUTH_* env.
import Koa from 'koa'
import { pino } from 'pino'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import { authenticate, engineProxy, errorHandler } from '@c7auth/gateway/koa'

const config = loadConfigFromEnv(process.env)
const gateway = createGateway({ config, logger: pino({ level: 'warn' }) })
await gateway.start()
const app = new Koa()
app.use(errorHandler())
app.use(authenticate(gateway.authenticator))
app.use(engineProxy(gateway, { mountPath: '/engine-rest' }))
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000

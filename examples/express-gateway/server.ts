import { loadConfigFromEnv } from '@c7auth/core'
import { createApp } from './app.js'

const config = loadConfigFromEnv(process.env)
const { app, gateway } = createApp(config)
console.log(await gateway.start())
const server = app.listen(config.gateway.port, config.gateway.host, () => {
  console.log(
    `express gateway on http://${config.gateway.host}:${config.gateway.port}${config.gateway.basePath}`,
  )
})
process.once('SIGTERM', () => server.close(() => void gateway.close()))

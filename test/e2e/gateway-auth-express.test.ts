import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import {
  authenticate,
  errorHandler,
  getAuth,
  requireScopes,
  requireTenant,
} from '@c7auth/gateway/express'
import { defineAuthContract } from './gateway-auth-contract.js'

defineAuthContract('Express', async (authenticator) => {
  const app = express()
  app.use(authenticate(authenticator))
  app.get('/whoami', (req, res) => {
    res.json(getAuth(req))
  })
  app.get('/admin', requireScopes('engine:admin'), (req, res) => {
    res.json(getAuth(req))
  })
  app.get('/tenants/:tenantId/ping', requireTenant(), (_req, res) => {
    res.json({ ok: true })
  })
  app.use(errorHandler())
  const server = createServer({ maxHeaderSize: 80 * 1024 }, app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})

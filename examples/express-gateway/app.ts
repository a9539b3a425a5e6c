import express from 'express'
import type { C7AuthConfig } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import {
  authenticate,
  engineProxy,
  errorHandler,
  getAuth,
  requireScopes,
} from '@c7auth/gateway/express'

/** An Express app: engine-rest behind c7auth, plus one route of your own guarded by a scope. */
export function createApp(config: C7AuthConfig) {
  const gateway = createGateway({ config })
  const app = express()
  const auth = authenticate(gateway.authenticator)
  app.get('/me', auth, requireScopes('engine:read'), (req, res) => {
    const { userId, kind, tenantIds } = getAuth(req)!
    res.json({ userId, kind, tenantIds })
  })
  app.use(config.gateway.basePath, engineProxy(gateway)) // authenticates by itself
  app.use(errorHandler())
  return { app, gateway }
}

// Compiled by test/pack/check.mjs in a project outside the workspace that installed the packed
// tarballs: the shipped declarations must type-check under `strict` with `skipLibCheck: false`.
// Koa has its own project (consumer-koa.ts): @types/koa does not type-check next to Express 5.3,
// whose content-disposition 2 ships types that @types/koa then resolves by mistake.
import express from 'express'
import { Client } from 'camunda-external-task-client-js'
import { loadConfigFromEnv, createTokenClient, isC7AuthError } from '@c7auth/core'
import type { C7AuthConfig, Principal, TokenClient } from '@c7auth/core'
import { createGateway, createGatewayServer, createAuthenticator } from '@c7auth/gateway'
import type { Gateway, GatewayServer } from '@c7auth/gateway'
import * as forExpress from '@c7auth/gateway/express'
import { bearerAuthInterceptor, createTenantWorkers } from '@c7auth/worker'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'

export async function consumer(env: Record<string, string | undefined>): Promise<void> {
  const config: C7AuthConfig = loadConfigFromEnv(env)
  const server: GatewayServer = await createGatewayServer({ config })
  await server.close()

  const gateway: Gateway = createGateway({ config })
  const app = express()
  app.use('/engine-rest', forExpress.engineProxy(gateway))
  app.get('/me', forExpress.authenticate(gateway.authenticator), (req, res) => {
    const who: Principal | undefined = forExpress.getAuth(req)
    res.json({ user: who?.userId })
  })

  const tokens: TokenClient = createTokenClient({
    issuer: 'https://idp.example',
    clientId: 'acme-worker',
    clientSecret: 'secret',
  })
  const client = new Client({
    baseUrl: 'https://gateway.example/engine-rest',
    interceptors: bearerAuthInterceptor(tokens),
    autoPoll: false,
  })
  client.stop()
  createTenantWorkers({ config: loadConfigFromEnv(env, { role: 'worker' }) })
  void createAuthenticator

  const idp = await startTestIdp({ clients: [{ clientId: 'app', clientSecret: 's' }] })
  const engine = await startEngineSimulator()
  await Promise.all([idp.close(), engine.close()])
  try {
    loadConfigFromEnv({})
  } catch (err) {
    if (!isC7AuthError(err)) throw err
  }
}

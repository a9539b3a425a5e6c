/**
 * The standalone gateway started before its engine waits for it (compose, Kubernetes) instead of
 * exiting, and gives up at once on failures that waiting cannot fix.
 */
import { createServer, connect } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGatewayServer } from '../../packages/gateway/src/internal.js'
import { startWithRetry } from '../../packages/gateway/src/server/startup-retry.js'
import type { GatewayServer } from '../../packages/gateway/src/internal.js'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((r) => probe.close(() => r()))
  return port
}

/** A TCP forwarder on `port` to the simulator: the engine "coming up" on its configured address. */
async function forward(port: number, target: URL): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname)
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return server
}

describe('gateway startup waits for the engine', () => {
  let idp: TestIdp
  let engine: EngineSimulator
  beforeAll(async () => {
    idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: 'acme-secret' }] })
    engine = await startEngineSimulator({ adminUser: { id: 'admin', password: 'admin-secret' } })
  })
  afterAll(async () => {
    await engine?.close()
    await idp?.close()
  })

  function env(engineUrl: string, adminPassword = 'admin-secret'): Record<string, string> {
    return {
      C7AUTH_TENANTS: 'acme',
      C7AUTH_LOG_LEVEL: 'silent',
      C7AUTH_ENGINE_URL: engineUrl,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: 'admin',
      C7AUTH_ENGINE_ADMIN_PASSWORD: adminPassword,
      C7AUTH_BRIDGE_SECRET: 'startup-retry-bridge-secret-0123456789',
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_GATEWAY_PORT: '0',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
    }
  }

  it('retries while the engine refuses connections, then serves', async () => {
    const port = await freePort()
    const config = loadConfigFromEnv(env(`http://127.0.0.1:${port}/engine-rest`))
    let forwarding: Promise<Server> | undefined
    const retries: number[] = []
    let server: GatewayServer | undefined
    try {
      const started = await startWithRetry(() => createGatewayServer({ config }), {
        initialDelayMs: 200,
        onRetry: ({ attempt }) => {
          retries.push(attempt)
          // the engine comes up after the first refused attempt
          forwarding ??= forward(port, new URL(engine.url))
        },
      })
      server = started
      expect(retries.length).toBeGreaterThanOrEqual(1)
      expect(started.bootstrap.engineAuth).toBe('bridge')
      const ready = await fetch(`${started.url}/healthz`)
      expect(ready.status).toBe(200)
    } finally {
      await server?.close()
      const forwarder = await forwarding
      await new Promise<void>((r) => (forwarder ? forwarder.close(() => r()) : r()))
    }
  }, 60_000)

  it('does not retry a failure waiting cannot fix (wrong admin password)', async () => {
    const config = loadConfigFromEnv(env(engine.url, 'not-the-password'))
    let retries = 0
    await expect(
      startWithRetry(() => createGatewayServer({ config }), {
        initialDelayMs: 50,
        onRetry: () => {
          retries++
        },
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^C7AUTH_/) })
    expect(retries).toBe(0)
  }, 30_000)
})

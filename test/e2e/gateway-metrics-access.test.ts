import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfigFromEnv } from '@c7auth/core'
import { createGatewayServer } from '@c7auth/gateway'
import type { GatewayServer } from '@c7auth/gateway'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'

const TOKEN = 'metrics-token-0123456789abcdef-0123456789'

/** `/metrics` behind a bearer token, and on a listener of its own (issue 10 item 8). */
describe('standalone gateway /metrics access', () => {
  let idp: TestIdp
  let engine: EngineSimulator
  let env: Record<string, string>
  const servers: GatewayServer[] = []

  beforeAll(async () => {
    idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: 's', tenant: 'acme' }] })
    engine = await startEngineSimulator({ adminUser: { id: 'admin', password: 'admin-secret' } })
    env = {
      C7AUTH_TENANTS: 'acme',
      C7AUTH_LOG_LEVEL: 'silent',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_ADMIN_USER: 'admin',
      C7AUTH_ENGINE_ADMIN_PASSWORD: 'admin-secret',
      C7AUTH_BRIDGE_SECRET: 'metrics-test-bridge-secret-0123456789abcdef',
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_GATEWAY_PORT: '0',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
    }
  })

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
    await Promise.all([idp?.close(), engine?.close()])
  })

  async function start(extra: Record<string, string>): Promise<GatewayServer> {
    const server = await createGatewayServer({ config: loadConfigFromEnv({ ...env, ...extra }) })
    servers.push(server)
    return server
  }

  it('is open on the gateway listener by default', async () => {
    const server = await start({})
    expect(server.metricsUrl).toBe(`${server.url}/metrics`)
    const res = await fetch(server.metricsUrl)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('c7auth_')
  })

  it('answers only the configured bearer token when C7AUTH_GATEWAY_METRICS_TOKEN is set', async () => {
    const server = await start({ C7AUTH_GATEWAY_METRICS_TOKEN: TOKEN })
    const none = await fetch(server.metricsUrl)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /)
    expect(await none.text()).not.toContain('c7auth_')
    for (const wrong of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
    ]) {
      const res = await fetch(server.metricsUrl, { headers: { authorization: wrong } })
      expect(res.status, wrong.slice(0, 8)).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="c7auth-metrics", error="invalid_token"/,
      )
      const body = await res.text()
      expect(JSON.parse(body)).toMatchObject({ code: 'C7AUTH_TOKEN_INVALID' })
      expect(body).not.toContain(TOKEN.slice(0, 12))
    }
    const ok = await fetch(server.metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('c7auth_')
  })

  it('moves /metrics to a listener of its own with C7AUTH_GATEWAY_METRICS_PORT', async () => {
    const server = await start({
      C7AUTH_GATEWAY_METRICS_PORT: '0',
      C7AUTH_GATEWAY_METRICS_TOKEN: TOKEN,
    })
    expect(server.metricsUrl.startsWith(server.url)).toBe(false)
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    // no longer on the gateway's listener
    const gone = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(gone.status).toBe(404)
    const missing = await fetch(server.metricsUrl)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="c7auth-metrics"')
    expect(await missing.json()).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING' })
    const ok = await fetch(server.metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('c7auth_')
    // the metrics listener serves nothing else, refused through the one error renderer
    const other = await fetch(server.metricsUrl.replace('/metrics', '/healthz'))
    expect(other.status).toBe(404)
    expect(other.headers.get('content-type')).toBe('application/json')
    expect(await other.json()).toMatchObject({ code: 'C7AUTH_NOT_FOUND' })
  })

  it('refuses a short token, naming the key and never the value', () => {
    let error: unknown
    try {
      loadConfigFromEnv({ ...env, C7AUTH_GATEWAY_METRICS_TOKEN: 'short-secret' })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues).toEqual([
      'C7AUTH_GATEWAY_METRICS_TOKEN: must be at least 32 characters long',
    ])
    expect(JSON.stringify(error)).not.toContain('short-secret')
  })
})

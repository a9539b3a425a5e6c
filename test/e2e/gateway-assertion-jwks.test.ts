import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Koa from 'koa'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { pino } from 'pino'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFromEnv } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import {
  ASSERTION_TYPE,
  createGateway,
  createGatewayServer,
} from '../../packages/gateway/src/internal.js'
import type { Gateway, GatewayServer } from '@c7auth/gateway'
import * as gwExpress from '@c7auth/gateway/express'
import * as gwKoa from '@c7auth/gateway/koa'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'

/**
 * Where the engine plugin gets the gateway's keys: the standalone server, Express and Koa serve the
 * same JWKS, unauthenticated, outside the engine-rest mount; the keys verify what the gateway
 * sends upstream. Other modes publish nothing.
 */
const pem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString()
const NEXT_PUBLIC = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString()

async function get(url: string) {
  const r = await request(url)
  const text = await r.body.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: r.statusCode, headers: r.headers, json }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('assertion keys (JWKS) endpoint', () => {
  let idp: TestIdp
  let engine: EngineSimulator
  let env: Record<string, string>

  beforeAll(async () => {
    idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: 's', tenant: 'acme' }] })
    engine = await startEngineSimulator({})
    env = {
      C7AUTH_TENANTS: 'acme',
      C7AUTH_LOG_LEVEL: 'silent',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_AUTH: 'assertion',
      C7AUTH_ENGINE_ASSERTION_ISSUER: 'https://gw.test',
      C7AUTH_ENGINE_ASSERTION_AUDIENCE: 'engine-1',
      C7AUTH_ENGINE_ASSERTION_KEY: pem(),
      C7AUTH_ENGINE_ASSERTION_KEY_ID: 'current',
      C7AUTH_ENGINE_ASSERTION_EXTRA_KEYS: NEXT_PUBLIC,
      C7AUTH_GATEWAY_HOST: '127.0.0.1',
      C7AUTH_GATEWAY_PORT: '0',
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
    }
  })
  afterAll(async () => {
    await engine?.close()
    await idp?.close()
  })

  it('the standalone server serves the signing and the extra key, unauthenticated', async () => {
    const server: GatewayServer = await createGatewayServer({
      config: loadConfigFromEnv({ ...env, C7AUTH_ENGINE_ASSERTION_JWKS_PATH: '/keys/engine.json' }),
      logger: pino({ level: 'silent' }),
    })
    try {
      const r = await get(`${server.url}/keys/engine.json`)
      expect(r.status).toBe(200)
      expect(r.headers['content-type']).toMatch(/application\/json/)
      const keys = (r.json as { keys: { kid: string; kty: string; alg: string }[] }).keys
      expect(keys.map((k) => [k.kid, k.kty, k.alg])).toEqual([
        ['current', 'RSA', 'RS256'],
        [expect.any(String), 'EC', 'ES256'],
      ])
      expect(JSON.stringify(keys)).not.toMatch(/"d":/)
      // engine-rest stays behind authentication
      expect((await get(`${server.url}/engine-rest/task`)).status).toBe(401)
    } finally {
      await server.close()
    }
  })

  it('Express and Koa serve the same document; it verifies what the gateway sends upstream', async () => {
    const gateway: Gateway = createGateway({
      config: loadConfigFromEnv(env),
      logger: pino({ level: 'silent' }),
    })
    const ex = express()
    ex.get('/.well-known/jwks.json', gwExpress.engineJwks(gateway))
    const koa = new Koa()
    koa.use(gwKoa.engineJwks(gateway))
    koa.use((ctx) => {
      ctx.status = 418
    })
    const servers = [createServer(ex), createServer(koa.callback())]
    try {
      const [exUrl, koaUrl] = await Promise.all(servers.map(listen))
      const fromExpress = await get(`${exUrl}/.well-known/jwks.json`)
      const fromKoa = await get(`${koaUrl}/.well-known/jwks.json`)
      expect(fromExpress.status).toBe(200)
      expect(fromKoa.json).toEqual(fromExpress.json)
      expect(fromKoa.json).toEqual(gateway.assertionJwks)
      // Koa passes every other request on.
      expect((await get(`${koaUrl}/other`)).status).toBe(418)

      // Capture the upstream Authorization the proxy sends and verify it with the served keys.
      const principal: Principal = await gateway.authenticator.verify(
        await idp.issueUserToken({ sub: 'alice', clientId: 'acme' }),
      )
      const seen: string[] = []
      const proxy = createServer((req, res) => {
        void gateway.handle(req, res, principal, {
          mountPath: '/engine-rest',
          // as the Express adapter passes it: relative to the mount
          url: (req.url ?? '/').replace(/^\/engine-rest/, ''),
        })
      })
      servers.push(proxy)
      const proxyUrl = await listen(proxy)
      // The simulator knows no assertions and answers 401 (the gateway says 502); what it
      // received is what counts here.
      await request(`${proxyUrl}/engine-rest/task`).then((r) => r.body.dump())
      for (const r of engine.requests) {
        const auth = r.headers.authorization
        if (typeof auth === 'string' && auth.startsWith('Bearer ')) seen.push(auth.slice(7))
      }
      expect(seen.length).toBeGreaterThan(0)
      const { payload } = await jwtVerify(seen[0]!, createLocalJWKSet(fromExpress.json as never), {
        issuer: 'https://gw.test',
        audience: 'engine-1',
        typ: ASSERTION_TYPE,
      })
      expect(payload.sub).toBe(principal.userId)
      expect(payload.tenants).toEqual(['acme'])
    } finally {
      for (const s of servers) s.close()
      await gateway.close()
    }
  })

  it('answers 404 in every other mode', async () => {
    const gateway = createGateway({
      config: loadConfigFromEnv({
        ...env,
        C7AUTH_ENGINE_AUTH: 'service',
        C7AUTH_ENGINE_SERVICE_USER: 'svc',
        C7AUTH_ENGINE_SERVICE_PASSWORD: 'pw',
      }),
      logger: pino({ level: 'silent' }),
    })
    expect(gateway.assertionJwks).toBeUndefined()
    const ex = express()
    ex.get('/.well-known/jwks.json', gwExpress.engineJwks(gateway))
    const server = createServer(ex)
    try {
      const url = await listen(server)
      const r = await get(`${url}/.well-known/jwks.json`)
      expect(r.status).toBe(404)
      expect(r.json).toMatchObject({ code: 'C7AUTH_NOT_FOUND' })
    } finally {
      server.close()
      await gateway.close()
    }
  })
})

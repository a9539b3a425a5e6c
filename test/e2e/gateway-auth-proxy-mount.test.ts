/**
 * Mounting the engine proxy in an app: the proxy authenticates with the gateway's own
 * authenticator (the harness mounts Express with `engineProxy(gateway)` alone), and a principal
 * from a plain JWT check, which maps no tenant, never reaches the engine (fail closed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import express from 'express'
import Koa from 'koa'
import { ConfigError } from '@c7auth/core'
import { createAuthenticator, createGateway } from '@c7auth/gateway'
import type { Authenticator } from '@c7auth/gateway'
import * as gwExpress from '@c7auth/gateway/express'
import * as gwKoa from '@c7auth/gateway/koa'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { listen } from './gateway-auth-idioms.js'

describe('engine proxy mount', () => {
  let h: Harness
  const closers: (() => Promise<void>)[] = []
  beforeAll(async () => {
    h = await startHarness({ mode: 'service', framework: 'express' })
  })
  afterAll(async () => {
    for (const c of closers) await c()
    await h?.close()
  })

  /** `GET /engine-rest/process-definition/count` with `token` through each app, on its own port. */
  async function countThrough(apps: Parameters<typeof listen>[0][], token: string) {
    const answers: Response[] = []
    for (const app of apps) {
      const server = await listen(app)
      closers.push(server.close)
      answers.push(
        await fetch(`${server.url}/engine-rest/process-definition/count`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      )
    }
    return answers
  }

  it('authenticates by itself when mounted alone (Express, one line)', async () => {
    const token = await h.appToken('appA')
    const ok = await h.call(token, 'GET', '/process-definition/count')
    expect(ok.status).toBe(200)
    const missing = await h.call(undefined, 'GET', '/process-definition/count', undefined, {
      'x-request-id': 'mount-1',
    })
    expect(missing.status).toBe(401)
    expect(missing.headers['content-type']).toBe('application/json')
    expect(missing.headers['x-request-id']).toBe('mount-1')
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="c7auth"')
    expect(missing.json).toMatchObject({ code: 'C7AUTH_TOKEN_MISSING' })
  })

  it('refuses (403) a plain JWT principal in front of the proxy, in Express and Koa', async () => {
    const plain = { issuer: h.idp.issuer, audience: h.idp.defaultAudience }
    const ex = express()
    ex.use('/engine-rest', gwExpress.authenticate(plain), gwExpress.engineProxy(h.gateway))
    const koa = new Koa()
    koa.use(gwKoa.errorHandler())
    koa.use(gwKoa.authenticate(plain))
    koa.use(gwKoa.engineProxy(h.gateway))
    const before = h.events.upstream
    const token = await h.appToken('appA')
    for (const res of await countThrough([ex, koa.callback()], token)) {
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(await res.json()).toMatchObject({ code: 'C7AUTH_TENANT_UNKNOWN' })
    }
    expect(h.events.upstream).toBe(before)
  })

  it('answers through authenticateRequest when the authenticator has no lookup, in Express and Koa', async () => {
    const real = h.gateway.authenticator
    let asked = 0
    // an authenticator of one's own (or from an older build): no `lookup`
    const own = {
      realm: real.realm,
      mapsTenants: true,
      authenticateRequest: (req: Parameters<Authenticator['authenticateRequest']>[0]) => {
        asked++
        return real.authenticateRequest(req)
      },
    } as unknown as Authenticator
    const gateway = { handle: h.gateway.handle.bind(h.gateway), authenticator: own }
    const ex = express()
    ex.use('/engine-rest', gwExpress.engineProxy(gateway))
    const koa = new Koa()
    koa.use(gwKoa.engineProxy(gateway))
    const token = await h.appToken('appA')
    for (const res of await countThrough([ex, koa.callback()], token)) {
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ count: expect.any(Number) })
    }
    expect(asked).toBe(2)
  })

  it('will not compose a gateway around an authenticator without tenants', () => {
    const plain = createAuthenticator({
      issuers: [{ issuer: h.idp.issuer, audience: h.idp.defaultAudience }],
    })
    try {
      expect(() => createGateway({ config: h.config, authenticator: plain })).toThrow(ConfigError)
    } finally {
      plain.close()
    }
  })
})

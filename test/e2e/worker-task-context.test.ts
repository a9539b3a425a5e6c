/**
 * ctx.fetch with the core token client at the testkit IdP, calling a downstream API that verifies
 * every app token (signature against the IdP's current keys, issuer, audience) on a real socket.
 */
import { createServer } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createLocalJWKSet, jwtVerify } from 'jose'
import type { JSONWebKeySet, JWTPayload } from 'jose'
import { Client, Variables } from 'camunda-external-task-client-js'
import type { Task } from 'camunda-external-task-client-js'
import { TokenEndpointError, createTokenClient } from '@c7auth/core'
import { createTaskContext } from '@c7auth/worker'
import type { WorkerEvent } from '@c7auth/worker'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { recordTokens } from './worker-token-recorder.js'
import type { RecordedTokenSource } from './worker-token-recorder.js'

const BILLING = 'urn:c7auth:test:billing'
/** An API the IdP issues tokens for, which the billing API does not accept. */
const CRM = 'urn:c7auth:test:crm'
const SECRET = 'acme-worker-secret'

/** One call the billing API received. */
interface ApiCall {
  headers: IncomingHttpHeaders
  body: string
  status: number
  claims: JWTPayload | undefined
}

let idp: TestIdp
let url = ''
const calls: ApiCall[] = []
/** The billing API: accepts tokens for its audience signed with a key the IdP publishes now. */
const api = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk: Buffer) => (body += chunk.toString()))
  req.on('end', () => {
    void (async () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      let claims: JWTPayload | undefined
      try {
        const keys = (await (await fetch(idp.jwksUri)).json()) as JSONWebKeySet
        if (token) {
          const verified = await jwtVerify(token, createLocalJWKSet(keys), {
            issuer: idp.issuer,
            audience: BILLING,
          })
          claims = verified.payload
        }
      } catch {
        claims = undefined
      }
      const status = claims ? 200 : 401
      calls.push({ headers: req.headers, body, status, claims })
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: status === 200 }))
    })()
  })
})

beforeAll(async () => {
  idp = await startTestIdp({
    clients: [{ clientId: 'acme-worker', clientSecret: SECRET, tenant: 'acme' }],
    audiences: [{ audience: BILLING, scopes: ['billing:charge'] }, { audience: CRM }],
  })
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/charges`
})
afterAll(async () => {
  api.closeAllConnections()
  await new Promise((resolve) => api.close(resolve))
  await idp?.close()
})

const cleanups: Array<() => unknown> = []
beforeEach(() => {
  calls.length = 0
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function acmeTokens(clientSecret = SECRET): RecordedTokenSource {
  const tokens = recordTokens(
    createTokenClient({ tokenEndpoint: idp.tokenEndpoint, clientId: 'acme-worker', clientSecret }),
  )
  cleanups.push(() => tokens.close())
  return tokens
}

function taskWith(variables: Record<string, { value: unknown; type: string }>): Task {
  return { id: 't1', tenantId: 'acme', variables: new Variables(variables) } as unknown as Task
}
/** Not called by ctx.fetch; a real client's task service all the same. */
const { taskService } = new Client({ baseUrl: 'http://127.0.0.1:1/engine-rest', autoPoll: false })
const alice = {
  c7authActingUser: {
    type: 'String',
    value: JSON.stringify({ userId: 'alice', kind: 'user', clientId: 'portal' }),
  },
}

describe('ctx.fetch', () => {
  it('sends the app token for the requested audience plus tenant and acting-user headers', async () => {
    const tokenSource = acmeTokens()
    const ctx = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource,
    })
    const res = await ctx.fetch(url, {
      method: 'POST',
      body: 'x=1',
      audience: BILLING,
      scope: 'billing:charge',
      headers: { 'x-c7auth-acting-user': 'mallory', 'x-custom': 'kept' },
    })
    expect(res.status).toBe(200)
    expect(tokenSource.requests).toEqual([{ audience: BILLING, scope: 'billing:charge' }])
    expect(calls).toHaveLength(1)
    expect(calls[0]?.headers).toMatchObject({
      authorization: `Bearer ${tokenSource.issued[0]}`,
      'x-c7auth-tenant': 'acme',
      'x-c7auth-acting-user': 'alice',
      'x-custom': 'kept',
    })
    expect(calls[0]?.body).toBe('x=1')
    expect(calls[0]?.claims).toMatchObject({ aud: BILLING, client_id: 'acme-worker' })
    expect(String(calls[0]?.claims?.scope).split(' ')).toContain('billing:charge')
  })

  it('uses configured header names, omits disabled ones, and never forwards a spoofed acting user', async () => {
    const ctx = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource: acmeTokens(),
      downstream: { tenantHeader: 'X-Org', actingUserHeader: 'X-On-Behalf-Of' },
    })
    await ctx.fetch(url, { audience: BILLING, headers: { 'X-On-Behalf-Of': 'mallory' } })
    const off = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource: acmeTokens(),
      downstream: { tenantHeader: false, actingUserHeader: false },
    })
    await off.fetch(url, { audience: BILLING })
    expect(calls.map((c) => c.status)).toEqual([200, 200])
    expect(calls[0]?.headers['x-org']).toBe('acme')
    expect(calls[0]?.headers['x-on-behalf-of']).toBeUndefined()
    expect(calls[1]?.headers['x-c7auth-tenant']).toBeUndefined()
    expect(calls[1]?.headers['x-c7auth-acting-user']).toBeUndefined()
  })

  it('after a 401 invalidates that token and retries exactly once with a fresh one', async () => {
    const tokenSource = acmeTokens()
    // The worker holds a billing token; then the IdP rotates its keys, dropping the one that
    // signed it, so the API refuses it and accepts a fresh one.
    await tokenSource.getToken({ audience: BILLING })
    await idp.rotateKeys({ dropOld: true })
    const events: WorkerEvent[] = []
    const ctx = createTaskContext({
      task: taskWith(alice),
      taskService,
      tenant: 'acme',
      tokenSource,
      onEvent: (e) => events.push(e),
    })
    const res = await ctx.fetch(url, { method: 'PUT', body: '{"a":1}', audience: BILLING })
    expect(res.status).toBe(200)
    const [tok1, tok2] = tokenSource.issued
    expect(calls.map((c) => [c.headers.authorization, c.body, c.status])).toEqual([
      [`Bearer ${tok1}`, '{"a":1}', 401],
      [`Bearer ${tok2}`, '{"a":1}', 200],
    ])
    expect(tokenSource.invalidated).toEqual([tok1])
    expect(events).toEqual([
      {
        type: 'downstream:unauthorized',
        tenant: 'acme',
        retrying: true,
        origin: new URL(url).origin,
      },
    ])

    // Tokens for an API the billing API does not accept: refused, retried once, then returned.
    const refused = await ctx.fetch(url, { audience: CRM })
    expect(refused.status).toBe(401)
    expect(calls).toHaveLength(4)
    const crm = tokenSource.issued[2]
    expect(calls[2]?.headers.authorization).toBe(`Bearer ${crm}`)
    expect(calls[3]?.headers.authorization).toBe(`Bearer ${tokenSource.issued[3]}`)
    expect(tokenSource.invalidated).toEqual([tok1, crm])
    expect(events.at(-1)).toMatchObject({ type: 'downstream:unauthorized', retrying: false })
  })

  it('does not replay a streamed body after a 401', async () => {
    const tokenSource = acmeTokens()
    await tokenSource.getToken({ audience: BILLING })
    // The held token's key is dropped: a retry with a fresh token would be accepted.
    await idp.rotateKeys({ dropOld: true })
    const ctx = createTaskContext({ task: taskWith({}), taskService, tenant: 'acme', tokenSource })
    const body = Readable.toWeb(Readable.from(['chunk'])) as ReadableStream
    const res = await ctx.fetch(url, {
      method: 'POST',
      body,
      duplex: 'half',
      audience: BILLING,
    } as RequestInit)
    expect(res.status).toBe(401)
    expect(calls).toHaveLength(1)
    expect(calls[0]?.body).toBe('chunk')
    expect(tokenSource.invalidated).toEqual([tokenSource.issued[0]])
  })

  it('refuses plain http off loopback unless allowed, before asking for a token', async () => {
    const tokenSource = acmeTokens()
    // There is no billing.example.com: this fetch notes the URL and delivers to the local API.
    const sent: string[] = []
    const delivering: typeof fetch = async (input, init) => {
      sent.push(String(input))
      return fetch(url, init)
    }
    const strict = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource,
      fetch: delivering,
    })
    await expect(
      strict.fetch('http://billing.example.com/charges', { audience: BILLING }),
    ).rejects.toMatchObject({ code: 'C7AUTH_CONFIG_INVALID' })
    expect(tokenSource.requests).toEqual([])
    const lenient = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource,
      fetch: delivering,
      downstream: { allowInsecureHttp: true },
    })
    await lenient.fetch('http://billing.example.com/charges', { audience: BILLING })
    await strict.fetch('https://billing.example.com/charges', { audience: BILLING })
    expect(sent).toEqual([
      'http://billing.example.com/charges',
      'https://billing.example.com/charges',
    ])
    expect(calls.map((c) => c.status)).toEqual([200, 200])
  })

  it('fails the call without sending it when no token can be obtained', async () => {
    // The IdP refuses the client (wrong secret): no token at all.
    const tokenSource = acmeTokens('not-the-secret')
    const events: WorkerEvent[] = []
    const ctx = createTaskContext({
      task: taskWith({}),
      taskService,
      tenant: 'acme',
      tokenSource,
      onEvent: (e) => events.push(e),
    })
    const failure = ctx.fetch(url, { audience: BILLING })
    await expect(failure).rejects.toBeInstanceOf(TokenEndpointError)
    await expect(failure).rejects.toMatchObject({ oauthError: 'invalid_client' })
    expect(calls).toHaveLength(0)
    expect(events[0]).toMatchObject({ type: 'token:failed', tenant: 'acme', target: 'downstream' })
  })
})

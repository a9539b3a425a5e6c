/**
 * The HTTP contract of `authenticate()` and its guards, run unchanged against the Express and the
 * Koa adapter (`gateway-auth-express.test.ts`, `gateway-auth-koa.test.ts`). Tokens come from the
 * real testkit IdP (client credentials over HTTP, in-process user tokens, and hostile tokens signed
 * with its real key), plus attacker-signed tokens minted here.
 */
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { createPublicKey } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { requestToken, startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'
import { createAuthenticator } from '@c7auth/gateway'
import type { Authenticator, AuthenticatorOptions } from '@c7auth/gateway'

/** A started app: it must serve the routes below on 127.0.0.1 with `maxHeaderSize` ≥ 80 KB. */
export interface AuthApp {
  readonly port: number
  close(): Promise<void>
}

/**
 * Builds an app around an authenticator with the adapter's `errorHandler`, `authenticate`, and:
 * - `GET /whoami` → 200 JSON `getAuth(…)`
 * - `GET /admin` → `requireScopes('engine:admin')`, then 200 JSON `getAuth(…)`
 * - `GET /tenants/:tenantId/ping` → `requireTenant()` (the route parameter), then 200 `{ ok: true }`
 */
export type StartAuthApp = (authenticator: Authenticator) => Promise<AuthApp>

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** A raw HTTP/1.1 request over a socket, so header repetition and size are exactly as written. */
function raw(
  port: number,
  path: string,
  headers: readonly [string, string][],
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', reject)
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      const head = text.slice(0, split).split('\r\n')
      const status = Number(head[0]?.split(' ')[1])
      const hs: Record<string, string> = {}
      for (const line of head.slice(1)) {
        const i = line.indexOf(':')
        hs[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
      }
      let body = text.slice(split + 4)
      if (hs['transfer-encoding'] === 'chunked') body = unchunk(body)
      resolve({ status, headers: hs, body })
    })
    const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
    for (const [k, v] of headers) lines.push(`${k}: ${v}`)
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}

function unchunk(body: string): string {
  let out = ''
  let rest = body
  for (;;) {
    const nl = rest.indexOf('\r\n')
    const size = parseInt(rest.slice(0, nl), 16)
    if (!size) return out
    out += rest.slice(nl + 2, nl + 2 + size)
    rest = rest.slice(nl + 2 + size + 2)
  }
}

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const nowSec = () => Math.floor(Date.now() / 1000)

/** Registers the contract suite for one adapter. */
export function defineAuthContract(adapter: string, start: StartAuthApp): void {
  describe(`${adapter} authentication contract`, () => {
    let idp: TestIdp
    let auth: Authenticator
    let app: AuthApp
    let acmeToken: string
    const extra: { app: AuthApp; auth: Authenticator }[] = []

    const options = (): AuthenticatorOptions => ({
      issuers: [{ issuer: idp.issuer, audience: idp.defaultAudience }],
      tenants: ['acme', 'globex'],
      requireTypAtJwt: true,
      realm: 'engine',
    })

    beforeAll(async () => {
      idp = await startTestIdp({
        clients: [
          { clientId: 'acme', clientSecret: 'acme-secret', scope: 'engine:read engine:write' },
          { clientId: 'globex', clientSecret: 'globex-secret' },
          { clientId: 'stranger', clientSecret: 'stranger-secret' },
        ],
      })
      auth = createAuthenticator(options())
      app = await start(auth)
      acmeToken = await clientToken('acme', 'acme-secret', 'engine:read engine:write')
    })
    afterAll(async () => {
      for (const e of extra) {
        await e.app.close()
        e.auth.close()
      }
      await app.close()
      auth.close()
      await idp.close()
    })

    async function clientToken(id: string, secret: string, scope = 'engine:read'): Promise<string> {
      const res = await requestToken(
        idp.tokenEndpoint,
        { grant_type: 'client_credentials', scope },
        { basic: { clientId: id, clientSecret: secret } },
      )
      expect(res.status).toBe(200)
      return res.body.access_token as string
    }

    const get = (path: string, token?: string, scheme = 'Bearer') =>
      raw(app.port, path, token === undefined ? [] : [['Authorization', `${scheme} ${token}`]])

    function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
      return {
        iss: idp.issuer,
        aud: idp.defaultAudience,
        sub: 'acme',
        azp: 'acme',
        client_id: 'acme',
        scope: 'engine:read',
        iat: nowSec(),
        exp: nowSec() + 300,
        ...over,
      }
    }

    /** Asserts the Camunda-shaped error body, its challenge, and that nothing leaks. */
    function expectError(
      res: RawResponse,
      status: number,
      code: string,
      oauthError: string | null,
      token?: string,
    ) {
      expect(res.status).toBe(status)
      // Exactly as the engine answers: no charset, and never an ETag on a refusal.
      expect(res.headers['content-type']).toBe('application/json')
      expect(res.headers.etag).toBeUndefined()
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
      const body = JSON.parse(res.body) as Record<string, unknown>
      expect(Object.keys(body).sort()).toEqual(['code', 'message', 'type'])
      expect(body.code).toBe(code)
      const challenge = res.headers['www-authenticate']
      if (status === 503) expect(res.headers['retry-after']).toMatch(/^\d+$/)
      else if (oauthError === null) expect(challenge).toBe('Bearer realm="engine"')
      else {
        expect(challenge).toMatch(/^Bearer realm="engine", /)
        expect(challenge).toContain(`error="${oauthError}"`)
      }
      const everything = JSON.stringify(res)
      expect(everything).not.toContain(`127.0.0.1:${idp.port}`)
      if (token) expect(everything).not.toContain(token.slice(0, 40))
      return body
    }

    it('accepts a client-credentials token from the IdP and exposes the principal', async () => {
      const res = await get('/whoami', acmeToken)
      expect(res.status).toBe(200)
      const p = JSON.parse(res.body) as Record<string, unknown>
      expect(p).toMatchObject({
        kind: 'app',
        userId: 'acme',
        tenantIds: ['acme'],
        clientId: 'acme',
        issuer: idp.issuer,
        scopes: ['engine:read', 'engine:write'],
      })
      expect(res.body).not.toContain(acmeToken.slice(0, 40))
    })

    it('accepts a user token and maps the user', async () => {
      const token = await idp.issueUserToken({
        sub: 'auth0|alice-1',
        clientId: 'globex',
        claims: { preferred_username: 'alice', groups: ['clerks'] },
      })
      const res = await get('/whoami', token)
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body)).toMatchObject({
        kind: 'user',
        tenantIds: ['globex'],
        groupIds: ['clerks'],
        subject: 'auth0|alice-1',
      })
    })

    it('accepts the lower-case bearer scheme (RFC 7235)', async () => {
      expect((await get('/whoami', acmeToken, 'bearer')).status).toBe(200)
    })

    it("echoes the caller's x-request-id on a 401 and a 403", async () => {
      const missing = await raw(app.port, '/whoami', [['X-Request-Id', 'req-401.a:b']])
      expectError(missing, 401, 'C7AUTH_TOKEN_MISSING', null)
      expect(missing.headers['x-request-id']).toBe('req-401.a:b')
      const forbidden = await raw(app.port, '/admin', [
        ['Authorization', `Bearer ${acmeToken}`],
        ['X-Request-Id', 'req-403'],
      ])
      expectError(forbidden, 403, 'C7AUTH_SCOPE_INSUFFICIENT', 'insufficient_scope')
      expect(forbidden.headers['x-request-id']).toBe('req-403')
    })

    it('exposes the verified claims next to the principal', async () => {
      const token = await idp.issueUserToken({
        sub: 'auth0|claims-1',
        clientId: 'acme',
        claims: { preferred_username: 'carol', email: 'carol@example.com' },
      })
      const res = await get('/whoami', token)
      expect(res.status).toBe(200)
      const body = JSON.parse(res.body) as { userId: string; claims: Record<string, unknown> }
      expect(body.claims).toMatchObject({
        iss: idp.issuer,
        sub: 'auth0|claims-1',
        email: 'carol@example.com',
      })
      expect(body.userId).not.toBe('')
    })

    it('answers no token with 401 and a challenge without error code', async () => {
      expectError(await get('/whoami'), 401, 'C7AUTH_TOKEN_MISSING', null)
      expectError(await get('/whoami', 'YTpi', 'Basic'), 401, 'C7AUTH_TOKEN_MISSING', null)
    })

    it('refuses a token in the query string with 400 invalid_request', async () => {
      const res = await raw(app.port, `/whoami?access_token=${acmeToken}`, [])
      expectError(res, 400, 'C7AUTH_REQUEST_INVALID', 'invalid_request', acmeToken)
    })

    it('refuses two Authorization headers with 400 invalid_request', async () => {
      const res = await raw(app.port, '/whoami', [
        ['Authorization', `Bearer ${acmeToken}`],
        ['Authorization', `Bearer ${acmeToken}`],
      ])
      expectError(res, 400, 'C7AUTH_REQUEST_INVALID', 'invalid_request', acmeToken)
    })

    it('refuses alg none', async () => {
      const token = await idp.signToken({ alg: 'none' }, claims(), { alg: 'none' })
      expectError(await get('/whoami', token), 401, 'C7AUTH_TOKEN_INVALID', 'invalid_token', token)
    })

    it('refuses HS256 signed with the RSA public key', async () => {
      const pem = createPublicKey({ key: idp.publicJwks().keys[0] as never, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString()
      const token = await idp.signToken({ alg: 'HS256' }, claims(), { alg: 'HS256', hmacKey: pem })
      expectError(await get('/whoami', token), 401, 'C7AUTH_TOKEN_INVALID', 'invalid_token', token)
    })

    it('refuses an unknown kid and kid injection strings', async () => {
      for (const kid of ['unknown-kid', '../../etc/passwd', "' OR 1=1 --", 'k'.repeat(1000)]) {
        const token = await idp.signToken({ kid }, claims())
        expectError(
          await get('/whoami', token),
          401,
          'C7AUTH_TOKEN_INVALID',
          'invalid_token',
          token,
        )
      }
    })

    it('never takes keys from jwk, jku, x5u or x5c headers', async () => {
      const attacker = await generateKeyPair('RS256', { extractable: true })
      const jwk = await exportJWK(attacker.publicKey)
      let trapHits = 0
      const trap = createHttpServer((_req, res) => {
        trapHits++
        res.end(JSON.stringify({ keys: [{ ...jwk, kid: idp.currentKid }] }))
      })
      await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r))
      const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/keys`
      try {
        for (const header of [
          { jwk, kid: idp.currentKid },
          { jku: trapUrl, kid: idp.currentKid },
          { x5u: trapUrl, kid: idp.currentKid },
          { x5c: ['MIIC'], kid: idp.currentKid },
        ]) {
          const token = await new SignJWT(claims())
            .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...header })
            .sign(attacker.privateKey)
          expectError(
            await get('/whoami', token),
            401,
            'C7AUTH_TOKEN_INVALID',
            'invalid_token',
            token,
          )
        }
        expect(trapHits).toBe(0)
      } finally {
        trap.closeAllConnections()
        trap.close()
      }
    })

    it('refuses a crit header', async () => {
      const token = await idp.signToken({ crit: ['x-unknown'], 'x-unknown': 1 }, claims())
      expectError(await get('/whoami', token), 401, 'C7AUTH_TOKEN_INVALID', 'invalid_token', token)
    })

    it('refuses expired, not-yet-valid, wrong-issuer, wrong-audience and exp-less tokens', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [claims({ exp: nowSec() - 600, iat: nowSec() - 900 }), 'C7AUTH_TOKEN_EXPIRED'],
        [claims({ nbf: nowSec() + 600 }), 'C7AUTH_TOKEN_INVALID'],
        [claims({ iss: 'https://evil.example.com' }), 'C7AUTH_ISSUER_UNKNOWN'],
        [claims({ aud: 'urn:someone-else' }), 'C7AUTH_TOKEN_INVALID'],
        [claims({ exp: undefined }), 'C7AUTH_TOKEN_INVALID'],
      ]
      for (const [payload, code] of cases) {
        const token = await idp.signToken({}, payload)
        expectError(await get('/whoami', token), 401, code, 'invalid_token', token)
      }
    })

    it('refuses a wrong typ in strict mode', async () => {
      for (const typ of ['JWT', undefined]) {
        const token = await idp.signToken({ typ }, claims())
        expectError(
          await get('/whoami', token),
          401,
          'C7AUTH_TOKEN_INVALID',
          'invalid_token',
          token,
        )
      }
    })

    it('refuses truncated, garbage and oversized tokens without crashing', async () => {
      for (const token of [
        acmeToken.slice(0, acmeToken.length - 20),
        acmeToken.split('.').slice(0, 2).join('.'),
        'garbage',
        `${enc({ alg: 'RS256' })}.${enc('x')}.AAAA`,
        `${enc({ alg: 'RS256', kid: idp.currentKid })}.${'A'.repeat(64 * 1024)}.AAAA`,
      ]) {
        expectError(
          await get('/whoami', token),
          401,
          'C7AUTH_TOKEN_INVALID',
          'invalid_token',
          token,
        )
      }
      expect((await get('/whoami', acmeToken)).status).toBe(200)
    })

    it('answers a missing scope with 403 insufficient_scope naming the scope', async () => {
      const res = await get('/admin', acmeToken)
      expectError(res, 403, 'C7AUTH_SCOPE_INSUFFICIENT', 'insufficient_scope')
      expect(res.headers['www-authenticate']).toContain('scope="engine:admin"')
    })

    it('enforces tenant membership with requireTenant()', async () => {
      expect((await get('/tenants/acme/ping', acmeToken)).status).toBe(200)
      const res = await get('/tenants/globex/ping', acmeToken)
      expectError(res, 403, 'C7AUTH_TENANT_FORBIDDEN', 'insufficient_scope')
    })

    it('refuses (403) a token that maps to no configured tenant', async () => {
      const token = await clientToken('stranger', 'stranger-secret')
      expectError(
        await get('/whoami', token),
        403,
        'C7AUTH_TENANT_UNKNOWN',
        'insufficient_scope',
        token,
      )
    })

    it('keeps serving through a key rotation under concurrent traffic', async () => {
      // A fresh authenticator: the suite above has spent the main one's unknown-kid budget.
      const warm = createAuthenticator(options())
      const warmApp = await start(warm)
      extra.push({ app: warmApp, auth: warm })
      const call = async (token: string) =>
        (await raw(warmApp.port, '/whoami', [['Authorization', `Bearer ${token}`]])).status
      const oldToken = await clientToken('acme', 'acme-secret')
      expect(await call(oldToken)).toBe(200)
      const before = idp.counts.jwks
      const traffic = Array.from({ length: 30 }, async (_, i) => {
        if (i === 10) await idp.rotateKeys()
        return call(i < 10 ? oldToken : await clientToken('globex', 'globex-secret'))
      })
      expect(await Promise.all(traffic)).toEqual(Array(30).fill(200))
      expect(idp.counts.jwks - before).toBe(1)
    })

    it('keeps verifying with cached keys while the JWKS endpoint is down', async () => {
      const warm = createAuthenticator(options())
      const warmApp = await start(warm)
      extra.push({ app: warmApp, auth: warm })
      const call = async (token: string) =>
        (await raw(warmApp.port, '/whoami', [['Authorization', `Bearer ${token}`]])).status
      expect(await call(await clientToken('acme', 'acme-secret'))).toBe(200)
      idp.setFault({ kind: 'status', status: 503 }, { paths: ['jwks', 'discovery'] })
      try {
        for (let i = 0; i < 3; i++)
          expect(await call(await clientToken('acme', 'acme-secret'))).toBe(200)
      } finally {
        idp.setFault(null)
      }
    })

    it('answers 503 C7AUTH_JWKS_UNAVAILABLE on a cold start with the JWKS down or answering garbage', async () => {
      const token = await clientToken('acme', 'acme-secret')
      for (const fault of [{ kind: 'status', status: 503 }, { kind: 'garbage' }] as const) {
        idp.setFault(fault, { paths: ['jwks'] })
        const cold = createAuthenticator(options())
        const coldApp = await start(cold)
        extra.push({ app: coldApp, auth: cold })
        try {
          const res = await raw(coldApp.port, '/whoami', [['Authorization', `Bearer ${token}`]])
          expectError(res, 503, 'C7AUTH_JWKS_UNAVAILABLE', null, token)
        } finally {
          idp.setFault(null)
        }
      }
    })
  })
}

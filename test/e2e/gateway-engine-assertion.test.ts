import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { RequestListener, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { SignJWT } from 'jose'
import { pino } from 'pino'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFromEnv } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import {
  ASSERTION_TYPE,
  createAssertionSigner,
  createGateway,
} from '../../packages/gateway/src/internal.js'
import type { AssertionSigner, Gateway } from '../../packages/gateway/src/internal.js'
import * as gwExpress from '@c7auth/gateway/express'
import { linearProcessXml, requestToken, startTestIdp } from '@c7auth/testkit'
import type { EngineFlavor, TestIdp } from '@c7auth/testkit'
import { runDoctor, statusOf } from './doctor-bin.js'
import { ENGINE_START_TIMEOUT_MS, basicAuth, selectedEngines, startTestEngine } from './engines.js'
import type { TestEngine } from './engines.js'
import { SECRET, adminDeployFiles, formJson, formProcessXml } from './form-models.js'

/**
 * `assertion` mode against the real engines (Camunda 7.24 and Operaton 1.0.3 from test/engines)
 * with the c7auth engine plugin on their class path: the engine learns user, groups and tenants
 * from the gateway's signed assertion and applies its own tenant check, authorizations and user
 * operation log, with no identity rows written. Forged assertions sent straight to the engine are
 * refused with a Camunda-shaped 401.
 *
 * Runs on the real engines `selectedEngines()` picks (see engines.ts); it needs the plugin jars
 * too (`mvn -q -B -f packages/engine-plugin/pom.xml package`) and fails without them.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pluginJar = (flavor: EngineFlavor) =>
  `${ROOT}packages/engine-plugin/${flavor}/target/c7auth-engine-plugin-${flavor}-0.1.0.jar`
const providerClass = (flavor: EngineFlavor) =>
  `dev.c7auth.engine.${flavor}.AssertionAuthenticationProvider`
const ISSUER = 'https://c7auth-gateway.test'
const FLAVORS = selectedEngines().filter((n): n is EngineFlavor => n !== 'simulator')

function rsaPem(): { pem: string; key: KeyObject } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), key: privateKey }
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  json: unknown
  text: string
}

async function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Reply> {
  const h = { ...headers }
  let payload: string | undefined
  if (typeof body === 'string') payload = body
  else if (body !== undefined) {
    payload = JSON.stringify(body)
    h['content-type'] ??= 'application/json'
  }
  const r = await request(url, {
    method: method as 'GET',
    headers: h,
    ...(payload === undefined ? {} : { body: payload }),
  })
  const text = await r.body.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: r.statusCode, headers: r.headers, json, text }
}

const ids = (rows: unknown): string[] =>
  (rows as { id: string }[]).map((r) => r.id).sort((a, b) => a.localeCompare(b))

describe.skipIf(FLAVORS.length > 0)('assertion mode', () => {
  it.skip('runs on real engines only; none is selected or built (see engines.ts)', () => {})
})

for (const flavor of FLAVORS) {
  describe(`assertion mode on the real ${flavor} engine`, () => {
    const audience = `engine-${flavor}`
    const signingKey = rsaPem()
    let engine: TestEngine
    let idp: TestIdp
    let gateway: Gateway
    let server: Server
    let base: string
    let origin: string
    let basic: string
    let signer: AssertionSigner
    let identityBefore: unknown
    const state: {
      defs: Record<'A' | 'B', string[]>
      tokens: Record<'A' | 'B', string>
    } = { defs: { A: [], B: [] }, tokens: { A: '', B: '' } }

    /** Users, groups, tenants and every membership, read with the admin account. */
    async function identitySnapshot() {
      const get = async (path: string) => {
        const r = await send(engine.url + path, 'GET', { authorization: basic })
        expect(r.status, path).toBe(200)
        return ids(r.json)
      }
      const users = await get('/user?maxResults=1000')
      const groups = await get('/group?maxResults=1000')
      const tenants = await get('/tenant?maxResults=1000')
      const memberships: Record<string, unknown> = {}
      for (const u of users) {
        memberships[u] = {
          groups: await get(`/group?member=${encodeURIComponent(u)}`),
          tenants: await get(`/tenant?userMember=${encodeURIComponent(u)}`),
        }
      }
      for (const g of groups) {
        memberships[`group:${g}`] = await get(`/tenant?groupMember=${encodeURIComponent(g)}`)
      }
      return { users, groups, tenants, memberships }
    }

    function principal(over: Partial<Principal>): Principal {
      return {
        kind: 'app',
        userId: 'directcaller',
        groupIds: [],
        tenantIds: [],
        clientId: undefined,
        issuer: ISSUER,
        subject: 'directcaller',
        scopes: [],
        expiresAt: Math.floor(Date.now() / 1000) + 300,
        admin: false,
        ...over,
      }
    }

    /** An assertion signed with the gateway's own key, sent straight to the engine. */
    async function direct(p: Principal, path: string) {
      const token = await signer.assertionFor(p)
      return send(engine.url + path, 'GET', { authorization: `Bearer ${token}` })
    }

    async function viaGateway(token: string, method: string, path: string, body?: unknown) {
      return send(base + path, method, { authorization: `Bearer ${token}` }, body)
    }

    async function appToken(clientId: 'appA' | 'appB'): Promise<string> {
      const r = await requestToken(
        idp.tokenEndpoint,
        { grant_type: 'client_credentials', scope: 'engine:read engine:write' },
        { basic: { clientId, clientSecret: clientId === 'appA' ? 'secret-a' : 'secret-b' } },
      )
      const token = (r.body as { access_token?: string }).access_token
      if (!token) throw new Error(`token request failed: ${r.text}`)
      return token
    }

    async function deploy(token: string, xml: string, name: string) {
      const boundary = `----c7auth${randomUUID()}`
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\n${name}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}.bpmn"; filename="${name}.bpmn"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n${xml}\r\n--${boundary}--\r\n`
      return send(
        `${base}/deployment/create`,
        'POST',
        {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
      )
    }

    let handler: RequestListener = (_req, res) => {
      res.statusCode = 503
      res.end()
    }
    let gatewayEnv: Record<string, string>
    /** Requests for the gateway's JWKS: the engine plugin's fetches. */
    let jwksFetches = 0

    /** Serves `g` (JWKS + engine-rest) on the one listener the engine knows. */
    function mount(g: Gateway): void {
      const app = express()
      app.get('/.well-known/jwks.json', gwExpress.engineJwks(g))
      app.use('/engine-rest', gwExpress.authenticate(g.authenticator), gwExpress.engineProxy(g))
      app.use(gwExpress.errorHandler())
      handler = app
    }

    beforeAll(async () => {
      // The gateway's listener comes first: the engine plugin needs the JWKS URL at start, the
      // gateway needs the engine URL. The app behind it is set once the gateway exists.
      server = createServer((req, res) => {
        if (req.url === '/.well-known/jwks.json') jwksFetches += 1
        handler(req, res)
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      base = `${origin}/engine-rest`
      if (!existsSync(pluginJar(flavor))) {
        throw new Error(
          `no plugin jar at ${pluginJar(flavor)}: mvn -q -B -f packages/engine-plugin/pom.xml package`,
        )
      }
      engine = await startTestEngine(flavor, {
        classpath: [pluginJar(flavor)],
        env: {
          C7AUTH_TEST_ENGINE_AUTH_PROVIDER: providerClass(flavor),
          C7AUTH_PLUGIN_ISSUER: ISSUER,
          C7AUTH_PLUGIN_AUDIENCE: audience,
          C7AUTH_PLUGIN_JWKS_URL: `${origin}/.well-known/jwks.json`,
          // The gateway's bootstrap (tenants, groups, authorizations) uses the admin account.
          C7AUTH_PLUGIN_BASIC_FALLBACK: 'true',
          C7AUTH_PLUGIN_MAX_TOKEN_BYTES: '4096',
          // the rotation test refetches the JWKS soon after the first fetch
          C7AUTH_PLUGIN_JWKS_REFRESH_MIN_INTERVAL_SECONDS: '1',
        },
      })
      basic = basicAuth(engine.admin)
      idp = await startTestIdp({
        clients: [
          { clientId: 'appA', clientSecret: 'secret-a' },
          { clientId: 'appB', clientSecret: 'secret-b' },
        ],
      })
      gatewayEnv = {
        C7AUTH_TENANTS: 'tenantA,tenantB',
        C7AUTH_ENGINE_URL: engine.url,
        C7AUTH_ENGINE_AUTH: 'assertion',
        C7AUTH_ENGINE_ADMIN_USER: engine.admin.id,
        C7AUTH_ENGINE_ADMIN_PASSWORD: engine.admin.password,
        C7AUTH_ENGINE_ADMIN_GROUP: engine.adminGroup,
        C7AUTH_ENGINE_ASSERTION_ISSUER: ISSUER,
        C7AUTH_ENGINE_ASSERTION_AUDIENCE: audience,
        C7AUTH_ENGINE_ASSERTION_KEY: signingKey.pem,
        C7AUTH_ENGINE_AUTHORIZATIONS: 'apps+users',
        C7AUTH_ENGINE_TIMEOUT: '20s',
        C7AUTH_GATEWAY_DEFAULT_APP_GROUPS: 'apps',
        C7AUTH_GATEWAY_DEFAULT_USER_GROUPS: 'users',
        C7AUTH_TENANT_TENANTA_ISSUER: idp.issuer,
        C7AUTH_TENANT_TENANTA_AUDIENCE: idp.defaultAudience,
        C7AUTH_TENANT_TENANTA_ALLOWED_CLIENTS: 'appA',
        C7AUTH_TENANT_TENANTB_ISSUER: idp.issuer,
        C7AUTH_TENANT_TENANTB_AUDIENCE: idp.defaultAudience,
        C7AUTH_TENANT_TENANTB_ALLOWED_CLIENTS: 'appB',
        C7AUTH_TENANT_TENANTA_DEPLOYERS: 'client:appA',
        C7AUTH_TENANT_TENANTB_DEPLOYERS: 'client:appB',
      }
      gateway = createGateway({
        config: loadConfigFromEnv(gatewayEnv),
        logger: pino({ level: 'silent' }),
      })
      await gateway.start()
      mount(gateway)
      // The same key, issuer and audience as the gateway: stands in for it on direct calls.
      signer = createAssertionSigner({
        issuer: ISSUER,
        audience,
        privateKeyPem: signingKey.pem,
        groupsOf: (p) => p.groupIds,
      })

      identityBefore = await identitySnapshot()
      state.tokens.A = await appToken('appA')
      state.tokens.B = await appToken('appB')
      const xml = linearProcessXml({
        key: 'order',
        steps: [
          { type: 'userTask', id: 'approve' },
          { type: 'externalTask', id: 'charge', topic: 'charge' },
        ],
      })
      for (const t of ['A', 'B'] as const) {
        const dep = await deploy(state.tokens[t], xml, 'order')
        expect(dep.status, dep.text).toBe(200)
        const defs = (dep.json as { deployedProcessDefinitions: Record<string, unknown> })
          .deployedProcessDefinitions
        state.defs[t] = Object.keys(defs)
        for (let i = 0; i < 2; i++) {
          const started = await viaGateway(
            state.tokens[t],
            'POST',
            '/process-definition/key/order/start',
            {},
          )
          expect(started.status, started.text).toBe(200)
        }
      }
    }, ENGINE_START_TIMEOUT_MS)

    afterAll(async () => {
      server?.closeAllConnections()
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
      await gateway?.close()
      await idp?.close()
      await engine?.close()
    }, 60_000)

    it('each tenant sees only its own definitions, instances and tasks', async () => {
      for (const [me, other] of [
        ['A', 'B'],
        ['B', 'A'],
      ] as const) {
        const tenant = `tenant${me}`
        const defs = await viaGateway(state.tokens[me], 'GET', '/process-definition')
        expect(defs.status).toBe(200)
        expect(ids(defs.json)).toEqual([...state.defs[me]].sort())
        expect(ids(defs.json)).not.toContain(state.defs[other][0])
        const instances = await viaGateway(state.tokens[me], 'GET', '/process-instance')
        expect((instances.json as { tenantId: string }[]).map((i) => i.tenantId)).toEqual([
          tenant,
          tenant,
        ])
        const tasks = await viaGateway(state.tokens[me], 'GET', '/task')
        expect((tasks.json as { tenantId: string }[]).map((t) => t.tenantId)).toEqual([
          tenant,
          tenant,
        ])
        // The other tenant's definition by id: the engine itself does not find it.
        const foreign = await viaGateway(
          state.tokens[me],
          'GET',
          `/process-definition/${state.defs[other][0]}`,
        )
        expect(foreign.status).toBe(404)
      }
    })

    it('the engine applies its own tenant check to the asserted tenants', async () => {
      // Straight to the engine, past the gateway's policy: only the engine decides here.
      const a = await direct(
        principal({ tenantIds: ['tenantA'], groupIds: ['apps'] }),
        '/process-definition',
      )
      expect(a.status).toBe(200)
      expect(ids(a.json)).toEqual([...state.defs.A].sort())
      const none = await direct(principal({ groupIds: ['apps'] }), '/process-definition')
      expect(none.status).toBe(200)
      expect(none.json).toEqual([])
      const both = await direct(
        principal({ tenantIds: ['tenantA', 'tenantB'], groupIds: ['apps'] }),
        '/task',
      )
      expect((both.json as unknown[]).length).toBe(4)
    })

    it('authorizations apply to the asserted groups', async () => {
      const withApps = await direct(
        principal({ tenantIds: ['tenantA'], groupIds: ['apps'] }),
        '/process-instance',
      )
      expect((withApps.json as unknown[]).length).toBe(2)
      // Same tenant, no group: the engine's authorization check hides everything.
      const noGroup = await direct(principal({ tenantIds: ['tenantA'] }), '/process-instance')
      expect(noGroup.status).toBe(200)
      expect(noGroup.json).toEqual([])
      // A group with no grants cannot start anything.
      const start = await send(
        `${engine.url}/process-definition/${state.defs.A[0]}/start`,
        'POST',
        {
          authorization: `Bearer ${await signer.assertionFor(principal({ tenantIds: ['tenantA'], groupIds: ['nobody'] }))}`,
        },
        {},
      )
      expect(start.status).toBe(403)
    })

    it('external tasks: fetchAndLock locks only the tenant’s own', async () => {
      // Complete A's and B's user tasks so their instances reach the external task.
      for (const t of ['A', 'B'] as const) {
        const tasks = (await viaGateway(state.tokens[t], 'GET', '/task')).json as { id: string }[]
        const done = await viaGateway(state.tokens[t], 'POST', `/task/${tasks[0]!.id}/complete`, {})
        expect(done.status, done.text).toBe(204)
      }
      const ext = await viaGateway(state.tokens.A, 'GET', '/external-task')
      expect((ext.json as { tenantId: string }[]).map((e) => e.tenantId)).toEqual(['tenantA'])
      const locked = await viaGateway(state.tokens.A, 'POST', '/external-task/fetchAndLock', {
        workerId: 'workerA',
        maxTasks: 10,
        topics: [{ topicName: 'charge', lockDuration: 60_000 }],
      })
      expect(locked.status, locked.text).toBe(200)
      expect((locked.json as { tenantId: string }[]).map((e) => e.tenantId)).toEqual(['tenantA'])
      const lockedId = (locked.json as { id: string }[])[0]!.id
      const completed = await viaGateway(
        state.tokens.A,
        'POST',
        `/external-task/${lockedId}/complete`,
        { workerId: 'workerA' },
      )
      expect(completed.status, completed.text).toBe(204)
      // B's task is still there for B, and only for B.
      const forB = await viaGateway(state.tokens.B, 'POST', '/external-task/fetchAndLock', {
        workerId: 'workerB',
        maxTasks: 10,
        topics: [{ topicName: 'charge', lockDuration: 60_000 }],
      })
      expect((forB.json as { tenantId: string }[]).map((e) => e.tenantId)).toEqual(['tenantB'])
    })

    it('the user operation log names the real user', async () => {
      const userToken = await idp.issueUserToken({
        sub: 'alice',
        clientId: 'appA',
        claims: { preferred_username: 'alice' },
      })
      const alice = await gateway.authenticator.verify(userToken)
      const tasks = (await viaGateway(userToken, 'GET', '/task')).json as { id: string }[]
      expect(tasks.length).toBeGreaterThan(0)
      const taskId = tasks[0]!.id
      const done = await viaGateway(userToken, 'POST', `/task/${taskId}/complete`, {})
      expect(done.status, done.text).toBe(204)
      const log = await send(
        `${engine.url}/history/user-operation?taskId=${taskId}&operationType=Complete`,
        'GET',
        { authorization: basic },
      )
      expect(log.status).toBe(200)
      const entries = log.json as { userId: string }[]
      expect(entries.length).toBeGreaterThan(0)
      expect(new Set(entries.map((e) => e.userId))).toEqual(new Set([alice.userId]))
    })

    it('hostile assertions sent straight to the engine get a Camunda-shaped 401', async () => {
      const now = Math.floor(Date.now() / 1000)
      const claims = {
        sub: 'mallory',
        groups: [engine.adminGroup],
        tenants: ['tenantA', 'tenantB'],
        jti: randomUUID(),
      }
      const kid = signer.keyId
      const make = async (
        key: KeyObject | Uint8Array,
        opts: { alg?: string; aud?: string; iss?: string; iat?: number; exp?: number } = {},
      ) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid, typ: ASSERTION_TYPE })
          .setIssuer(opts.iss ?? ISSUER)
          .setAudience(opts.aud ?? audience)
          .setIssuedAt(opts.iat ?? now)
          .setExpirationTime(opts.exp ?? now + 60)
          .sign(key)
      const valid = await make(signingKey.key)
      const [h, , s] = valid.split('.')
      const forgedPayload = Buffer.from(
        JSON.stringify({
          ...claims,
          iss: ISSUER,
          aud: audience,
          iat: now,
          exp: now + 60,
          sub: 'admin',
        }),
      ).toString('base64url')
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
      const payload = b64({ ...claims, iss: ISSUER, aud: audience, iat: now, exp: now + 60 })
      const hmacHeader = b64({ alg: 'HS256', kid, typ: ASSERTION_TYPE })
      const hmacSig = createHmac('sha256', 'gateway-public-key-as-secret')
        .update(`${hmacHeader}.${payload}`)
        .digest('base64url')
      const cases: Record<string, string | undefined> = {
        missing: undefined,
        // Not the admin: a wrong admin password would lock the admin out (engine login throttling).
        basicUnknownUser: `Basic ${Buffer.from('nobody:wrong').toString('base64')}`,
        forged: `Bearer ${h}.${forgedPayload}.${s}`,
        expired: `Bearer ${await make(signingKey.key, { iat: now - 180, exp: now - 120 })}`,
        tooLong: `Bearer ${await make(signingKey.key, { exp: now + 3600 })}`,
        wrongAudience: `Bearer ${await make(signingKey.key, { aud: 'engine-other' })}`,
        wrongIssuer: `Bearer ${await make(signingKey.key, { iss: 'https://evil.test' })}`,
        otherGatewayKey: `Bearer ${await make(rsaPem().key)}`,
        algNone: `Bearer ${b64({ alg: 'none', typ: ASSERTION_TYPE })}.${payload}.`,
        hmac: `Bearer ${hmacHeader}.${payload}.${hmacSig}`,
        // Over the plugin's 4 KiB limit, under the servlet container's 8 KiB header limit.
        oversized: `Bearer ${'a'.repeat(6_000)}`,
      }
      let checked = 0
      for (const [name, authorization] of Object.entries(cases)) {
        const r = await send(
          `${engine.url}/process-definition`,
          'GET',
          authorization === undefined ? {} : { authorization },
        )
        expect(r.status, name).toBe(401)
        const body = r.json as Record<string, unknown>
        expect(Object.keys(body).sort(), name).toEqual(['code', 'message', 'type'])
        expect(body.code, name).toMatch(/^C7AUTH_[A-Z_]+$/)
        expect(r.text, name).not.toMatch(/Exception:|\tat |nimbus/i)
        checked++
      }
      expect(checked).toBe(Object.keys(cases).length)
      // The genuine one passes, so the refusals above are about the assertion, not the route.
      const ok = await send(`${engine.url}/process-definition`, 'GET', {
        authorization: `Bearer ${valid}`,
      })
      expect(ok.status).toBe(200)
    })

    it('the gateway publishes its key and the engine identity tables are unchanged', async () => {
      const jwks = await send(`${origin}/.well-known/jwks.json`, 'GET', {})
      expect(jwks.status).toBe(200)
      expect((jwks.json as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([
        signer.keyId,
      ])
      expect(await identitySnapshot()).toEqual(identityBefore)
    })

    it('readiness probes the engine with an assertion', async () => {
      expect(await gateway.checkReady()).toMatchObject({ engine: true })
    })

    it('c7auth-doctor sees the plugin accept the gateway key, and fail on a key it does not trust', async () => {
      const good = await runDoctor(gatewayEnv)
      expect(statusOf(good, 'engine.plugin')).toBe('ok')
      expect(good.stdout).not.toContain(engine.admin.password)
      const stranger = await runDoctor({
        ...gatewayEnv,
        C7AUTH_ENGINE_ASSERTION_KEY: rsaPem().pem,
      })
      const line = stranger.lines.find((l) => l.id === 'engine.plugin')
      expect(line?.status).toBe('fail')
      expect(line?.fix).toContain('C7AUTH_PLUGIN_')
      expect(stranger.code).toBe(1)
    }, 60_000)

    it('key rotation: the engine fetches the next key by its kid; the old one verifies during the overlap', async () => {
      const next = rsaPem()
      const oldPublic = createPublicKey(signingKey.pem).export({ type: 'spki', format: 'pem' })
      const rotated = createGateway({
        config: loadConfigFromEnv({
          ...gatewayEnv,
          C7AUTH_ENGINE_ASSERTION_KEY: next.pem,
          C7AUTH_ENGINE_ASSERTION_EXTRA_KEYS: oldPublic.toString(),
        }),
        logger: pino({ level: 'silent' }),
      })
      try {
        mount(rotated)
        expect(rotated.assertionJwks?.keys.map((k) => k.kid)).toContain(signer.keyId)
        const fetchesBefore = jwksFetches
        // The plugin refetches for an unknown kid at most once per interval (1 s here): inside
        // the interval of its last fetch the engine refuses the new key, and the gateway answers
        // 502. The call is repeated until the engine has fetched the next key and accepts it.
        let defs = await viaGateway(state.tokens.A, 'GET', '/process-definition')
        for (let tries = 1; defs.status === 502 && tries < 40; tries++) {
          await new Promise((r) => setTimeout(r, 250))
          defs = await viaGateway(state.tokens.A, 'GET', '/process-definition')
        }
        expect(defs.status, defs.text).toBe(200)
        expect(jwksFetches).toBeGreaterThan(fetchesBefore) // the next key came from the gateway
        expect(ids(defs.json)).toEqual([...state.defs.A].sort())
        // assertions under the old key (still published) keep working
        const old = await direct(
          principal({ tenantIds: ['tenantA'], groupIds: ['apps'] }),
          '/process-definition',
        )
        expect(old.status).toBe(200)
      } finally {
        mount(gateway)
        await rotated.close()
      }
    })

    it('forms: B never reads A’s form through a model bound by `latest` (T29; the engine checks tenants, the gateway forwards)', async () => {
      const sfx = randomUUID().slice(0, 8)
      const K = `shared-key-${sfx}`
      await adminDeployFiles(engine, 'tenantA', { 'a.form': formJson(K, SECRET) })
      const hostile = await adminDeployFiles(engine, 'tenantB', {
        'b.bpmn': formProcessXml(`bforms-${sfx}`, K, '${formKey}', 'latest'),
      })
      const own = await adminDeployFiles(engine, 'tenantB', {
        'own.bpmn': formProcessXml(`bown-${sfx}`, `own-${sfx}`, `own-${sfx}`, 'latest'),
        'own.form': formJson(`own-${sfx}`, 'OWN-FORM-OF-B'),
      })
      // as the engine admin (no tenant check) B's model reaches A's form: the setup is hostile
      const leak = await send(
        `${engine.url}/process-definition/${hostile.definitionId}/deployed-start-form`,
        'GET',
        { authorization: basic },
      )
      expect(leak.text).toContain(SECRET)
      const b = state.tokens.B
      const start = await viaGateway(
        b,
        'GET',
        `/process-definition/${hostile.definitionId}/deployed-start-form`,
      )
      expect(start.status).toBe(404)
      expect(start.text).not.toContain(SECRET)
      const started = await viaGateway(b, 'POST', `/process-definition/key/bforms-${sfx}/start`, {
        variables: { formKey: { value: K, type: 'String' } },
      })
      expect(started.status, started.text).toBe(200)
      const tasks = await viaGateway(
        b,
        'GET',
        `/task?processInstanceId=${(started.json as { id: string }).id}`,
      )
      const task = (tasks.json as { id: string }[])[0]!.id
      const taskForm = await viaGateway(b, 'GET', `/task/${task}/deployed-form`)
      expect(taskForm.status).toBe(404)
      expect(taskForm.text).not.toContain(SECRET)
      // B's own form bound by `latest` is served: the engine resolved it in B's tenant only
      const mine = await viaGateway(
        b,
        'GET',
        `/process-definition/${own.definitionId}/deployed-start-form`,
      )
      expect(mine.status, mine.text).toBe(200)
      expect(mine.text).toContain('OWN-FORM-OF-B')
    })
  })
}

/**
 * The install path for Camunda Run and plain Spring Boot: the plugin jar's auto-configuration,
 * found on the loader path (as in Run's userlib) and switched on from the Spring environment. The
 * test engine keeps its own filter (also the plugin's provider, 8 KiB limit); the auto-configured
 * filter gets a 1 KiB limit from the Spring environment only, so a 2 KiB assertion that the first
 * accepts is refused exactly when the auto-configured filter is active and configured from Spring.
 */
for (const flavor of FLAVORS) {
  describe(`the plugin's Spring Boot auto-configuration on the real ${flavor} engine`, () => {
    const audience = `engine-${flavor}`
    const { pem, key } = rsaPem()
    let engine: TestEngine
    let jwksServer: Server
    let signer: AssertionSigner

    beforeAll(async () => {
      signer = createAssertionSigner({
        issuer: ISSUER,
        audience,
        privateKeyPem: pem,
        groupsOf: (p) => p.groupIds,
      })
      jwksServer = createServer((_req, res) => {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(signer.jwks()))
      })
      await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r))
      const port = (jwksServer.address() as AddressInfo).port
      engine = await startTestEngine(flavor, {
        classpath: [pluginJar(flavor)],
        env: {
          C7AUTH_TEST_ENGINE_AUTH_PROVIDER: providerClass(flavor),
          C7AUTH_PLUGIN_ISSUER: ISSUER,
          C7AUTH_PLUGIN_AUDIENCE: audience,
          C7AUTH_PLUGIN_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
          C7AUTH_PLUGIN_BASIC_FALLBACK: 'true',
          SPRING_APPLICATION_JSON: JSON.stringify({
            c7auth: { plugin: { filter: { enabled: 'true' }, 'max-token-bytes': '1024' } },
          }),
        },
      })
    }, ENGINE_START_TIMEOUT_MS)

    afterAll(async () => {
      await engine?.close()
      await new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r()))
    }, 60_000)

    it('registers the assertion filter with settings from the Spring environment', async () => {
      const now = Math.floor(Date.now() / 1000)
      const sign = (extra: Record<string, unknown>) =>
        new SignJWT({ groups: [], tenants: ['tenantA'], jti: randomUUID(), ...extra })
          .setProtectedHeader({ alg: 'RS256', kid: signer.keyId, typ: ASSERTION_TYPE })
          .setIssuer(ISSUER)
          .setAudience(audience)
          .setSubject('carol')
          .setIssuedAt(now)
          .setExpirationTime(now + 60)
          .sign(key)
      const small = await sign({})
      const big = await sign({ pad: 'x'.repeat(1500) })
      expect(small.length).toBeLessThan(1024)
      expect(big.length).toBeGreaterThan(1024)
      const url = `${engine.url}/process-definition`
      const ok = await send(url, 'GET', { authorization: `Bearer ${small}` })
      expect(ok.status, ok.text).toBe(200)
      const refused = await send(url, 'GET', { authorization: `Bearer ${big}` })
      expect(refused.status).toBe(401)
      expect(refused.json).toEqual({
        type: 'AuthenticationException',
        message: 'The assertion is too large.',
        code: 'C7AUTH_TOKEN_INVALID',
      })
    })
  })
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linearProcessXml, startEngineSimulator, startTestIdp } from '@c7auth/testkit'
import type { EngineSimulator, TestIdp } from '@c7auth/testkit'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGateway } from '@c7auth/gateway'
import { runDoctor, statusOf } from './doctor-bin.js'
import type { TestEngine } from './engines.js'
import {
  ENGINE_START_TIMEOUT_MS,
  describeEngines,
  engineAdmin,
  engineDeploy,
  selectedEngines,
  startTestEngine,
} from './engines.js'
import { freshNamespace, keyEnv, randomKey, rawStore, storeUrl } from './token-store-harness.js'

const SECRET = 'doctor-test-bridge-secret-0123456789abcdef'
const CLIENT_SECRET = 'acme-secret-do-not-print'

describe('c7auth-doctor bin against the testkit IdP and engine simulator', () => {
  let idp: TestIdp
  let engine: EngineSimulator
  let open: EngineSimulator
  let unchecked: EngineSimulator
  let env: Record<string, string>

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [{ clientId: 'acme', clientSecret: CLIENT_SECRET, tenant: 'acme' }],
    })
    engine = await startEngineSimulator({
      adminUser: { id: 'admin', password: 'Adm1n-pw' },
      authorizationChecks: true,
    })
    open = await startEngineSimulator({ authentication: false })
    unchecked = await startEngineSimulator({
      adminUser: { id: 'admin', password: 'Adm1n-pw' },
      authorizationChecks: false,
    })
    env = {
      C7AUTH_TENANTS: 'acme',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: 'admin',
      C7AUTH_ENGINE_ADMIN_PASSWORD: 'Adm1n-pw',
      C7AUTH_BRIDGE_SECRET: SECRET,
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
      C7AUTH_TENANT_ACME_CLIENT_ID: 'acme',
      C7AUTH_TENANT_ACME_CLIENT_SECRET: CLIENT_SECRET,
    }
  }, 30_000)

  afterAll(async () => {
    await idp?.close()
    await engine?.close()
    await open?.close()
    await unchecked?.close()
  })

  it('passes a correct configuration, one ok line per check, exit 0', async () => {
    const run = await runDoctor(env)
    expect(run.code).toBe(0)
    const ids = run.lines.map((l) => `${l.id}=${l.status}`)
    expect(ids).toEqual([
      `idp.discovery:${idp.issuer}=ok`,
      `idp.jwks:${idp.issuer}=ok`,
      'token:acme=ok',
      'engine.basic-auth=ok',
      'engine.reachable=ok',
      'engine.account=ok',
      'engine.authorization=ok',
      // the simulator keeps no variable history: the doctor says it cannot tell
      'engine.history-level=warn',
      // the simulator does not answer OPTIONS /user (405): the doctor says it cannot tell
      'engine.identity-writable=warn',
      'engine.password-policy=ok',
      // the simulator has no binary variable uploads: the probe cannot tell
      'engine.object-type-validation=warn',
    ])
    expect(run.lines.find((l) => l.id === 'engine.reachable')?.detail).toMatch(/^version \d/)
    expect(run.stdout).not.toContain(CLIENT_SECRET)
    expect(run.stdout).not.toContain('Adm1n-pw')
    expect(run.stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+/)
  }, 30_000)

  it('prints one text line per check without --json', async () => {
    const run = await runDoctor(env, [])
    expect(run.code).toBe(0)
    const lines = run.stdout.trim().split('\n')
    expect(lines).toHaveLength(11)
    for (const l of lines) expect(l).toMatch(/^(ok {3}|warn )\S+ {2}/)
  }, 30_000)

  it('checks a shared token store: reachable and read back, or a failure naming no secret', async () => {
    const namespace = freshNamespace()
    const store = {
      C7AUTH_TOKEN_STORE: 'redis://:store-pw-do-not-print@127.0.0.1:6379',
      C7AUTH_TOKEN_STORE_KEYS: keyEnv([randomKey('d1')]),
      C7AUTH_TOKEN_STORE_NAMESPACE: namespace,
    }
    // One raw connection for the whole test, quit by drop() in `finally`.
    const raw = rawStore('redis', namespace)
    try {
      const ok = await runDoctor({ ...env, ...store, C7AUTH_TOKEN_STORE: storeUrl('redis') })
      expect(ok.code).toBe(0)
      expect(statusOf(ok, 'token-store')).toBe('ok')
      // The probe is deleted again: nothing of the doctor stays in the store.
      expect([...(await raw.entries()).keys()]).toEqual([])

      const closed = await runDoctor({
        ...env,
        ...store,
        C7AUTH_TOKEN_STORE: 'redis://:store-pw-do-not-print@127.0.0.1:9',
      })
      expect(closed.code).toBe(1)
      const line = closed.lines.find((l) => l.id === 'token-store')
      expect(line).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/^redis unreachable/),
      })
      expect(closed.stdout).not.toContain('store-pw-do-not-print')
      expect(closed.stdout).not.toContain(store.C7AUTH_TOKEN_STORE_KEYS.split(':')[1]!)
    } finally {
      await raw.drop()
    }
  }, 30_000)

  it('fails discovery on a wrong issuer', async () => {
    const run = await runDoctor({ ...env, C7AUTH_TENANT_ACME_ISSUER: `${idp.issuer}/nope` })
    expect(run.code).toBe(1)
    expect(statusOf(run, `idp.discovery:${idp.issuer}/nope`)).toBe('fail')
  }, 30_000)

  it('fails the JWKS check on a JWKS URI that is not served', async () => {
    const run = await runDoctor({
      ...env,
      C7AUTH_TENANT_ACME_JWKS_URI: `${idp.issuer.replace(/\/$/, '')}/no-such-jwks`,
    })
    expect(run.code).toBe(1)
    expect(statusOf(run, `idp.jwks:${idp.issuer}`)).toBe('fail')
  }, 30_000)

  it('fails the token check on a wrong client secret, and never prints the secret', async () => {
    const run = await runDoctor({ ...env, C7AUTH_TENANT_ACME_CLIENT_SECRET: 'wrong-secret-xyz' })
    expect(run.code).toBe(1)
    expect(statusOf(run, 'token:acme')).toBe('fail')
    expect(run.stdout).not.toContain('wrong-secret-xyz')
  }, 30_000)

  it('fails the token check when the audience does not map to the tenant', async () => {
    const run = await runDoctor({ ...env, C7AUTH_TENANT_ACME_AUDIENCE: 'https://other-api' })
    expect(run.code).toBe(1)
    const line = run.lines.find((l) => l.id === 'token:acme')
    expect(line?.status).toBe('fail')
    expect(line?.detail).toContain('aud')
  }, 30_000)

  it('fails the token check when the client id is not one of the tenant client ids', async () => {
    const run = await runDoctor({ ...env, C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'someone-else' })
    expect(run.code).toBe(1)
    expect(run.lines.find((l) => l.id === 'token:acme')?.detail).toContain('ALLOWED_CLIENTS')
  }, 30_000)

  it('fails basic-auth on an engine-rest that answers anonymous requests', async () => {
    const run = await runDoctor({ ...env, C7AUTH_ENGINE_URL: open.url })
    expect(run.code).toBe(1)
    expect(statusOf(run, 'engine.basic-auth')).toBe('fail')
  }, 30_000)

  it('fails the authorization check on an engine with authorization checks off', async () => {
    const run = await runDoctor({ ...env, C7AUTH_ENGINE_URL: unchecked.url })
    expect(run.code).toBe(1)
    const line = run.lines.find((l) => l.id === 'engine.authorization')
    expect(line?.status).toBe('fail')
    expect(line?.fix).toContain('authorization.enabled=true')
    expect(run.lines.filter((l) => l.status === 'fail').map((l) => l.id)).toEqual([
      'engine.authorization',
    ])
  }, 30_000)

  it('fails engine checks on a wrong admin password', async () => {
    const run = await runDoctor({ ...env, C7AUTH_ENGINE_ADMIN_PASSWORD: 'not-the-password' })
    expect(run.code).toBe(1)
    expect(statusOf(run, 'engine.reachable')).toBe('fail')
    expect(statusOf(run, 'engine.account')).toBe('fail')
    expect(statusOf(run, 'engine.identity-writable')).toBe('fail')
    expect(run.stdout).not.toContain('not-the-password')
  }, 30_000)

  it('fails reachability on an engine that is not there', async () => {
    const run = await runDoctor({ ...env, C7AUTH_ENGINE_URL: 'http://127.0.0.1:9/engine-rest' })
    expect(run.code).toBe(1)
    expect(statusOf(run, 'engine.reachable')).toBe('fail')
  }, 30_000)

  it('reports a configuration error as one fail line', async () => {
    const run = await runDoctor({ ...env, C7AUTH_ENGINE_URL: '' })
    expect(run.code).toBe(1)
    expect(run.lines).toHaveLength(1)
    expect(statusOf(run, 'config')).toBe('fail')
  }, 30_000)
})

describeEngines('c7auth-doctor bin per engine', (ctx) => {
  let idp: TestIdp
  let env: Record<string, string>

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [{ clientId: 'acme', clientSecret: CLIENT_SECRET, tenant: 'acme' }],
    })
    const engine = ctx.engine
    env = {
      C7AUTH_TENANTS: 'acme',
      C7AUTH_ENGINE_URL: engine.url,
      C7AUTH_ENGINE_AUTH: 'bridge',
      C7AUTH_ENGINE_ADMIN_USER: engine.admin.id,
      C7AUTH_ENGINE_ADMIN_PASSWORD: engine.admin.password,
      C7AUTH_ENGINE_ADMIN_GROUP: engine.adminGroup,
      C7AUTH_BRIDGE_SECRET: SECRET,
      C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
      C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
      C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
      C7AUTH_TENANT_ACME_CLIENT_ID: 'acme',
      C7AUTH_TENANT_ACME_CLIENT_SECRET: CLIENT_SECRET,
    }
  }, 30_000)

  afterAll(async () => {
    await idp?.close()
  })

  it('passes the engine checks with the engine admin', async () => {
    const run = await runDoctor(env)
    expect(run.code).toBe(0)
    for (const id of [
      'engine.basic-auth',
      'engine.reachable',
      'engine.account',
      'engine.authorization',
    ])
      expect(statusOf(run, id), id).toBe('ok')
    // nothing has set a variable yet: no engine can tell its history level
    expect(statusOf(run, 'engine.history-level')).toBe('warn')
    // real engines answer OPTIONS /user; the simulator does not
    expect(statusOf(run, 'engine.identity-writable')).toBe(ctx.isSimulator ? 'warn' : 'ok')
    // the test engines keep the engine default: no deserialization type validation
    expect(statusOf(run, 'engine.object-type-validation')).toBe('warn')
    const typeLine = run.lines.find((l) => l.id === 'engine.object-type-validation')
    if (!ctx.isSimulator) expect(typeLine?.detail).toContain('is OFF')
    expect(run.stdout).not.toContain(ctx.engine.admin.password)
  }, 60_000)

  it('sees history level full once a process wrote a variable', async () => {
    await seedInstanceWithVariable(ctx.engine)
    const run = await runDoctor(env)
    expect(run.code).toBe(0)
    // every engine here runs at level full and writes variable updates (the simulator too)
    expect(statusOf(run, 'engine.history-level')).toBe('ok')
    // …and the gateway's start-up does not warn about a level that is FULL (or not yet known)
    expect(await historyWarnings(env)).toEqual([])
  }, 60_000)

  // last in the block: a wrong password counts as a failed login on the engine
  it('fails the account check on a wrong admin password', async () => {
    const run = await runDoctor({ ...env, C7AUTH_ENGINE_ADMIN_PASSWORD: 'not-the-password' })
    expect(run.code).toBe(1)
    expect(statusOf(run, 'engine.account')).toBe('fail')
  }, 60_000)
})

/** One running instance that set one variable: what every history level shows differently. */
async function seedInstanceWithVariable(engine: TestEngine): Promise<void> {
  const xml = linearProcessXml({
    key: 'doctorProbe',
    steps: [{ type: 'userTask', id: 'wait' }],
    historyTimeToLive: 1,
  })
  await engineDeploy(engine, xml, { name: 'doctor-probe' })
  await engineAdmin(engine, 'POST', '/process-definition/key/doctorProbe/start', {
    variables: { amount: { value: 42, type: 'Integer' } },
  })
}

/** The history-level warnings of a gateway started on `env`. */
async function historyWarnings(env: Record<string, string>): Promise<string[]> {
  const gateway = createGateway({
    config: loadConfigFromEnv({ ...env, C7AUTH_LOG_LEVEL: 'silent' }),
  })
  try {
    const report = await gateway.start()
    return report.warnings.filter((w) => /history level/i.test(w))
  } finally {
    await gateway.close()
  }
}

// One misconfigured real engine (authorization checks off, history level audit): each of the
// two checks is seen failing against the engine itself, not only against the simulator.
describe.runIf(selectedEngines().includes('camunda7'))(
  'c7auth-doctor bin against a misconfigured Camunda 7.24',
  () => {
    let idp: TestIdp
    let engine: TestEngine
    let env: Record<string, string>

    beforeAll(async () => {
      engine = await startTestEngine('camunda7', {
        env: {
          C7AUTH_TEST_ENGINE_AUTHORIZATION: 'false',
          C7AUTH_TEST_ENGINE_HISTORY_LEVEL: 'audit',
        },
      })
      idp = await startTestIdp({
        clients: [{ clientId: 'acme', clientSecret: CLIENT_SECRET, tenant: 'acme' }],
      })
      env = {
        C7AUTH_TENANTS: 'acme',
        C7AUTH_ENGINE_URL: engine.url,
        C7AUTH_ENGINE_AUTH: 'bridge',
        C7AUTH_ENGINE_ADMIN_USER: engine.admin.id,
        C7AUTH_ENGINE_ADMIN_PASSWORD: engine.admin.password,
        C7AUTH_ENGINE_ADMIN_GROUP: engine.adminGroup,
        C7AUTH_BRIDGE_SECRET: SECRET,
        C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
        C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
        C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
        C7AUTH_TENANT_ACME_CLIENT_ID: 'acme',
        C7AUTH_TENANT_ACME_CLIENT_SECRET: CLIENT_SECRET,
      }
      await seedInstanceWithVariable(engine)
    }, ENGINE_START_TIMEOUT_MS)

    afterAll(async () => {
      await idp?.close()
      await engine?.close()
    }, 60_000)

    it('fails the authorization and history checks, with the fix', async () => {
      const run = await runDoctor(env)
      expect(run.code).toBe(1)
      expect(run.lines.filter((l) => l.status === 'fail').map((l) => l.id)).toEqual([
        'engine.authorization',
        'engine.history-level',
      ])
      expect(run.lines.find((l) => l.id === 'engine.history-level')?.detail).toContain('audit')
    }, 60_000)

    it('makes the gateway warn at start-up that the history level is not FULL', async () => {
      expect(await historyWarnings(env)).toEqual([
        expect.stringMatching(/^The engine's history level is AUDIT \(.+\), not FULL: /),
      ])
    }, 60_000)
  },
)

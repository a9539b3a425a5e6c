/**
 * End-to-end against an engine and IdP you run yourself (e.g. examples/real-camunda with
 * Docker). Runs only when the C7AUTH_LIVE_* variables are set; otherwise every test reports as
 * skipped. (`real-stack.test.ts` starts Keycloak and Camunda itself.) The tenants' apps must be
 * allowed to deploy (`C7AUTH_TENANT_<ENVID>_DEPLOYERS`); the engine URL is only reachable where
 * the engine's port is (the recipe does not publish it).
 *
 *   C7AUTH_LIVE_GATEWAY_URL        http://localhost:8088/engine-rest   (c7auth in front of the engine)
 *   C7AUTH_LIVE_TOKEN_ENDPOINT     http://localhost:8081/realms/c7auth/protocol/openid-connect/token
 *   C7AUTH_LIVE_A_TENANT / _A_CLIENT_ID / _A_CLIENT_SECRET   first tenant's app
 *   C7AUTH_LIVE_B_TENANT / _B_CLIENT_ID / _B_CLIENT_SECRET   second tenant's app
 *   C7AUTH_LIVE_ENGINE_URL + C7AUTH_LIVE_ENGINE_ADMIN_USER / _PASSWORD   (optional) direct admin view
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const env = process.env
const REQUIRED = [
  'C7AUTH_LIVE_GATEWAY_URL',
  'C7AUTH_LIVE_TOKEN_ENDPOINT',
  'C7AUTH_LIVE_A_TENANT',
  'C7AUTH_LIVE_A_CLIENT_ID',
  'C7AUTH_LIVE_A_CLIENT_SECRET',
  'C7AUTH_LIVE_B_TENANT',
  'C7AUTH_LIVE_B_CLIENT_ID',
  'C7AUTH_LIVE_B_CLIENT_SECRET',
]
const configured = REQUIRED.every((k) => env[k])
const bpmn = readFileSync(
  new URL('../../examples/demo/bpmn/order-approval.bpmn', import.meta.url),
  'utf8',
)

function live(key: string): string {
  return env[`C7AUTH_LIVE_${key}`] as string
}

async function appToken(side: 'A' | 'B'): Promise<string> {
  const id = encodeURIComponent(live(`${side}_CLIENT_ID`))
  const secret = encodeURIComponent(live(`${side}_CLIENT_SECRET`))
  const res = await fetch(live('TOKEN_ENDPOINT'), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

async function call(token: string, method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } }
  if (body instanceof FormData) init.body = body
  else if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers = { ...init.headers, 'content-type': 'application/json' }
  }
  const res = await fetch(`${live('GATEWAY_URL')}${path}`, init)
  const text = await res.text()
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- engine JSON, checked by expect()
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined }
}

describe.skipIf(!configured)('live: c7auth in front of a real Camunda 7 engine', () => {
  it('keeps two tenants apart end to end and the engine knows the real caller', async () => {
    const a = await appToken('A')
    const b = await appToken('B')
    for (const [token, tenant] of [
      [a, live('A_TENANT')],
      [b, live('B_TENANT')],
    ] as const) {
      const form = new FormData()
      form.append('deployment-name', 'c7auth-live')
      form.append('tenant-id', tenant)
      form.append('data', new Blob([bpmn], { type: 'application/xml' }), 'order-approval.bpmn')
      const deployed = await call(token, 'POST', '/deployment/create', form)
      expect(deployed.status).toBe(200)
      expect(deployed.json.tenantId).toBe(tenant)
    }
    const started = await call(a, 'POST', '/process-definition/key/orderApproval/start', {})
    expect(started.status).toBe(200)
    expect(started.json.tenantId).toBe(live('A_TENANT'))

    const tasks = await call(a, 'GET', `/task?processInstanceId=${started.json.id}`)
    expect(tasks.status).toBe(200)
    expect(tasks.json).toHaveLength(1)
    const foreign = await call(b, 'GET', `/task/${tasks.json[0].id}`)
    expect(foreign.status).toBe(404)
    const denied = await call(b, 'GET', '/user')
    expect(denied.status).toBe(403)

    if (env.C7AUTH_LIVE_ENGINE_URL && env.C7AUTH_LIVE_ENGINE_ADMIN_USER) {
      const basic = Buffer.from(
        `${env.C7AUTH_LIVE_ENGINE_ADMIN_USER}:${env.C7AUTH_LIVE_ENGINE_ADMIN_PASSWORD ?? ''}`,
      ).toString('base64')
      const log = await fetch(
        `${env.C7AUTH_LIVE_ENGINE_URL}/history/user-operation?processInstanceId=${started.json.id}`,
        { headers: { authorization: `Basic ${basic}` } },
      )
      expect(log.status).toBe(200)
      const entries = (await log.json()) as { userId: string }[]
      expect(entries.map((e) => e.userId)).toContain(live('A_CLIENT_ID'))
    }
  })
})

describe.skipIf(configured)('live (not configured)', () => {
  it.skip(`set ${REQUIRED.join(', ')} to run against a real engine and IdP`, () => {})
})

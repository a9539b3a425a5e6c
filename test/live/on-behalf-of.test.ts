/**
 * On-behalf-of with Keycloak 26's standard token exchange, live: Keycloak (the realm export of
 * `examples/real-camunda`, where `acme` has standard token exchange with refresh tokens enabled),
 * Camunda 7.24, the gateway with acme opted in for `orderApproval`, and acme's worker. Alice
 * completes the approval with her `tasklist` token; the gateway captures her grant (Keycloak's
 * refresh token of acme); acme's worker charges the order through a billing API as alice. Keycloak
 * refuses a refresh token as `subject_token`, so the worker refreshes the grant and exchanges the
 * fresh access token (refresh-then-exchange). The API sees `sub` = alice's Keycloak id and
 * `azp` = acme (Keycloak sets no `act`). Runs when Java and the camunda7 jar are there.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOnBehalfOfVault } from '@c7auth/core'
import type { OnBehalfOfVault } from '@c7auth/core'
import { userEngineId } from '@c7auth/gateway'
import { until } from '../e2e/worker-stack.js'
import { REALM, callGateway, realStackRunnable, startRealStack } from './real-stack.js'
import type { RealStack } from './real-stack.js'

const { runnable, why } = realStackRunnable()

const bpmn = readFileSync(
  new URL('../../examples/demo/bpmn/order-approval.bpmn', import.meta.url),
  'utf8',
)
/** The realm's resource-server client the acme app may exchange tokens for. */
const BILLING = 'billing'

describe.skipIf(!runnable)('live: on-behalf-of with Keycloak standard token exchange', () => {
  let stack: RealStack
  let vault: OnBehalfOfVault
  let billing: Server
  let billingUrl = ''
  const billed: { status: number; claims?: JWTPayload; error?: string }[] = []
  const outcomes = new Map<string, { status?: number; code?: string | undefined }>()
  const waiters = new Map<string, () => void>()

  beforeAll(async () => {
    const t0 = Date.now()
    vault = await createOnBehalfOfVault({ url: 'memory' })
    const [acme] = REALM.apps
    stack = await startRealStack({
      vault,
      gatewayEnv: {
        C7AUTH_TENANT_ACME_ON_BEHALF_OF: 'orderApproval',
        C7AUTH_TENANT_ACME_CLIENT_ID: acme.clientId,
        C7AUTH_TENANT_ACME_CLIENT_SECRET: acme.secret,
      },
    })
    console.log(
      `[c7auth] live on-behalf-of stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
        `(keycloak ${stack.timings.keycloak} s, camunda ${stack.timings.engine} s, gateway ${stack.timings.gateway} s)`,
    )
    // the billing API: verifies the bearer token at Keycloak's keys, for its own audience
    const jwks = createRemoteJWKSet(new URL(stack.keycloak.jwksUri))
    billing = createServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      jwtVerify(token, jwks, { issuer: stack.keycloak.issuer, audience: BILLING }).then(
        ({ payload }) => {
          billed.push({ status: 200, claims: payload })
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
        },
        (e: unknown) => {
          billed.push({ status: 401, error: (e as Error).name })
          res.writeHead(401).end()
        },
      )
    })
    await new Promise<void>((resolve) => billing.listen(0, '127.0.0.1', resolve))
    billingUrl = `http://127.0.0.1:${(billing.address() as AddressInfo).port}/charges`

    stack.workers.subscribe('charge-customer', { lockDuration: 20_000 }, async (ctx) => {
      const id = ctx.task.processInstanceId!
      try {
        const res = await ctx.fetch(billingUrl, {
          method: 'POST',
          onBehalfOf: 'actingUser',
          audience: BILLING,
        })
        outcomes.set(id, { status: res.status })
      } catch (e) {
        outcomes.set(id, { code: (e as { code?: string }).code })
      }
      await ctx.taskService.complete(ctx.task)
      waiters.get(id)?.()
    })
  }, 420_000)
  afterAll(async () => {
    await stack?.close()
    await new Promise((resolve) => billing?.close(resolve))
    await vault?.close()
  }, 60_000)

  async function token(body: Record<string, string>, basic?: string): Promise<string> {
    const res = await fetch(stack.keycloak.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(basic === undefined ? {} : { authorization: `Basic ${basic}` }),
      },
      body: new URLSearchParams(body),
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { access_token: string }).access_token
  }

  const call = (token: string, method: string, path: string, body?: unknown) =>
    callGateway(stack.gatewayUrl, token, method, path, body)

  it('acme charges the order as alice: sub = alice, azp = acme, grant gone at the end', async () => {
    const [acmeApp] = REALM.apps
    const acme = await token(
      { grant_type: 'client_credentials' },
      Buffer.from(`${acmeApp.clientId}:${acmeApp.secret}`).toString('base64'),
    )
    const alice = await token({
      grant_type: 'password',
      client_id: REALM.user.clientId,
      username: REALM.user.username,
      password: REALM.user.password,
    })
    // the realm puts acme into alice's tasklist tokens: Keycloak exchanges only tokens meant for it
    expect(decodeJwt(alice).aud).toEqual(expect.arrayContaining(['acme', 'engine-rest']))
    const aliceSub = decodeJwt(alice).sub

    const form = new FormData()
    form.append('deployment-name', 'c7auth-live-obo')
    form.append('tenant-id', acmeApp.tenant)
    form.append('data', new Blob([bpmn], { type: 'application/xml' }), 'order-approval.bpmn')
    expect((await call(acme, 'POST', '/deployment/create', form)).status).toBe(200)
    const started = await call(acme, 'POST', '/process-definition/key/orderApproval/start', {})
    expect(started.status).toBe(200)
    const pid = started.json.id as string
    const charged = new Promise<void>((resolve) => waiters.set(pid, resolve))

    const tasks = await call(alice, 'GET', `/task?processInstanceId=${pid}`)
    expect(tasks.json).toHaveLength(1)
    const task = tasks.json[0] as { id: string }
    // alice completes her task: the gateway captures her grant (Keycloak's refresh token of acme)
    const aliceId = userEngineId(stack.keycloak.issuer, REALM.user.username)
    expect((await call(alice, 'POST', `/task/${task.id}/claim`, { userId: aliceId })).status).toBe(
      204,
    )
    expect((await call(alice, 'POST', `/task/${task.id}/complete`, {})).status).toBe(204)

    await charged
    expect(outcomes.get(pid)).toEqual({ status: 200 })
    expect(billed).toHaveLength(1)
    expect(billed[0]!.claims).toMatchObject({
      sub: aliceSub,
      preferred_username: REALM.user.username,
      azp: acmeApp.clientId,
      aud: BILLING,
      tenant: 'acme',
    })
    expect(billed[0]!.claims!['act']).toBeUndefined()

    // the instance ended with the worker's completion: the gateway purged the grant
    await until(
      async () => (await vault.list({ tenant: 'acme', processInstanceId: pid })).length === 0,
      'the grant of the ended instance purged',
    )
    expect(await vault.list({ tenant: 'acme' })).toEqual([])
  }, 180_000)
})

describe.skipIf(runnable)('live: on-behalf-of with Keycloak (not runnable here)', () => {
  it.skip(`skipped: ${why}`, () => {})
})

import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { isC7AuthError } from '@c7auth/core'
import { createPolicy } from '../policy/index.js'
import { principalOf } from '../policy/__tests__/support.js'
import type { ForwardDecision } from '../policy/index.js'
import { planBody } from './request-body.js'
import type { PlannedBody } from './request-body.js'
import { withCredentials } from './upstream-call.js'
import { createUpstreamCredentials } from './upstream-credentials.js'
import type { UpstreamCredentials } from './upstream-credentials.js'

/** The forward path's steps, each on its own: the body step and the credentials' recovery. */
const principal = principalOf(['tenantA'], { kind: 'app', userId: 'appA', clientId: 'appA' })

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

/** The route table's forward decision for a request. */
function decisionFor(method: string, path: string): ForwardDecision {
  const d = createPolicy().decide({ method, path, query: new URLSearchParams(), principal })
  if (d.action !== 'forward') throw new Error('expected a forward decision')
  return d
}

/** Sends one request to a real server whose handler runs `planBody` on it. */
async function planned(
  decision: ForwardDecision,
  body: string,
): Promise<{ plan: PlannedBody; headers: Record<string, unknown> }> {
  let result: { plan: PlannedBody; headers: Record<string, unknown> } | undefined
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string | string[] | undefined> = {
      'content-type': 'application/json',
    }
    Promise.resolve(
      planBody(req, decision, headers, {
        maxJsonBytes: 4096,
        maxStreamBytes: 4096,
        maxLongPollMs: 1_000,
        timeoutMs: 500,
      }),
    ).then(
      (plan) => {
        result = { plan, headers }
        res.end()
      },
      (err: unknown) => {
        res.statusCode = isC7AuthError(err) ? err.status : 500
        res.end(isC7AuthError(err) ? err.code : String(err))
      },
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise<void>((r) => server.close(() => r())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const r = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  })
  const text = await r.body.text()
  if (result === undefined) throw new Error(`planBody refused: ${r.statusCode} ${text}`)
  return result
}

describe('planBody (step 1)', () => {
  it('caps a long-poll row’s wait and extends its headers timeout by it', async () => {
    const { plan, headers } = await planned(
      decisionFor('POST', '/external-task/fetchAndLock'),
      JSON.stringify({
        workerId: 'w',
        maxTasks: 1,
        asyncResponseTimeout: 60_000,
        topics: [{ topicName: 'charge', lockDuration: 1000 }],
      }),
    )
    expect(plan.kind).toBe('send')
    if (plan.kind !== 'send') return
    expect(plan.headersTimeout).toBe(1_000 + 500)
    const sent = JSON.parse((plan.body as Buffer).toString('utf8')) as Record<string, unknown>
    expect(sent.asyncResponseTimeout).toBe(1_000)
    expect(headers['content-length']).toBe(String((plan.body as Buffer).length))
  })

  it('answers from the policy’s rewrite without a body to send (a query that cannot match)', async () => {
    const { plan } = await planned(
      decisionFor('POST', '/task'),
      JSON.stringify({ tenantIdIn: ['tenantB'] }),
    )
    expect(plan).toEqual({ kind: 'respond', status: 200, json: [] })
  })
})

describe('withCredentials (step 2: recovery on an engine 401)', () => {
  const gatewayAccounts: UpstreamCredentials[] = [
    createUpstreamCredentials({
      mode: 'service',
      serviceUser: 'svc',
      servicePassword: 'pw',
      userHeader: 'Context-User-ID',
    }),
    createUpstreamCredentials({ mode: 'none', userHeader: 'Context-User-ID' }),
  ]

  it('refuses at once when the gateway’s own credentials are rejected (no retry)', async () => {
    expect.assertions(2 * gatewayAccounts.length)
    for (const credentials of gatewayAccounts) {
      let sent = 0
      const call = withCredentials(credentials, principal, true, async () => ++sent && 401, Number)
      await expect(call).rejects.toMatchObject({ code: 'C7AUTH_UPSTREAM_UNAVAILABLE' })
      expect(sent).toBe(1)
    }
  })

  it('sends again when recover() resolves, and stops at the answer that is not a 401', async () => {
    const service = gatewayAccounts[0]!
    let recovered = 0
    const repairing: UpstreamCredentials = {
      ...service,
      async recover(_p, attempt) {
        recovered = attempt
      },
    }
    const answers = [401, 401, 200]
    const status = await withCredentials(
      repairing,
      principal,
      true,
      async () => answers.shift()!,
      Number,
    )
    expect(status).toBe(200)
    expect(recovered).toBe(2)
  })
})

import '@c7auth/worker' // types of camunda-external-task-client-js
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from 'camunda-external-task-client-js'
import { request } from 'undici'
import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from './gateway-engine-harness.js'
import type { Framework, Harness } from './gateway-engine-harness.js'

const xml = linearProcessXml({
  key: 'charge',
  steps: [{ type: 'externalTask', id: 'charge', topic: 'charge' }],
})

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe.each<Framework>(['express', 'koa'])(
  'external-task client through the gateway (%s, bridge)',
  (framework) => {
    let h: Harness
    beforeAll(async () => {
      h = await startHarness({ mode: 'bridge', framework })
    })
    afterAll(async () => h?.close())

    it('long-polls, parses the engine’s exact application/json and completes only its own tenant’s tasks', async () => {
      const a = await h.appToken('appA')
      const b = await h.appToken('appB')
      expect((await h.deploy(a, xml, 'charge')).status).toBe(200)
      expect((await h.deploy(b, xml, 'charge')).status).toBe(200)
      const piB = (await h.call(b, 'POST', '/process-definition/key/charge/start', {})).json as {
        id: string
      }
      const handled: { id: string; tenantId: string | null }[] = []
      const client = new Client({
        baseUrl: h.base,
        workerId: 'worker-a',
        asyncResponseTimeout: 1_000,
        interval: 10,
        autoPoll: false,
        interceptors: (o) => ({ ...o, headers: { ...o.headers, Authorization: `Bearer ${a}` } }),
      })
      client.subscribe('charge', async ({ task, taskService }) => {
        handled.push({ id: task.id, tenantId: task.tenantId ?? null })
        await taskService.complete(task)
      })
      client.start()
      try {
        // started while the worker is already waiting in a long poll
        await until(() => h.engine.pendingLongPolls > 0)
        const piA = (await h.call(a, 'POST', '/process-definition/key/charge/start', {})).json as {
          id: string
        }
        await until(() => h.engine.inspect.processInstance(piA.id)?.state === 'COMPLETED')
      } finally {
        client.stop()
      }
      expect(handled).toHaveLength(1)
      expect(handled[0]!.tenantId).toBe('tenantA')
      expect(h.engine.inspect.processInstance(piB.id)?.state).toBe('ACTIVE')
      const polls = h.engine.requests.filter((q) => q.operationId === 'fetchAndLock')
      expect(polls.length).toBeGreaterThan(0)
      expect(polls.every((q) => q.user === 'appA')).toBe(true)
    })
  },
)

describe('proxy behaviour against the engine (express, bridge)', () => {
  let h: Harness
  let a: string
  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'express',
      // a long-poll cap far above every wait below: only a cancellation can end the poll early
      env: { C7AUTH_ENGINE_TIMEOUT: '1s', C7AUTH_ENGINE_MAX_LONG_POLL: '60s' },
    })
    a = await h.appToken('appA')
  })
  afterAll(async () => h?.close())

  it('caps asyncResponseTimeout and cancels the engine’s long poll when the client goes away', async () => {
    const ac = new AbortController()
    const pending = request(`${h.base}/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        workerId: 'w1',
        maxTasks: 1,
        asyncResponseTimeout: 1_800_000,
        topics: [{ topicName: 'nothing', lockDuration: 1000 }],
      }),
      signal: ac.signal,
    })
    let settled = false
    pending.then(
      () => (settled = true),
      () => (settled = true),
    )
    await until(() => h.engine.pendingLongPolls === 1)
    // Past C7AUTH_ENGINE_TIMEOUT (1 s) without a clock: a call sent after the poll, which the
    // engine does not answer, runs into the same upstream timeout. Its timer started later than
    // the poll's would have (undici fires such timers in order), so once its 504 is here a poll cut
    // by that timeout would have been cut already. The delay is far above the timeout: only the
    // gateway's timer can end that call.
    h.engine.setFault({ kind: 'delay', ms: 30_000, path: '/task' })
    const late = await h.call(a, 'GET', '/task')
    h.engine.setFault(null)
    expect(late.json).toMatchObject({ code: 'C7AUTH_UPSTREAM_TIMEOUT' })
    expect(late.status).toBe(504)
    // the upstream timeout did not cut the poll: neither its client nor the engine saw it end
    expect(settled).toBe(false)
    expect(h.engine.pendingLongPolls).toBe(1)
    ac.abort()
    await expect(pending).rejects.toThrow()
    await until(() => h.engine.pendingLongPolls === 0)
    // ended by the client's abort: the test's timeout (20 s) is far below the 60 s cap
    const poll = h.engine.requests.filter((q) => q.operationId === 'fetchAndLock').at(-1)
    expect((poll?.body as { asyncResponseTimeout: number }).asyncResponseTimeout).toBe(60_000)
  })

  it('reports readiness of the engine (as the canary, never the admin) and of the IdP keys', async () => {
    const admin0 = h.engine.stats.adminCalls
    expect(await h.gateway.checkReady()).toEqual({ ready: true, engine: true, idp: true })
    expect(h.engine.requests.at(-1)).toMatchObject({ path: '/version', user: 'c7authcanary' })
    h.engine.setFault({ kind: 'down' })
    expect(await h.gateway.checkReady()).toEqual({ ready: false, engine: false, idp: true })
    h.engine.setFault(null)
    expect(h.engine.stats.adminCalls).toBe(admin0)
  })

  it('answers 504 when the engine is slow and 502 when it is down, Camunda-shaped', async () => {
    h.engine.setFault({ kind: 'delay', ms: 2_500 })
    const slow = await h.call(a, 'GET', '/task')
    expect(slow.status).toBe(504)
    expect(slow.headers['content-type']).toBe('application/json')
    expect(slow.json).toEqual({
      type: 'UpstreamError',
      message: 'The process engine did not answer in time.',
      code: 'C7AUTH_UPSTREAM_TIMEOUT',
    })
    h.engine.setFault({ kind: 'down' })
    const down = await h.call(a, 'GET', '/task')
    expect(down.status).toBe(502)
    expect(down.json).toMatchObject({ code: 'C7AUTH_UPSTREAM_UNAVAILABLE' })
    h.engine.setFault(null)
    expect((await h.call(a, 'GET', '/task')).status).toBe(200)
  })

  it('streams a 20 MB deployment to the engine with exactly the caller’s tenant-id', async () => {
    const boundary = 'c7authBigUpload'
    const size = 20 * 1024 * 1024
    const comment = Buffer.alloc(size - 2_000, 0x20)
    const bpmn = Buffer.concat([
      Buffer.from(xml.replace('<bpmn:process', '<!-- padding -->\n<bpmn:process')),
      Buffer.from('<!--'),
      comment,
      Buffer.from('-->'),
    ])
    async function* parts() {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\nbig\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="Tenant-ID"\r\n\r\ntenantA\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="big.bpmn"; filename="big.bpmn"\r\n\r\n`,
      )
      for (let off = 0; off < bpmn.length; off += 256 * 1024)
        yield bpmn.subarray(off, off + 256 * 1024)
      yield Buffer.from(`\r\n--${boundary}--\r\n`)
    }
    const r = await request(`${h.base}/deployment/create`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${a}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: Readable.from(parts()),
    })
    const text = await r.body.text()
    expect(r.statusCode, text).toBe(200)
    expect(JSON.parse(text)).toMatchObject({ tenantId: 'tenantA', name: 'big' })
    const seen = h.engine.requests.filter((q) => q.operationId === 'createDeployment').at(-1)!
    const summary = seen.body as { fields: Record<string, string[]>; files: { size: number }[] }
    expect(summary.fields['tenant-id']).toEqual(['tenantA'])
    expect(Object.keys(summary.fields).filter((k) => k.toLowerCase() === 'tenant-id')).toHaveLength(
      1,
    )
    expect(summary.files[0]!.size).toBe(bpmn.length)
    expect(seen.user).toBe('appA')
  })

  it('refuses a deployment into another tenant before the engine sees a complete body', async () => {
    const before = h.engine.requests.filter((q) => q.operationId === 'createDeployment').length
    const r = await h.deploy(
      a,
      xml,
      'foreign',
      '--{b}\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n',
    )
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    const created = h.engine.requests.filter(
      (q) => q.operationId === 'createDeployment' && q.status < 300,
    )
    expect(created.length).toBe(before)
  })

  it('answers 413 for a JSON body over C7AUTH_GATEWAY_MAX_BODY', async () => {
    const r = await h.call(a, 'POST', '/task', { pad: 'x'.repeat(2 * 1024 * 1024) })
    expect(r.status).toBe(413)
    expect(r.json).toMatchObject({ code: 'C7AUTH_BODY_TOO_LARGE' })
  })
})

describe('C7AUTH_ENGINE_CONNECTIONS', () => {
  it('bounds the keep-alive connections the gateway opens to the engine; more requests wait their turn', async () => {
    const h = await startHarness({
      mode: 'service',
      framework: 'express',
      env: { C7AUTH_ENGINE_CONNECTIONS: '2' },
    })
    try {
      const a = await h.appToken('appA')
      const before = h.engine.stats.connections
      const answers = await Promise.all(
        Array.from({ length: 16 }, () => h.call(a, 'GET', '/process-definition')),
      )
      expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 16 }, () => 200))
      // 16 at once over at most two connections (with the default of 64 they open one each)
      expect(h.engine.stats.connections - before).toBeLessThanOrEqual(2)
    } finally {
      await h.close()
    }
  })
})

/**
 * "Cross-tenant by-id access answers exactly what the engine answers for a missing resource."
 * For each by-id read, tenant B's request for tenant A's object through the gateway must be
 * byte-for-byte what the engine itself answers tenant B's own engine user for that id.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { deriveBridgePassword } from '../../packages/gateway/src/internal.js'
import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { describeEngines, engineAdmin } from './engines.js'

const XML = linearProcessXml({
  key: 'parity',
  steps: [
    { type: 'userTask', id: 'review' },
    { type: 'externalTask', id: 'charge', topic: 'charge' },
  ],
})

describeEngines('cross-tenant by-id reads answer like the engine (bridge mode)', (ctx) => {
  let h: Harness
  let b: string
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    h = await startHarness({ mode: 'bridge', framework: 'express', testEngine: ctx.engine })
    const a = await h.appToken('appA')
    b = await h.appToken('appB')
    const deployed = await h.deploy(a, XML, 'parity')
    expect(deployed.status).toBe(200)
    const dep = deployed.json as { id: string; deployedProcessDefinitions: Record<string, unknown> }
    ids.deployment = dep.id
    ids.definition = Object.keys(dep.deployedProcessDefinitions)[0] as string
    const started = await h.call(a, 'POST', '/process-definition/key/parity/start', {})
    expect(started.status).toBe(200)
    ids.instance = (started.json as { id: string }).id
    const tasks = await h.call(a, 'GET', `/task?processInstanceId=${ids.instance}`)
    ids.task = (tasks.json as { id: string }[])[0]!.id
    const secondStart = await h.call(a, 'POST', '/process-definition/key/parity/start', {})
    const second = (secondStart.json as { id: string }).id
    const secondTask = (await h.call(a, 'GET', `/task?processInstanceId=${second}`)).json as {
      id: string
    }[]
    expect((await h.call(a, 'POST', `/task/${secondTask[0]!.id}/complete`, {})).status).toBe(204)
    const external = await engineAdmin<{ id: string }[]>(
      ctx.engine,
      'GET',
      `/external-task?processInstanceId=${second}`,
    )
    ids.externalTask = external[0]!.id
    // Provision appB in the engine before talking to the engine as appB directly.
    expect((await h.call(b, 'GET', '/process-definition')).status).toBe(200)
  })
  afterAll(() => h?.close())

  async function engineAsB(path: string) {
    const password = deriveBridgePassword('bridge-secret-0123456789-abcdefghij', 'appB')
    const res = await fetch(`${h.engine.url}${path}`, {
      headers: { authorization: `Basic ${Buffer.from(`appB:${password}`).toString('base64')}` },
    })
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
  }

  for (const [name, path] of [
    ['process definition', (i: Record<string, string>) => `/process-definition/${i.definition}`],
    ['process instance', (i: Record<string, string>) => `/process-instance/${i.instance}`],
    ['task', (i: Record<string, string>) => `/task/${i.task}`],
    ['external task', (i: Record<string, string>) => `/external-task/${i.externalTask}`],
    ['deployment', (i: Record<string, string>) => `/deployment/${i.deployment}`],
    [
      'historic process instance',
      (i: Record<string, string>) => `/history/process-instance/${i.instance}`,
    ],
  ] as const) {
    it(`${name}: same status, content type and body`, async () => {
      const viaGateway = await h.call(b, 'GET', path(ids))
      const direct = await engineAsB(path(ids))
      expect(direct.status).toBe(404)
      expect(viaGateway.status).toBe(direct.status)
      expect(viaGateway.headers['content-type']).toBe(direct.type)
      expect(viaGateway.text).toBe(direct.text)
    })
  }
})

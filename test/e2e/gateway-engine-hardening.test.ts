import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'

/** A process whose call activity would start `called` in `tenant` (trap T13). */
function callingXml(key: string, attribute: string): string {
  return linearProcessXml({ key, steps: [{ type: 'userTask', id: 'u' }] }).replace(
    '<bpmn:userTask id="u" />',
    `<bpmn:userTask id="u" />\n<bpmn:callActivity id="call" calledElement="other" ${attribute} />`,
  )
}

describe('security review fixes through the gateway (express, bridge)', () => {
  let h: Harness
  let a: string
  let b: string
  const maxJsonBytes = 16 * 1024
  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'express',
      env: { C7AUTH_GATEWAY_MAX_BODY: String(maxJsonBytes) },
    })
    a = await h.appToken('appA')
    b = await h.appToken('appB')
  })
  afterAll(async () => h?.close())

  const deploymentsReachingEngine = () =>
    h.engine.requests.filter((q) => q.operationId === 'createDeployment')

  async function definitionKeys(token: string): Promise<string[]> {
    const r = await h.call(token, 'GET', '/process-definition')
    expect(r.status).toBe(200)
    return (r.json as { key: string }[]).map((d) => d.key)
  }

  it('refuses a Content-Type with two boundaries (the engine would read the last) with 400', async () => {
    const before = deploymentsReachingEngine().length
    const inner =
      `--BBB\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n` +
      `--BBB\r\nContent-Disposition: form-data; name="smuggled.bpmn"; filename="smuggled.bpmn"\r\n\r\n` +
      `${linearProcessXml({ key: 'smuggled', steps: [] })}\r\n--BBB--\r\n`
    const r = await h.call(
      a,
      'POST',
      '/deployment/create',
      `--AAA\r\nContent-Disposition: form-data; name="data"\r\n\r\n${inner}\r\n--AAA--\r\n`,
      { 'content-type': 'multipart/form-data; boundary=AAA; boundary=BBB' },
    )
    expect(r.status).toBe(400)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.json).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    expect(deploymentsReachingEngine().length).toBe(before)
    expect(await definitionKeys(b)).not.toContain('smuggled')
    expect(await definitionKeys(a)).not.toContain('smuggled')
  })

  it('refuses a deployment whose BPMN calls into another tenant, and deploys nothing', async () => {
    const before = h.engine.requests.filter(
      (q) => q.operationId === 'createDeployment' && q.status < 300,
    ).length
    for (const attribute of [
      'camunda:calledElementTenantId="tenantB"',
      "camunda:calledElementTenantId=\"${execution.tenantId == 'x' ? 'tenantB' : ''}\"",
    ]) {
      const r = await h.deploy(a, callingXml('crossCaller', attribute), 'crossCaller')
      expect(r.status, attribute).toBe(403)
      expect(r.json).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    }
    const created = h.engine.requests.filter(
      (q) => q.operationId === 'createDeployment' && q.status < 300,
    )
    expect(created.length).toBe(before)
    expect(await definitionKeys(a)).not.toContain('crossCaller')
  })

  it('lets a reference to the deployer’s own tenant through', async () => {
    const r = await h.deploy(
      a,
      callingXml('ownCaller', 'camunda:calledElementTenantId="tenantA"'),
      'ownCaller',
    )
    expect(r.status, r.text).toBe(200)
    expect(r.json).toMatchObject({ tenantId: 'tenantA' })
    const seen = deploymentsReachingEngine().at(-1)!
    expect(seen.headers['content-type']).toMatch(/^multipart\/form-data; boundary=----c7auth\d+$/)
    expect(await definitionKeys(a)).toContain('ownCaller')
  })

  it('refuses a string asyncResponseTimeout (which the engine would coerce past the cap)', async () => {
    const before = h.engine.requests.filter((q) => q.operationId === 'fetchAndLock').length
    const r = await h.call(a, 'POST', '/external-task/fetchAndLock', {
      workerId: 'w1',
      maxTasks: 1,
      asyncResponseTimeout: '1800000',
      topics: [{ topicName: 'nothing', lockDuration: 1000 }],
    })
    expect(r.status).toBe(400)
    expect(r.json).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    expect(h.engine.requests.filter((q) => q.operationId === 'fetchAndLock').length).toBe(before)
  })

  it('streams a POST /task answer larger than C7AUTH_GATEWAY_MAX_BODY', async () => {
    h.engine.deploy(
      linearProcessXml({ key: 'many', steps: [{ type: 'userTask', id: 'review' }] }),
      { tenantId: 'tenantA' },
    )
    for (let i = 0; i < 80; i++) h.engine.startProcess('many', { tenantId: 'tenantA' })
    const r = await h.call(a, 'POST', '/task', { processDefinitionKey: 'many' })
    expect(r.status, r.text).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.text.length).toBeGreaterThan(maxJsonBytes)
    expect(r.json as unknown[]).toHaveLength(80)
  })
})

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

  /** A multipart body from raw parts (headers, content bytes): what a hostile client can send. */
  async function upload(token: string, parts: [string, Buffer | string][]) {
    const bnd = 'rawB0undary'
    const body = Buffer.concat([
      ...parts.flatMap(([head, content]) => [
        Buffer.from(`--${bnd}\r\n${head}\r\n\r\n`, 'latin1'),
        Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${bnd}--\r\n`),
    ])
    return h.call(token, 'POST', '/deployment/create', body, {
      'content-type': `multipart/form-data; boundary=${bnd}`,
    })
  }
  const file = (name: string) =>
    `Content-Disposition: form-data; name="${name}"; filename="${name}"`

  it('refuses the encoding switch after a padded XML declaration, and whitespace-padded references', async () => {
    const created = () =>
      h.engine.requests.filter((q) => q.operationId === 'createDeployment' && q.status < 300).length
    const before = created()
    const xml = callingXml('paddedCaller', 'camunda:calledElementTenantId="tenantB"')
    const utf16 = Buffer.from(xml.replace(/^<\?xml[^>]*\?>\s*/, ''), 'utf16le').swap16()
    const switched = await upload(a, [
      [
        file('switch.bpmn'),
        Buffer.concat([
          Buffer.from(`<?xml version="1.0"${' '.repeat(300)}encoding="UTF-16BE"?>`),
          utf16,
        ]),
      ],
    ])
    expect(switched.status, switched.text).toBe(400)
    expect(switched.json).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    for (const [where, padded] of [
      ['before =', xml.replace('TenantId="tenantB"', `TenantId${' '.repeat(300_000)}="tenantB"`)],
      ['after =', xml.replace('TenantId="tenantB"', `TenantId=${'\n'.repeat(300_000)}"tenantB"`)],
    ] as const) {
      const r = await upload(a, [[file('padded.bpmn'), padded]])
      expect(r.status, where).toBe(403)
      expect(r.json).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    }
    expect(created()).toBe(before)
    expect(await definitionKeys(a)).not.toContain('paddedCaller')
    expect(await definitionKeys(b)).not.toContain('paddedCaller')
  })

  it('refuses nested multipart parts and ambiguous part names with 400', async () => {
    const before = deploymentsReachingEngine().length
    const inner =
      `--IN\r\nContent-Disposition: file; filename="nested.bpmn"\r\n\r\n` +
      `${linearProcessXml({ key: 'nested', steps: [] })}\r\n--IN--`
    for (const parts of [
      [
        [
          `Content-Disposition: form-data; name="files"\r\nContent-Type: Multipart/Mixed; boundary=IN`,
          inner,
        ],
      ],
      [['Content-Disposition: form-data; name="x"; name="tenant-id"', 'tenantB']],
      [["Content-Disposition: form-data; name*=UTF-8''tenant-id", 'tenantB']],
      [[`${file('a.bpmn')}; filename="b.bpmn"`, linearProcessXml({ key: 'dup', steps: [] })]],
    ] as [string, string][][]) {
      const r = await upload(a, parts)
      expect(r.status, parts[0]![0]).toBe(400)
      expect(r.json).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    }
    expect(deploymentsReachingEngine().length).toBe(before)
    const keys = await definitionKeys(a)
    expect(keys).not.toContain('nested')
    expect(keys).not.toContain('dup')
    // a padded, upper-case tenant-id part is read as the client's tenant-id (as the engine trims)
    const asking = (tenant: string) =>
      upload(a, [
        ['Content-Disposition: form-data; name=" Tenant-ID "', tenant],
        [file('trimmed.bpmn'), linearProcessXml({ key: 'trimmed', steps: [] })],
      ])
    const foreign = await asking('tenantB')
    expect(foreign.status, foreign.text).toBe(403)
    expect(foreign.json).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    const own = await asking('tenantA')
    expect(own.status, own.text).toBe(200)
    expect(own.json).toMatchObject({ tenantId: 'tenantA' })
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

/** A multipart body without its closing delimiter: the stamper refuses it (400). */
const TRUNCATED = '--XB\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc'
const TRUNCATED_TYPE = { 'content-type': 'multipart/form-data; boundary=XB' }

describe('a refused upload while nobody reads the body yet never ends the gateway (koa, bridge)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ mode: 'bridge', framework: 'koa' })
  })
  afterAll(async () => h?.close())

  it('answers 400 to a truncated body as the first request of an app (provisioning awaited), then serves it', async () => {
    const a = await h.appToken('appA')
    const provisionsBefore = h.events.provisions
    const r = await h.call(a, 'POST', '/deployment/create', TRUNCATED, TRUNCATED_TYPE)
    expect(r.status, r.text).toBe(400)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.json).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    expect(h.events.provisions).toBeGreaterThan(provisionsBefore) // it was the first request
    const next = await h.call(a, 'GET', '/process-definition')
    expect(next.status, next.text).toBe(200)
  })

  it('answers 403 to a cross-tenant deployment as the first request of an app, then deploys', async () => {
    const b = await h.appToken('appB')
    const refused = await h.deploy(
      b,
      callingXml('firstCross', 'camunda:calledElementTenantId="tenantA"'),
      'firstCross',
    )
    expect(refused.status, refused.text).toBe(403)
    expect(refused.json).toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    const ok = await h.deploy(
      b,
      callingXml('firstOwn', 'camunda:calledElementTenantId="tenantB"'),
      'firstOwn',
    )
    expect(ok.status, ok.text).toBe(200)
    expect(ok.json).toMatchObject({ tenantId: 'tenantB' })
  })
})

describe('a refused upload while every engine connection is busy (express, service, 2 connections)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ mode: 'service', framework: 'express', gateway: { connections: 2 } })
  })
  afterAll(async () => h?.close())

  it('answers 400 at once, without waiting for a free connection, and the gateway stays up', async () => {
    const a = await h.appToken('appA')
    let pollsDone = false
    const polls = Promise.all(
      [1, 2].map((i) =>
        h.call(a, 'POST', '/external-task/fetchAndLock', {
          workerId: `w${i}`,
          maxTasks: 1,
          asyncResponseTimeout: 4000,
          topics: [{ topicName: 'nothing-here', lockDuration: 1000 }],
        }),
      ),
    ).finally(() => {
      pollsDone = true
    })
    while (h.engine.pendingLongPolls < 2) await new Promise((r) => setTimeout(r, 10))
    const r = await h.call(a, 'POST', '/deployment/create', TRUNCATED, TRUNCATED_TYPE)
    expect(r.status, r.text).toBe(400)
    expect(r.json).toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    expect(pollsDone).toBe(false) // answered while both connections were still taken
    const cross = await h.deploy(
      a,
      callingXml('busyCross', 'camunda:calledElementTenantId="tenantB"'),
      'busyCross',
    )
    expect(cross.status, cross.text).toBe(403)
    expect(pollsDone).toBe(false)
    const answered = await polls
    expect(answered).toHaveLength(2)
    for (const p of answered) expect(p.status, p.text).toBe(200)
    const next = await h.call(a, 'GET', '/process-definition')
    expect(next.status, next.text).toBe(200)
    expect((next.json as { key: string }[]).map((d) => d.key)).not.toContain('busyCross')
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'

/** A one-user-task process with `extra` inserted next to the task. */
function modelWith(key: string, extra: string): string {
  return linearProcessXml({ key, steps: [{ type: 'userTask', id: 'u' }] }).replace(
    '<bpmn:userTask id="u" />',
    `<bpmn:userTask id="u" />\n${extra}`,
  )
}

const SCRIPT =
  '<bpmn:scriptTask id="evilScript" scriptFormat="groovy"><bpmn:script>1</bpmn:script></bpmn:scriptTask>'
const JAVA = '<bpmn:serviceTask id="javaTask" camunda:class="com.acme.Delegate" />'
const LATEST_FORM =
  '<bpmn:userTask id="formTask" camunda:formRef="shared" camunda:formRefBinding="latest" />'
const SIGNAL_THROW =
  '<bpmn:intermediateThrowEvent id="shout"><bpmn:signalEventDefinition signalRef="s" /></bpmn:intermediateThrowEvent>'

describe('deployment profiles through the gateway (express, service mode, simulator)', () => {
  let h: Harness
  let a: string
  let b: string
  beforeAll(async () => {
    h = await startHarness({
      mode: 'service',
      framework: 'express',
      // tenant A keeps the default (strict), tenant B is trusted
      env: { C7AUTH_TENANT_TENANTB_DEPLOY_PROFILE: 'trusted' },
    })
    a = await h.appToken('appA')
    b = await h.appToken('appB')
  })
  afterAll(async () => h?.close())

  const created = () =>
    h.engine.requests.filter((q) => q.operationId === 'createDeployment' && q.status < 300).length

  async function definitionKeys(token: string): Promise<string[]> {
    const r = await h.call(token, 'GET', '/process-definition')
    expect(r.status).toBe(200)
    return (r.json as { key: string }[]).map((d) => d.key)
  }

  it('deploys a model whose code runs outside the engine under strict', async () => {
    const r = await h.deploy(
      a,
      linearProcessXml({ key: 'clean', steps: [{ type: 'externalTask', id: 'x', topic: 't' }] }),
      'clean',
    )
    expect(r.status, r.text).toBe(200)
    expect((r.json as { tenantId: string }).tenantId).toBe('tenantA')
    expect(await definitionKeys(a)).toContain('clean')
  })

  it('refuses a script, a Java class, a latest-bound form and a signal throw under strict, naming element and rule, and deploys nothing', async () => {
    const cases: [string, string, string, string][] = [
      ['strictScript', SCRIPT, 'evilScript', 'script'],
      ['strictJava', JAVA, 'javaTask', 'java-class'],
      ['strictForm', LATEST_FORM, 'formTask', 'form-latest'],
      ['strictSignal', SIGNAL_THROW, 'shout', 'signal-throw'],
    ]
    expect.assertions(cases.length * 5 + 3) // + definitionKeys' status check
    const before = created()
    for (const [key, extra, element, rule] of cases) {
      const r = await h.deploy(a, modelWith(key, extra), key)
      expect(r.status, r.text).toBe(400)
      expect(r.headers['content-type']).toBe('application/json')
      const body = r.json as { code: string; message: string }
      expect(body.code).toBe('C7AUTH_DEPLOYMENT_REFUSED')
      expect(body.message).toContain(`element "${element}"`)
      expect(body.message).toContain(`rule ${rule}`)
    }
    expect(created()).toBe(before)
    const keys = await definitionKeys(a)
    expect(keys.filter((k) => k.startsWith('strict'))).toEqual([])
  })

  it('refuses a file type strict does not know, and a DTD in any profile', async () => {
    const html = `--{b}\r\nContent-Disposition: form-data; name="form.html"; filename="form.html"\r\n\r\n<script>alert(1)</script>\r\n`
    const r = await h.deploy(a, linearProcessXml({ key: 'withHtml', steps: [] }), 'withHtml', html)
    expect(r.status, r.text).toBe(400)
    expect((r.json as { message: string }).message).toContain('rule resource-type')
    const dtd = linearProcessXml({ key: 'dtd', steps: [] }).replace(
      '<bpmn:definitions',
      '<!DOCTYPE bpmn:definitions>\n<bpmn:definitions',
    )
    const refused = await h.deploy(b, dtd, 'dtd')
    expect(refused.status, refused.text).toBe(400)
  })

  it('accepts engine-side code under trusted, but not a latest-bound form', async () => {
    const html = `--{b}\r\nContent-Disposition: form-data; name="form.html"; filename="form.html"\r\n\r\n<p>embedded form</p>\r\n`
    const ok = await h.deploy(
      b,
      linearProcessXml({ key: 'trustedHtml', steps: [] }),
      'trustedHtml',
      html,
    )
    expect(ok.status, ok.text).toBe(200)
    const java = await h.deploy(b, modelWith('trustedJava', JAVA), 'trustedJava')
    expect(java.status, java.text).toBe(200)
    const latest = await h.deploy(b, modelWith('trustedLatest', LATEST_FORM), 'trustedLatest')
    expect(latest.status, latest.text).toBe(400)
    expect(latest.json).toMatchObject({ code: 'C7AUTH_DEPLOYMENT_REFUSED' })
    expect((latest.json as { message: string }).message).toContain('profile trusted')
  })

  it('refuses a signal throw under trusted when the engine cannot tell whether shared signal subscriptions exist', async () => {
    // the engine fails the subscription probe: the gateway fails closed
    h.simulator!.setFault({ kind: 'status', status: 500, path: '/event-subscription' })
    try {
      const r = await h.deploy(b, modelWith('trustedSignal', SIGNAL_THROW), 'trustedSignal')
      expect(r.status, r.text).toBe(400)
      expect((r.json as { message: string }).message).toContain('rule signal-throw')
    } finally {
      h.simulator!.setFault(null)
    }
  })

  it('accepts a signal throw under trusted when the engine has no shared signal subscription', async () => {
    const before = h.simulator!.requests.length
    const r = await h.deploy(b, modelWith('trustedSignalOk', SIGNAL_THROW), 'trustedSignalOk')
    expect(r.status, r.text).toBe(200)
    // the gateway asked the engine (as the probe's query), which answered
    const probes = h.simulator!.requests.slice(before).filter((q) => q.path.endsWith('/count'))
    expect(probes.map((q) => `${q.path} ${q.status}`)).toContain('/event-subscription/count 200')
  })

  it('refuses deploying without a grant (a user of the app’s tenant), and redeploying under strict', async () => {
    const user = await h.userToken('alice', 'appA', [])
    const before = created()
    const r = await h.deploy(user, linearProcessXml({ key: 'byUser', steps: [] }), 'byUser')
    expect(r.status, r.text).toBe(403)
    expect(r.json).toMatchObject({ code: 'C7AUTH_DEPLOY_FORBIDDEN' })
    expect(created()).toBe(before)
    const re = await h.call(a, 'POST', '/deployment/anything/redeploy', {})
    expect(re.status, re.text).toBe(403)
    expect(re.json).toMatchObject({ code: 'C7AUTH_DEPLOY_FORBIDDEN' })
  })
})

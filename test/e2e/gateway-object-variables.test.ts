import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { describeEngines, engineAdmin } from './engines.js'

const objectValue = (objectTypeName: string, serializationDataFormat = 'application/json') => ({
  value: '[]',
  type: 'Object',
  valueInfo: { objectTypeName, serializationDataFormat },
})

describe('object variables through the gateway (koa, service mode, simulator)', () => {
  let h: Harness
  let a: string
  let instanceId: string
  beforeAll(async () => {
    h = await startHarness({
      mode: 'service',
      framework: 'koa',
      env: { C7AUTH_TENANT_TENANTA_OBJECT_TYPES: 'java.util.ArrayList' },
    })
    a = await h.appToken('appA')
    const deployed = await h.deploy(
      a,
      linearProcessXml({ key: 'vars', steps: [{ type: 'userTask', id: 'u' }] }),
      'vars',
    )
    expect(deployed.status, deployed.text).toBe(200)
    const started = await h.call(a, 'POST', '/process-definition/key/vars/start', {
      variables: { plain: { value: 'x', type: 'String' } },
    })
    expect(started.status, started.text).toBe(200)
    instanceId = (started.json as { id: string }).id
  })
  afterAll(async () => h?.close())

  const reached = (operationId: string) =>
    h.engine.requests.filter((q) => q.operationId === operationId).length

  it('refuses a start naming a class outside the tenant allowlist, before the engine sees it', async () => {
    const before = reached('startProcessInstanceByKeyAndTenantId')
    const r = await h.call(a, 'POST', '/process-definition/key/vars/start', {
      variables: { gadget: objectValue('com.sun.rowset.JdbcRowSetImpl') },
    })
    expect(r.status, r.text).toBe(400)
    expect(r.json).toMatchObject({ code: 'C7AUTH_VARIABLE_TYPE_FORBIDDEN' })
    expect(reached('startProcessInstanceByKeyAndTenantId')).toBe(before)
  })

  it('refuses Java serialization even for an allowlisted type, and on every variable route', async () => {
    const java = objectValue('java.util.ArrayList', 'application/x-java-serialized-object')
    const put = await h.call(a, 'PUT', `/process-instance/${instanceId}/variables/v`, java)
    expect(put.status, put.text).toBe(400)
    expect(put.json).toMatchObject({ code: 'C7AUTH_VARIABLE_TYPE_FORBIDDEN' })
    const modify = await h.call(a, 'POST', `/process-instance/${instanceId}/variables`, {
      modifications: { v: objectValue('x.Evil') },
    })
    expect(modify.status, modify.text).toBe(400)
    expect(modify.json).toMatchObject({ code: 'C7AUTH_VARIABLE_TYPE_FORBIDDEN' })
    const vars = await h.call(a, 'GET', `/process-instance/${instanceId}/variables`)
    expect(Object.keys(vars.json as object)).not.toContain('v')
  })

  it('forwards an allowlisted object type with a JSON serialization', async () => {
    const put = await h.call(
      a,
      'PUT',
      `/process-instance/${instanceId}/variables/list`,
      objectValue('java.util.ArrayList'),
    )
    expect(put.status, put.text).toBe(204)
  })

  it('refuses a binary upload whose type part names a class outside the allowlist', async () => {
    const boundary = 'objB'
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="d.json"\r\nContent-Type: application/json\r\n\r\n{}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ncom.sun.rowset.JdbcRowSetImpl\r\n--${boundary}--\r\n`
    const r = await h.call(a, 'POST', `/process-instance/${instanceId}/variables/bin/data`, body, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    })
    expect(r.status, r.text).toBe(400)
    expect(r.json).toMatchObject({ code: 'C7AUTH_VARIABLE_TYPE_FORBIDDEN' })
  })
})

describeEngines(
  'object variables through the gateway',
  (ctx) => {
    describe('bridge mode', () => {
      let h: Harness
      let a: string
      let instanceId: string
      beforeAll(async () => {
        h = await startHarness({
          mode: 'bridge',
          framework: 'express',
          testEngine: ctx.engine,
          env: {
            C7AUTH_TENANT_TENANTA_OBJECT_TYPES: 'java.util.ArrayList',
            C7AUTH_ENGINE_TIMEOUT: '20s',
          },
        })
        a = await h.appToken('appA')
        const deployed = await h.deploy(
          a,
          linearProcessXml({ key: 'objVars', steps: [{ type: 'userTask', id: 'u' }] }),
          'objVars',
        )
        expect(deployed.status, deployed.text).toBe(200)
        const started = await h.call(a, 'POST', '/process-definition/key/objVars/start', {})
        expect(started.status, started.text).toBe(200)
        instanceId = (started.json as { id: string }).id
      })
      afterAll(async () => h?.close())

      const upload = (type: string, data: string) => {
        const boundary = 'objReal'
        const body =
          `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="d.json"\r\nContent-Type: application/json\r\n\r\n${data}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\n${type}\r\n--${boundary}--\r\n`
        return h.call(a, 'POST', `/process-instance/${instanceId}/variables/bin/data`, body, {
          'content-type': `multipart/form-data; boundary=${boundary}`,
        })
      }

      it('forwards allowlisted object types to the engine and stops the others before it', async () => {
        // The test engines have no Spin data formats: the engine itself answers the allowed
        // writes (with its own error); what matters here is who answers.
        const engineAnswered = (r: { json: unknown }) =>
          expect(String((r.json as { code?: unknown } | undefined)?.code)).not.toMatch(/^C7AUTH_/)
        const put = await h.call(
          a,
          'PUT',
          `/process-instance/${instanceId}/variables/list`,
          objectValue('java.util.ArrayList'),
        )
        engineAnswered(put)
        const ok = await upload('java.util.ArrayList', '["x"]')
        engineAnswered(ok)
        const refusedPut = await h.call(
          a,
          'PUT',
          `/process-instance/${instanceId}/variables/uri`,
          objectValue('java.net.URI'),
        )
        expect(refusedPut.json).toMatchObject({ code: 'C7AUTH_VARIABLE_TYPE_FORBIDDEN' })
        const refused = await upload('java.net.URI', '"urn:x"')
        expect(refused.status, refused.text).toBe(400)
        expect(refused.json).toMatchObject({ code: 'C7AUTH_VARIABLE_TYPE_FORBIDDEN' })
        const vars = await engineAdmin<Record<string, unknown>>(
          ctx.engine,
          'GET',
          `/process-instance/${instanceId}/variables?deserializeValues=false`,
        )
        expect(Object.keys(vars)).not.toContain('uri')
      })
    })
  },
  { only: ['camunda7', 'operaton'] },
)

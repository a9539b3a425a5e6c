/**
 * Forms never cross tenants (issue 15 item 2, T29). Tenant A owns a Camunda Form `K`; tenant B's
 * process binds its start form and its task form (an expression key) to `K` with
 * `formRefBinding="latest"`. Both are deployed as the engine admin, straight to the engine — the
 * deployment scanner would refuse B's model — so this tests the gateway's second line of defence:
 * whatever the model says, B never reads A's form through `…/deployed-start-form` or
 * `/task/{id}/deployed-form`, and cannot tell A's key from a missing one, in every upstream mode.
 * (`assertion` mode needs the engine plugin: see gateway-engine-assertion.test.ts.)
 */
import { createServer, request as httpRequest } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EngineAuthMode } from '@c7auth/core'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { basicAuth, describeEngines, engineFetch } from './engines.js'
import type { TestEngine } from './engines.js'
import { SECRET, adminDeployFiles, formJson, formProcessXml } from './form-models.js'

/**
 * engine-rest without authentication, as `none` mode expects it on a private network: a plain
 * HTTP hop that lets the engine see the admin whenever the caller sends no credentials (the
 * engine's tenant check is off either way, which is what makes `none` mode need the gateway).
 */
async function openEngine(
  engine: TestEngine,
): Promise<{ engine: TestEngine; close(): Promise<void> }> {
  const upstream = new URL(engine.origin)
  const server: Server = createServer((req, res) => {
    const headers = { ...req.headers, host: upstream.host }
    headers.authorization ??= basicAuth(engine.admin)
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    engine: { ...engine, origin, url: `${origin}${new URL(engine.url).pathname}` },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const MODES: readonly EngineAuthMode[] = ['service', 'none', 'bridge']

describeEngines('forms never cross tenants (T29)', (ctx) => {
  for (const mode of MODES) {
    describe(`${mode} mode`, () => {
      let h: Harness
      let open: { close(): Promise<void> } | undefined
      let b: string
      const sfx = `${mode}${randomUUID().slice(0, 8)}`
      const K = `shared-key-${sfx}`
      const bKey = `bproc-${sfx}`
      const ownKey = `bown-${sfx}`
      const ids: Record<string, string> = {}

      /** B starts its latest-bound process with the task form key `formKey`; returns the task. */
      async function bTask(formKey: string): Promise<string> {
        const started = await h.call(b, 'POST', `/process-definition/key/${bKey}/start`, {
          variables: { formKey: { value: formKey, type: 'String' } },
        })
        expect(started.status, started.text).toBe(200)
        const pi = (started.json as { id: string }).id
        const tasks = await h.call(b, 'GET', `/task?processInstanceId=${pi}`)
        expect(tasks.status, tasks.text).toBe(200)
        return (tasks.json as { id: string }[])[0]!.id
      }

      beforeAll(async () => {
        let engine = ctx.engine
        if (mode === 'none') {
          const o = await openEngine(ctx.engine)
          open = o
          engine = o.engine
        }
        h = await startHarness({ mode, framework: 'express', testEngine: engine })
        b = await h.appToken('appB')
        // A's form (and nothing else of A's), then B's hostile model and B's honest one
        await adminDeployFiles(ctx.engine, 'tenantA', { 'a.form': formJson(K, SECRET) })
        const hostile = await adminDeployFiles(ctx.engine, 'tenantB', {
          'b.bpmn': formProcessXml(bKey, K, '${formKey}', 'latest'),
        })
        ids.definition = hostile.definitionId!
        const own = await adminDeployFiles(ctx.engine, 'tenantB', {
          'own.bpmn': formProcessXml(ownKey, `own-${sfx}`, `own-${sfx}`, 'deployment'),
          'own.form': formJson(`own-${sfx}`, 'OWN-FORM-OF-B'),
        })
        ids.own = own.definitionId!
        ids.taskOnAKey = await bTask(K)
        ids.taskMissing = await bTask(`missing-${sfx}`)
      }, 120_000)
      afterAll(async () => {
        await h?.close()
        await open?.close()
      })

      it('the engine itself would hand A’s form to B’s model (the hostile setup is real)', async () => {
        const direct = await engineFetch(
          ctx.engine,
          'GET',
          `/process-definition/${ids.definition}/deployed-start-form`,
        )
        expect(direct.status).toBe(200)
        expect(direct.text).toContain(SECRET)
      })

      it('B cannot read A’s form through its start form, by id, by key or by key and tenant', async () => {
        const paths = [
          `/process-definition/${ids.definition}/deployed-start-form`,
          `/process-definition/key/${bKey}/deployed-start-form`,
          `/process-definition/key/${bKey}/tenant-id/tenantB/deployed-start-form`,
        ]
        for (const path of paths) {
          const r = await h.call(b, 'GET', path)
          expect(r.text, path).not.toContain(SECRET)
          expect(r.status, path).toBe(404)
          expect(r.json, path).toEqual({
            type: 'InvalidRequestException',
            message: expect.stringMatching(
              new RegExp(
                `^No (Camunda|Operaton) Form Definition was found .*\\[key=${K}, binding=latest, version=null\\]$`,
              ),
            ),
            code: null,
          })
        }
      })

      it('B cannot read A’s form through a task form', async () => {
        const r = await h.call(b, 'GET', `/task/${ids.taskOnAKey}/deployed-form`)
        expect(r.text).not.toContain(SECRET)
        expect(r.status).toBe(404)
      })

      it('an expression key tells B nothing: A’s key answers exactly like a missing key', async () => {
        const ofA = await h.call(b, 'GET', `/task/${ids.taskOnAKey}/deployed-form`)
        const missing = await h.call(b, 'GET', `/task/${ids.taskMissing}/deployed-form`)
        expect(ofA.status).toBe(missing.status)
        expect(ofA.headers['content-type']).toBe(missing.headers['content-type'])
        expect(ofA.text.replace(K, '<key>')).toBe(missing.text.replace(`missing-${sfx}`, '<key>'))
      })

      it('B still reads its own forms (deployment binding), and A’s task forms stay A’s', async () => {
        const own = await h.call(b, 'GET', `/process-definition/${ids.own}/deployed-start-form`)
        expect(own.status, own.text).toBe(200)
        expect(own.text).toContain('OWN-FORM-OF-B')
        const a = await h.appToken('appA')
        const foreign = await h.call(a, 'GET', `/task/${ids.taskOnAKey}/deployed-form`)
        const missing = await h.call(a, 'GET', `/task/no-such-task-${sfx}/deployed-form`)
        expect(foreign.text).not.toContain(SECRET)
        expect(foreign.status).toBe(missing.status)
        expect(foreign.text.replace(ids.taskOnAKey!, '<id>')).toBe(
          missing.text.replace(`no-such-task-${sfx}`, '<id>'),
        )
      })
    })
  }
})

describeEngines('how the engine resolves Camunda Forms (the simulator agrees)', (ctx) => {
  const sfx = randomUUID().slice(0, 8)
  const K = `resolve-${sfx}`
  const ids: Record<string, string> = {}
  const brand = () => (ctx.name === 'operaton' ? 'Operaton' : 'Camunda')

  beforeAll(async () => {
    await adminDeployFiles(ctx.engine, 'tenantA', { 'a.form': formJson(K, 'A-FORM') })
    ids.latest = (
      await adminDeployFiles(ctx.engine, 'tenantB', {
        'latest.bpmn': formProcessXml(`latest-${sfx}`, K, K, 'latest'),
      })
    ).definitionId!
    ids.version = (
      await adminDeployFiles(ctx.engine, 'tenantB', {
        'version.bpmn': formProcessXml(`version-${sfx}`, K, K, 'version').replaceAll(
          'camunda:formRefBinding="version"',
          'camunda:formRefBinding="version" camunda:formRefVersion="1"',
        ),
      })
    ).definitionId!
  }, 60_000)

  it('form data names the reference, its binding and version', async () => {
    const r = await engineFetch(ctx.engine, 'GET', `/process-definition/${ids.latest}/startForm`)
    expect(r.status).toBe(200)
    expect(r.json).toEqual({
      key: null,
      [`${brand().toLowerCase()}FormRef`]: { key: K, binding: 'latest', version: null },
      contextPath: null,
    })
  })

  it('`latest` without a tenant check: the only tenant’s form, then ENGINE-03109 once two tenants have the key', async () => {
    const path = `/process-definition/${ids.latest}/deployed-start-form`
    const one = await engineFetch(ctx.engine, 'GET', path)
    expect(one.status).toBe(200)
    expect(one.contentType).toMatch(/^application\/json/)
    expect(one.text).toContain('A-FORM')
    const version = await engineFetch(
      ctx.engine,
      'GET',
      `/process-definition/${ids.version}/deployed-start-form`,
    )
    // `version` binding looks among tenant-less forms only: A's form is not found
    expect(version.status).toBe(404)
    expect(version.json).toEqual({
      type: 'InvalidRequestException',
      message: `No ${brand()} Form Definition was found for ${brand()} Form Ref: ${brand()}FormRefImpl [key=${K}, binding=version, version=1]`,
      code: null,
    })
    await adminDeployFiles(ctx.engine, 'tenantB', { 'b.form': formJson(K, 'B-FORM') })
    const two = await engineFetch(ctx.engine, 'GET', path)
    expect(two.status).toBe(500)
    expect(two.json).toEqual({
      type: 'ProcessEngineException',
      message: `ENGINE-03109 Cannot resolve a unique ${brand()} Form definition for key '${K}' because it exists for multiple tenants.`,
      code: 0,
    })
  })

  it('a missing task’s deployed form is a 500 (the engine dereferences it first)', async () => {
    const r = await engineFetch(ctx.engine, 'GET', `/task/no-such-task-${sfx}/deployed-form`)
    expect(r.status).toBe(500)
    expect(r.json).toMatchObject({ type: 'NullPointerException', code: null })
  })
})

/**
 * The engine behaviours c7auth relies on, as data: one entry per behaviour, each with a probe
 * that asks an engine and returns what it observed (ids scrubbed), and the answer the gateway or
 * the identity bridge expects. `test/e2e/engine-parity.test.ts` runs every probe against the
 * simulator and the real engines; all must give `expected`. Trap numbers refer to
 * `docs/engine-facts.md`.
 */
import { linearProcessXml } from '../engine/bpmn-builder.js'
import {
  call,
  createTenant,
  createUser,
  deploy,
  errorShape,
  freshId,
  grant,
  ok,
  start,
  STRONG_PASSWORD,
} from './probe-client.js'
import type { ParityEngine } from './probe-client.js'

/** One engine behaviour the gateway or the bridge relies on. */
export interface EngineBehaviour {
  /** Stable id, e.g. `T4-empty-tenantIdIn-query`. */
  readonly id: string
  /** What the engine does, in one sentence. */
  readonly description: string
  /** What the engine answered, the same on every engine. */
  readonly expected: unknown
  /** Probes one engine; returns the observable answer (JSON-comparable). */
  run(engine: ParityEngine): Promise<unknown>
}

const JSON_TYPE = 'application/json'

function userTaskXml(key: string): string {
  return linearProcessXml({ key, steps: [{ type: 'userTask', id: 'review' }] })
}

function externalTaskXml(key: string, topic: string): string {
  return linearProcessXml({ key, steps: [{ type: 'externalTask', id: 'work', topic }] })
}

function receiveTaskXml(key: string, message: string, startMessage?: string): string {
  return linearProcessXml({
    key,
    steps: [{ type: 'receiveTask', id: 'wait', message }],
    ...(startMessage === undefined ? {} : { startMessage }),
  })
}

async function count(engine: ParityEngine, path: string): Promise<number> {
  return (await ok<{ count: number }>(engine, 'GET', path)).count
}

async function twoTenants(engine: ParityEngine): Promise<[string, string]> {
  const a = freshId('ta')
  const b = freshId('tb')
  await createTenant(engine, a)
  await createTenant(engine, b)
  return [a, b]
}

/** The engine's 404 for a missing id of one resource (what a foreign id must look like too). */
function notFound(
  id: string,
  path: (missing: string) => string,
  body: { type: string; message: string; code: number | null },
  status = 404,
): EngineBehaviour {
  return {
    id: `not-found-${id}`,
    description: `GET ${path('{id}')} for a missing id answers ${status} with the engine's JSON error body`,
    expected: { status, contentType: JSON_TYPE, body },
    async run(engine) {
      const missing = freshId('missing')
      const r = await call(engine, 'GET', path(missing))
      return errorShape(r, [missing])
    },
  }
}

const ire = (message: string, code: number | null = null) => ({
  type: 'InvalidRequestException',
  message,
  code,
})

export const ENGINE_BEHAVIOURS: readonly EngineBehaviour[] = [
  // ---- T2: engine names ----
  {
    id: 'T2-engine-list-anonymous',
    description: '`GET /engine` lists the engines without credentials',
    expected: { status: 200, body: [{ name: 'default' }] },
    async run(engine) {
      const r = await call(engine, 'GET', '/engine', undefined, null)
      return { status: r.status, body: r.json }
    },
  },
  {
    id: 'T2-named-engine-prefix',
    description: '`/engine/default/…` serves the same routes as the unprefixed ones',
    expected: { same: true, status: 200 },
    async run(engine) {
      const plain = await call(engine, 'GET', '/process-definition/count')
      const named = await call(engine, 'GET', '/engine/default/process-definition/count')
      return { same: plain.text === named.text, status: named.status }
    },
  },
  // ---- T3: query parameters ----
  {
    id: 'T3-repeated-parameter-first-wins',
    description: 'a repeated query parameter: the engine uses the first value',
    expected: [1, 0],
    async run(engine) {
      const key = freshId('rep')
      await deploy(engine, userTaskXml(key))
      return [
        await count(engine, `/process-definition/count?key=${key}&key=nope${key}`),
        await count(engine, `/process-definition/count?key=nope${key}&key=${key}`),
      ]
    },
  },
  {
    id: 'T3-parameter-names-case-sensitive',
    description: 'parameter names are case-sensitive; an unknown (mis-cased) name is ignored',
    expected: { exact: 0, misCased: 'unfiltered' },
    async run(engine) {
      const key = freshId('case')
      await deploy(engine, userTaskXml(key))
      const exact = await count(engine, `/process-definition/count?key=${key}&tenantIdIn=zz`)
      const mis = await count(engine, `/process-definition/count?key=${key}&TENANTIDIN=zz`)
      return { exact, misCased: mis === 1 ? 'unfiltered' : mis }
    },
  },
  // ---- T4: empty and duplicate tenantIdIn ----
  {
    id: 'T4-empty-tenantIdIn-query',
    description: '`tenantIdIn=` (empty) switches the tenant filter off in a GET query',
    expected: { emptyList: 2, oneTenant: 1 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('empty')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key), b)
      return {
        emptyList: await count(engine, `/process-definition/count?key=${key}&tenantIdIn=`),
        oneTenant: await count(engine, `/process-definition/count?key=${key}&tenantIdIn=${a}`),
      }
    },
  },
  {
    id: 'T4-empty-tenantIdIn-body',
    description: '`"tenantIdIn": []` in a POST query switches the tenant filter off',
    expected: { emptyArray: 2 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('emptyb')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key), b)
      await start(engine, key, a)
      await start(engine, key, b)
      const r = await ok<{ count: number }>(engine, 'POST', '/process-instance/count', {
        processDefinitionKey: key,
        tenantIdIn: [],
      })
      return { emptyArray: r.count }
    },
  },
  {
    id: 'T3-duplicate-tenantIdIn',
    description: 'a repeated `tenantIdIn` parameter: only the first list counts',
    expected: { aThenB: 1, commaList: 2 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('dup')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key), b)
      return {
        aThenB: await count(
          engine,
          `/process-definition/count?key=${key}&tenantIdIn=${a}&tenantIdIn=${b}`,
        ),
        commaList: await count(engine, `/process-definition/count?key=${key}&tenantIdIn=${a},${b}`),
      }
    },
  },
  // ---- T5 ----
  {
    id: 'T5-unknown-json-keys-ignored',
    description: 'a POST query with an unknown JSON key is answered as if the key were absent',
    expected: { status: 200 },
    async run(engine) {
      const r = await call(engine, 'POST', '/process-instance/count', { c7authBogusKey: ['x'] })
      return { status: r.status }
    },
  },
  // ---- T6: NULL-tenant definitions ----
  {
    id: 'T6-shared-definition-instance-has-no-tenant',
    description: 'an instance of a definition without tenant has no tenant either',
    expected: { definitionTenant: null, instanceTenant: null },
    async run(engine) {
      const key = freshId('shared')
      const dep = await deploy(engine, userTaskXml(key))
      const pi = await start(engine, key)
      return { definitionTenant: dep.tenantId, instanceTenant: pi.tenantId }
    },
  },
  {
    id: 'T6-include-definitions-without-tenant',
    description:
      '`tenantIdIn=A&includeProcessDefinitionsWithoutTenantId=true` returns A’s and the shared definitions',
    expected: { tenantOnly: 1, withShared: 2 },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('incl')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key))
      const base = `/process-definition/count?key=${key}&tenantIdIn=${a}`
      return {
        tenantOnly: await count(engine, base),
        withShared: await count(engine, `${base}&includeProcessDefinitionsWithoutTenantId=true`),
      }
    },
  },
  // ---- T7 ----
  {
    id: 'T7-execution-query-without-tenant-rows',
    description:
      'the execution query filters by `tenantIdIn` and has no way to add rows without a tenant (`withoutTenantId` next to it is ignored)',
    expected: { tenantOnly: 1, withWithout: 1, all: 2 },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('exec')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key))
      await start(engine, key, a)
      await start(engine, key)
      const base = `/execution?processDefinitionKey=${key}`
      const rows = async (path: string): Promise<number> =>
        (await ok<unknown[]>(engine, 'GET', path)).length
      return {
        tenantOnly: await rows(`${base}&tenantIdIn=${a}`),
        withWithout: await rows(`${base}&tenantIdIn=${a}&withoutTenantId=true`),
        all: await rows(base),
      }
    },
  },
  // ---- T9: key-only definition paths ----
  {
    id: 'T9-key-only-read-shared-only',
    description:
      '`GET /process-definition/key/{key}` without `tenant-id` finds only a definition without tenant',
    expected: { tenantOnly: 404, shared: 200, sharedTenant: null },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('keyonly')
      await deploy(engine, userTaskXml(key), a)
      const tenantOnly = await call(engine, 'GET', `/process-definition/key/${key}`)
      await deploy(engine, userTaskXml(key))
      const shared = await call(engine, 'GET', `/process-definition/key/${key}`)
      return {
        tenantOnly: tenantOnly.status,
        shared: shared.status,
        sharedTenant: (shared.json as { tenantId?: unknown }).tenantId,
      }
    },
  },
  {
    id: 'T9-key-only-delete-shared-only',
    description:
      '`DELETE /process-definition/key/{key}` without `tenant-id` deletes only the definitions without tenant (404 when there are none)',
    expected: { tenantOnly: 404, withShared: 200, left: 2 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('keydel')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key), b)
      const tenantOnly = await call(engine, 'DELETE', `/process-definition/key/${key}?cascade=true`)
      await deploy(engine, userTaskXml(key))
      const withShared = await call(engine, 'DELETE', `/process-definition/key/${key}?cascade=true`)
      return {
        tenantOnly: tenantOnly.status,
        withShared: withShared.status,
        left: await count(engine, `/process-definition/count?key=${key}`),
      }
    },
  },
  // ---- T10 ----
  {
    id: 'T10-suspend-by-key-every-tenant',
    description:
      '`PUT /process-instance/suspended` by `processDefinitionKey` without tenant suspends every tenant’s instances',
    expected: { status: 204, suspended: 2 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('susp')
      await deploy(engine, userTaskXml(key), a)
      await deploy(engine, userTaskXml(key), b)
      await start(engine, key, a)
      await start(engine, key, b)
      const r = await call(engine, 'PUT', '/process-instance/suspended', {
        processDefinitionKey: key,
        suspended: true,
      })
      return {
        status: r.status,
        suspended: await count(
          engine,
          `/process-instance/count?processDefinitionKey=${key}&suspended=true`,
        ),
      }
    },
  },
  // ---- T11: messages ----
  {
    id: 'T11-message-without-tenant-reaches-any-tenant',
    description: '`POST /message` without a tenant correlates to a waiting instance of any tenant',
    expected: { status: 200, resultType: 'Execution', tenantId: 'A' },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('msg')
      const message = freshId('m')
      await deploy(engine, receiveTaskXml(key, message), a)
      await start(engine, key, a)
      const r = await call(engine, 'POST', '/message', {
        messageName: message,
        resultEnabled: true,
      })
      const result = (r.json as { resultType?: string; execution?: { tenantId?: string } }[])?.[0]
      return {
        status: r.status,
        resultType: result?.resultType,
        tenantId: result?.execution?.tenantId === a ? 'A' : result?.execution?.tenantId,
      }
    },
  },
  {
    id: 'T11-message-by-instance-id-with-tenant-refused',
    description: 'correlating by `processInstanceId` together with a `tenantId` is a 400',
    expected: { status: 400, type: 'BadUserRequestException' },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('msgpi')
      const message = freshId('m')
      await deploy(engine, receiveTaskXml(key, message), a)
      const pi = await start(engine, key, a)
      const r = await call(engine, 'POST', '/message', {
        messageName: message,
        processInstanceId: pi.id,
        tenantId: a,
      })
      return { status: r.status, type: (r.json as { type?: string })?.type }
    },
  },
  {
    id: 'T11-message-by-instance-id',
    description:
      'correlating by `processInstanceId` alone reaches that instance, whatever its tenant',
    expected: { status: 204, waiting: 0 },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('msgid')
      const message = freshId('m')
      await deploy(engine, receiveTaskXml(key, message), a)
      const pi = await start(engine, key, a)
      const r = await call(engine, 'POST', '/message', {
        messageName: message,
        processInstanceId: pi.id,
      })
      return {
        status: r.status,
        waiting: await count(engine, `/process-instance/count?processInstanceIds=${pi.id}`),
      }
    },
  },
  {
    id: 'T11-message-correlation-keys',
    description:
      '`correlationKeys` select the waiting instance by its variables; a tenant narrows the match exactly',
    expected: { wrongTenant: 400, right: 204, waiting: ['other'] },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('msgck')
      const message = freshId('m')
      await deploy(engine, receiveTaskXml(key, message), a)
      const one = await start(engine, key, a, { order: { value: 'one', type: 'String' } })
      const other = await start(engine, key, a, { order: { value: 'other', type: 'String' } })
      const keys = { order: { value: 'one', type: 'String' } }
      const wrong = await call(engine, 'POST', '/message', {
        messageName: message,
        tenantId: b,
        correlationKeys: keys,
      })
      const right = await call(engine, 'POST', '/message', {
        messageName: message,
        tenantId: a,
        correlationKeys: keys,
      })
      const waiting = await ok<{ id: string }[]>(
        engine,
        'GET',
        `/process-instance?processDefinitionKey=${key}`,
      )
      return {
        wrongTenant: wrong.status,
        right: right.status,
        waiting: waiting.map((p) => (p.id === one.id ? 'one' : p.id === other.id ? 'other' : p.id)),
      }
    },
  },
  {
    id: 'T11-message-start-event-tenant',
    description:
      'a message start event: with `tenantId` it starts that tenant’s definition; without one, two tenants’ definitions are ambiguous',
    expected: { withTenant: 200, startedIn: 'A', withoutTenant: 400 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('msgst')
      const message = freshId('start')
      await deploy(engine, receiveTaskXml(key, freshId('w'), message), a)
      await deploy(engine, receiveTaskXml(key, freshId('w'), message), b)
      const withTenant = await call(engine, 'POST', '/message', {
        messageName: message,
        tenantId: a,
        resultEnabled: true,
      })
      const started = (withTenant.json as { processInstance?: { tenantId?: string } }[])?.[0]
      const without = await call(engine, 'POST', '/message', { messageName: message })
      return {
        withTenant: withTenant.status,
        startedIn:
          started?.processInstance?.tenantId === a ? 'A' : started?.processInstance?.tenantId,
        withoutTenant: without.status,
      }
    },
  },
  // ---- T13 ----
  {
    id: 'T13-deployment-last-tenant-part-wins',
    description:
      'a deployment with two `tenant-id` parts is stored under the last one; the part is not checked against the caller',
    expected: { status: 200, tenant: 'B' },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const form = new FormData()
      form.append('deployment-name', 'parity')
      form.append('tenant-id', a)
      form.append('tenant-id', b)
      form.append(
        'process.bpmn',
        new Blob([userTaskXml(freshId('mp'))], { type: 'application/octet-stream' }),
        'process.bpmn',
      )
      const r = await call(engine, 'POST', '/deployment/create', form)
      const tenant = (r.json as { tenantId?: string })?.tenantId
      return { status: r.status, tenant: tenant === b ? 'B' : tenant === a ? 'A' : tenant }
    },
  },
  // ---- T18/T19: external tasks ----
  {
    id: 'T18-fetch-and-lock-tenants',
    description:
      'fetchAndLock: a topic without `tenantIdIn` or with `[]` fetches every tenant’s tasks; `tenantIdIn` narrows',
    expected: { none: 2, empty: 2, one: 1 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('fal')
      const topic = freshId('topic')
      await deploy(engine, externalTaskXml(key, topic), a)
      await deploy(engine, externalTaskXml(key, topic), b)
      await start(engine, key, a)
      await start(engine, key, b)
      const fetch = async (extra: Record<string, unknown>): Promise<number> => {
        const got = await ok<{ id: string }[]>(engine, 'POST', '/external-task/fetchAndLock', {
          workerId: freshId('w'),
          maxTasks: 10,
          topics: [{ topicName: topic, lockDuration: 1, ...extra }],
        })
        // unlock so the next fetch sees them again
        for (const t of got) await ok(engine, 'POST', `/external-task/${t.id}/unlock`)
        return got.length
      }
      return {
        none: await fetch({}),
        empty: await fetch({ tenantIdIn: [] }),
        one: await fetch({ tenantIdIn: [a] }),
      }
    },
  },
  {
    id: 'T18-fetch-and-lock-content-type',
    description: 'fetchAndLock answers with exactly `application/json`',
    expected: { status: 200, contentType: JSON_TYPE },
    async run(engine) {
      const r = await call(engine, 'POST', '/external-task/fetchAndLock', {
        workerId: freshId('w'),
        maxTasks: 1,
        topics: [{ topicName: freshId('none'), lockDuration: 1000 }],
      })
      return { status: r.status, contentType: r.contentType }
    },
  },
  {
    id: 'T19-long-poll-answers-when-a-task-appears',
    description:
      'a fetchAndLock long poll returns as soon as a matching task is created, before its timeout',
    expected: { tasks: 1, beforeTimeout: true },
    async run(engine) {
      const key = freshId('lp')
      const topic = freshId('topic')
      await deploy(engine, externalTaskXml(key, topic))
      const began = Date.now()
      const poll = call(engine, 'POST', '/external-task/fetchAndLock', {
        workerId: freshId('w'),
        maxTasks: 1,
        asyncResponseTimeout: 20_000,
        topics: [{ topicName: topic, lockDuration: 10_000 }],
      })
      await start(engine, key)
      const r = await poll
      return {
        tasks: (r.json as unknown[]).length,
        beforeTimeout: Date.now() - began < 20_000,
      }
    },
  },
  {
    id: 'T19-abandoned-long-poll-still-locks',
    description:
      'a long poll whose client has gone still locks a task that appears while it waits (the engine notices the disconnect only when it answers)',
    expected: { locked: true },
    async run(engine) {
      const key = freshId('lpa')
      const topic = freshId('topic')
      await deploy(engine, externalTaskXml(key, topic))
      const workerId = freshId('gone')
      const controller = new AbortController()
      const poll = call(
        engine,
        'POST',
        '/external-task/fetchAndLock',
        {
          workerId,
          maxTasks: 1,
          asyncResponseTimeout: 15_000,
          topics: [{ topicName: topic, lockDuration: 60_000 }],
        },
        engine.admin,
        { signal: controller.signal },
      ).catch(() => undefined)
      // the poll is registered once the engine has read the request; give it that moment
      await new Promise((r) => setTimeout(r, 1_000))
      controller.abort()
      await poll
      const pi = await start(engine, key)
      // wait (bounded) until the task is locked or the poll would have timed out
      for (let i = 0; i < 30; i++) {
        const tasks = await ok<{ workerId: string | null }[]>(
          engine,
          'GET',
          `/external-task?processInstanceId=${pi.id}`,
        )
        if (tasks[0]?.workerId === workerId) return { locked: true }
        await new Promise((r) => setTimeout(r, 500))
      }
      return { locked: false }
    },
  },
  // ---- T24 ----
  {
    id: 'T24-task-update-must-repeat-tenant',
    description:
      '`PUT /task/{id}` replaces the task’s fields; without the task’s `tenantId` it fails (500 ENGINE-03072: the tenant would change); a missing id is a 404',
    expected: {
      without: 500,
      engineCode: 'ENGINE-03072',
      withTenant: 204,
      missing: 404,
      log: [
        ['name', 'Review', 'renamed'],
        ['priority', '50', '0'],
      ],
    },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('tput')
      await deploy(
        engine,
        linearProcessXml({ key, steps: [{ type: 'userTask', id: 'review', name: 'Review' }] }),
        a,
      )
      const pi = await start(engine, key, a)
      const [task] = await ok<{ id: string }[]>(engine, 'GET', `/task?processInstanceId=${pi.id}`)
      const id = task?.id as string
      const without = await call(engine, 'PUT', `/task/${id}`, { name: 'renamed' })
      const withTenant = await call(engine, 'PUT', `/task/${id}`, { name: 'renamed', tenantId: a })
      const missing = await call(engine, 'PUT', `/task/${freshId('missing')}`, { name: 'x' })
      const log = await ok<
        { operationType: string; property: string; orgValue: string; newValue: string }[]
      >(engine, 'GET', `/history/user-operation?taskId=${id}`)
      return {
        without: without.status,
        engineCode: /ENGINE-\d+/.exec((without.json as { message?: string })?.message ?? '')?.[0],
        withTenant: withTenant.status,
        missing: missing.status,
        log: log
          .filter((e) => e.operationType === 'Update')
          .map((e) => [e.property, e.orgValue, e.newValue])
          .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      }
    },
  },
  // ---- T25 ----
  {
    id: 'T25-head-served-for-get',
    description: '`HEAD` is answered for every `GET` route',
    expected: { status: 200 },
    async run(engine) {
      const r = await call(engine, 'HEAD', '/process-definition/count')
      return { status: r.status }
    },
  },
  // ---- T27 ----
  {
    id: 'T27-statistics-count-every-tenant',
    description:
      '`GET /process-definition/{id}/statistics` of a shared definition counts instances of every tenant',
    expected: { instances: 2 },
    async run(engine) {
      const key = freshId('stat')
      const dep = await deploy(engine, userTaskXml(key))
      await start(engine, key)
      await start(engine, key)
      const stats = await ok<{ instances: number }[]>(
        engine,
        'GET',
        `/process-definition/${dep.definitionId}/statistics`,
      )
      return { instances: stats.reduce((n, s) => n + s.instances, 0) }
    },
  },
  // ---- T28 / ENGINE-13034 ----
  {
    id: 'T28-ENGINE-13034-commands-on-another-tenant',
    description:
      'a user of tenant B with every task and definition permission: completing A’s task or starting A’s definition by id fails with ENGINE-13034 (500), reads answer 404',
    expected: {
      complete: { status: 500, type: 'RestException', engineCode: 'ENGINE-13034' },
      start: { status: 500, type: 'RestException', engineCode: 'ENGINE-13034' },
      read: 404,
    },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('e13034')
      const dep = await deploy(engine, userTaskXml(key), a)
      const pi = await start(engine, key, a)
      const [task] = await ok<{ id: string }[]>(engine, 'GET', `/task?processInstanceId=${pi.id}`)
      const user = await createUser(engine, freshId('ub'), { tenants: [b] })
      for (const type of [6, 7, 8]) await grant(engine, user.id, type, '*', ['ALL'])
      const shape = (r: { status: number; json: unknown }) => {
        const body = r.json as { type?: string; message?: string }
        return {
          status: r.status,
          type: body?.type,
          engineCode: /ENGINE-\d+/.exec(body?.message ?? '')?.[0],
        }
      }
      const id = task?.id as string
      return {
        complete: shape(await call(engine, 'POST', `/task/${id}/complete`, {}, user)),
        start: shape(
          await call(engine, 'POST', `/process-definition/${dep.definitionId}/start`, {}, user),
        ),
        read: (
          await call(engine, 'GET', `/process-definition/${dep.definitionId}`, undefined, user)
        ).status,
      }
    },
  },
  {
    id: 'T28-tenant-check-hides-foreign-task',
    description:
      'a user of tenant B asking for tenant A’s task by id gets the same 404 as for a missing id',
    expected: { foreign: 404, sameAsMissing: true },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('ftask')
      await deploy(engine, userTaskXml(key), a)
      const pi = await start(engine, key, a)
      const [task] = await ok<{ id: string }[]>(engine, 'GET', `/task?processInstanceId=${pi.id}`)
      const user = await createUser(engine, freshId('ub'), { tenants: [b] })
      await grant(engine, user.id, 7, '*', ['READ'])
      const id = task?.id as string
      const foreign = await call(engine, 'GET', `/task/${id}`, undefined, user)
      const missingId = freshId('nope')
      const missing = await call(engine, 'GET', `/task/${missingId}`, undefined, user)
      return {
        foreign: foreign.status,
        sameAsMissing:
          JSON.stringify(errorShape(foreign, [id])) ===
          JSON.stringify(errorShape(missing, [missingId])),
      }
    },
  },
  // ---- identity: the bridge's constraints ----
  {
    id: 'identity-password-policy-refusal',
    description:
      'creating a user with a weak password is refused (500, ProcessEngineException) and creates nothing',
    expected: { status: 500, type: 'ProcessEngineException', created: false },
    async run(engine) {
      const id = freshId('weak')
      const r = await call(engine, 'POST', '/user/create', {
        profile: { id, firstName: 'Qx', lastName: 'Qx', email: `${id}@parity.example` },
        credentials: { password: 'abc' },
      })
      const after = await call(engine, 'GET', `/user/${id}/profile`)
      return {
        status: r.status,
        type: (r.json as { type?: string })?.type,
        created: after.status === 200,
      }
    },
  },
  {
    id: 'identity-no-upsert-user',
    description: 'creating a user that exists is refused (400) and leaves it unchanged: no upsert',
    expected: { status: 400, firstName: 'first' },
    async run(engine) {
      const id = freshId('dupu')
      const profile = { id, firstName: 'first', lastName: 'Qx', email: `${id}@parity.example` }
      await ok(engine, 'POST', '/user/create', {
        profile,
        credentials: { password: STRONG_PASSWORD },
      })
      const r = await call(engine, 'POST', '/user/create', {
        profile: { ...profile, firstName: 'second' },
        credentials: { password: STRONG_PASSWORD },
      })
      const after = await ok<{ firstName: string }>(engine, 'GET', `/user/${id}/profile`)
      return { status: r.status, firstName: after.firstName }
    },
  },
  {
    id: 'identity-no-upsert-group-tenant',
    description: 'creating a group or tenant that exists is refused (400)',
    expected: { group: 400, tenant: 400 },
    async run(engine) {
      const g = freshId('dupg')
      const t = freshId('dupt')
      await ok(engine, 'POST', '/group/create', { id: g, name: g, type: 'WORKFLOW' })
      await createTenant(engine, t)
      return {
        group: (await call(engine, 'POST', '/group/create', { id: g, name: g, type: 'WORKFLOW' }))
          .status,
        tenant: (await call(engine, 'POST', '/tenant/create', { id: t, name: t })).status,
      }
    },
  },
  {
    id: 'identity-profile-of-missing-user',
    description: 'updating the profile of a missing user is a 404 (never creates it)',
    expected: { status: 404, created: false },
    async run(engine) {
      const id = freshId('ghost')
      const r = await call(engine, 'PUT', `/user/${id}/profile`, {
        id,
        firstName: 'Qx',
        lastName: 'Qx',
        email: `${id}@parity.example`,
      })
      const after = await call(engine, 'GET', `/user/${id}/profile`)
      return { status: r.status, created: after.status === 200 }
    },
  },
  {
    id: 'identity-id-pattern',
    description: 'user ids outside the default whitelist (`[a-zA-Z0-9]+`) are refused (500)',
    expected: { status: 500 },
    async run(engine) {
      const r = await call(engine, 'POST', '/user/create', {
        profile: { id: 'has-dash', firstName: 'Qx', lastName: 'Qx', email: 'd@parity.example' },
        credentials: { password: STRONG_PASSWORD },
      })
      return { status: r.status }
    },
  },
  {
    id: 'identity-lockout-after-failed-login',
    description:
      'after a failed Basic login the account is locked for a while: the right password is refused too, until an admin unlocks it',
    expected: { wrong: 401, rightWhileLocked: 401, afterUnlock: 200 },
    async run(engine) {
      const user = await createUser(engine, freshId('lock'))
      const path = `/user/${user.id}/profile`
      const wrong = await call(engine, 'GET', path, undefined, {
        id: user.id,
        password: 'Wrong-Passw0rd!',
      })
      const right = await call(engine, 'GET', path, undefined, user)
      await ok(engine, 'POST', `/user/${user.id}/unlock`)
      const after = await call(engine, 'GET', path, undefined, user)
      return { wrong: wrong.status, rightWhileLocked: right.status, afterUnlock: after.status }
    },
  },
  {
    id: 'identity-new-user-self-authorization',
    description: 'creating a user grants that user ALL on its own user resource',
    expected: [
      { type: 1, userId: 'self', resourceType: 1, resourceId: 'self', permissions: ['ALL'] },
    ],
    async run(engine) {
      const id = freshId('selfu')
      await createUser(engine, id)
      const rows = await ok<Record<string, unknown>[]>(
        engine,
        'GET',
        `/authorization?resourceType=1&resourceId=${id}`,
      )
      return rows.map((r) => ({
        type: r.type,
        userId: r.userId === id ? 'self' : r.userId,
        resourceType: r.resourceType,
        resourceId: r.resourceId === id ? 'self' : r.resourceId,
        permissions: r.permissions,
      }))
    },
  },
  {
    id: 'identity-new-group-read-authorization',
    description: 'creating a group grants its members READ on the group',
    expected: [
      { type: 1, groupId: 'self', resourceType: 2, resourceId: 'self', permissions: ['READ'] },
    ],
    async run(engine) {
      const id = freshId('selfg')
      await ok(engine, 'POST', '/group/create', { id, name: id, type: 'WORKFLOW' })
      const rows = await ok<Record<string, unknown>[]>(
        engine,
        'GET',
        `/authorization?resourceType=2&resourceId=${id}`,
      )
      return rows.map((r) => ({
        type: r.type,
        groupId: r.groupId === id ? 'self' : r.groupId,
        resourceType: r.resourceType,
        resourceId: r.resourceId === id ? 'self' : r.resourceId,
        permissions: r.permissions,
      }))
    },
  },
  // ---- authorizations ----
  {
    id: 'authorization-exception-body',
    description:
      'a user without authorization to start gets 403 with an AuthorizationException naming the user and the missing permissions',
    expected: {
      status: 403,
      contentType: JSON_TYPE,
      keys: [
        'code',
        'message',
        'missingAuthorizations',
        'permissionName',
        'resourceId',
        'resourceName',
        'type',
        'userId',
      ],
      type: 'AuthorizationException',
      userId: 'self',
      missing: [{ permissionName: 'CREATE', resourceName: 'ProcessInstance', resourceId: null }],
    },
    async run(engine) {
      const key = freshId('authz')
      await deploy(engine, userTaskXml(key))
      const user = await createUser(engine, freshId('noauth'))
      await grant(engine, user.id, 6, key, ['READ'])
      const r = await call(engine, 'POST', `/process-definition/key/${key}/start`, {}, user)
      const body = (r.json ?? {}) as Record<string, unknown>
      const missing = (body.missingAuthorizations ?? []) as Record<string, unknown>[]
      return {
        status: r.status,
        contentType: r.contentType,
        keys: Object.keys(body).sort(),
        type: body.type,
        userId: body.userId === user.id ? 'self' : body.userId,
        missing: missing
          .map((m) => ({
            permissionName: m.permissionName,
            resourceName: m.resourceName,
            resourceId: m.resourceId === key ? 'key' : m.resourceId,
          }))
          .sort((x, y) => String(x.permissionName).localeCompare(String(y.permissionName))),
      }
    },
  },
  {
    id: 'authorization-filters-lists',
    description:
      'list queries return only what the user may READ (no error): nothing without a grant',
    expected: { before: 0, after: 1 },
    async run(engine) {
      const key = freshId('authl')
      await deploy(engine, userTaskXml(key))
      const user = await createUser(engine, freshId('lister'))
      const path = `/process-definition/count?key=${key}`
      const before = (await ok<{ count: number }>(engine, 'GET', path, undefined, user)).count
      await grant(engine, user.id, 6, key, ['READ'])
      const after = (await ok<{ count: number }>(engine, 'GET', path, undefined, user)).count
      return { before, after }
    },
  },
  // ---- history ----
  {
    id: 'T15-user-operation-log-at-full',
    description:
      'at history level full, an authenticated start is in the user operation log under the caller’s user id',
    expected: { entries: true, userId: 'admin', operationType: 'Create' },
    async run(engine) {
      const key = freshId('oplog')
      await deploy(engine, userTaskXml(key))
      const pi = await start(engine, key)
      const log = await ok<{ userId: string; operationType: string }[]>(
        engine,
        'GET',
        `/history/user-operation?processInstanceId=${pi.id}`,
      )
      const create = log.find((e) => e.operationType === 'Create')
      return {
        entries: log.length > 0,
        userId: create?.userId === engine.admin.id ? 'admin' : create?.userId,
        operationType: create?.operationType,
      }
    },
  },
  {
    id: 'T15-user-operation-log-no-tenant-filter',
    description:
      'the user operation log query ignores `tenantIdIn`: it cannot be narrowed to a tenant',
    expected: { narrowed: false },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('oplt')
      await deploy(engine, userTaskXml(key), a)
      const pi = await start(engine, key, a)
      const all = await count(engine, `/history/user-operation/count?processInstanceId=${pi.id}`)
      const other = await count(
        engine,
        `/history/user-operation/count?processInstanceId=${pi.id}&tenantIdIn=${freshId('zz')}`,
      )
      return { narrowed: all !== other }
    },
  },
  // ---- scope-query and by-key routes the isolation sweep forwards for a tenant ----
  {
    id: 'event-subscriptions-lifecycle',
    description:
      'a message start event is subscribed for the latest version only; a waiting receive task has its own subscription (instance and execution), gone once the message is correlated',
    expected: {
      keys: [
        'activityId',
        'createdDate',
        'eventName',
        'eventType',
        'executionId',
        'id',
        'processInstanceId',
        'tenantId',
      ],
      deployed: [['message', 'start', 'messageStart', null, null, 'A']],
      redeployed: [['message', 'start', 'messageStart', null, null, 'A']],
      waiting: [['message', 'wait', 'wait', 'set', 'instance', 'A']],
      correlated: 0,
    },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('evs')
      const wait = freshId('wait')
      const startMessage = freshId('start')
      const xml = receiveTaskXml(key, wait, startMessage)
      const rows = async (name: string) =>
        ok<Record<string, unknown>[]>(
          engine,
          'GET',
          `/event-subscription?eventName=${name}&sortBy=created&sortOrder=asc`,
        )
      const shape = (r: Record<string, unknown>, pi: string | null) => [
        r.eventType,
        r.eventName === wait ? 'wait' : r.eventName === startMessage ? 'start' : r.eventName,
        r.activityId,
        r.executionId === null ? null : 'set',
        r.processInstanceId === null ? null : r.processInstanceId === pi ? 'instance' : 'other',
        r.tenantId === a ? 'A' : r.tenantId,
      ]
      await deploy(engine, xml, a)
      const deployed = await rows(startMessage)
      await deploy(engine, xml, a)
      const redeployed = await rows(startMessage)
      const pi = await start(engine, key, a)
      const waiting = await rows(wait)
      await ok(engine, 'POST', '/message', { messageName: wait, processInstanceId: pi.id })
      return {
        keys: Object.keys(deployed[0] ?? {}).sort(),
        deployed: deployed.map((r) => shape(r, null)),
        redeployed: redeployed.map((r) => shape(r, null)),
        waiting: waiting.map((r) => shape(r, pi.id)),
        correlated: await count(engine, `/event-subscription/count?eventName=${wait}`),
      }
    },
  },
  {
    id: 'event-subscriptions-tenant-criteria',
    description:
      '`GET /event-subscription`: `tenantIdIn` narrows to those tenants, `includeEventSubscriptionsWithoutTenantId` adds the shared ones, `withoutTenantId` keeps only those',
    expected: { all: 2, tenantA: 1, tenantB: 0, tenantBWithShared: 1, withoutTenant: 1 },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('evt')
      const wait = freshId('wait')
      await deploy(engine, receiveTaskXml(key, wait), a)
      await deploy(engine, receiveTaskXml(key, wait))
      await start(engine, key, a)
      await start(engine, key)
      const base = `/event-subscription/count?eventName=${wait}`
      return {
        all: await count(engine, base),
        tenantA: await count(engine, `${base}&tenantIdIn=${a}`),
        tenantB: await count(engine, `${base}&tenantIdIn=${b}`),
        tenantBWithShared: await count(
          engine,
          `${base}&tenantIdIn=${b}&includeEventSubscriptionsWithoutTenantId=true`,
        ),
        withoutTenant: await count(engine, `${base}&withoutTenantId=true`),
      }
    },
  },
  {
    id: 'identity-link-log-task-assignments',
    description:
      'the identity link log records a task’s assignee and candidate groups at creation, each assignee or owner change as delete and add, with the acting user as assigner and the task’s tenant; `tenantIdIn` narrows it',
    expected: {
      keys: [
        'assignerId',
        'groupId',
        'id',
        'operationType',
        'processDefinitionId',
        'processDefinitionKey',
        'removalTime',
        'rootProcessInstanceId',
        'taskId',
        'tenantId',
        'time',
        'type',
        'userId',
      ],
      rows: [
        'assignee carol add admin A',
        'assignee carol delete admin A',
        'assignee dave add admin A',
        'assignee dave delete admin A',
        'assignee fred add admin A',
        'candidate g1 add admin A',
        'candidate g2 add admin A',
        'owner olga add admin A',
      ],
      otherTenant: 0,
      ownTenant: 8,
    },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('ilog')
      await deploy(
        engine,
        linearProcessXml({
          key,
          steps: [
            { type: 'userTask', id: 'review', assignee: 'carol', candidateGroups: ['g1', 'g2'] },
          ],
        }),
        a,
      )
      const pi = await start(engine, key, a)
      const [task] = await ok<{ id: string }[]>(engine, 'GET', `/task?processInstanceId=${pi.id}`)
      const id = task?.id as string
      await ok(engine, 'POST', `/task/${id}/assignee`, { userId: 'dave' })
      await ok(engine, 'POST', `/task/${id}/unclaim`)
      await ok(engine, 'PUT', `/task/${id}`, {
        name: 'Review',
        assignee: 'fred',
        owner: 'olga',
        priority: 50,
        tenantId: a,
      })
      await ok(engine, 'POST', `/task/${id}/complete`, {})
      const rows = await ok<Record<string, unknown>[]>(
        engine,
        'GET',
        `/history/identity-link-log?taskId=${id}`,
      )
      return {
        keys: Object.keys(rows[0] ?? {}).sort(),
        rows: rows
          .map((r) =>
            [
              r.type,
              r.userId ?? r.groupId,
              r.operationType,
              r.assignerId === engine.admin.id ? 'admin' : r.assignerId,
              r.tenantId === a ? 'A' : r.tenantId,
            ].join(' '),
          )
          .sort(),
        otherTenant: await count(
          engine,
          `/history/identity-link-log/count?taskId=${id}&tenantIdIn=${b}`,
        ),
        ownTenant: await count(
          engine,
          `/history/identity-link-log/count?taskId=${id}&tenantIdIn=${a}`,
        ),
      }
    },
  },
  {
    id: 'statistics-by-key-and-tenant',
    description:
      '`GET /process-definition/key/{key}/tenant-id/{t}/statistics` counts the instances per activity, incidents by type only when asked (`incidents` and `incidentsForType` together: 400); a key without such a definition is a 404',
    expected: {
      plain: [
        {
          class: 'ActivityStatisticsResultDto',
          id: 'work',
          instances: 2,
          failedJobs: 0,
          incidents: [],
        },
      ],
      incidents: [[{ incidentType: 'failedExternalTask', incidentCount: 1 }]],
      forOtherType: [[]],
      both: {
        status: 400,
        contentType: JSON_TYPE,
        body: ire(
          'Only one of the query parameter includeIncidents or includeIncidentsForType can be set.',
        ),
      },
      otherTenant: {
        status: 404,
        contentType: JSON_TYPE,
        body: {
          type: 'RestException',
          message: 'No matching process definition with key: <id> and tenant-id: <id>',
          code: null,
        },
      },
      keyOnly: 404,
    },
    async run(engine) {
      const [a, b] = await twoTenants(engine)
      const key = freshId('stk')
      const topic = freshId('topic')
      await deploy(engine, externalTaskXml(key, topic), a)
      await start(engine, key, a)
      await start(engine, key, a)
      const [locked] = await ok<{ id: string }[]>(engine, 'POST', '/external-task/fetchAndLock', {
        workerId: 'w',
        maxTasks: 1,
        topics: [{ topicName: topic, lockDuration: 60_000 }],
      })
      await ok(engine, 'POST', `/external-task/${locked?.id}/failure`, {
        workerId: 'w',
        errorMessage: 'failed',
        retries: 0,
        retryTimeout: 0,
      })
      const base = `/process-definition/key/${key}/tenant-id/${a}/statistics`
      const stats = async (query: string) =>
        ok<Record<string, unknown>[]>(engine, 'GET', `${base}${query}`)
      return {
        plain: (await stats('')).map(({ '@class': cls, ...rest }) => ({
          class: String(cls).split('.').pop(),
          ...rest,
        })),
        incidents: (await stats('?incidents=true')).map((r) => r.incidents),
        forOtherType: (await stats('?incidentsForType=failedJob')).map((r) => r.incidents),
        both: errorShape(await call(engine, 'GET', `${base}?incidents=true&incidentsForType=x`)),
        otherTenant: errorShape(
          await call(engine, 'GET', `/process-definition/key/${key}/tenant-id/${b}/statistics`),
          [key, b],
        ),
        keyOnly: (await call(engine, 'GET', `/process-definition/key/${key}/statistics`)).status,
      }
    },
  },
  {
    id: 'start-form-by-key-and-tenant',
    description:
      '`POST …/key/{key}/tenant-id/{t}/submit-form` starts the tenant’s latest definition like `start` (never returning variables); `GET …/rendered-form` of a definition without generated form fields is a 404',
    expected: {
      submitted: {
        status: 200,
        keys: [
          'businessKey',
          'caseInstanceId',
          'definitionId',
          'definitionKey',
          'ended',
          'id',
          'links',
          'suspended',
          'tenantId',
        ],
        tenantId: 'A',
        businessKey: 'bk',
        definition: 'latest',
        link: 'self',
      },
      rendered: {
        status: 404,
        contentType: JSON_TYPE,
        body: ire('No matching rendered start form for process definition with the id <id> found.'),
      },
      missingKey: 404,
    },
    async run(engine) {
      const [a] = await twoTenants(engine)
      const key = freshId('sfk')
      await deploy(engine, userTaskXml(key), a)
      const latest = await deploy(engine, userTaskXml(key), a)
      const base = `/process-definition/key/${key}/tenant-id/${a}`
      const r = await call(engine, 'POST', `${base}/submit-form`, {
        businessKey: 'bk',
        withVariablesInReturn: true,
        variables: { x: { value: 1, type: 'Integer' } },
      })
      const body = (r.json ?? {}) as Record<string, unknown>
      const links = (body.links ?? []) as { rel?: string }[]
      return {
        submitted: {
          status: r.status,
          keys: Object.keys(body).sort(),
          tenantId: body.tenantId === a ? 'A' : body.tenantId,
          businessKey: body.businessKey,
          definition: body.definitionId === latest.definitionId ? 'latest' : body.definitionId,
          link: links.map((l) => l.rel).join(','),
        },
        rendered: errorShape(await call(engine, 'GET', `${base}/rendered-form`), [
          latest.definitionId,
        ]),
        missingKey: (
          await call(
            engine,
            'POST',
            `/process-definition/key/${freshId('none')}/tenant-id/${a}/submit-form`,
            {},
          )
        ).status,
      }
    },
  },
  // ---- 404 bodies per resource ----
  notFound(
    'processDefinition',
    (id) => `/process-definition/${id}`,
    ire('No matching definition with id <id>', 0),
  ),
  notFound(
    'processInstance',
    (id) => `/process-instance/${id}`,
    ire('Process instance with id <id> does not exist'),
  ),
  notFound('task', (id) => `/task/${id}`, ire('No matching task with id <id>')),
  notFound('externalTask', (id) => `/external-task/${id}`, {
    type: 'RestException',
    message: 'External task with id <id> does not exist',
    code: null,
  }),
  notFound(
    'deployment',
    (id) => `/deployment/${id}`,
    ire("Deployment with id '<id>' does not exist"),
  ),
  notFound('execution', (id) => `/execution/${id}`, ire('Execution with id <id> does not exist')),
  notFound('job', (id) => `/job/${id}`, ire('Job with id <id> does not exist')),
  notFound(
    'jobDefinition',
    (id) => `/job-definition/${id}`,
    ire('Job Definition with id <id> does not exist'),
  ),
  notFound('incident', (id) => `/incident/${id}`, ire('No matching incident with id <id>')),
  notFound(
    'variableInstance',
    (id) => `/variable-instance/${id}?deserializeValue=false`,
    ire("Variable instance with Id '<id>' does not exist."),
  ),
  notFound(
    'historicProcessInstance',
    (id) => `/history/process-instance/${id}`,
    ire('Historic process instance with id <id> does not exist'),
  ),
  notFound(
    'historicActivityInstance',
    (id) => `/history/activity-instance/${id}`,
    ire("Historic activity instance with id '<id>' does not exist"),
  ),
  notFound(
    'historicVariableInstance',
    (id) => `/history/variable-instance/${id}?deserializeValue=false`,
    ire("Historic variable instance with Id '<id>' does not exist."),
  ),
  notFound(
    'historicDetail',
    (id) => `/history/detail/${id}?deserializeValue=false`,
    ire("Historic detail with Id '<id>' does not exist."),
  ),
  notFound(
    'historicJobLog',
    (id) => `/history/job-log/${id}`,
    ire('Historic job log with id <id> does not exist'),
  ),
  notFound(
    'historicExternalTaskLog',
    (id) => `/history/external-task-log/${id}`,
    ire('Historic external task log with id <id> does not exist'),
  ),
  notFound(
    'historicDecisionInstance',
    (id) => `/history/decision-instance/${id}`,
    ire("Historic decision instance with id '<id>' does not exist"),
  ),
  notFound(
    'decisionDefinition',
    (id) => `/decision-definition/${id}`,
    ire(`no deployed decision definition found with id '<id>': decisionDefinition is null`, 0),
  ),
  notFound(
    'decisionRequirementsDefinition',
    (id) => `/decision-requirements-definition/${id}`,
    ire(
      `no deployed decision requirements definition found with id '<id>': decisionRequirementsDefinition is null`,
      0,
    ),
    400,
  ),
  {
    id: 'missing-id-process-instance-variables',
    description:
      '`GET /process-instance/{id}/variables` for a missing instance is a 500 NullValueException, not a 404 (the gateway answers 404 for missing and foreign ids alike)',
    expected: { status: 500, contentType: JSON_TYPE, type: 'NullValueException' },
    async run(engine) {
      const r = await call(engine, 'GET', `/process-instance/${freshId('missing')}/variables`)
      return {
        status: r.status,
        contentType: r.contentType,
        type: (r.json as { type?: string })?.type,
      }
    },
  },
  {
    id: 'missing-id-task-complete',
    description:
      '`POST /task/{id}/complete` for a missing task is a 500 RestException, not a 404 (the gateway answers 404 for missing and foreign ids alike)',
    expected: { status: 500, contentType: JSON_TYPE, type: 'RestException' },
    async run(engine) {
      const r = await call(engine, 'POST', `/task/${freshId('missing')}/complete`, {})
      return {
        status: r.status,
        contentType: r.contentType,
        type: (r.json as { type?: string })?.type,
      }
    },
  },
]

import { describe, expect, it } from 'vitest'
import { DEFAULT_ACTING_USER_VARIABLE, parseActingUser } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { createPolicy } from './policy.js'
import { MISSING_ID_SENTINEL } from './types.js'
import type { BodyPlan, Decision, ForwardDecision } from './types.js'
import { codeOf, principalOf, syncRewrite } from './__tests__/support.js'

const deployers = ['client:web-app']
const policy = createPolicy({
  tenantSettings: { t1: { deployers }, t2: { deployers } },
})
const one = principalOf(['t1'])
const two = principalOf(['t1', 't2'])
const admin = principalOf(['t1'], { admin: true })

function decide(method: string, path: string, principal: Principal, query = ''): Decision {
  return policy.decide({ method, path, query: new URLSearchParams(query), principal })
}
function forward(method: string, path: string, principal: Principal, query = ''): ForwardDecision {
  const d = decide(method, path, principal, query)
  if (d.action !== 'forward') throw new Error(`expected forward, got ${JSON.stringify(d)}`)
  return d
}
const rewrite = syncRewrite
function forwardedJson(body: BodyPlan, json: unknown): Record<string, unknown> {
  const out = rewrite(body, json)
  if (out.kind !== 'forward') throw new Error('expected forward')
  return out.json as Record<string, unknown>
}

describe('decide: routing', () => {
  it('denies unknown routes, unknown methods and OPTIONS outside identity resources', () => {
    expect(codeOf(() => decide('GET', '/nope', one))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => decide('PATCH', '/task', one))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => decide('OPTIONS', '/task', one))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => decide('GET', '/optimize/process-instance/completed', one))).toBe(
      'C7AUTH_ROUTE_DENIED',
    )
    expect(codeOf(() => decide('GET', '/case-definition', one))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => decide('GET', '/engine/default', one))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => decide('GET', '/TASK', one))).toBe('C7AUTH_ROUTE_DENIED')
  })

  it('does not let a literal route with another method fall through to a {id} route', () => {
    expect(codeOf(() => decide('GET', '/task/create', one))).toBe('C7AUTH_ROUTE_DENIED')
    expect(codeOf(() => decide('GET', '/process-instance/suspended', one))).toBe(
      'C7AUTH_ROUTE_DENIED',
    )
  })

  it('answers /version and /engine to any authenticated caller', () => {
    expect(forward('GET', '/version', one).rule.kind).toBe('public')
    expect(forward('GET', '/engine', one).path).toBe('/engine')
    expect(forward('HEAD', '/version', one).operationId).toBe('getRestAPIVersion')
  })

  it('keeps identity and authorization resources admin-only, also under /engine/default', () => {
    for (const [m, p] of [
      ['PUT', '/group/camunda-admin/members/alice'],
      ['PUT', '/engine/default/tenant/t2/user-members/alice'],
      ['DELETE', '/user/bob'],
      ['GET', '/engine/default/user'],
      ['POST', '/identity/verify'],
      ['POST', '/engine/default/identity/verify'],
      ['GET', '/authorization'],
      ['OPTIONS', '/user'],
    ] as const) {
      expect(
        codeOf(() => decide(m, p, one)),
        `${m} ${p}`,
      ).toBe('C7AUTH_ADMIN_ONLY')
      expect(forward(m, p, admin).rule.kind).toBe('adminOnly')
    }
  })

  it('refuses malformed paths before routing', () => {
    expect(codeOf(() => decide('GET', '/task/..%2Fuser', one))).toBe('C7AUTH_PATH_INVALID')
    expect(codeOf(() => decide('GET', '/engine/default/user;x=1', admin))).toBe(
      'C7AUTH_PATH_INVALID',
    )
    expect(codeOf(() => decide('GET', '/engine/other/task', one))).toBe('C7AUTH_ROUTE_DENIED')
  })
})

describe('decide: scoped GET queries (comma lists)', () => {
  it('replaces a missing filter with the principal tenants', () => {
    const d = forward('GET', '/task', two, 'assignee=alice')
    expect(d.query.getAll('tenantIdIn')).toEqual(['t1,t2'])
    expect(d.query.get('assignee')).toBe('alice')
    expect(d.mutating).toBe(false)
  })

  it('keeps the intersection of a client list and drops duplicates and miscased variants', () => {
    const d = forward(
      'GET',
      '/process-instance/count',
      two,
      'tenantIdIn=t2,evil&TenantIdIn=t1&tenantIdIn=t1&tenantidin=evil2&withoutTenantId=false',
    )
    expect([...d.query.keys()].filter((k) => k.toLowerCase().includes('tenant'))).toEqual([
      'tenantIdIn',
    ])
    // as the engine reads it: the first exact-case occurrence only
    expect(d.query.get('tenantIdIn')).toBe('t2')
  })

  it('never forwards an empty tenant list (T4): empty value means "no client filter"', () => {
    const d = forward('GET', '/task', one, 'tenantIdIn=')
    expect(d.query.get('tenantIdIn')).toBe('t1')
    const d2 = forward('GET', '/task', one, 'tenantIdIn=,')
    expect(d2.query.get('tenantIdIn')).toBe('t1')
  })

  it('answers [] or {count:0} without the engine when only foreign tenants were asked', () => {
    expect(decide('GET', '/task', one, 'tenantIdIn=t2')).toEqual({
      action: 'respond',
      operationId: 'getTasks',
      status: 200,
      json: [],
    })
    expect(decide('GET', '/task/count', one, 'tenantIdIn=t2')).toMatchObject({
      action: 'respond',
      json: { count: 0 },
    })
  })

  it('hides NULL-tenant runtime data (T6/T7): withoutTenantId on tasks matches nothing', () => {
    expect(decide('GET', '/history/task', one, 'withoutTenantId=true')).toMatchObject({
      action: 'respond',
      json: [],
    })
    expect(decide('GET', '/history/incident', one, 'withoutTenantId=TRUE')).toMatchObject({
      action: 'respond',
    })
    const job = forward('GET', '/job', one, 'includeJobsWithoutTenantId=true')
    expect(job.query.get('includeJobsWithoutTenantId')).toBeNull()
    expect(job.query.get('tenantIdIn')).toBe('t1')
  })

  it('shows shared definitions and deployments with the own tenants, like the engine', () => {
    const d = forward('GET', '/process-definition', one, 'key=invoice&latestVersion=true')
    expect(d.query.get('tenantIdIn')).toBe('t1')
    expect(d.query.get('includeProcessDefinitionsWithoutTenantId')).toBe('true')
    const onlyShared = forward('GET', '/deployment/count', one, 'withoutTenantId=true')
    expect(onlyShared.query.get('withoutTenantId')).toBe('true')
    expect(onlyShared.query.get('tenantIdIn')).toBeNull()
    const explicit = forward('GET', '/process-definition', two, 'tenantIdIn=t2')
    expect(explicit.query.get('tenantIdIn')).toBe('t2')
    expect(explicit.query.get('includeProcessDefinitionsWithoutTenantId')).toBeNull()
  })

  it('ignores withoutTenantId where the resource has no such parameter (C10)', () => {
    const d = forward('GET', '/execution', one, 'withoutTenantId=true')
    expect(d.query.get('tenantIdIn')).toBe('t1')
    expect(d.query.get('withoutTenantId')).toBeNull()
    const post = forward('POST', '/variable-instance', one).body
    expect(forwardedJson(post, { withoutTenantId: true })).toEqual({ tenantIdIn: ['t1'] })
  })

  it('refuses tenantIdIn together with withoutTenantId', () => {
    expect(codeOf(() => decide('GET', '/task', one, 'tenantIdIn=t1&withoutTenantId=true'))).toBe(
      'C7AUTH_REQUEST_INVALID',
    )
  })

  it('scopes an admin too, unless adminBypassesTenantScope is set', () => {
    expect(forward('GET', '/task', admin).query.get('tenantIdIn')).toBe('t1')
    const bypass = createPolicy({ adminBypassesTenantScope: true })
    const d = bypass.decide({
      method: 'GET',
      path: '/task',
      query: new URLSearchParams(),
      principal: admin,
    })
    expect(d.action === 'forward' && d.query.get('tenantIdIn')).toBeNull()
  })

  it('caps list queries like queryMaxResultsLimit when configured (T1)', () => {
    const capped = createPolicy({ queryMaxResults: 100 })
    const run = (method: string, path: string, query: string) => () =>
      capped.decide({ method, path, query: new URLSearchParams(query), principal: one })
    expect(codeOf(run('GET', '/task', ''))).toBe('C7AUTH_REQUEST_INVALID')
    expect(codeOf(run('POST', '/history/task', 'maxResults=101'))).toBe('C7AUTH_REQUEST_INVALID')
    expect(codeOf(run('GET', '/task', 'maxResults=abc'))).toBe('C7AUTH_REQUEST_INVALID')
    expect(codeOf(run('GET', '/task', 'firstResult=0&maxResults=100'))).toBeUndefined()
    expect(codeOf(run('GET', '/task/count', ''))).toBeUndefined()
    expect(codeOf(() => decide('GET', '/task', one))).toBeUndefined()
  })

  it('answers nothing for a principal without tenants', () => {
    expect(decide('GET', '/task', principalOf([]))).toMatchObject({ action: 'respond', json: [] })
  })
})

describe('decide: scoped POST queries (JSON arrays)', () => {
  it('replaces the top-level filter and keeps other criteria', () => {
    const d = forward('POST', '/task', two)
    expect(forwardedJson(d.body, { assignee: 'alice', tenantIdIn: ['t2', 'x'] })).toEqual({
      assignee: 'alice',
      tenantIdIn: ['t2'],
    })
    expect(forwardedJson(d.body, undefined)).toEqual({ tenantIdIn: ['t1', 't2'] })
    expect(forwardedJson(d.body, { tenantIdIn: [] })).toEqual({ tenantIdIn: ['t1', 't2'] })
    expect(forwardedJson(d.body, { TenantIdIn: ['x'], withoutTenantId: false })).toEqual({
      tenantIdIn: ['t1', 't2'],
    })
  })

  it('answers the empty result when nothing can match', () => {
    const d = forward('POST', '/process-instance/count', one)
    expect(rewrite(d.body, { tenantIdIn: ['t9'] })).toEqual({
      kind: 'respond',
      status: 200,
      json: { count: 0 },
    })
    expect(rewrite(d.body, { withoutTenantId: true })).toMatchObject({ kind: 'respond' })
  })

  it('narrows tenant criteria inside orQueries (C9)', () => {
    const d = forward('POST', '/task', two)
    const out = forwardedJson(d.body, {
      orQueries: [
        { tenantIdIn: ['t2', 'evil'], name: 'x' },
        { tenantIdIn: ['evil'], assignee: 'bob' },
        { withoutTenantId: true, candidateGroup: 'g' },
        { processDefinitionKey: 'k' },
      ],
    })
    expect(out).toEqual({
      tenantIdIn: ['t1', 't2'],
      orQueries: [
        { tenantIdIn: ['t2'], name: 'x' },
        { assignee: 'bob' },
        { candidateGroup: 'g' },
        { processDefinitionKey: 'k' },
      ],
    })
    expect(rewrite(d.body, { orQueries: [{ tenantIdIn: ['evil'] }] })).toMatchObject({
      kind: 'respond',
      json: [],
    })
  })

  it('refuses bodies it cannot police', () => {
    const d = forward('POST', '/history/process-instance', one)
    expect(codeOf(() => rewrite(d.body, []))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => rewrite(d.body, { tenantIdIn: 't1' }))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => rewrite(d.body, { tenantIdIn: [1] }))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => rewrite(d.body, { withoutTenantId: 'true' }))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => rewrite(d.body, { orQueries: {} }))).toBe('C7AUTH_BODY_INVALID')
  })
})

describe('decide: fetchAndLock (T18)', () => {
  const body = forward('POST', '/external-task/fetchAndLock', two).body

  it('forces every topic to the principal tenants and drops withoutTenantId', () => {
    const out = forwardedJson(body, {
      workerId: 'w',
      maxTasks: 5,
      topics: [
        { topicName: 'a', lockDuration: 1000 },
        { topicName: 'b', tenantIdIn: [], withoutTenantId: true },
        { topicName: 'c', tenantIdIn: ['t2', 'evil'] },
      ],
    })
    expect(out).toEqual({
      workerId: 't1+t2:w', // namespaced by tenant (worker-id.test.ts)
      maxTasks: 5,
      topics: [
        { topicName: 'a', lockDuration: 1000, tenantIdIn: ['t1', 't2'] },
        { topicName: 'c', tenantIdIn: ['t2'] },
      ],
    })
  })

  it('lets tenantIdIn win over withoutTenantId in a topic, as the engine does', () => {
    const out = forwardedJson(body, {
      topics: [{ topicName: 'a', tenantIdIn: ['t1'], withoutTenantId: true }],
    })
    expect(out).toEqual({ topics: [{ topicName: 'a', tenantIdIn: ['t1'] }] })
  })

  it('drops foreign-only topics and answers [] when none is left', () => {
    expect(
      rewrite(body, { workerId: 'w', topics: [{ topicName: 'a', tenantIdIn: ['x'] }] }),
    ).toEqual({ kind: 'respond', status: 200, json: [] })
    expect(codeOf(() => rewrite(body, { workerId: 'w' }))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => rewrite(body, { topics: ['a'] }))).toBe('C7AUTH_BODY_INVALID')
  })

  it('is marked mutating (it locks tasks)', () => {
    expect(forward('POST', '/external-task/fetchAndLock', one).mutating).toBe(true)
  })
})

describe('decide: stamped tenants', () => {
  it('checks the tenant in the path', () => {
    const d = forward('POST', '/process-definition/key/inv/tenant-id/t1/start', one)
    expect(d.path).toBe('/process-definition/key/inv/tenant-id/t1/start')
    expect(d.tenant).toBe('t1')
    expect(codeOf(() => decide('GET', '/process-definition/key/inv/tenant-id/t2/xml', one))).toBe(
      'C7AUTH_TENANT_FORBIDDEN',
    )
  })

  it('rewrites key-only paths to the single tenant (T9, C11) and keeps the engine prefix', () => {
    expect(forward('GET', '/engine/default/process-definition/key/inv', one).path).toBe(
      '/engine/default/process-definition/key/inv/tenant-id/t1',
    )
    expect(forward('POST', '/decision-definition/key/d%20x/evaluate', one).path).toBe(
      '/decision-definition/key/d%20x/tenant-id/t1/evaluate',
    )
    expect(codeOf(() => decide('POST', '/process-definition/key/inv/start', two))).toBe(
      'C7AUTH_REQUEST_INVALID',
    )
  })

  it('requires exactly one tenant-id part on deployment create (T13)', () => {
    // deploying needs a grant: the `web-app` app has one in both tenants
    const plan = forward(
      'POST',
      '/deployment/create',
      principalOf(['t1', 't2'], { kind: 'app' }),
    ).body
    if (plan.kind !== 'multipart') throw new Error('expected multipart')
    expect(plan.field).toBe('tenant-id')
    expect(plan.resolveTenant(['t2'])).toBe('t2')
    expect(codeOf(() => plan.resolveTenant(['t1', 't1']))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => plan.resolveTenant(['t3']))).toBe('C7AUTH_TENANT_FORBIDDEN')
    expect(codeOf(() => plan.resolveTenant([]))).toBe('C7AUTH_BODY_INVALID')
    const single = forward('POST', '/deployment/create', principalOf(['t1'], { kind: 'app' })).body
    expect(single.kind === 'multipart' && single.resolveTenant([])).toBe('t1')
  })

  it('stamps message correlation with the tenant and refuses correlation by instance id (T11)', () => {
    const body = forward('POST', '/message', one).body
    expect(forwardedJson(body, { messageName: 'm', withoutTenantId: false })).toEqual({
      messageName: 'm',
      tenantId: 't1',
    })
    expect(codeOf(() => rewrite(body, { messageName: 'm', tenantId: 't2' }))).toBe(
      'C7AUTH_TENANT_FORBIDDEN',
    )
    expect(codeOf(() => rewrite(body, { messageName: 'm', withoutTenantId: true }))).toBe(
      'C7AUTH_TENANT_FORBIDDEN',
    )
    // by instance id the engine would also search start events of every tenant: refused
    for (const extra of [{}, { tenantId: 't1' }, { startMessagesOnly: true }, { all: true }]) {
      expect(
        codeOf(() => rewrite(body, { messageName: 'm', processInstanceId: 'p1', ...extra })),
      ).toBe('C7AUTH_BODY_INVALID')
    }
    const multi = forward('POST', '/message', two).body
    expect(codeOf(() => rewrite(multi, { messageName: 'm' }))).toBe('C7AUTH_BODY_INVALID')
    expect(forwardedJson(multi, { messageName: 'm', tenantId: 't2' }).tenantId).toBe('t2')
  })
})

describe('decide: owner checks', () => {
  it('asks for the owner of the id in the path', () => {
    const d = forward('POST', '/task/abc/claim', one)
    expect(d.ownerCheck).toEqual({ resource: 'task', id: 'abc', shared: 'hide' })
    expect(d.mutating).toBe(true)
    expect(forward('GET', '/process-definition/inv%3A1%3Ax/xml', one).ownerCheck).toEqual({
      resource: 'processDefinition',
      id: 'inv:1:x',
      shared: 'allow',
    })
    expect(forward('POST', '/process-definition/pd1/start', one).ownerCheck?.shared).toBe('forbid')
    expect(forward('POST', '/external-task/e1/unlock', one).ownerCheck?.resource).toBe(
      'externalTask',
    )
    expect(
      forward('GET', '/execution/pi1/localVariables/file/data', one).ownerCheck?.resource,
    ).toBe('execution')
  })

  it('checks the parent of comments, jobs, incidents and executions', () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/task/t9/comment/c1', 'task'],
      ['PUT', '/process-instance/p9/comment', 'processInstance'],
      ['POST', '/job/j9/execute', 'job'],
      ['PUT', '/job-definition/jd9/suspended', 'jobDefinition'],
      ['DELETE', '/incident/i9', 'incident'],
      ['POST', '/execution/x9/signal', 'execution'],
      ['DELETE', '/history/process-instance/h9', 'historicProcessInstance'],
    ]
    for (const [m, p, resource] of cases) {
      expect(forward(m, p, one).ownerCheck?.resource, `${m} ${p}`).toBe(resource)
    }
    expect(forward('DELETE', '/process-definition/pd1', one).ownerCheck?.shared).toBe('forbid')
  })

  it('checks decision (requirements) definitions by id and answers a foreign id like the route does', () => {
    const cases: [string, string, string, string][] = [
      ['GET', '/decision-definition/d1', 'decisionDefinition', '/decision-definition/'],
      ['GET', '/decision-definition/d1/xml', 'decisionDefinition', '/decision-definition/'],
      ['GET', '/decision-definition/d1/diagram', 'decisionDefinition', '/decision-definition/'],
      ['POST', '/decision-definition/d1/evaluate', 'decisionDefinition', '/decision-definition/'],
      [
        'GET',
        '/decision-requirements-definition/d1/xml',
        'decisionRequirementsDefinition',
        '/decision-requirements-definition/',
      ],
      [
        'GET',
        '/engine/default/process-definition/p1/static-called-process-definitions',
        'processDefinition',
        '/engine/default/process-definition/',
      ],
    ]
    for (const [m, p, resource, prefix] of cases) {
      const check = forward(m, p, one).ownerCheck
      expect(check?.resource, `${m} ${p}`).toBe(resource)
      expect(check?.probe?.method).toBe(m)
      // the very same route with the sentinel in place of the id
      expect(check?.probe?.path).toBe(p.replace(/\/(d1|p1)(?=\/|$)/, `/${MISSING_ID_SENTINEL}`))
      expect(check?.probe?.path.startsWith(prefix)).toBe(true)
    }
    expect(forward('POST', '/decision-definition/d1/evaluate', one).ownerCheck?.shared).toBe(
      'forbid',
    )
    expect(forward('GET', '/decision-definition/d1', one).ownerCheck?.shared).toBe('allow')
    expect(
      forward('GET', '/process-definition/p1/static-called-process-definitions', one).guard,
    ).toEqual({ kind: 'tenantRows' })
  })

  it('creates task comments with an owner check of the body processInstanceId, dropped when foreign', () => {
    const d = forward('POST', '/task/t9/comment/create', one)
    expect(d.ownerCheck?.resource).toBe('task')
    expect(d.ownerCheck?.probe?.path).toBe(`/task/${MISSING_ID_SENTINEL}/comment/create`)
    const out = rewrite(d.body, { message: 'hi', processInstanceId: 'pi9' })
    expect(out).toEqual({
      kind: 'forward',
      json: { message: 'hi', processInstanceId: 'pi9' },
      ownerCheck: { resource: 'processInstance', id: 'pi9', shared: 'hide' },
      orElse: { message: 'hi' },
    })
    expect(rewrite(d.body, { message: 'hi' })).toEqual({ kind: 'forward', json: { message: 'hi' } })
    expect(forwardedJson(d.body, { message: 'hi', processInstanceId: 7 })).toEqual({
      message: 'hi',
    })
  })

  it('reads the form reference before a deployed form (T29), also on the rewritten key path', () => {
    expect(forward('GET', '/task/t9/deployed-form', one).guard).toEqual({
      kind: 'deployedForm',
      metadataPath: '/task/t9/form',
    })
    expect(forward('GET', '/process-definition/p1/deployed-start-form', one).guard).toEqual({
      kind: 'deployedForm',
      metadataPath: '/process-definition/p1/startForm',
    })
    const byKey = forward('GET', '/process-definition/key/k/deployed-start-form', one)
    expect(byKey.path).toBe('/process-definition/key/k/tenant-id/t1/deployed-start-form')
    expect(byKey.guard).toEqual({
      kind: 'deployedForm',
      metadataPath: '/process-definition/key/k/tenant-id/t1/startForm',
    })
    expect(
      codeOf(() =>
        decide('GET', '/process-definition/key/k/tenant-id/t2/deployed-start-form', one),
      ),
    ).toBe('C7AUTH_TENANT_FORBIDDEN')
    expect(
      forward('GET', '/process-definition/p1/deployed-start-form', one).ownerCheck?.shared,
    ).toBe('allow')
  })

  it('refuses writes of the acting-user variable through variable paths', () => {
    const v = DEFAULT_ACTING_USER_VARIABLE
    expect(codeOf(() => decide('PUT', `/process-instance/p/variables/${v}`, one))).toBe(
      'C7AUTH_ROUTE_DENIED',
    )
    expect(codeOf(() => decide('DELETE', `/task/t/localVariables/${v}`, one))).toBe(
      'C7AUTH_ROUTE_DENIED',
    )
    expect(codeOf(() => decide('POST', `/task/t/variables/${v}/data`, one))).toBe(
      'C7AUTH_ROUTE_DENIED',
    )
    expect(forward('GET', `/process-instance/p/variables/${v}`, one).ownerCheck?.id).toBe('p')
  })
})

describe('decide: acting user', () => {
  const app = principalOf(['t1'], { kind: 'app', userId: 'billing', clientId: 'billing-app' })

  it('records the caller on start, submit-form and task completion, dropping forged values', () => {
    for (const [m, p] of [
      ['POST', '/process-definition/pd1/start'],
      ['POST', '/process-definition/key/k/start'],
      ['POST', '/process-definition/key/k/tenant-id/t1/submit-form'],
      ['POST', '/task/t1/complete'],
      ['POST', '/task/t1/submit-form'],
    ] as const) {
      const out = forwardedJson(forward(m, p, app).body, {
        variables: { [DEFAULT_ACTING_USER_VARIABLE]: { value: 'forged' }, amount: { value: 3 } },
      })
      const vars = out.variables as Record<string, { value: unknown; type?: string }>
      expect(vars.amount).toEqual({ value: 3 })
      expect(vars[DEFAULT_ACTING_USER_VARIABLE]?.type).toBe('String')
      expect(parseActingUser(vars[DEFAULT_ACTING_USER_VARIABLE]?.value)).toEqual({
        userId: 'billing',
        kind: 'app',
        clientId: 'billing-app',
      })
    }
  })

  it('uses the configured variable name', () => {
    const custom = createPolicy({ actingUserVariable: 'startedBy' })
    const d = custom.decide({
      method: 'POST',
      path: '/task/t1/complete',
      query: new URLSearchParams(),
      principal: app,
    })
    if (d.action !== 'forward') throw new Error('expected forward')
    const vars = forwardedJson(d.body, {}).variables as Record<string, unknown>
    expect(Object.keys(vars)).toEqual(['startedBy'])
    expect(custom.actingUserVariable).toBe('startedBy')
  })

  it('only strips the variable from other variable-setting bodies', () => {
    const v = DEFAULT_ACTING_USER_VARIABLE
    const ext = forwardedJson(forward('POST', '/external-task/e1/complete', app).body, {
      workerId: 'w',
      variables: { [v]: { value: 'x' }, ok: { value: true } },
      localVariables: { [v]: { value: 'x' } },
    })
    expect(ext).toEqual({
      workerId: 't1:w',
      variables: { ok: { value: true } },
      localVariables: {},
    })
    const patch = forwardedJson(forward('POST', '/process-instance/p/variables', app).body, {
      modifications: { [v]: { value: 'x' } },
      deletions: [v, 'other'],
    })
    expect(patch).toEqual({ modifications: {}, deletions: ['other'] })
    const msg = forwardedJson(forward('POST', '/message', app).body, {
      messageName: 'm',
      processVariables: { [v]: { value: 'x' } },
    })
    expect(msg).toEqual({ messageName: 'm', processVariables: {}, tenantId: 't1' })
  })
})

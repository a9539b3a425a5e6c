import { describe, expect, it } from 'vitest'
import { isC7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { createPolicy } from './policy.js'
import type { BodyPlan, ForwardDecision } from './types.js'
import { WORKER_ID_BODY_OPERATIONS, WORKER_ID_QUERY_OPERATIONS } from './worker-id.js'
import { ROUTES } from './routes.js'
import { principalOf, syncRewrite } from './__tests__/support.js'

const policy = createPolicy()
const a = principalOf(['tenantA'])
const b = principalOf(['tenantB'])
const ab = principalOf(['tenantB', 'tenantA'])

function forward(method: string, path: string, p: Principal, query = ''): ForwardDecision {
  const d = policy.decide({ method, path, query: new URLSearchParams(query), principal: p })
  if (d.action !== 'forward') throw new Error('expected forward')
  return d
}
function sent(body: BodyPlan, json: unknown): Record<string, unknown> {
  const out = syncRewrite(body, json)
  if (out.kind !== 'forward') throw new Error('expected forward')
  return out.json as Record<string, unknown>
}

describe('workerId namespacing (issue 15 item 7)', () => {
  it('names only operations of the route table', () => {
    const ids = new Set(ROUTES.map((r) => r.operationId))
    for (const op of [...WORKER_ID_BODY_OPERATIONS, ...WORKER_ID_QUERY_OPERATIONS])
      expect(ids.has(op), op).toBe(true)
  })

  it('prefixes the workerId of fetchAndLock by tenant, so two tenants never share one', () => {
    const body = { workerId: 'w1', maxTasks: 1, topics: [{ topicName: 't', lockDuration: 1 }] }
    const fa = sent(forward('POST', '/external-task/fetchAndLock', a).body, body)
    const fb = sent(forward('POST', '/external-task/fetchAndLock', b).body, body)
    expect(fa.workerId).toBe('tenantA:w1')
    expect(fb.workerId).toBe('tenantB:w1')
    // tenant scoping still applied
    expect((fa.topics as Record<string, unknown>[])[0]).toMatchObject({ tenantIdIn: ['tenantA'] })
    // B cannot step into A's namespace by sending A's prefixed form
    const spoof = sent(forward('POST', '/external-task/fetchAndLock', b).body, {
      ...body,
      workerId: 'tenantA:w1',
    })
    expect(spoof.workerId).toBe('tenantB:tenantA:w1')
    // several tenants: one stable namespace whatever the claim order
    expect(sent(forward('POST', '/external-task/fetchAndLock', ab).body, body).workerId).toBe(
      'tenantA+tenantB:w1',
    )
  })

  it('rewrites it the same way on complete, failure, bpmnError, extendLock and lock (idempotent)', () => {
    for (const op of ['complete', 'failure', 'bpmnError', 'extendLock', 'lock']) {
      const d = forward('POST', `/external-task/abc/${op}`, a)
      expect(d.ownerCheck).toMatchObject({ resource: 'externalTask', id: 'abc' })
      expect(sent(d.body, { workerId: 'w1', newDuration: 5 }), op).toMatchObject({
        workerId: 'tenantA:w1',
      })
      expect(sent(d.body, { workerId: 'tenantA:w1' }).workerId, op).toBe('tenantA:w1')
    }
    const bad = forward('POST', '/external-task/abc/complete', a).body
    let code: string | undefined
    try {
      sent(bad, { workerId: 7 })
    } catch (err) {
      code = isC7AuthError(err) ? err.code : 'other'
    }
    expect(code).toBe('C7AUTH_BODY_INVALID')
  })

  it('rewrites the workerId filters of the external-task and log queries', () => {
    const q = forward('GET', '/external-task', a, 'workerId=w1')
    expect(q.query.getAll('workerId')).toEqual(['tenantA:w1'])
    expect(q.query.getAll('tenantIdIn')).toEqual(['tenantA'])
    const h = forward('GET', '/history/external-task-log/count', a, 'workerId=w1')
    expect(h.query.get('workerId')).toBe('tenantA:w1')
    expect(sent(forward('POST', '/external-task', a).body, { workerId: 'w1' }).workerId).toBe(
      'tenantA:w1',
    )
    expect(forward('GET', '/external-task', a).query.has('workerId')).toBe(false)
  })
})

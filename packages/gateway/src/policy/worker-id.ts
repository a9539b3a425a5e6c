import { C7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { BodyPlan, ForwardDecision, JsonRewrite } from './types.js'

/*
 * External-task worker ids live in one engine-wide space: with the engine's unique-worker-request
 * option, a fetchAndLock naming a worker id evicts the pending long poll of that id, whoever sent
 * it. The gateway therefore prefixes every worker id a tenant principal sends with its tenant
 * namespace, on every call that carries one (fetch, complete, failure, BPMN error, extend, lock,
 * and the query filters), so the engine only ever sees `<tenants>:<id>` and a tenant's own calls
 * stay consistent with each other. Reads show the prefixed form; sending it back is idempotent.
 */

/** Operations whose JSON body carries `workerId`. */
export const WORKER_ID_BODY_OPERATIONS: ReadonlySet<string> = new Set([
  'fetchAndLock',
  'completeExternalTaskResource',
  'handleFailure',
  'handleExternalTaskBpmnError',
  'extendLock',
  'lock',
  'queryExternalTasks',
  'queryExternalTasksCount',
  'queryHistoricExternalTaskLogs',
  'queryHistoricExternalTaskLogsCount',
])

/** Operations with a `workerId` query parameter. */
export const WORKER_ID_QUERY_OPERATIONS: ReadonlySet<string> = new Set([
  'getExternalTasks',
  'getExternalTasksCount',
  'getHistoricExternalTaskLogs',
  'getHistoricExternalTaskLogsCount',
])

/**
 * The worker-id namespace of a principal: its tenant ids, sorted and joined with `+` (tenant ids
 * are engine ids, so neither `+` nor `:` can occur in one); `undefined` for a principal without
 * tenants (an admin), whose ids pass unchanged.
 */
export function workerNamespace(principal: Principal): string | undefined {
  if (principal.tenantIds.length === 0) return undefined
  return [...principal.tenantIds].sort().join('+')
}

/** `<namespace>:<id>`; an id already in the namespace is kept (idempotent). */
export function namespacedWorkerId(namespace: string, id: string): string {
  const prefix = `${namespace}:`
  return id.startsWith(prefix) ? id : prefix + id
}

function rewriteBody(json: unknown, namespace: string): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json
  const body = json as Record<string, unknown>
  const id = body.workerId
  if (id === undefined || id === null) return json
  if (typeof id !== 'string') {
    throw new C7AuthError('C7AUTH_BODY_INVALID', { message: 'workerId must be a string.' })
  }
  return { ...body, workerId: namespacedWorkerId(namespace, id) }
}

/** The decision with every `workerId` the request carries moved into the principal's namespace. */
export function namespaceWorkerIds(
  decision: ForwardDecision,
  principal: Principal,
): ForwardDecision {
  const namespace = workerNamespace(principal)
  if (namespace === undefined) return decision
  if (WORKER_ID_QUERY_OPERATIONS.has(decision.operationId)) {
    const ids = decision.query.getAll('workerId')
    if (ids.length === 0) return decision
    const query = new URLSearchParams(decision.query)
    query.delete('workerId')
    for (const id of ids) query.append('workerId', namespacedWorkerId(namespace, id))
    return { ...decision, query }
  }
  if (!WORKER_ID_BODY_OPERATIONS.has(decision.operationId)) return decision
  const before = decision.body
  let body: BodyPlan
  if (before.kind === 'stream') {
    body = {
      kind: 'json',
      rewrite: (json): JsonRewrite => ({ kind: 'forward', json: rewriteBody(json, namespace) }),
    }
  } else if (before.kind === 'json') {
    const namespaced = (out: JsonRewrite): JsonRewrite =>
      out.kind === 'forward' ? { ...out, json: rewriteBody(out.json, namespace) } : out
    body = {
      kind: 'json',
      rewrite: (json) => {
        const out = before.rewrite(json)
        return out instanceof Promise ? out.then(namespaced) : namespaced(out)
      },
    }
  } else {
    return decision
  }
  return { ...decision, body }
}

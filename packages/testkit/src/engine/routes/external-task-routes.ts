/** `/external-task`: queries, fetchAndLock with long polling, and the worker commands. */
import type { AuthContext } from '../auth-context.js'
import { isAuthenticatedTenant } from '../auth-context.js'
import { externalTaskDto } from '../dto.js'
import { restException } from '../engine-errors.js'
import { parseFetchRequest } from '../fetch-and-lock.js'
import type { CriteriaSpec } from '../query-criteria.js'
import { applySorting, criteriaOf, matches, sortingOf } from '../query-criteria.js'
import { toTypedMap } from '../variables.js'
import type { EngineRouter, EngineServices, HandlerContext } from './route-types.js'
import { addQueryRoutes, bodyObject, json, noContent, str } from './route-types.js'

const EXTERNAL_TASK_QUERY: CriteriaSpec = {
  externalTaskId: 'string',
  externalTaskIdIn: 'list',
  topicName: 'string',
  workerId: 'string',
  locked: 'bool',
  notLocked: 'bool',
  withRetriesLeft: 'bool',
  noRetriesLeft: 'bool',
  activityId: 'string',
  activityIdIn: 'list',
  executionId: 'string',
  processInstanceId: 'string',
  processInstanceIdIn: 'list',
  processDefinitionId: 'string',
  tenantIdIn: 'list',
  priorityHigherThanOrEquals: 'int',
  priorityLowerThanOrEquals: 'int',
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback)

export function registerExternalTaskRoutes(router: EngineRouter, engine: EngineServices): void {
  const { state, externalTasks, fetchAndLock } = engine

  const query = (c: HandlerContext, fromBody: boolean) => {
    const q = criteriaOf(EXTERNAL_TASK_QUERY, c, fromBody)
    const allowed = [
      'id',
      'lockExpirationTime',
      'processInstanceId',
      'processDefinitionId',
      'processDefinitionKey',
      'tenantId',
      'taskPriority',
      'createTime',
    ]
    const sorting = sortingOf(c, allowed, fromBody)
    const listOf = (n: string) =>
      Array.isArray(q[n]) && (q[n] as string[]).length > 0 ? (q[n] as string[]) : undefined
    const rows = [...state.externalTasks.values()].filter((t) => {
      if (!matches(q, 'externalTaskId', t.id)) return false
      if (listOf('externalTaskIdIn')?.includes(t.id) === false) return false
      if (!matches(q, 'topicName', t.topicName)) return false
      if (!matches(q, 'workerId', t.workerId)) return false
      if (q['locked'] === true && !externalTasks.isLocked(t)) return false
      if (q['notLocked'] === true && externalTasks.isLocked(t)) return false
      if (q['withRetriesLeft'] === true && t.retries !== null && t.retries <= 0) return false
      if (q['noRetriesLeft'] === true && (t.retries === null || t.retries > 0)) return false
      if (!matches(q, 'activityId', t.activityId)) return false
      if (listOf('activityIdIn')?.includes(t.activityId) === false) return false
      if (!matches(q, 'executionId', t.processInstanceId)) return false
      if (!matches(q, 'processInstanceId', t.processInstanceId)) return false
      if (listOf('processInstanceIdIn')?.includes(t.processInstanceId) === false) return false
      if (!matches(q, 'processDefinitionId', t.processDefinitionId)) return false
      const tenants = listOf('tenantIdIn')
      if (tenants !== undefined && (t.tenantId === null || !tenants.includes(t.tenantId)))
        return false
      if (
        typeof q['priorityHigherThanOrEquals'] === 'number' &&
        t.priority < q['priorityHigherThanOrEquals']
      )
        return false
      if (
        typeof q['priorityLowerThanOrEquals'] === 'number' &&
        t.priority > q['priorityLowerThanOrEquals']
      )
        return false
      return isAuthenticatedTenant(c.auth, t.tenantId)
    })
    return applySorting(
      rows,
      sorting,
      (t, by) =>
        ({
          id: t.id,
          lockExpirationTime: t.lockExpirationTime,
          processInstanceId: t.processInstanceId,
          processDefinitionId: t.processDefinitionId,
          processDefinitionKey: t.processDefinitionKey,
          tenantId: t.tenantId,
          taskPriority: t.priority,
          createTime: t.sequence,
        })[by] ?? null,
    )
  }

  addQueryRoutes(router, '/external-task', query, externalTaskDto)

  router.add('GET', '/external-task/topic-names', (c) => {
    const names = new Set<string>()
    for (const t of state.externalTasks.values())
      if (isAuthenticatedTenant(c.auth, t.tenantId)) names.add(t.topicName)
    return json([...names].sort())
  })

  router.add('POST', '/external-task/fetchAndLock', async (c) => {
    const request = parseFetchRequest(c.body)
    return json(await fetchAndLock.fetch(c.auth, request, c.signal))
  })

  router.add('GET', '/external-task/{id}', (c) => {
    const t = externalTasks.findExternalTask(c.auth, c.params['id'] as string)
    if (t === undefined)
      throw restException(404, `External task with id ${c.params['id']} does not exist`, false)
    return json(externalTaskDto(t))
  })

  router.add('GET', '/external-task/{id}/errorDetails', (c) => {
    const t = externalTasks.findExternalTask(c.auth, c.params['id'] as string)
    if (t === undefined)
      throw restException(404, `External task with id ${c.params['id']} does not exist`, false)
    return { status: 200, contentType: 'text/plain', raw: Buffer.from(t.errorDetails ?? '') }
  })

  router.add('POST', '/external-task/{id}/complete', (c) => {
    const id = c.params['id'] as string
    const body = bodyObject(c.body)
    const variables = toTypedMap(
      body['variables'],
      (n) => `Cannot complete external task ${id}: Cannot convert value of variable ${n}`,
    )
    const local = toTypedMap(
      body['localVariables'],
      (n) => `Cannot complete external task ${id}: Cannot convert value of variable ${n}`,
    )
    externalTasks.completeExternalTask(
      c.auth,
      id,
      body['workerId'],
      new Map([...variables, ...local]),
    )
    return noContent()
  })

  router.add('POST', '/external-task/{id}/failure', (c) => {
    const id = c.params['id'] as string
    const body = bodyObject(c.body)
    externalTasks.failExternalTask(c.auth, id, {
      workerId: body['workerId'],
      errorMessage: str(body['errorMessage']),
      errorDetails: str(body['errorDetails']),
      retries: num(body['retries'], 0),
      retryTimeout: num(body['retryTimeout'], 0),
      variables: toTypedMap(
        body['variables'],
        (n) => `Cannot report failure: Cannot convert value of variable ${n}`,
      ),
    })
    return noContent()
  })

  router.add('POST', '/external-task/{id}/bpmnError', (c) => {
    const id = c.params['id'] as string
    const body = bodyObject(c.body)
    externalTasks.bpmnErrorExternalTask(
      c.auth,
      id,
      body['workerId'],
      toTypedMap(
        body['variables'],
        (n) => `Cannot report BPMN error: Cannot convert value of variable ${n}`,
      ),
    )
    return noContent()
  })

  /** `extendLock` and `lock`: a worker id and a duration (ms) in the body. */
  const lockRoute = (
    path: string,
    durationField: string,
    command: (auth: AuthContext, id: string, workerId: unknown, duration: number) => void,
  ): void => {
    router.add('POST', path, (c) => {
      const body = bodyObject(c.body)
      command(c.auth, c.params['id'] as string, body['workerId'], num(body[durationField], 0))
      return noContent()
    })
  }
  lockRoute('/external-task/{id}/extendLock', 'newDuration', (...a) =>
    externalTasks.extendLock(...a),
  )

  router.add('POST', '/external-task/{id}/unlock', (c) => {
    externalTasks.unlockExternalTask(c.auth, c.params['id'] as string)
    return noContent()
  })

  lockRoute('/external-task/{id}/lock', 'lockDuration', (...a) =>
    externalTasks.lockExternalTask(...a),
  )

  router.add('PUT', '/external-task/{id}/retries', (c) => {
    externalTasks.setExternalTaskRetries(
      c.auth,
      c.params['id'] as string,
      num(bodyObject(c.body)['retries'], -1),
    )
    return noContent()
  })
}

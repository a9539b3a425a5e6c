/** `/process-instance`, `/task` and `/message`. */
import type { AuthContext } from '../auth-context.js'
import { isAuthenticatedTenant } from '../auth-context.js'
import { processInstanceDto, taskDto } from '../dto.js'
import {
  badUserRequest,
  EngineError,
  engineException,
  invalidRequest,
  notFound,
  restException,
} from '../engine-errors.js'
import type { ProcessInstanceRecord, TaskRecord } from '../engine-state.js'
import type { Criteria, CriteriaSpec } from '../query-criteria.js'
import {
  applySorting,
  criteriaOf,
  matches,
  matchesTenantCriteria,
  matchingRows,
  orQueriesFromBody,
  paginate,
  pagination,
  sortingOf,
  tenantCriteriaOf,
} from '../query-criteria.js'
import type { RuntimeService } from '../runtime-service.js'
import { fromTypedMap, fromTypedValue, toTypedMap, toTypedValue } from '../variables.js'
import type { EngineRouter, EngineServices, HandlerContext, Reply } from './route-types.js'
import { addQueryRoutes, bodyObject, json, noContent, str } from './route-types.js'

const INSTANCE_QUERY: CriteriaSpec = {
  processInstanceIds: 'list',
  businessKey: 'string',
  processDefinitionId: 'string',
  processDefinitionKey: 'string',
  processDefinitionKeyIn: 'list',
  processDefinitionKeyNotIn: 'list',
  deploymentId: 'string',
  active: 'bool',
  suspended: 'bool',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
  processDefinitionWithoutTenantId: 'bool',
}

const TASK_QUERY: CriteriaSpec = {
  taskId: 'string',
  taskIdIn: 'list',
  processInstanceId: 'string',
  processInstanceIdIn: 'list',
  processInstanceBusinessKey: 'string',
  processDefinitionId: 'string',
  processDefinitionKey: 'string',
  processDefinitionKeyIn: 'list',
  assignee: 'string',
  assigneeIn: 'list',
  unassigned: 'bool',
  assigned: 'bool',
  candidateGroup: 'string',
  candidateGroups: 'list',
  candidateUser: 'string',
  includeAssignedTasks: 'bool',
  withCandidateGroups: 'bool',
  taskDefinitionKey: 'string',
  taskDefinitionKeyIn: 'list',
  name: 'string',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
}

const list = (q: Criteria, name: string): string[] | undefined => {
  const v = q[name]
  return Array.isArray(v) && v.length > 0 ? (v as string[]) : undefined
}

/** Variables resource helpers shared by process instances and tasks. */
function variableRoutes(
  router: EngineRouter,
  runtime: RuntimeService,
  base: string,
  scope: 'process instance' | 'task',
  resolve: (
    auth: AuthContext,
    id: string,
    operation: 'read' | 'update',
  ) => { instance: ProcessInstanceRecord; taskId?: string },
): void {
  const wrap = <T>(fn: () => T, message: string): T => {
    try {
      return fn()
    } catch (err) {
      if (err instanceof EngineError && err.status === 500 && err.type !== 'RestException') {
        throw restException(500, `${message}: ${err.message}`)
      }
      throw err
    }
  }
  router.add('GET', `${base}/variables`, (c) => {
    const { instance } = resolve(c.auth, c.params['id'] as string, 'read')
    return json(fromTypedMap(instance.variables))
  })
  router.add('GET', `${base}/variables/{varName}`, (c) => {
    const { instance } = resolve(c.auth, c.params['id'] as string, 'read')
    const v = instance.variables.get(c.params['varName'] as string)
    if (v === undefined)
      throw notFound(`${scope} variable with name ${c.params['varName']} does not exist`)
    return json(fromTypedValue(v))
  })
  router.add('PUT', `${base}/variables/{varName}`, (c) => {
    const name = c.params['varName'] as string
    const message = `Cannot put ${scope} variable ${name}`
    const value = toTypedValue(c.body ?? {}, message)
    wrap(() => {
      const { instance, taskId } = resolve(c.auth, c.params['id'] as string, 'update')
      runtime.modifyVariables(
        c.auth,
        instance,
        new Map([[name, value]]),
        [],
        'SetVariable',
        taskId === undefined ? {} : { taskId },
      )
    }, message)
    return noContent()
  })
  router.add('DELETE', `${base}/variables/{varName}`, (c) => {
    const name = c.params['varName'] as string
    wrap(() => {
      const { instance, taskId } = resolve(c.auth, c.params['id'] as string, 'update')
      runtime.modifyVariables(
        c.auth,
        instance,
        new Map(),
        [name],
        'RemoveVariable',
        taskId === undefined ? {} : { taskId },
      )
    }, `Cannot delete ${scope} variable ${name}`)
    return noContent()
  })
  router.add('POST', `${base}/variables`, (c) => {
    const id = c.params['id'] as string
    const message = `Cannot modify variables for ${scope} ${id}`
    const body = bodyObject(c.body)
    const modifications = toTypedMap(
      body['modifications'],
      (n) => `${message}: Cannot convert value of variable ${n}`,
    )
    const deletions = Array.isArray(body['deletions'])
      ? (body['deletions'] as unknown[]).map(String)
      : []
    wrap(() => {
      const { instance, taskId } = resolve(c.auth, id, 'update')
      runtime.modifyVariables(
        c.auth,
        instance,
        modifications,
        deletions,
        'ModifyVariable',
        taskId === undefined ? {} : { taskId },
      )
    }, message)
    return noContent()
  })
}

export function registerRuntimeRoutes(router: EngineRouter, engine: EngineServices): void {
  const { state, runtime, tasks, messages } = engine

  // ------------------------------------------------------------------ process instances
  const queryInstances = (c: HandlerContext, fromBody: boolean) => {
    const q = criteriaOf(INSTANCE_QUERY, c, fromBody)
    const allowed = ['instanceId', 'definitionKey', 'definitionId', 'tenantId', 'businessKey']
    const sorting = sortingOf(c, allowed, fromBody)
    const ors = fromBody ? orQueriesFromBody(INSTANCE_QUERY, c.body) : []
    const matchRow = (i: ProcessInstanceRecord, q: Criteria): boolean => {
      const tenants = tenantCriteriaOf(q)

      if (i.state !== 'ACTIVE') return false
      const ids = list(q, 'processInstanceIds')
      if (ids !== undefined && !ids.includes(i.id)) return false
      if (!matches(q, 'businessKey', i.businessKey)) return false
      if (!matches(q, 'processDefinitionId', i.definitionId)) return false
      if (!matches(q, 'processDefinitionKey', i.definitionKey)) return false
      const keyIn = list(q, 'processDefinitionKeyIn')
      if (keyIn !== undefined && !keyIn.includes(i.definitionKey)) return false
      const keyNotIn = list(q, 'processDefinitionKeyNotIn')
      if (keyNotIn !== undefined && keyNotIn.includes(i.definitionKey)) return false
      if (
        q['deploymentId'] !== undefined &&
        state.definitions.get(i.definitionId)?.deploymentId !== q['deploymentId']
      ) {
        return false
      }
      if (q['active'] === true && i.suspended) return false
      if (q['suspended'] === true && !i.suspended) return false
      if (
        q['processDefinitionWithoutTenantId'] === true &&
        state.definitions.get(i.definitionId)?.tenantId !== null
      ) {
        return false
      }
      return matchesTenantCriteria(i.tenantId, tenants)
    }
    const rows = matchingRows(state.instances.values(), c.auth, q, ors, matchRow)
    return applySorting(
      rows,
      sorting,
      (i, by) =>
        ({
          instanceId: i.id,
          definitionKey: i.definitionKey,
          definitionId: i.definitionId,
          tenantId: i.tenantId,
          businessKey: i.businessKey,
        })[by] ?? null,
    )
  }
  const instancePage = (c: HandlerContext, fromBody: boolean): Reply =>
    json(
      paginate(queryInstances(c, fromBody), pagination(c.query)).map((i) =>
        processInstanceDto(i, null),
      ),
    )

  router.add('GET', '/process-instance', (c) => instancePage(c, false))
  router.add('POST', '/process-instance', (c) => instancePage(c, true))
  router.add('GET', '/process-instance/count', (c) =>
    json({ count: queryInstances(c, false).length }),
  )
  router.add('POST', '/process-instance/count', (c) =>
    json({ count: queryInstances(c, true).length }),
  )

  router.add('GET', '/process-instance/{id}', (c) => {
    const i = runtime.findInstance(c.auth, c.params['id'] as string)
    if (i === undefined) throw notFound(`Process instance with id ${c.params['id']} does not exist`)
    return json(processInstanceDto(i, null))
  })

  // Every simulated instance is a single execution with the instance's id (as engine-rest's
  // ExecutionDto shows it); the gateway's owner lookup for /execution/{id}/* reads this.
  router.add('GET', '/execution/{id}', (c) => {
    const i = runtime.findInstance(c.auth, c.params['id'] as string)
    if (i === undefined) throw notFound(`Execution with id ${c.params['id']} does not exist`)
    return json({
      id: i.id,
      processInstanceId: i.id,
      ended: i.state !== 'ACTIVE',
      tenantId: i.tenantId,
    })
  })

  /**
   * `GET /execution`: the instances' single executions, filtered by process instance, definition
   * key and `tenantIdIn`. Like the engine's execution query it has no `withoutTenantId`, so rows
   * without a tenant cannot be added to a tenant filter (T7); an empty `tenantIdIn` is no filter
   * (T4).
   */
  router.add('GET', '/execution', (c) => {
    const q = c.query
    const tenantIdIn = q.get('tenantIdIn')
    const tenants =
      tenantIdIn === undefined || tenantIdIn === '' ? undefined : tenantIdIn.split(',')
    const instanceId = q.get('processInstanceId')
    const key = q.get('processDefinitionKey')
    const rows = [...state.instances.values()].filter(
      (i) =>
        i.state === 'ACTIVE' &&
        isAuthenticatedTenant(c.auth, i.tenantId) &&
        (instanceId === undefined || i.id === instanceId) &&
        (key === undefined || i.definitionKey === key) &&
        (tenants === undefined || (i.tenantId !== null && tenants.includes(i.tenantId))),
    )
    return json(
      paginate(rows, pagination(c.query)).map((i) => ({
        id: i.id,
        processInstanceId: i.id,
        ended: false,
        tenantId: i.tenantId,
      })),
    )
  })

  router.add('DELETE', '/process-instance/{id}', (c) => {
    runtime.deleteInstance(c.auth, c.params['id'] as string, null)
    return noContent()
  })

  variableRoutes(router, runtime, '/process-instance/{id}', 'process instance', (auth, id, op) => ({
    instance: runtime.instanceForCommand(auth, id, op === 'read' ? 'read' : 'update'),
  }))

  // ------------------------------------------------------------------ tasks
  const queryTasks = (c: HandlerContext, fromBody: boolean) => {
    const q = criteriaOf(TASK_QUERY, c, fromBody)
    const allowed = [
      'instanceId',
      'caseInstanceId',
      'dueDate',
      'executionId',
      'caseExecutionId',
      'assignee',
      'created',
      'lastUpdated',
      'followUpDate',
      'description',
      'id',
      'name',
      'nameCaseInsensitive',
      'priority',
      'tenantId',
    ]
    const sorting = sortingOf(c, allowed, fromBody)
    if (list(q, 'tenantIdIn') !== undefined && q['withoutTenantId'] === true) {
      throw engineException(
        'Invalid query usage: cannot set both tenantIdIn and withoutTenantId filters.',
      )
    }
    const ors = fromBody ? orQueriesFromBody(TASK_QUERY, c.body) : []
    const matchRow = (t: TaskRecord, q: Criteria): boolean => {
      const tenantIdIn = list(q, 'tenantIdIn')
      const tenants = { tenantIdIn, withoutTenantId: q['withoutTenantId'] as boolean | undefined }
      const candidateUser = typeof q['candidateUser'] === 'string' ? q['candidateUser'] : null
      const userGroups = candidateUser === null ? [] : engine.identity.groupsOf(candidateUser)

      if (!matches(q, 'taskId', t.id)) return false
      const idIn = list(q, 'taskIdIn')
      if (idIn !== undefined && !idIn.includes(t.id)) return false
      if (!matches(q, 'processInstanceId', t.processInstanceId)) return false
      const piIn = list(q, 'processInstanceIdIn')
      if (piIn !== undefined && !piIn.includes(t.processInstanceId)) return false
      if (
        q['processInstanceBusinessKey'] !== undefined &&
        state.instances.get(t.processInstanceId)?.businessKey !== q['processInstanceBusinessKey']
      ) {
        return false
      }
      if (!matches(q, 'processDefinitionId', t.processDefinitionId)) return false
      if (!matches(q, 'processDefinitionKey', t.processDefinitionKey)) return false
      const keyIn = list(q, 'processDefinitionKeyIn')
      if (keyIn !== undefined && !keyIn.includes(t.processDefinitionKey)) return false
      if (!matches(q, 'assignee', t.assignee)) return false
      const assigneeIn = list(q, 'assigneeIn')
      if (assigneeIn !== undefined && (t.assignee === null || !assigneeIn.includes(t.assignee)))
        return false
      if (q['unassigned'] === true && t.assignee !== null) return false
      if (q['assigned'] === true && t.assignee === null) return false
      if (
        typeof q['candidateGroup'] === 'string' &&
        (!t.candidateGroups.includes(q['candidateGroup']) ||
          (t.assignee !== null && q['includeAssignedTasks'] !== true))
      ) {
        return false
      }
      const groupsIn = list(q, 'candidateGroups')
      if (groupsIn !== undefined && !t.candidateGroups.some((g) => groupsIn.includes(g)))
        return false
      if (candidateUser !== null) {
        const isCandidate =
          t.candidateUsers.includes(candidateUser) ||
          t.candidateGroups.some((g) => userGroups.includes(g))
        if (!isCandidate || (t.assignee !== null && q['includeAssignedTasks'] !== true))
          return false
      }
      if (q['withCandidateGroups'] === true && t.candidateGroups.length === 0) return false
      if (!matches(q, 'taskDefinitionKey', t.taskDefinitionKey)) return false
      const defKeyIn = list(q, 'taskDefinitionKeyIn')
      if (defKeyIn !== undefined && !defKeyIn.includes(t.taskDefinitionKey)) return false
      if (!matches(q, 'name', t.name)) return false
      return matchesTenantCriteria(t.tenantId, tenants)
    }
    const rows = matchingRows(state.tasks.values(), c.auth, q, ors, matchRow)
    return applySorting(
      rows,
      sorting,
      (t: TaskRecord, by) =>
        ({
          instanceId: t.processInstanceId,
          executionId: t.processInstanceId,
          assignee: t.assignee,
          created: t.created,
          lastUpdated: t.lastUpdated,
          id: t.id,
          name: t.name,
          nameCaseInsensitive: t.name?.toLowerCase() ?? null,
          priority: t.priority,
          tenantId: t.tenantId,
        })[by] ?? null,
    )
  }
  addQueryRoutes(router, '/task', queryTasks, taskDto)

  router.add('GET', '/task/{id}', (c) => {
    const t = tasks.findTask(c.auth, c.params['id'] as string)
    if (t === undefined) throw notFound(`No matching task with id ${c.params['id']}`)
    return json(taskDto(t))
  })

  router.add('PUT', '/task/{id}', (c) => {
    // `TaskResourceImpl.updateTask`: the task is looked up with a (tenant-checked) query first
    const task = tasks.findTask(c.auth, c.params['id'] as string)
    if (task === undefined) throw notFound(`No matching task with id ${c.params['id']}`)
    const body = bodyObject(c.body)
    tasks.updateTask(c.auth, task, {
      name: str(body['name']),
      assignee: str(body['assignee']),
      owner: str(body['owner']),
      priority: typeof body['priority'] === 'number' ? body['priority'] : 0,
      tenantId: str(body['tenantId']),
    })
    return noContent()
  })

  // Comments are not modelled; a task the caller cannot see (missing or another tenant's: the
  // resource's tenant-checked query) is refused like the engine does, before any comment.
  router.add('POST', '/task/{id}/comment/create', (c) => {
    const id = c.params['id'] as string
    if (tasks.findTask(c.auth, id) === undefined) {
      throw invalidRequest(`No task found for task id ${id}`)
    }
    return {
      status: 501,
      body: {
        type: 'C7AuthSimulatorNotImplemented',
        code: 'C7AUTH_SIM_NOT_IMPLEMENTED',
        message: 'The simulator does not store task comments',
      },
    }
  })

  router.add('POST', '/task/{id}/claim', (c) => {
    const userId = str(bodyObject(c.body)['userId'])
    tasks.claimTask(c.auth, c.params['id'] as string, userId)
    return noContent()
  })
  router.add('POST', '/task/{id}/unclaim', (c) => {
    tasks.setAssignee(c.auth, c.params['id'] as string, null)
    return noContent()
  })
  router.add('POST', '/task/{id}/assignee', (c) => {
    tasks.setAssignee(c.auth, c.params['id'] as string, str(bodyObject(c.body)['userId']))
    return noContent()
  })

  router.add('POST', '/task/{id}/complete', (c) => {
    const id = c.params['id'] as string
    const body = bodyObject(c.body)
    const variables = toTypedMap(
      body['variables'],
      (n) => `Cannot complete task ${id}: Cannot convert value of variable ${n}`,
    )
    let instance
    try {
      instance = tasks.completeTask(c.auth, id, variables)
    } catch (err) {
      if (err instanceof EngineError && err.status === 500) {
        throw restException(500, `Cannot complete task ${id}: ${err.message}`)
      }
      throw err
    }
    return body['withVariablesInReturn'] === true
      ? json(fromTypedMap(instance.variables))
      : noContent()
  })

  router.add('GET', '/task/{id}/form-variables', (c) => {
    const t = tasks.taskForCommand(c.auth, c.params['id'] as string, 'read the task')
    const instance = state.instances.get(t.processInstanceId)
    const names = c.query.get('variableNames')?.split(',')
    return json(instance === undefined ? {} : fromTypedMap(instance.variables, names ?? null))
  })

  variableRoutes(router, runtime, '/task/{id}', 'task', (auth, id, op) => {
    const task = tasks.taskForCommand(auth, id, op === 'read' ? 'read the task' : 'update the task')
    const instance = state.instances.get(task.processInstanceId)
    if (instance === undefined) throw invalidRequest(`task ${id} has no process instance`)
    return { instance, taskId: task.id }
  })

  // ------------------------------------------------------------------ messages
  router.add('POST', '/message', (c) => {
    const body = bodyObject(c.body)
    const messageName = str(body['messageName'])
    if (messageName === null) throw invalidRequest('No message name supplied')
    const tenantId = str(body['tenantId'])
    const withoutTenantId = body['withoutTenantId'] === true
    if (tenantId !== null && withoutTenantId) {
      throw invalidRequest(
        "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.",
      )
    }
    if (body['resultEnabled'] !== true && body['variablesInResultEnabled'] === true) {
      throw invalidRequest(
        "Parameter 'variablesInResultEnabled' cannot be used without 'resultEnabled' set to true.",
      )
    }
    const processInstanceId = str(body['processInstanceId'])
    if (processInstanceId !== null && (tenantId !== null || withoutTenantId)) {
      throw badUserRequest(
        'ENGINE-13028 Cannot specify a tenant-id when correlate a message to a single process instance.',
      )
    }
    const describe = (n: string) => `Cannot deliver message: Cannot convert value of variable ${n}`
    const results = messages.correlate(c.auth, {
      messageName,
      businessKey: str(body['businessKey']),
      tenantId,
      withoutTenantId,
      processInstanceId,
      correlationKeys: toTypedMap(body['correlationKeys'], describe),
      processVariables: toTypedMap(body['processVariables'], describe),
      all: body['all'] === true,
    })
    if (body['resultEnabled'] !== true) return noContent()
    return json(
      results.map((r) => ({
        resultType: r.resultType,
        execution:
          r.resultType === 'Execution'
            ? {
                id: r.instance.id,
                processInstanceId: r.instance.id,
                ended: r.instance.state !== 'ACTIVE',
                tenantId: r.instance.tenantId,
              }
            : null,
        processInstance:
          r.resultType === 'ProcessDefinition' ? processInstanceDto(r.instance, null) : null,
        ...(body['variablesInResultEnabled'] === true
          ? { variables: fromTypedMap(r.instance.variables) }
          : {}),
      })),
    )
  })
}

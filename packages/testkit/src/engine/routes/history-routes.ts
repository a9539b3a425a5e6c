/**
 * `/history/process-instance`, `/history/task`, `/history/user-operation` and
 * `/history/identity-link-log`.
 */
import { isAuthenticatedTenant } from '../auth-context.js'
import {
  historicIdentityLinkDto,
  historicProcessInstanceDto,
  historicTaskDto,
  userOperationDto,
} from '../dto.js'
import { invalidRequest, notFound } from '../engine-errors.js'
import { parseEngineDate } from '../engine-format.js'
import type {
  HistoricIdentityLinkRecord,
  HistoricTaskRecord,
  ProcessInstanceRecord,
} from '../engine-state.js'
import type { Criteria, CriteriaSpec } from '../query-criteria.js'
import {
  applySorting,
  criteriaFromQuery,
  criteriaOf,
  matches,
  matchesTenantCriteria,
  matchingRows,
  orQueriesFromBody,
  paginate,
  pagination,
  sortingFromQuery,
  sortingOf,
  tenantCriteriaOf,
} from '../query-criteria.js'
import type { EngineRouter, EngineServices, HandlerContext } from './route-types.js'
import { addQueryRoutes, json } from './route-types.js'

const HPI_QUERY: CriteriaSpec = {
  processInstanceId: 'string',
  processInstanceIds: 'list',
  processDefinitionId: 'string',
  processDefinitionKey: 'string',
  processDefinitionKeyIn: 'list',
  processInstanceBusinessKey: 'string',
  finished: 'bool',
  unfinished: 'bool',
  startedBy: 'string',
  active: 'bool',
  completed: 'bool',
  externallyTerminated: 'bool',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
}

const HTI_QUERY: CriteriaSpec = {
  taskId: 'string',
  processInstanceId: 'string',
  processInstanceIdIn: 'list',
  processDefinitionId: 'string',
  processDefinitionKey: 'string',
  taskAssignee: 'string',
  taskDefinitionKey: 'string',
  finished: 'bool',
  unfinished: 'bool',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
}

const OP_QUERY: CriteriaSpec = {
  deploymentId: 'string',
  processDefinitionId: 'string',
  processDefinitionKey: 'string',
  processInstanceId: 'string',
  executionId: 'string',
  taskId: 'string',
  externalTaskId: 'string',
  userId: 'string',
  operationId: 'string',
  operationType: 'string',
  entityType: 'string',
  entityTypeIn: 'list',
  category: 'string',
  categoryIn: 'list',
  property: 'string',
  afterTimestamp: 'string',
  beforeTimestamp: 'string',
}

const IDENTITY_LINK_QUERY: CriteriaSpec = {
  type: 'string',
  userId: 'string',
  groupId: 'string',
  dateBefore: 'string',
  dateAfter: 'string',
  taskId: 'string',
  processDefinitionId: 'string',
  processDefinitionKey: 'string',
  operationType: 'string',
  assignerId: 'string',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
}

/** `HistoricIdentityLinkLogQueryDto`'s sort keys, each with the row's value. */
const IDENTITY_LINK_SORT: Readonly<
  Record<string, (l: HistoricIdentityLinkRecord) => string | number | null>
> = {
  time: (l) => l.time,
  type: (l) => l.type,
  userId: (l) => l.userId,
  groupId: (l) => l.groupId,
  taskId: (l) => l.taskId,
  processDefinitionId: (l) => l.processDefinitionId,
  processDefinitionKey: (l) => l.processDefinitionKey,
  operationType: (l) => l.operationType,
  assignerId: (l) => l.assignerId,
  tenantId: (l) => l.tenantId,
}

/** A date query parameter as the engine's `DateConverter` reads it (400 when unparsable). */
function dateParameter(name: string, value: unknown): number | null {
  if (typeof value !== 'string') return null
  const ms = parseEngineDate(value)
  if (Number.isNaN(ms)) {
    throw invalidRequest(
      `Cannot set query parameter '${name}' to value '${value}': Cannot convert value "${value}" to java type java.util.Date`,
    )
  }
  return ms
}

const nonEmpty = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length > 0 ? (v as string[]) : undefined

export function registerHistoryRoutes(router: EngineRouter, engine: EngineServices): void {
  const { state, runtime } = engine
  const enabled = (): boolean => runtime.historyLevel !== 'none'

  const queryHpi = (c: HandlerContext, fromBody: boolean) => {
    if (!enabled()) return []
    const q = criteriaOf(HPI_QUERY, c, fromBody)
    const allowed = [
      'instanceId',
      'definitionId',
      'definitionKey',
      'definitionName',
      'definitionVersion',
      'businessKey',
      'startTime',
      'endTime',
      'duration',
      'tenantId',
    ]
    const sorting = sortingOf(c, allowed, fromBody)
    const ors = fromBody ? orQueriesFromBody(HPI_QUERY, c.body) : []
    const matchRow = (i: ProcessInstanceRecord, q: Criteria): boolean => {
      const tenants = tenantCriteriaOf(q)

      if (!matches(q, 'processInstanceId', i.id)) return false
      if (nonEmpty(q['processInstanceIds'])?.includes(i.id) === false) return false
      if (!matches(q, 'processDefinitionId', i.definitionId)) return false
      if (!matches(q, 'processDefinitionKey', i.definitionKey)) return false
      if (nonEmpty(q['processDefinitionKeyIn'])?.includes(i.definitionKey) === false) return false
      if (!matches(q, 'processInstanceBusinessKey', i.businessKey)) return false
      if (q['finished'] === true && i.state === 'ACTIVE') return false
      if (q['unfinished'] === true && i.state !== 'ACTIVE') return false
      if (q['active'] === true && i.state !== 'ACTIVE') return false
      if (q['completed'] === true && i.state !== 'COMPLETED') return false
      if (q['externallyTerminated'] === true && i.state !== 'EXTERNALLY_TERMINATED') return false
      if (!matches(q, 'startedBy', i.startUserId)) return false
      return matchesTenantCriteria(i.tenantId, tenants)
    }
    const rows = matchingRows(state.instances.values(), c.auth, q, ors, matchRow)
    return applySorting(
      rows,
      sorting,
      (i, by) =>
        ({
          instanceId: i.id,
          definitionId: i.definitionId,
          definitionKey: i.definitionKey,
          businessKey: i.businessKey,
          startTime: i.startTime,
          endTime: i.endTime,
          tenantId: i.tenantId,
        })[by] ?? null,
    )
  }
  const hpiDto = (i: Parameters<typeof historicProcessInstanceDto>[0]) =>
    historicProcessInstanceDto(i, state.definitions.get(i.definitionId))

  addQueryRoutes(router, '/history/process-instance', queryHpi, hpiDto)
  router.add('GET', '/history/process-instance/{id}', (c) => {
    const i = state.instances.get(c.params['id'] as string)
    if (!enabled() || i === undefined || !isAuthenticatedTenant(c.auth, i.tenantId)) {
      throw notFound(`Historic process instance with id ${c.params['id']} does not exist`)
    }
    return json(hpiDto(i))
  })

  const queryHti = (c: HandlerContext, fromBody: boolean) => {
    const q = criteriaOf(HTI_QUERY, c, fromBody)
    const allowed = [
      'taskId',
      'activityInstanceID',
      'processDefinitionId',
      'processInstanceId',
      'executionId',
      'duration',
      'endTime',
      'startTime',
      'taskName',
      'assignee',
      'tenantId',
    ]
    const sorting = sortingOf(c, allowed, fromBody)
    const ors = fromBody ? orQueriesFromBody(HTI_QUERY, c.body) : []
    const matchRow = (t: HistoricTaskRecord, q: Criteria): boolean => {
      const tenants = tenantCriteriaOf(q)

      if (!matches(q, 'taskId', t.id)) return false
      if (!matches(q, 'processInstanceId', t.processInstanceId)) return false
      if (nonEmpty(q['processInstanceIdIn'])?.includes(t.processInstanceId) === false) return false
      if (!matches(q, 'processDefinitionId', t.processDefinitionId)) return false
      if (!matches(q, 'processDefinitionKey', t.processDefinitionKey)) return false
      if (!matches(q, 'taskAssignee', t.assignee)) return false
      if (!matches(q, 'taskDefinitionKey', t.taskDefinitionKey)) return false
      if (q['finished'] === true && t.endTime === null) return false
      if (q['unfinished'] === true && t.endTime !== null) return false
      return matchesTenantCriteria(t.tenantId, tenants)
    }
    const rows = matchingRows(state.historicTasks.values(), c.auth, q, ors, matchRow)
    return applySorting(
      rows,
      sorting,
      (t, by) =>
        ({
          taskId: t.id,
          processDefinitionId: t.processDefinitionId,
          processInstanceId: t.processInstanceId,
          executionId: t.processInstanceId,
          startTime: t.startTime,
          endTime: t.endTime,
          taskName: t.name,
          assignee: t.assignee,
          tenantId: t.tenantId,
        })[by] ?? null,
    )
  }
  addQueryRoutes(router, '/history/task', queryHti, historicTaskDto)

  const queryOps = (c: HandlerContext) => {
    const q = criteriaFromQuery(OP_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, ['timestamp'])
    const after =
      typeof q['afterTimestamp'] === 'string' ? parseEngineDate(q['afterTimestamp']) : null
    const before =
      typeof q['beforeTimestamp'] === 'string' ? parseEngineDate(q['beforeTimestamp']) : null
    const keys = [
      'deploymentId',
      'processDefinitionId',
      'processDefinitionKey',
      'processInstanceId',
      'executionId',
      'taskId',
      'externalTaskId',
      'userId',
      'operationId',
      'operationType',
      'entityType',
      'category',
      'property',
    ] as const
    const rows = state.operationLog.filter((e) => {
      for (const k of keys) if (q[k] !== undefined && e[k] !== q[k]) return false
      if (nonEmpty(q['entityTypeIn'])?.includes(e.entityType) === false) return false
      if (nonEmpty(q['categoryIn'])?.includes(e.category) === false) return false
      if (after !== null && !(e.timestamp > after)) return false
      if (before !== null && !(e.timestamp < before)) return false
      return isAuthenticatedTenant(c.auth, e.tenantId)
    })
    return applySorting([...rows], sorting, (e) => e.timestamp)
  }
  const queryIdentityLinks = (c: HandlerContext) => {
    const q = criteriaFromQuery(IDENTITY_LINK_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, Object.keys(IDENTITY_LINK_SORT))
    const before = dateParameter('dateBefore', q['dateBefore'])
    const after = dateParameter('dateAfter', q['dateAfter'])
    const tenants = tenantCriteriaOf(q)
    const keys = [
      'type',
      'userId',
      'groupId',
      'taskId',
      'processDefinitionId',
      'processDefinitionKey',
      'operationType',
      'assignerId',
    ] as const
    const rows = matchingRows(state.historicIdentityLinks, c.auth, q, [], (l) => {
      for (const k of keys) if (!matches(q, k, l[k])) return false
      if (before !== null && l.time > before) return false
      if (after !== null && l.time < after) return false
      return matchesTenantCriteria(l.tenantId, tenants)
    })
    return applySorting(rows, sorting, (l, by) => IDENTITY_LINK_SORT[by]?.(l) ?? null)
  }
  router.add('GET', '/history/identity-link-log', (c) =>
    json(paginate(queryIdentityLinks(c), pagination(c.query)).map(historicIdentityLinkDto)),
  )
  router.add('GET', '/history/identity-link-log/count', (c) =>
    json({ count: queryIdentityLinks(c).length }),
  )

  router.add('GET', '/history/user-operation', (c) =>
    json(paginate(queryOps(c), pagination(c.query)).map(userOperationDto)),
  )
  router.add('GET', '/history/user-operation/count', (c) => json({ count: queryOps(c).length }))
}

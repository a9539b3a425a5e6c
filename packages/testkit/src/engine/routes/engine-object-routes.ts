/**
 * Objects the gateway addresses by id but the simulator only holds, never executes: timer jobs and
 * their definitions, incidents, variable instances, and the history rows of activity instances,
 * variables, details, job logs, external task logs and decision instances. Each kind has its
 * by-id read (the gateway's owner lookup, with the engine's own 404) and a small list query
 * (`processInstanceId`, `tenantIdIn`) so a test can find the ids the same way on a real engine.
 */
import { isAuthenticatedTenant } from '../auth-context.js'
import type { AuthContext } from '../auth-context.js'
import { EngineError, invalidRequest, notFound, restException } from '../engine-errors.js'
import { formatEngineDate } from '../engine-format.js'
import type {
  HistoryRow,
  IncidentRecord,
  JobRecord,
  ProcessInstanceRecord,
} from '../engine-state.js'
import { paginate, pagination } from '../query-criteria.js'
import type { FirstValueQuery } from '../query-criteria.js'
import { fromTypedValue } from '../variables.js'
import type { EngineRouter, EngineServices } from './route-types.js'
import { json } from './route-types.js'

interface Owned {
  readonly processInstanceId: string | null
  readonly tenantId: string | null
}

/** The list filters every kind here understands (query string or POST body); the engine has many more. */
function listFilter(get: (name: string) => unknown): (row: Owned) => boolean {
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : undefined
  const pi = get('processInstanceId')
  const piIn = list(get('processInstanceIdIn'))
  const tenants = list(get('tenantIdIn'))
  return (row) =>
    (typeof pi !== 'string' || row.processInstanceId === pi) &&
    (piIn === undefined ||
      (row.processInstanceId !== null && piIn.includes(row.processInstanceId))) &&
    (tenants === undefined || (row.tenantId !== null && tenants.includes(row.tenantId)))
}

const queryGetter = (query: FirstValueQuery) => (name: string) => query.get(name)
const bodyGetter = (body: unknown) => (name: string) =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined

/** One variable of a running (or ended) instance as a row with its ids. */
interface VariableRow extends Owned {
  readonly processInstanceId: string
  readonly instance: ProcessInstanceRecord
  readonly name: string
  readonly variableInstanceId: string
  readonly detailId: string
  readonly createTime: number
}

export function registerEngineObjectRoutes(router: EngineRouter, services: EngineServices): void {
  const { state, runtime } = services
  const full = () => runtime.historyLevel === 'full'
  const visible = (auth: AuthContext, row: Owned) => isAuthenticatedTenant(auth, row.tenantId)

  const variableRows = (): VariableRow[] =>
    [...state.instances.values()].flatMap((instance) =>
      [...instance.variables.keys()].map((name) => {
        const ids = runtime.variableIds(instance.id, name)!
        return {
          processInstanceId: instance.id,
          tenantId: instance.tenantId,
          instance,
          name,
          ...ids,
        }
      }),
    )

  const jobDto = (j: JobRecord) => ({
    id: j.id,
    jobDefinitionId: j.jobDefinitionId,
    processInstanceId: j.processInstanceId,
    processDefinitionId: j.processDefinitionId,
    processDefinitionKey: j.processDefinitionKey,
    executionId: j.executionId,
    exceptionMessage: null,
    failedActivityId: null,
    retries: j.retries,
    dueDate: formatEngineDate(j.dueDate),
    suspended: j.suspended,
    priority: 0,
    tenantId: j.tenantId,
    createTime: formatEngineDate(j.createTime),
    batchId: null,
  })
  const incidentDto = (i: IncidentRecord) => ({
    id: i.id,
    processDefinitionId: i.processDefinitionId,
    processInstanceId: i.processInstanceId,
    executionId: i.processInstanceId,
    incidentTimestamp: formatEngineDate(i.incidentTimestamp),
    incidentType: i.incidentType,
    activityId: i.activityId,
    failedActivityId: i.activityId,
    causeIncidentId: i.id,
    rootCauseIncidentId: i.id,
    configuration: i.configuration,
    tenantId: i.tenantId,
    incidentMessage: i.incidentMessage,
    jobDefinitionId: null,
    annotation: null,
  })
  const variableInstanceDto = (r: VariableRow) => ({
    id: r.variableInstanceId,
    name: r.name,
    ...fromTypedValue(r.instance.variables.get(r.name)!),
    processDefinitionId: r.instance.definitionId,
    processInstanceId: r.processInstanceId,
    executionId: r.processInstanceId,
    caseInstanceId: null,
    caseExecutionId: null,
    taskId: null,
    batchId: null,
    activityInstanceId: r.processInstanceId,
    errorMessage: null,
    tenantId: r.tenantId,
  })
  const historicVariableDto = (r: VariableRow) => ({
    ...variableInstanceDto(r),
    processDefinitionKey: r.instance.definitionKey,
    caseDefinitionKey: null,
    caseDefinitionId: null,
    state: 'CREATED',
    createTime: formatEngineDate(r.createTime),
    removalTime: null,
    rootProcessInstanceId: r.processInstanceId,
  })
  const historicDetailDto = (r: VariableRow) => ({
    id: r.detailId,
    processDefinitionKey: r.instance.definitionKey,
    processDefinitionId: r.instance.definitionId,
    processInstanceId: r.processInstanceId,
    activityInstanceId: r.processInstanceId,
    executionId: r.processInstanceId,
    caseDefinitionKey: null,
    caseDefinitionId: null,
    caseInstanceId: null,
    caseExecutionId: null,
    taskId: null,
    tenantId: r.tenantId,
    userOperationId: null,
    time: formatEngineDate(r.createTime),
    removalTime: null,
    rootProcessInstanceId: r.processInstanceId,
    variableName: r.name,
    variableInstanceId: r.variableInstanceId,
    value: r.instance.variables.get(r.name)!.value,
    valueInfo: r.instance.variables.get(r.name)!.valueInfo,
    type: 'variableUpdate',
    variableType: r.instance.variables.get(r.name)!.type,
    initial: true,
    revision: 0,
    errorMessage: null,
  })

  /**
   * List and count routes (GET; POST too where the engine has a POST query) and, unless another
   * module serves it, the by-id read for one kind.
   */
  function objects<T extends Owned>(
    path: string,
    rows: () => Iterable<T>,
    id: ((row: T) => string) | null,
    dto: (row: T) => unknown,
    missing: (id: string) => string,
    options: { enabled?: () => boolean; post?: 'list' | 'listAndCount' } = {},
  ): void {
    const enabled = options.enabled ?? (() => true)
    const listed = (auth: AuthContext, get: (name: string) => unknown) => {
      if (!enabled()) return []
      const keep = listFilter(get)
      return [...rows()].filter((r) => visible(auth, r) && keep(r))
    }
    router.add('GET', path, (c) =>
      json(paginate(listed(c.auth, queryGetter(c.query)), pagination(c.query)).map(dto)),
    )
    router.add('GET', `${path}/count`, (c) =>
      json({ count: listed(c.auth, queryGetter(c.query)).length }),
    )
    if (options.post !== undefined) {
      router.add('POST', path, (c) =>
        json(paginate(listed(c.auth, bodyGetter(c.body)), pagination(c.query)).map(dto)),
      )
    }
    if (options.post === 'listAndCount') {
      router.add('POST', `${path}/count`, (c) =>
        json({ count: listed(c.auth, bodyGetter(c.body)).length }),
      )
    }
    if (id === null) return
    router.add('GET', `${path}/{id}`, (c) => {
      const wanted = c.params['id'] as string
      const row = enabled()
        ? [...rows()].find((r) => id(r) === wanted && visible(c.auth, r))
        : undefined
      if (row === undefined) throw notFound(missing(wanted))
      return json(dto(row))
    })
  }
  objects(
    '/history/incident',
    () => state.incidents.values(),
    null,
    (i) => ({
      ...incidentDto(i),
      processDefinitionKey: state.definitions.get(i.processDefinitionId)?.key ?? null,
      rootProcessInstanceId: i.processInstanceId,
      createTime: formatEngineDate(i.incidentTimestamp),
      endTime: null,
      removalTime: null,
      historyConfiguration: null,
      open: true,
      deleted: false,
      resolved: false,
    }),
    (id) => id,
    { enabled: () => runtime.historyLevel !== 'none' },
  )

  // The simulator deploys no DMN: no decision (requirements) definitions, the engine's 404 by key.
  for (const [base, what] of [
    ['/decision-definition', 'decision definition'],
    ['/decision-requirements-definition', 'decision requirements definition'],
  ] as const) {
    router.add('GET', base, () => json([]))
    router.add('GET', `${base}/count`, () => json({ count: 0 }))
    const missing = (c: { params: Readonly<Record<string, string>> }): never => {
      throw restException(
        404,
        `No matching ${what} with key: ${c.params['key']} and tenant-id: ${c.params['tenant-id']}`,
        false,
      )
    }
    const byKey = `${base}/key/{key}/tenant-id/{tenant-id}`
    for (const suffix of ['', '/xml', '/diagram']) router.add('GET', byKey + suffix, missing)
    if (what === 'decision definition') router.add('POST', `${byKey}/evaluate`, missing)
  }

  // By id every id is missing, and each sub-route answers that its own way (T33, 7.24 and
  // Operaton 1.0); `GET /{id}` is the gateway's owner lookup.
  const noDecision = (id: string) =>
    `no deployed decision definition found with id '${id}': decisionDefinition is null`
  const noDrd = (id: string) =>
    `no deployed decision requirements definition found with id '${id}': decisionRequirementsDefinition is null`
  const missingById: readonly [string, string, (id: string) => EngineError][] = [
    ['GET', '/decision-definition/{id}', (id) => notFound(noDecision(id), true)],
    ['GET', '/decision-definition/{id}/xml', (id) => notFound(noDecision(id), true)],
    [
      'GET',
      '/decision-definition/{id}/diagram',
      (id) => new EngineError(400, 'NotFoundException', noDecision(id), 0),
    ],
    [
      'POST',
      '/decision-definition/{id}/evaluate',
      (id) => notFound(`Cannot evaluate decision ${id}: ${noDecision(id)}`, true),
    ],
    ['GET', '/decision-requirements-definition/{id}', (id) => invalidRequest(noDrd(id), 400, true)],
    [
      'GET',
      '/decision-requirements-definition/{id}/xml',
      (id) => invalidRequest(noDrd(id), 400, true),
    ],
    [
      'GET',
      '/decision-requirements-definition/{id}/diagram',
      (id) => new EngineError(400, 'NotValidException', noDrd(id), 0),
    ],
  ]
  for (const [method, path, error] of missingById) {
    router.add(method, path, (c) => {
      throw error(c.params['id'] as string)
    })
  }

  const history = (rows: Map<string, HistoryRow>) => () => rows.values()
  const historyId = (r: HistoryRow) => r.id
  const historyDto = (r: HistoryRow) => r.dto

  objects(
    '/execution',
    () =>
      [...state.instances.values()]
        .filter((i) => i.state === 'ACTIVE')
        .map((i) => ({
          processInstanceId: i.id,
          tenantId: i.tenantId,
          id: i.id,
          suspended: i.suspended,
        })),
    null,
    (e) => ({
      id: e.id,
      processInstanceId: e.processInstanceId,
      ended: false,
      tenantId: e.tenantId,
    }),
    (id) => `Execution with id ${id} does not exist`,
    { post: 'listAndCount' },
  )
  objects(
    '/job',
    () => state.jobs.values(),
    (j) => j.id,
    jobDto,
    (id) => `Job with id ${id} does not exist`,
    { post: 'listAndCount' },
  )
  objects(
    '/job-definition',
    () => [...state.jobDefinitions.values()].map((d) => ({ ...d, processInstanceId: null })),
    (d) => d.id,
    ({ processInstanceId: _p, deploymentId, ...d }) => ({
      ...d,
      overridingJobPriority: null,
      deploymentId,
    }),
    (id) => `Job Definition with id ${id} does not exist`,
    { post: 'listAndCount' },
  )
  objects(
    '/incident',
    () => state.incidents.values(),
    (i) => i.id,
    incidentDto,
    (id) => `No matching incident with id ${id}`,
  )
  objects(
    '/variable-instance',
    variableRows,
    (r) => r.variableInstanceId,
    variableInstanceDto,
    (id) => `Variable instance with Id '${id}' does not exist.`,
    { post: 'listAndCount' },
  )
  objects(
    '/history/variable-instance',
    variableRows,
    (r) => r.variableInstanceId,
    historicVariableDto,
    (id) => `Historic variable instance with Id '${id}' does not exist.`,
    { enabled: () => runtime.historyLevel !== 'none', post: 'listAndCount' },
  )
  objects(
    '/history/detail',
    variableRows,
    (r) => r.detailId,
    historicDetailDto,
    (id) => `Historic detail with Id '${id}' does not exist.`,
    { enabled: full, post: 'list' },
  )
  objects(
    '/history/activity-instance',
    history(state.historicActivityInstances),
    historyId,
    historyDto,
    (id) => `Historic activity instance with id '${id}' does not exist`,
    { post: 'listAndCount' },
  )
  objects(
    '/history/job-log',
    history(state.historicJobLogs),
    historyId,
    historyDto,
    (id) => `Historic job log with id ${id} does not exist`,
    { post: 'listAndCount' },
  )
  objects(
    '/history/external-task-log',
    history(state.historicExternalTaskLogs),
    historyId,
    historyDto,
    (id) => `Historic external task log with id ${id} does not exist`,
    { post: 'listAndCount' },
  )
  objects(
    '/history/decision-instance',
    history(state.historicDecisionInstances),
    historyId,
    historyDto,
    (id) => `Historic decision instance with id '${id}' does not exist`,
  )
}

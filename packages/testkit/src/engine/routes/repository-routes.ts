/** `/deployment` and `/process-definition`, including the start endpoints. */
import type { AuthContext } from '../auth-context.js'
import { isAuthenticatedTenant } from '../auth-context.js'
import { RESOURCE } from '../authorization-service.js'
import { definitionDto, deploymentDto, processInstanceDto } from '../dto.js'
import {
  EngineError,
  engineException,
  missingAuthorization,
  invalidRequest,
  notFound,
  nullValue,
  restException,
  tenantViolationMessage,
} from '../engine-errors.js'
import { parseEngineDate } from '../engine-format.js'
import type { ProcessDefinitionRecord } from '../engine-state.js'
import type { CriteriaSpec } from '../query-criteria.js'
import {
  applySorting,
  criteriaFromQuery,
  matches,
  matchesTenantCriteria,
  paginate,
  pagination,
  sortingFromQuery,
  tenantCriteriaOf,
} from '../query-criteria.js'
import type { MultipartBody } from '../request-body.js'
import { fromTypedMap, toTypedMap } from '../variables.js'
import { likeMatcher } from './identity-routes.js'
import { definitionByKey, definitionReadable } from './definition-lookup.js'
import type { EngineRouter, EngineServices, HandlerContext, Reply } from './route-types.js'
import { bodyObject, json, noContent, str } from './route-types.js'

const RESERVED = new Set([
  'deployment-name',
  'deployment-activation-time',
  'enable-duplicate-filtering',
  'deploy-changed-only',
  'deployment-source',
  'tenant-id',
])

const DEPLOYMENT_QUERY: CriteriaSpec = {
  id: 'string',
  name: 'string',
  nameLike: 'string',
  source: 'string',
  withoutSource: 'bool',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
  includeDeploymentsWithoutTenantId: 'bool',
  after: 'string',
  before: 'string',
}

const DEFINITION_QUERY: CriteriaSpec = {
  processDefinitionId: 'string',
  processDefinitionIdIn: 'list',
  name: 'string',
  nameLike: 'string',
  deploymentId: 'string',
  key: 'string',
  keysIn: 'list',
  keyLike: 'string',
  version: 'int',
  latestVersion: 'bool',
  resourceName: 'string',
  active: 'bool',
  suspended: 'bool',
  versionTag: 'string',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
  includeProcessDefinitionsWithoutTenantId: 'bool',
  startableInTasklist: 'bool',
}

/** Multipart field value: the engine keeps parts in a map, so the last duplicate wins. */
const lastField = (body: MultipartBody, name: string): string | undefined =>
  body.fields[name]?.at(-1)

export function registerRepositoryRoutes(router: EngineRouter, engine: EngineServices): void {
  const { state, runtime, repository, authorization } = engine
  const readable = (auth: AuthContext, d: ProcessDefinitionRecord): boolean =>
    definitionReadable(engine, auth, d)

  // ------------------------------------------------------------------ deployments
  router.add('POST', '/deployment/create', (c) => {
    const body = c.body as MultipartBody | undefined
    if (body === undefined || (body as { kind?: string }).kind !== 'multipart') {
      throw invalidRequest('multipart/form-data cannot be processed')
    }
    for (const name of Object.keys(body.fields)) {
      if (!RESERVED.has(name)) {
        throw invalidRequest(
          `No file name found in the deployment resource described by form parameter '${name}'.`,
        )
      }
    }
    if (body.files.length === 0)
      throw invalidRequest('No deployment resources contained in the form upload.')
    // `DeployCmd` checks CREATE on Deployment before it reads any resource (seen on 7.24 and Operaton).
    if (!authorization.isAuthorized(c.auth, 'CREATE', RESOURCE.DEPLOYMENT, '*')) {
      throw missingAuthorization(c.auth.userId, 'CREATE', 'Deployment')
    }
    const flag = (name: string): boolean => lastField(body, name) === 'true'
    const result = repository.deploy(c.auth, {
      name: lastField(body, 'deployment-name') ?? null,
      source: lastField(body, 'deployment-source') ?? null,
      tenantId: lastField(body, 'tenant-id') ?? null,
      enableDuplicateFiltering: flag('enable-duplicate-filtering'),
      deployChangedOnly: flag('deploy-changed-only'),
      resources: body.files.map((f) => ({ name: f.fileName, data: f.data })),
    })
    const defs = Object.fromEntries(result.definitions.map((d) => [d.id, definitionDto(d)]))
    return json({
      ...deploymentDto(result.deployment, c.baseUrl),
      deployedProcessDefinitions: result.definitions.length === 0 ? null : defs,
      deployedCaseDefinitions: null,
      deployedDecisionDefinitions: null,
      deployedDecisionRequirementsDefinitions: null,
    })
  })

  const queryDeployments = (c: HandlerContext) => {
    const q = criteriaFromQuery(DEPLOYMENT_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, ['id', 'name', 'deploymentTime', 'tenantId'])
    const nameLike = typeof q['nameLike'] === 'string' ? likeMatcher(q['nameLike']) : null
    const after = typeof q['after'] === 'string' ? parseEngineDate(q['after']) : null
    const before = typeof q['before'] === 'string' ? parseEngineDate(q['before']) : null
    const tenants = tenantCriteriaOf(q, 'includeDeploymentsWithoutTenantId')
    const rows = [...state.deployments.values()].filter((d) => {
      if (!matches(q, 'id', d.id)) return false
      if (!matches(q, 'name', d.name)) return false
      if (nameLike !== null && !nameLike(d.name)) return false
      if (!matches(q, 'source', d.source)) return false
      if (q['withoutSource'] === true && d.source !== null) return false
      if (after !== null && !(d.deploymentTime > after)) return false
      if (before !== null && !(d.deploymentTime < before)) return false
      return matchesTenantCriteria(d.tenantId, tenants) && isAuthenticatedTenant(c.auth, d.tenantId)
    })
    return applySorting(rows, sorting, (d, by) =>
      by === 'deploymentTime' ? d.deploymentTime : (d[by as 'id' | 'name' | 'tenantId'] ?? null),
    )
  }

  router.add('GET', '/deployment', (c) =>
    json(paginate(queryDeployments(c), pagination(c.query)).map((d) => deploymentDto(d, null))),
  )
  router.add('GET', '/deployment/count', (c) => json({ count: queryDeployments(c).length }))

  const deploymentFor = (auth: AuthContext, id: string) => {
    const d = state.deployments.get(id)
    if (d === undefined || !isAuthenticatedTenant(auth, d.tenantId)) {
      throw notFound(`Deployment with id '${id}' does not exist`)
    }
    return d
  }

  router.add('GET', '/deployment/{id}', (c) =>
    json(deploymentDto(deploymentFor(c.auth, c.params['id'] as string), c.baseUrl)),
  )

  router.add('DELETE', '/deployment/{id}', (c) => {
    repository.deleteDeployment(c.auth, c.params['id'] as string, c.query.get('cascade') === 'true')
    return noContent()
  })

  router.add('GET', '/deployment/{id}/resources', (c) => {
    const d = deploymentFor(c.auth, c.params['id'] as string)
    return json(d.resources.map((r) => ({ id: r.id, name: r.name, deploymentId: d.id })))
  })

  router.add('GET', '/deployment/{id}/resources/{resourceId}', (c) => {
    const d = deploymentFor(c.auth, c.params['id'] as string)
    const r = d.resources.find((x) => x.id === c.params['resourceId'])
    if (r === undefined) {
      throw notFound(
        `Deployment resource with resource id '${c.params['resourceId']}' for deployment id '${d.id}' does not exist.`,
      )
    }
    return json({ id: r.id, name: r.name, deploymentId: d.id })
  })

  router.add('GET', '/deployment/{id}/resources/{resourceId}/data', (c): Reply => {
    const d = deploymentFor(c.auth, c.params['id'] as string)
    const r = d.resources.find((x) => x.id === c.params['resourceId'])
    if (r === undefined) {
      throw notFound(
        `Deployment resource '${c.params['resourceId']}' for deployment id '${d.id}' does not exist.`,
      )
    }
    const type = /\.(bpmn|xml|dmn|cmmn)$/i.test(r.name)
      ? 'application/xml'
      : 'application/octet-stream'
    return { status: 200, contentType: type, raw: r.data }
  })

  // ------------------------------------------------------------------ process definitions
  const queryDefinitions = (c: HandlerContext) => {
    const q = criteriaFromQuery(DEFINITION_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, [
      'category',
      'key',
      'id',
      'name',
      'version',
      'deploymentId',
      'deployTime',
      'tenantId',
      'versionTag',
    ])
    const nameLike = typeof q['nameLike'] === 'string' ? likeMatcher(q['nameLike']) : null
    const keyLike = typeof q['keyLike'] === 'string' ? likeMatcher(q['keyLike']) : null
    const tenants = tenantCriteriaOf(q, 'includeProcessDefinitionsWithoutTenantId')
    const visible = [...state.definitions.values()].filter(
      (d) =>
        matchesTenantCriteria(d.tenantId, tenants) &&
        isAuthenticatedTenant(c.auth, d.tenantId) &&
        readable(c.auth, d),
    )
    const rows = visible.filter((d) => {
      if (!matches(q, 'processDefinitionId', d.id)) return false
      const idIn = q['processDefinitionIdIn'] as string[] | undefined
      if (idIn !== undefined && idIn.length > 0 && !idIn.includes(d.id)) return false
      if (!matches(q, 'name', d.name)) return false
      if (nameLike !== null && !nameLike(d.name)) return false
      if (!matches(q, 'deploymentId', d.deploymentId)) return false
      if (!matches(q, 'key', d.key)) return false
      const keysIn = q['keysIn'] as string[] | undefined
      if (keysIn !== undefined && keysIn.length > 0 && !keysIn.includes(d.key)) return false
      if (keyLike !== null && !keyLike(d.key)) return false
      if (!matches(q, 'version', d.version)) return false
      if (!matches(q, 'resourceName', d.resource)) return false
      if (q['active'] === true && d.suspended) return false
      if (q['suspended'] === true && !d.suspended) return false
      if (!matches(q, 'versionTag', d.versionTag)) return false
      if (q['startableInTasklist'] === true && !d.startableInTasklist) return false
      // latestVersion: latest per key and tenant among the rows the query can see
      if (q['latestVersion'] === true && !repository.isLatestVersion(d)) return false
      return true
    })
    return applySorting(rows, sorting, (d, by) => {
      if (by === 'deployTime') return state.deployments.get(d.deploymentId)?.deploymentTime ?? null
      if (by === 'category') return 'http://bpmn.io/schema/bpmn'
      return (d[
        by as 'key' | 'id' | 'name' | 'version' | 'deploymentId' | 'tenantId' | 'versionTag'
      ] ?? null) as string | number | null
    })
  }

  router.add('GET', '/process-definition', (c) =>
    json(paginate(queryDefinitions(c), pagination(c.query)).map(definitionDto)),
  )
  router.add('GET', '/process-definition/count', (c) => json({ count: queryDefinitions(c).length }))

  /** `GET /process-definition/{id}` catches the tenant and authorization failures: 404. */
  const definitionById = (auth: AuthContext, id: string): ProcessDefinitionRecord => {
    const d = state.definitions.get(id)
    if (d === undefined || !isAuthenticatedTenant(auth, d.tenantId) || !readable(auth, d)) {
      throw notFound(`No matching definition with id ${id}`, true)
    }
    return d
  }

  const xmlDto = (d: ProcessDefinitionRecord) => json({ id: d.id, bpmn20Xml: d.xml })

  router.add('GET', '/process-definition/{id}', (c) =>
    json(definitionDto(definitionById(c.auth, c.params['id'] as string))),
  )
  router.add('GET', '/process-definition/{id}/xml', (c) =>
    xmlDto(definitionById(c.auth, c.params['id'] as string)),
  )
  router.add('GET', '/process-definition/key/{key}', (c) =>
    json(definitionDto(definitionByKey(engine, c.auth, c.params['key'] as string, null))),
  )
  router.add('GET', '/process-definition/key/{key}/xml', (c) =>
    xmlDto(definitionByKey(engine, c.auth, c.params['key'] as string, null)),
  )
  router.add('GET', '/process-definition/key/{key}/tenant-id/{tenant-id}', (c) =>
    json(
      definitionDto(
        definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
      ),
    ),
  )
  router.add('GET', '/process-definition/key/{key}/tenant-id/{tenant-id}/xml', (c) =>
    xmlDto(
      definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
    ),
  )

  // Diagram and form variables of a definition without either: the engine's answers for one
  // (the start form itself is form-routes.ts's).
  for (const [prefix, resolve] of [
    [
      '/process-definition/{id}',
      (c: HandlerContext) => definitionById(c.auth, c.params['id'] as string),
    ],
    [
      '/process-definition/key/{key}/tenant-id/{tenant-id}',
      (c: HandlerContext) =>
        definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
    ],
  ] as const) {
    router.add('GET', `${prefix}/diagram`, (c) => {
      resolve(c)
      return { status: 204 }
    })
    router.add('GET', `${prefix}/form-variables`, (c) => {
      resolve(c)
      return json({})
    })
  }

  /**
   * `GetStaticCalledProcessDefinitionsCmd`: the simulator runs no call activities, so a definition
   * calls none; missing → 404, another tenant's → ENGINE-13034 (500), unreadable → 403.
   */
  router.add('GET', '/process-definition/{id}/static-called-process-definitions', (c) => {
    const id = c.params['id'] as string
    const d = state.definitions.get(id)
    if (d === undefined) {
      throw invalidRequest(
        `no deployed process definition found with id '${id}': processDefinition is null`,
        404,
      )
    }
    if (!isAuthenticatedTenant(c.auth, d.tenantId)) {
      throw engineException(tenantViolationMessage(`get the process definition '${id}'`))
    }
    if (!readable(c.auth, d)) {
      throw missingAuthorization(c.auth.userId, 'READ', 'ProcessDefinition', d.key)
    }
    return json([])
  })

  /**
   * `ProcessDefinitionResourceImpl.startProcessInstance` (and `submitForm`, which starts the same
   * way from the same DTO but never returns variables): engine failures become a 500 RestException.
   */
  const start = (c: HandlerContext, def: ProcessDefinitionRecord, form = false): Reply => {
    // `AuthorizationCommandChecker.checkCreateProcessInstance`; the resource rethrows it (403).
    if (!authorization.isAuthorized(c.auth, 'CREATE', RESOURCE.PROCESS_INSTANCE, '*')) {
      throw missingAuthorization(c.auth.userId, 'CREATE', 'ProcessInstance')
    }
    if (
      !authorization.isAuthorized(c.auth, 'CREATE_INSTANCE', RESOURCE.PROCESS_DEFINITION, def.key)
    ) {
      throw missingAuthorization(c.auth.userId, 'CREATE_INSTANCE', 'ProcessDefinition', def.key)
    }
    const body = bodyObject(c.body)
    const variables = toTypedMap(
      body['variables'],
      (n) =>
        `Cannot instantiate process definition ${def.id}: Cannot convert value of variable ${n}`,
    )
    let instance
    try {
      instance = runtime.startInstance(c.auth, def, {
        businessKey: str(body['businessKey']),
        variables,
      })
    } catch (err) {
      if (err instanceof EngineError && err.status === 500) {
        throw restException(500, `Cannot instantiate process definition ${def.id}: ${err.message}`)
      }
      throw err
    }
    const dto = processInstanceDto(instance, c.baseUrl)
    return json(
      !form && body['withVariablesInReturn'] === true
        ? { ...dto, variables: fromTypedMap(instance.variables) }
        : dto,
    )
  }

  for (const [operation, form] of [
    ['start', false],
    ['submit-form', true],
  ] as const) {
    router.add('POST', `/process-definition/{id}/${operation}`, (c) => {
      const d = state.definitions.get(c.params['id'] as string)
      if (d === undefined) {
        throw restException(
          500,
          `Cannot instantiate process definition ${c.params['id']}: no deployed process definition found with id '${c.params['id']}': processDefinition is null`,
        )
      }
      return start(c, d, form)
    })
    router.add('POST', `/process-definition/key/{key}/${operation}`, (c) =>
      start(c, definitionByKey(engine, c.auth, c.params['key'] as string, null), form),
    )
    router.add('POST', `/process-definition/key/{key}/tenant-id/{tenant-id}/${operation}`, (c) =>
      start(
        c,
        definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
        form,
      ),
    )
  }

  /**
   * `GET …/statistics` (`ActivityStatisticsQuery`): per activity, the running instances waiting
   * there (the tenant check applies), timer jobs without retries, and — with `incidents=true` or
   * `incidentsForType` (not both: 400) — the open incidents by type.
   */
  const statisticsOptions = (c: HandlerContext) => {
    // JAX-RS `Boolean` parameters: `Boolean.valueOf`, anything but `true` is false
    const flag = (name: string) => c.query.get(name)?.toLowerCase() === 'true'
    const forType = c.query.get('incidentsForType')
    if (c.query.has('incidents') && forType !== undefined) {
      throw invalidRequest(
        'Only one of the query parameter includeIncidents or includeIncidentsForType can be set.',
      )
    }
    return {
      failedJobs: flag('failedJobs'),
      withIncidents: flag('incidents') || forType !== undefined,
      forType,
    }
  }
  const statistics = (
    c: HandlerContext,
    def: ProcessDefinitionRecord,
    { failedJobs, withIncidents, forType }: ReturnType<typeof statisticsOptions>,
  ): Reply => {
    const rows = new Map<
      string,
      { instances: number; failedJobs: number; incidents: Map<string, number> }
    >()
    const row = (activityId: string) => {
      let r = rows.get(activityId)
      if (r === undefined) {
        r = { instances: 0, failedJobs: 0, incidents: new Map() }
        rows.set(activityId, r)
      }
      return r
    }
    const visible = (tenantId: string | null) => isAuthenticatedTenant(c.auth, tenantId)
    for (const i of state.instances.values()) {
      if (i.definitionId !== def.id || !visible(i.tenantId)) continue
      const activity = runtime.currentActivity(i)
      if (activity !== undefined) row(activity.id).instances++
    }
    if (failedJobs) {
      for (const j of state.jobs.values()) {
        if (j.processDefinitionId === def.id && j.retries === 0 && visible(j.tenantId)) {
          row(j.activityId).failedJobs++
        }
      }
    }
    if (withIncidents) {
      for (const i of state.incidents.values()) {
        if (i.processDefinitionId !== def.id || !visible(i.tenantId)) continue
        if (forType !== undefined && i.incidentType !== forType) continue
        const counts = row(i.activityId).incidents
        counts.set(i.incidentType, (counts.get(i.incidentType) ?? 0) + 1)
      }
    }
    return json(
      [...rows].map(([id, r]) => ({
        '@class': 'org.camunda.bpm.engine.rest.dto.repository.ActivityStatisticsResultDto',
        id,
        instances: r.instances,
        failedJobs: r.failedJobs,
        incidents: [...r.incidents].map(([incidentType, incidentCount]) => ({
          incidentType,
          incidentCount,
        })),
      })),
    )
  }
  router.add('GET', '/process-definition/{id}/statistics', (c) => {
    // the resource checks its parameters before the query looks the definition up
    const options = statisticsOptions(c)
    const id = c.params['id'] as string
    const d = state.definitions.get(id)
    if (d === undefined) {
      throw nullValue(`no deployed process definition found with id '${id}'`, 'processDefinition')
    }
    return statistics(c, d, options)
  })
  // the key paths resolve the definition first (404), then run the same resource method
  router.add('GET', '/process-definition/key/{key}/statistics', (c) => {
    const d = definitionByKey(engine, c.auth, c.params['key'] as string, null)
    return statistics(c, d, statisticsOptions(c))
  })
  router.add('GET', '/process-definition/key/{key}/tenant-id/{tenant-id}/statistics', (c) => {
    const key = c.params['key'] as string
    const d = definitionByKey(engine, c.auth, key, c.params['tenant-id'] as string)
    return statistics(c, d, statisticsOptions(c))
  })
}

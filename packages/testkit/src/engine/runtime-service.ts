/**
 * Repository, runtime, task, external-task and history behaviour of the simulated engine, with
 * the transparent tenant check and the user operation log applied like the engine does.
 */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import type { ActivityModel, StartEventModel } from './bpmn-parser.js'
import { parseBpmn } from './bpmn-parser.js'
import {
  badUserRequest,
  engineException,
  notFound,
  nullValue,
  restException,
  tenantViolationMessage,
} from './engine-errors.js'
import { newId } from './engine-format.js'
import type {
  DeploymentRecord,
  EngineState,
  ExternalTaskRecord,
  ProcessDefinitionRecord,
  ProcessInstanceRecord,
  TaskRecord,
  UserOperationLogEntry,
} from './engine-state.js'
import type { TypedValue } from './variables.js'
import { resolveExpression } from './variables.js'

export type HistoryLevel = 'none' | 'activity' | 'audit' | 'full'

/** What a `TenantIdProvider` sees when an instance of a shared (no-tenant) definition starts. */
export interface TenantIdProviderContext {
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  /** Start variables, by name, as plain values. */
  readonly variables: Readonly<Record<string, unknown>>
}

export interface RuntimeConfig {
  readonly historyLevel: HistoryLevel
  readonly now: () => number
  /**
   * The engine's `TenantIdProvider` SPI (`provideTenantIdForProcessInstance`): only consulted for
   * definitions without a tenant; returning `null` keeps the instance shared.
   */
  readonly tenantIdProvider?: ((context: TenantIdProviderContext) => string | null) | undefined
}

/** One resource of a deployment request. */
export interface DeploymentInput {
  readonly name?: string | null
  readonly source?: string | null
  readonly tenantId?: string | null
  readonly enableDuplicateFiltering?: boolean
  readonly deployChangedOnly?: boolean
  readonly resources: readonly { readonly name: string; readonly data: Buffer }[]
}

export interface DeploymentResult {
  readonly deployment: DeploymentRecord
  /** Definitions created by this call (empty when duplicate filtering returned an old one). */
  readonly definitions: readonly ProcessDefinitionRecord[]
}

/** Property changes of one logged operation (one row each, one shared `operationId`). */
interface LogChange {
  readonly property?: string | null
  readonly orgValue?: string | null
  readonly newValue?: string | null
}

type LogFields = Partial<
  Pick<
    UserOperationLogEntry,
    | 'deploymentId'
    | 'processDefinitionId'
    | 'processDefinitionKey'
    | 'processInstanceId'
    | 'executionId'
    | 'taskId'
    | 'externalTaskId'
    | 'tenantId'
  >
>

export class RuntimeService {
  readonly #state: EngineState
  readonly #config: RuntimeConfig
  /** Called whenever an external task may have become fetchable (long polling wakes up). */
  onExternalTaskAvailable: () => void = () => {}

  constructor(state: EngineState, config: RuntimeConfig) {
    this.#state = state
    this.#config = config
  }

  get historyLevel(): HistoryLevel {
    return this.#config.historyLevel
  }

  now(): number {
    return this.#config.now()
  }

  // ---------------------------------------------------------------- operation log

  /** Writes `ACT_HI_OP_LOG` rows: only at history level full and only for an authenticated user. */
  log(
    ctx: AuthContext,
    operationType: string,
    entityType: string,
    category: string,
    fields: LogFields,
    changes: readonly LogChange[] = [{}],
  ): void {
    if (this.#config.historyLevel !== 'full' || ctx.userId === null) return
    const operationId = newId()
    const timestamp = this.now()
    for (const change of changes.length === 0 ? [{}] : changes) {
      this.#state.operationLog.push({
        id: newId(),
        operationId,
        userId: ctx.userId,
        timestamp,
        operationType,
        entityType,
        category,
        property: change.property ?? null,
        orgValue: change.orgValue ?? null,
        newValue: change.newValue ?? null,
        deploymentId: fields.deploymentId ?? null,
        processDefinitionId: fields.processDefinitionId ?? null,
        processDefinitionKey: fields.processDefinitionKey ?? null,
        processInstanceId: fields.processInstanceId ?? null,
        executionId: fields.executionId ?? null,
        taskId: fields.taskId ?? null,
        externalTaskId: fields.externalTaskId ?? null,
        tenantId: fields.tenantId ?? null,
      })
    }
  }

  // ---------------------------------------------------------------- repository

  deploy(ctx: AuthContext, input: DeploymentInput): DeploymentResult {
    const tenantId = input.tenantId === undefined || input.tenantId === '' ? null : input.tenantId
    const name = input.name ?? null
    const source = input.source ?? null
    const filtering = input.enableDuplicateFiltering === true || input.deployChangedOnly === true
    if (filtering) {
      const previous = [...this.#state.deployments.values()]
        .filter((d) => d.name === name && d.tenantId === tenantId && d.source === source)
        .sort((a, b) => b.deploymentTime - a.deploymentTime)[0]
      if (previous !== undefined && sameResources(previous, input.resources)) {
        return { deployment: previous, definitions: [] }
      }
    }
    const deploymentId = newId()
    const parsed = input.resources.flatMap((r) =>
      /\.bpmn(20\.xml)?$/i.test(r.name)
        ? parseBpmn(r.data.toString('utf8'), r.name).map((model) => ({ model, resource: r }))
        : [],
    )
    const deployment: DeploymentRecord = {
      id: deploymentId,
      name,
      source,
      deploymentTime: this.now(),
      tenantId,
      resources: input.resources.map((r) => ({ id: newId(), name: r.name, data: r.data })),
    }
    const definitions: ProcessDefinitionRecord[] = []
    for (const { model, resource } of parsed) {
      const version =
        1 +
        Math.max(
          0,
          ...[...this.#state.definitions.values()]
            .filter((d) => d.key === model.key && d.tenantId === tenantId)
            .map((d) => d.version),
        )
      const composed = `${model.key}:${version}:${newId()}`
      definitions.push({
        id: composed.length <= 64 ? composed : newId(),
        key: model.key,
        name: model.name,
        version,
        versionTag: model.versionTag,
        resource: resource.name,
        deploymentId,
        tenantId,
        historyTimeToLive: model.historyTimeToLive,
        startableInTasklist: model.startableInTasklist,
        xml: resource.data.toString('utf8'),
        model,
        suspended: false,
      })
    }
    this.#state.deployments.set(deploymentId, deployment)
    for (const d of definitions) this.#state.definitions.set(d.id, d)
    const changes: LogChange[] = [
      { property: 'duplicateFilterEnabled', newValue: String(filtering) },
    ]
    if (filtering)
      changes.push({
        property: 'deployChangedOnly',
        newValue: String(input.deployChangedOnly === true),
      })
    this.log(ctx, 'Create', 'Deployment', 'Operator', { deploymentId, tenantId }, changes)
    return { deployment, definitions }
  }

  deleteDeployment(ctx: AuthContext, id: string, cascade: boolean): void {
    const deployment = this.#state.deployments.get(id)
    if (deployment === undefined || !isAuthenticatedTenant(ctx, deployment.tenantId)) {
      throw notFound(`Deployment with id '${id}' do not exist`)
    }
    const defs = [...this.#state.definitions.values()].filter((d) => d.deploymentId === id)
    const running = [...this.#state.instances.values()].filter(
      (i) => i.state === 'ACTIVE' && defs.some((d) => d.id === i.definitionId),
    )
    if (running.length > 0 && !cascade) {
      throw engineException(
        `Deletion of process definition without cascading failed. Process definition with id: ${defs[0]?.id ?? ''} can't be deleted, since there exists ${running.length} dependening process instances.`,
      )
    }
    for (const i of running) this.#terminate(i, 'deleted deployment')
    for (const d of defs) this.#state.definitions.delete(d.id)
    this.#state.deployments.delete(id)
    this.log(
      ctx,
      'Delete',
      'Deployment',
      'Operator',
      { deploymentId: id, tenantId: deployment.tenantId },
      [{ property: 'cascade', newValue: String(cascade) }],
    )
  }

  /** Latest definition of a key: `tenantId === null` means the shared (no tenant) one. */
  latestDefinition(key: string, tenantId: string | null): ProcessDefinitionRecord | undefined {
    let best: ProcessDefinitionRecord | undefined
    for (const d of this.#state.definitions.values()) {
      if (d.key !== key || d.tenantId !== tenantId) continue
      if (best === undefined || d.version > best.version) best = d
    }
    return best
  }

  isLatestVersion(def: ProcessDefinitionRecord): boolean {
    return this.latestDefinition(def.key, def.tenantId)?.id === def.id
  }

  // ---------------------------------------------------------------- process instances

  /**
   * Starts an instance (tenant check like `StartProcessInstanceCmd.checkCreateProcessInstance`). Callers map the
   * ENGINE-13034 failure to the resource's own error shape.
   */
  startInstance(
    ctx: AuthContext,
    def: ProcessDefinitionRecord,
    options: {
      businessKey?: string | null
      variables?: ReadonlyMap<string, TypedValue>
      startEvent?: StartEventModel
      operationType?: string
    } = {},
  ): ProcessInstanceRecord {
    if (!isAuthenticatedTenant(ctx, def.tenantId)) {
      throw engineException(
        tenantViolationMessage(`create an instance of the process definition '${def.id}'`),
      )
    }
    if (def.suspended) {
      throw engineException(
        `Cannot start process instance. Process definition ${def.name ?? def.key} (id = ${def.id}) is suspended`,
      )
    }
    const startEvent =
      options.startEvent ??
      def.model.startEvents.find((s) => s.messageName === null) ??
      def.model.startEvents[0]
    if (startEvent === undefined)
      throw engineException(`Process definition ${def.id} has no start event`)
    const variables = new Map(options.variables ?? [])
    const tenantId =
      def.tenantId ??
      this.#config.tenantIdProvider?.({
        processDefinitionId: def.id,
        processDefinitionKey: def.key,
        variables: Object.fromEntries([...variables].map(([k, v]) => [k, v.value])),
      }) ??
      null
    const instance: ProcessInstanceRecord = {
      id: newId(),
      definitionId: def.id,
      definitionKey: def.key,
      businessKey: options.businessKey ?? null,
      tenantId,
      startTime: this.now(),
      startUserId: ctx.userId,
      startActivityId: startEvent.id,
      variables,
      path: startEvent.path,
      position: -1,
      state: 'ACTIVE',
      endTime: null,
      deleteReason: null,
      suspended: false,
    }
    this.#state.instances.set(instance.id, instance)
    this.log(ctx, options.operationType ?? 'Create', 'ProcessInstance', 'Operator', {
      processDefinitionId: def.id,
      processDefinitionKey: def.key,
      processInstanceId: instance.id,
      tenantId,
    })
    this.#advance(instance)
    return instance
  }

  /** Moves the token past the current activity to the next wait state or the end. */
  #advance(instance: ProcessInstanceRecord): void {
    for (;;) {
      instance.position += 1
      const activity = instance.path[instance.position]
      if (activity === undefined || activity.kind === 'endEvent') {
        instance.state = 'COMPLETED'
        instance.endTime = this.now()
        return
      }
      if (activity.kind === 'userTask') return this.#createTask(instance, activity)
      if (activity.kind === 'externalTask') return this.#createExternalTask(instance, activity)
      if (activity.kind === 'receiveTask') return
    }
  }

  currentActivity(instance: ProcessInstanceRecord): ActivityModel | undefined {
    return instance.state === 'ACTIVE' ? instance.path[instance.position] : undefined
  }

  #createTask(instance: ProcessInstanceRecord, activity: ActivityModel): void {
    const now = this.now()
    const assignee =
      activity.assignee === undefined
        ? null
        : resolveExpression(activity.assignee, instance.variables) || null
    const task: TaskRecord = {
      id: newId(),
      name: activity.name,
      taskDefinitionKey: activity.id,
      processInstanceId: instance.id,
      processDefinitionId: instance.definitionId,
      processDefinitionKey: instance.definitionKey,
      tenantId: instance.tenantId,
      created: now,
      candidateGroups: (activity.candidateGroups ?? []).map((g) =>
        resolveExpression(g, instance.variables),
      ),
      candidateUsers: (activity.candidateUsers ?? []).map((u) =>
        resolveExpression(u, instance.variables),
      ),
      activityInstanceId: `${activity.id}:${newId()}`,
      form:
        activity.form === undefined
          ? null
          : {
              formKey:
                activity.form.formKey === null
                  ? null
                  : resolveExpression(activity.form.formKey, instance.variables),
              formRef:
                activity.form.formRef === null
                  ? null
                  : {
                      ...activity.form.formRef,
                      key: resolveExpression(activity.form.formRef.key, instance.variables),
                    },
            },
      assignee,
      owner: null,
      priority: activity.priority ?? 50,
      lastUpdated: null,
    }
    this.#state.tasks.set(task.id, task)
    if (this.#config.historyLevel !== 'none') {
      this.#state.historicTasks.set(task.id, {
        id: task.id,
        name: task.name,
        taskDefinitionKey: task.taskDefinitionKey,
        processInstanceId: task.processInstanceId,
        processDefinitionId: task.processDefinitionId,
        processDefinitionKey: task.processDefinitionKey,
        activityInstanceId: task.activityInstanceId,
        tenantId: task.tenantId,
        startTime: now,
        assignee,
        endTime: null,
        deleteReason: null,
        taskState: assignee === null ? 'Created' : 'Updated',
      })
    }
  }

  #createExternalTask(instance: ProcessInstanceRecord, activity: ActivityModel): void {
    const def = this.#state.definitions.get(instance.definitionId)
    const task: ExternalTaskRecord = {
      id: newId(),
      topicName: activity.topic ?? '',
      activityId: activity.id,
      activityInstanceId: `${activity.id}:${newId()}`,
      processInstanceId: instance.id,
      processDefinitionId: instance.definitionId,
      processDefinitionKey: instance.definitionKey,
      processDefinitionVersionTag: def?.versionTag ?? null,
      tenantId: instance.tenantId,
      businessKey: instance.businessKey,
      createTime: this.now(),
      sequence: ++this.#state.externalTaskSequence,
      workerId: null,
      lockExpirationTime: null,
      retries: null,
      errorMessage: null,
      errorDetails: null,
      priority: activity.priority ?? 0,
      availableAt: 0,
    }
    this.#state.externalTasks.set(task.id, task)
    this.onExternalTaskAvailable()
  }

  #terminate(instance: ProcessInstanceRecord, reason: string): void {
    instance.state = 'EXTERNALLY_TERMINATED'
    instance.endTime = this.now()
    instance.deleteReason = reason
    for (const task of [...this.#state.tasks.values()]) {
      if (task.processInstanceId !== instance.id) continue
      this.#state.tasks.delete(task.id)
      const h = this.#state.historicTasks.get(task.id)
      if (h !== undefined) {
        h.endTime = this.now()
        h.deleteReason = reason
        h.taskState = 'Deleted'
      }
    }
    for (const et of [...this.#state.externalTasks.values()]) {
      if (et.processInstanceId === instance.id) this.#state.externalTasks.delete(et.id)
    }
  }

  /** A running instance visible to the caller, or `undefined` (the query filters foreign rows). */
  findInstance(ctx: AuthContext, id: string): ProcessInstanceRecord | undefined {
    const i = this.#state.instances.get(id)
    return i !== undefined && i.state === 'ACTIVE' && isAuthenticatedTenant(ctx, i.tenantId)
      ? i
      : undefined
  }

  /** Command-style access to a running instance: missing → NullValue 500, foreign → ENGINE-13034. */
  instanceForCommand(ctx: AuthContext, id: string, operation: string): ProcessInstanceRecord {
    const i = this.#state.instances.get(id)
    if (i === undefined || i.state !== 'ACTIVE')
      throw nullValue(`execution ${id} doesn't exist`, 'execution')
    if (!isAuthenticatedTenant(ctx, i.tenantId)) {
      throw engineException(tenantViolationMessage(`${operation} the process instance '${id}'`))
    }
    return i
  }

  deleteInstance(ctx: AuthContext, id: string, reason: string | null): void {
    const i = this.#state.instances.get(id)
    if (i === undefined || i.state !== 'ACTIVE') {
      throw notFound(`No process instance found for id '${id}': processInstance is null`, true)
    }
    if (!isAuthenticatedTenant(ctx, i.tenantId)) {
      throw engineException(tenantViolationMessage(`delete the process instance '${id}'`))
    }
    this.#terminate(i, reason ?? 'ACTIVITY_DELETED')
    this.log(
      ctx,
      'Delete',
      'ProcessInstance',
      'Operator',
      {
        processDefinitionId: i.definitionId,
        processDefinitionKey: i.definitionKey,
        processInstanceId: i.id,
        tenantId: i.tenantId,
      },
      [{ property: 'cascade', newValue: 'false' }],
    )
  }

  /** Sets/removes instance variables, logging like the engine (`SetVariable`/`ModifyVariable`/`RemoveVariable`). */
  modifyVariables(
    ctx: AuthContext,
    instance: ProcessInstanceRecord,
    modifications: ReadonlyMap<string, TypedValue>,
    deletions: readonly string[],
    operationType: 'SetVariable' | 'ModifyVariable' | 'RemoveVariable',
    via: { taskId?: string } = {},
  ): void {
    for (const [k, v] of modifications) instance.variables.set(k, v)
    for (const k of deletions) instance.variables.delete(k)
    this.log(ctx, operationType, 'Variable', via.taskId === undefined ? 'Operator' : 'TaskWorker', {
      processDefinitionId: instance.definitionId,
      processDefinitionKey: instance.definitionKey,
      processInstanceId: instance.id,
      executionId: instance.id,
      tenantId: instance.tenantId,
      ...(via.taskId === undefined ? {} : { taskId: via.taskId }),
    })
  }

  // ---------------------------------------------------------------- tasks

  /** A task visible to the caller (query semantics), or `undefined`. */
  findTask(ctx: AuthContext, id: string): TaskRecord | undefined {
    const t = this.#state.tasks.get(id)
    return t !== undefined && isAuthenticatedTenant(ctx, t.tenantId) ? t : undefined
  }

  /** Command-style task access: missing → NullValue 500, foreign → ENGINE-13034 (`operation`). */
  taskForCommand(ctx: AuthContext, id: string, operation: string): TaskRecord {
    const t = this.#state.tasks.get(id)
    if (t === undefined) throw nullValue(`Cannot find task with id ${id}`, 'task')
    if (!isAuthenticatedTenant(ctx, t.tenantId)) {
      throw engineException(tenantViolationMessage(`${operation} '${id}'`))
    }
    return t
  }

  claimTask(ctx: AuthContext, id: string, userId: string | null): void {
    const task = this.taskForCommand(ctx, id, 'work on task')
    if (task.assignee !== null && userId !== null && task.assignee !== userId) {
      throw engineException(
        `Task '${id}' is already claimed by someone else.`,
        'TaskAlreadyClaimedException',
      )
    }
    this.#setAssignee(ctx, task, userId, 'Claim')
  }

  setAssignee(ctx: AuthContext, id: string, userId: string | null): void {
    const task = this.taskForCommand(ctx, id, 'assign the task')
    this.#setAssignee(ctx, task, userId, 'Assign')
  }

  #setAssignee(ctx: AuthContext, task: TaskRecord, userId: string | null, op: string): void {
    const previous = task.assignee
    task.assignee = userId
    task.lastUpdated = this.now()
    const h = this.#state.historicTasks.get(task.id)
    if (h !== undefined) {
      h.assignee = userId
      h.taskState = 'Updated'
    }
    this.log(ctx, op, 'Task', 'TaskWorker', this.#taskLogFields(task), [
      { property: 'assignee', orgValue: previous, newValue: userId },
    ])
  }

  #taskLogFields(task: TaskRecord): LogFields {
    return {
      processDefinitionId: task.processDefinitionId,
      processDefinitionKey: task.processDefinitionKey,
      processInstanceId: task.processInstanceId,
      executionId: task.processInstanceId,
      taskId: task.id,
      tenantId: task.tenantId,
    }
  }

  /** Completes a task with variables and moves the token on. Errors are the engine's raw ones. */
  completeTask(
    ctx: AuthContext,
    id: string,
    variables: ReadonlyMap<string, TypedValue>,
  ): ProcessInstanceRecord {
    const task = this.taskForCommand(ctx, id, 'work on task')
    const instance = this.#state.instances.get(task.processInstanceId)
    if (instance === undefined)
      throw nullValue(`execution ${task.processInstanceId} doesn't exist`, 'execution')
    for (const [k, v] of variables) instance.variables.set(k, v)
    this.#state.tasks.delete(id)
    const h = this.#state.historicTasks.get(id)
    if (h !== undefined) {
      h.endTime = this.now()
      h.deleteReason = 'completed'
      h.taskState = 'Completed'
    }
    this.log(ctx, 'Complete', 'Task', 'TaskWorker', this.#taskLogFields(task), [
      { property: 'delete', orgValue: 'false', newValue: 'true' },
    ])
    this.#advance(instance)
    return instance
  }

  // ---------------------------------------------------------------- external tasks

  findExternalTask(ctx: AuthContext, id: string): ExternalTaskRecord | undefined {
    const t = this.#state.externalTasks.get(id)
    return t !== undefined && isAuthenticatedTenant(ctx, t.tenantId) ? t : undefined
  }

  isLocked(t: ExternalTaskRecord): boolean {
    return t.lockExpirationTime !== null && t.lockExpirationTime > this.now()
  }

  /** Whether a task can be fetched now (unlocked, retries left, not in a retry back-off). */
  isFetchable(t: ExternalTaskRecord): boolean {
    if (t.retries !== null && t.retries <= 0) return false
    if (this.isLocked(t)) return false
    const instance = this.#state.instances.get(t.processInstanceId)
    return instance === undefined || !instance.suspended
  }

  /** Earliest future time at which a currently unfetchable task becomes fetchable, if any. */
  nextAvailability(): number | null {
    let next: number | null = null
    for (const t of this.#state.externalTasks.values()) {
      if (t.retries !== null && t.retries <= 0) continue
      if (t.lockExpirationTime !== null && t.lockExpirationTime > this.now()) {
        next = next === null ? t.lockExpirationTime : Math.min(next, t.lockExpirationTime)
      }
    }
    return next
  }

  /**
   * `ExternalTaskCmd` (unlock, retries): missing → 404 RestException wrapping `NotFoundException`,
   * then the tenant check.
   */
  externalTaskForCommand(ctx: AuthContext, id: string): ExternalTaskRecord {
    const t = this.#state.externalTasks.get(id)
    if (t === undefined) throw restException(404, `External task with id ${id} does not exist`)
    if (!isAuthenticatedTenant(ctx, t.tenantId)) {
      throw engineException(
        tenantViolationMessage(`update the process instance '${t.processInstanceId}'`),
      )
    }
    return t
  }

  /**
   * `HandleExternalTaskCmd` order: `workerId` present (else 500 NullValueException), task exists
   * (404), worker owns the lock (400, before the tenant check), then the tenant check (500).
   */
  #externalTaskForHandle(
    ctx: AuthContext,
    id: string,
    workerId: unknown,
    /** `getErrorMessageOnWrongWorkerAccess()` of the engine command. */
    what: (workerId: string) => string,
    violates: (t: ExternalTaskRecord, workerId: string) => boolean = (t, w) => w !== t.workerId,
  ): ExternalTaskRecord {
    if (typeof workerId !== 'string')
      throw engineException('workerId is null', 'NullValueException')
    const t = this.#state.externalTasks.get(id)
    if (t === undefined) throw restException(404, `External task with id ${id} does not exist`)
    if (violates(t, workerId)) {
      throw restException(
        400,
        `${what(workerId)}'. It is locked by worker '${t.workerId ?? 'null'}'.`,
      )
    }
    if (!isAuthenticatedTenant(ctx, t.tenantId)) {
      throw engineException(
        tenantViolationMessage(`update the process instance '${t.processInstanceId}'`),
      )
    }
    return t
  }

  completeExternalTask(
    ctx: AuthContext,
    id: string,
    workerId: unknown,
    variables: ReadonlyMap<string, TypedValue>,
  ): void {
    const t = this.#externalTaskForHandle(
      ctx,
      id,
      workerId,
      (w) => `External Task ${id} cannot be completed by worker '${w}`,
    )
    const instance = this.#state.instances.get(t.processInstanceId)
    this.#state.externalTasks.delete(id)
    if (instance === undefined) return
    for (const [k, v] of variables) instance.variables.set(k, v)
    this.#advance(instance)
  }

  failExternalTask(
    ctx: AuthContext,
    id: string,
    input: {
      workerId: unknown
      errorMessage: string | null
      errorDetails: string | null
      retries: number
      retryTimeout: number
      variables: ReadonlyMap<string, TypedValue>
    },
  ): void {
    if (input.retries < 0) throw engineException('retries is not greater than or equal to 0')
    if (input.retryTimeout < 0)
      throw engineException('retryDuration is not greater than or equal to 0')
    const t = this.#externalTaskForHandle(
      ctx,
      id,
      input.workerId,
      (w) => `Failure of External Task ${id} cannot be reported by worker '${w}`,
    )
    const instance = this.#state.instances.get(t.processInstanceId)
    if (instance !== undefined) for (const [k, v] of input.variables) instance.variables.set(k, v)
    t.errorMessage = input.errorMessage
    t.errorDetails = input.errorDetails
    t.retries = input.retries
    t.lockExpirationTime = this.now() + Math.max(0, input.retryTimeout)
    if (input.retries === 0) {
      const incident = {
        id: newId(),
        incidentType: 'failedExternalTask',
        incidentTimestamp: this.now(),
        processInstanceId: t.processInstanceId,
        processDefinitionId: t.processDefinitionId,
        activityId: t.activityId,
        configuration: t.id,
        incidentMessage: input.errorMessage,
        tenantId: t.tenantId,
      }
      this.#state.incidents.set(incident.id, incident)
    } else {
      this.onExternalTaskAvailable()
    }
  }

  /** BPMN error without a modelled catching boundary event: the engine ends the instance. */
  bpmnErrorExternalTask(
    ctx: AuthContext,
    id: string,
    workerId: unknown,
    variables: ReadonlyMap<string, TypedValue>,
  ): void {
    const t = this.#externalTaskForHandle(
      ctx,
      id,
      workerId,
      (w) => `Bpmn error of External Task ${id} cannot be reported by worker '${w}`,
    )
    this.#state.externalTasks.delete(id)
    const instance = this.#state.instances.get(t.processInstanceId)
    if (instance === undefined) return
    for (const [k, v] of variables) instance.variables.set(k, v)
    instance.state = 'COMPLETED'
    instance.endTime = this.now()
  }

  extendLock(ctx: AuthContext, id: string, workerId: unknown, newDuration: number): void {
    // ExtendLockOnExternalTaskCmd checks the duration in its constructor
    if (newDuration <= 0) throw restException(400, 'lockTime is not greater than 0')
    const t = this.#externalTaskForHandle(
      ctx,
      id,
      workerId,
      (w) => `The lock of the External Task ${id} cannot be extended by worker '${w}'`,
    )
    if (!this.isLocked(t)) {
      throw restException(400, 'Cannot extend a lock that expired: lockExpirationTime is null')
    }
    t.lockExpirationTime = this.now() + newDuration
  }

  unlockExternalTask(ctx: AuthContext, id: string): void {
    const t = this.externalTaskForCommand(ctx, id)
    t.workerId = null
    t.lockExpirationTime = null
    this.log(ctx, 'Unlock', 'ExternalTask', 'Operator', {
      processDefinitionId: t.processDefinitionId,
      processDefinitionKey: t.processDefinitionKey,
      processInstanceId: t.processInstanceId,
      externalTaskId: t.id,
      tenantId: t.tenantId,
    })
    this.onExternalTaskAvailable()
  }

  lockExternalTask(ctx: AuthContext, id: string, workerId: unknown, lockDuration: number): void {
    if (typeof workerId === 'string' && lockDuration <= 0) {
      throw restException(400, 'lockDuration is not greater than 0')
    }
    const t = this.#externalTaskForHandle(
      ctx,
      id,
      workerId,
      (w) => `External Task ${id} cannot be locked by worker '${w}`,
      // only another worker's unexpired lock is a violation
      (task, w) => task.workerId !== null && task.workerId !== w && this.isLocked(task),
    )
    t.workerId = workerId as string
    t.lockExpirationTime = this.now() + lockDuration
  }

  setExternalTaskRetries(ctx: AuthContext, id: string, retries: number): void {
    const t = this.externalTaskForCommand(ctx, id)
    if (retries < 0) throw badUserRequest('The number of retries cannot be negative.')
    const previous = t.retries
    t.retries = retries
    if (retries > 0) {
      for (const [incidentId, inc] of this.#state.incidents) {
        if (inc.configuration === id) this.#state.incidents.delete(incidentId)
      }
      this.onExternalTaskAvailable()
    }
    this.log(
      ctx,
      'SetExternalTaskRetries',
      'ExternalTask',
      'Operator',
      {
        processDefinitionId: t.processDefinitionId,
        processDefinitionKey: t.processDefinitionKey,
        processInstanceId: t.processInstanceId,
        externalTaskId: t.id,
        tenantId: t.tenantId,
      },
      [
        {
          property: 'retries',
          orgValue: previous === null ? null : String(previous),
          newValue: String(retries),
        },
      ],
    )
  }

  // ---------------------------------------------------------------- messages

  /**
   * `POST /message`: waiting receive tasks first, then message start events. Tenant semantics per
   * `MessageCorrelationBuilderImpl` (exact tenant, or NULL with `withoutTenantId`, or all).
   */
  correlate(
    ctx: AuthContext,
    input: {
      messageName: string
      businessKey: string | null
      tenantId: string | null
      withoutTenantId: boolean
      processInstanceId: string | null
      correlationKeys: ReadonlyMap<string, TypedValue>
      processVariables: ReadonlyMap<string, TypedValue>
      all: boolean
    },
  ): { resultType: 'Execution' | 'ProcessDefinition'; instance: ProcessInstanceRecord }[] {
    const tenantOk = (tenantId: string | null): boolean => {
      if (input.tenantId !== null) return tenantId === input.tenantId
      if (input.withoutTenantId) return tenantId === null
      return true
    }
    const executions = [...this.#state.instances.values()].filter((i) => {
      if (i.state !== 'ACTIVE' || i.suspended) return false
      const a = this.currentActivity(i)
      if (a?.kind !== 'receiveTask' || a.messageName !== input.messageName) return false
      if (input.processInstanceId !== null && i.id !== input.processInstanceId) return false
      if (input.businessKey !== null && i.businessKey !== input.businessKey) return false
      for (const [k, v] of input.correlationKeys) {
        if (i.variables.get(k)?.value !== v.value) return false
      }
      return tenantOk(i.tenantId) && isAuthenticatedTenant(ctx, i.tenantId)
    })
    const starts: { def: ProcessDefinitionRecord; event: StartEventModel }[] = []
    if (input.processInstanceId === null && input.correlationKeys.size === 0) {
      for (const def of this.#state.definitions.values()) {
        if (!this.isLatestVersion(def) || def.suspended) continue
        if (!tenantOk(def.tenantId) || !isAuthenticatedTenant(ctx, def.tenantId)) continue
        const event = def.model.startEvents.find((s) => s.messageName === input.messageName)
        if (event !== undefined) starts.push({ def, event })
      }
    }
    const total = executions.length + starts.length
    if (total === 0) {
      throw restException(
        400,
        `org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate message '${input.messageName}': No process definition or execution matches the parameters`,
      )
    }
    if (!input.all && (executions.length > 1 || (executions.length === 0 && starts.length > 1))) {
      throw restException(
        400,
        `org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate a message '${input.messageName}' to a single ${executions.length > 1 ? 'execution' : 'process definition'} - ${executions.length > 1 ? executions.length : starts.length} ${executions.length > 1 ? 'executions' : 'process definitions'} match the correlation keys`,
      )
    }
    const results: {
      resultType: 'Execution' | 'ProcessDefinition'
      instance: ProcessInstanceRecord
    }[] = []
    const chosenExecutions = input.all ? executions : executions.slice(0, 1)
    for (const instance of chosenExecutions) {
      for (const [k, v] of input.processVariables) instance.variables.set(k, v)
      this.log(
        ctx,
        'CorrelateMessage',
        'ProcessInstance',
        'Operator',
        {
          processDefinitionId: instance.definitionId,
          processDefinitionKey: instance.definitionKey,
          processInstanceId: instance.id,
          tenantId: instance.tenantId,
        },
        [{ property: 'messageName', newValue: input.messageName }],
      )
      this.#advance(instance)
      results.push({ resultType: 'Execution', instance })
    }
    if (input.all || chosenExecutions.length === 0) {
      for (const { def, event } of input.all ? starts : starts.slice(0, 1)) {
        const instance = this.startInstance(ctx, def, {
          businessKey: input.businessKey,
          variables: input.processVariables,
          startEvent: event,
        })
        results.push({ resultType: 'ProcessDefinition', instance })
      }
    }
    return results
  }
}

function sameResources(
  previous: DeploymentRecord,
  resources: readonly { readonly name: string; readonly data: Buffer }[],
): boolean {
  if (previous.resources.length !== resources.length) return false
  return resources.every((r) =>
    previous.resources.some((p) => p.name === r.name && p.data.equals(r.data)),
  )
}

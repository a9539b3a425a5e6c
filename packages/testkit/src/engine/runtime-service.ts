/**
 * The engine's runtime service: process instances, their variables, and the token that moves
 * through a linear process (user tasks, external tasks, timers, receive tasks), with history rows
 * and the transparent tenant check. Repository, task, external-task and message services build on
 * it.
 */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import type { ActivityModel, StartEventModel } from './bpmn-parser.js'
import { engineException, notFound, nullValue, tenantViolationMessage } from './engine-errors.js'
import { formatEngineDate, newId } from './engine-format.js'
import type {
  JobRecord,
  VariableIds,
  EngineState,
  ExternalTaskRecord,
  ProcessDefinitionRecord,
  ProcessInstanceRecord,
  TaskRecord,
} from './engine-state.js'
import { OperationLog } from './operation-log.js'
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

export class RuntimeService {
  readonly #state: EngineState
  readonly #config: RuntimeConfig
  /** Called whenever an external task may have become fetchable (long polling wakes up). */
  onExternalTaskAvailable: () => void = () => {}

  /** The user operation log every service writes to. */
  readonly operationLog: OperationLog

  constructor(state: EngineState, config: RuntimeConfig) {
    this.#state = state
    this.#config = config
    this.operationLog = new OperationLog(state, {
      historyLevel: () => config.historyLevel,
      now: () => config.now(),
    })
  }

  get historyLevel(): HistoryLevel {
    return this.#config.historyLevel
  }

  now(): number {
    return this.#config.now()
  }

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
    this.operationLog.write(ctx, options.operationType ?? 'Create', 'ProcessInstance', 'Operator', {
      processDefinitionId: def.id,
      processDefinitionKey: def.key,
      processInstanceId: instance.id,
      tenantId,
    })
    this.advance(instance, ctx)
    return instance
  }

  /**
   * Moves the token past the current activity to the next wait state or the end (after a task,
   * an external task or a message), as `ctx` (the assigner of the tasks it creates).
   */
  advance(instance: ProcessInstanceRecord, ctx: AuthContext): void {
    this.#deleteEventSubscriptions(instance)
    for (;;) {
      instance.position += 1
      const activity = instance.path[instance.position]
      if (activity === undefined || activity.kind === 'endEvent') {
        instance.state = 'COMPLETED'
        instance.endTime = this.now()
        return
      }
      if (activity.kind === 'userTask') return this.#createTask(instance, activity, ctx)
      if (activity.kind === 'externalTask') return this.#createExternalTask(instance, activity)
      if (activity.kind === 'receiveTask') return this.#subscribe(instance, activity)
      if (activity.kind === 'timer') return this.#createTimerJob(instance, activity)
    }
  }

  /** The token waits in a receive task: its message subscription (execution = the instance here). */
  #subscribe(instance: ProcessInstanceRecord, activity: ActivityModel): void {
    const id = newId()
    this.#state.eventSubscriptions.set(id, {
      id,
      eventType: 'message',
      eventName: activity.messageName ?? '',
      executionId: instance.id,
      processInstanceId: instance.id,
      processDefinitionId: instance.definitionId,
      activityId: activity.id,
      createdDate: this.now(),
      tenantId: instance.tenantId,
    })
  }

  #deleteEventSubscriptions(instance: ProcessInstanceRecord): void {
    for (const s of [...this.#state.eventSubscriptions.values()]) {
      if (s.processInstanceId === instance.id) this.#state.eventSubscriptions.delete(s.id)
    }
  }

  /**
   * Writes one historic identity link row (history level `full`): `assignerId` is the user whose
   * command changed the task (`null` unauthenticated).
   */
  logIdentityLink(
    task: TaskRecord,
    change: {
      readonly type: 'assignee' | 'candidate' | 'owner'
      readonly userId?: string
      readonly groupId?: string
      readonly operationType: 'add' | 'delete'
    },
    ctx: AuthContext,
  ): void {
    if (this.#config.historyLevel !== 'full') return
    this.#state.historicIdentityLinks.push({
      id: newId(),
      time: this.now(),
      type: change.type,
      userId: change.userId ?? null,
      groupId: change.groupId ?? null,
      taskId: task.id,
      processDefinitionId: task.processDefinitionId,
      processDefinitionKey: task.processDefinitionKey,
      operationType: change.operationType,
      assignerId: ctx.userId,
      tenantId: task.tenantId,
      rootProcessInstanceId: task.processInstanceId,
    })
  }

  /** Parses the `PnDTnHnMnS` durations the builder writes; unknown forms count as one hour. */
  #durationMs(duration: string | undefined): number {
    const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration ?? '')
    if (m === null) return 3_600_000
    const [d, h, min, sec] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)) as number[]
    return (((d! * 24 + h!) * 60 + min!) * 60 + sec!) * 1000
  }

  /** The token waits in a timer: one job (never executed here: no job executor) and its log row. */
  #createTimerJob(instance: ProcessInstanceRecord, activity: ActivityModel): void {
    const definition = [...this.#state.jobDefinitions.values()].find(
      (jd) => jd.processDefinitionId === instance.definitionId && jd.activityId === activity.id,
    )
    const now = this.now()
    const job: JobRecord = {
      id: newId(),
      jobDefinitionId: definition?.id ?? '',
      processInstanceId: instance.id,
      processDefinitionId: instance.definitionId,
      processDefinitionKey: instance.definitionKey,
      executionId: instance.id,
      activityId: activity.id,
      tenantId: instance.tenantId,
      createTime: now,
      dueDate: now + this.#durationMs(activity.timerDuration),
      retries: 3,
      suspended: false,
    }
    this.#state.jobs.set(job.id, job)
    this.#recordActivity(instance, activity, `${activity.id}:${newId()}`, 'intermediateTimer')
    if (this.#config.historyLevel === 'full') {
      const logId = newId()
      this.#state.historicJobLogs.set(logId, {
        id: logId,
        processInstanceId: instance.id,
        tenantId: instance.tenantId,
        dto: {
          id: logId,
          timestamp: formatEngineDate(now),
          removalTime: null,
          jobId: job.id,
          jobDueDate: formatEngineDate(job.dueDate),
          jobRetries: job.retries,
          jobPriority: 0,
          jobExceptionMessage: null,
          failedActivityId: null,
          jobDefinitionId: job.jobDefinitionId,
          jobDefinitionType: 'timer-intermediate-transition',
          jobDefinitionConfiguration: definition?.jobConfiguration ?? null,
          activityId: activity.id,
          executionId: instance.id,
          processInstanceId: instance.id,
          processDefinitionId: instance.definitionId,
          processDefinitionKey: instance.definitionKey,
          deploymentId: this.#state.definitions.get(instance.definitionId)?.deploymentId ?? null,
          rootProcessInstanceId: instance.id,
          tenantId: instance.tenantId,
          hostname: 'c7auth-simulator',
          creationLog: true,
          failureLog: false,
          successLog: false,
          deletionLog: false,
        },
      })
    }
  }

  /** A historic activity instance row for a wait state the token entered (history level not `none`). */
  #recordActivity(
    instance: ProcessInstanceRecord,
    activity: ActivityModel,
    activityInstanceId: string,
    activityType: string,
    taskId: string | null = null,
  ): void {
    if (this.#config.historyLevel === 'none') return
    this.#state.historicActivityInstances.set(activityInstanceId, {
      id: activityInstanceId,
      processInstanceId: instance.id,
      tenantId: instance.tenantId,
      dto: {
        id: activityInstanceId,
        parentActivityInstanceId: instance.id,
        activityId: activity.id,
        activityName: activity.name,
        activityType,
        processDefinitionKey: instance.definitionKey,
        processDefinitionId: instance.definitionId,
        processInstanceId: instance.id,
        executionId: instance.id,
        taskId,
        calledProcessInstanceId: null,
        calledCaseInstanceId: null,
        assignee: null,
        startTime: formatEngineDate(this.now()),
        endTime: null,
        durationInMillis: null,
        canceled: false,
        completeScope: false,
        tenantId: instance.tenantId,
        removalTime: null,
        rootProcessInstanceId: instance.id,
      },
    })
  }

  /**
   * The ids of a process variable as the engine would have given them on creation: the variable
   * instance (also its historic variable instance's id) and its first historic detail. Assigned
   * when first addressed and kept while the variable exists.
   */
  variableIds(processInstanceId: string, name: string): VariableIds | undefined {
    const instance = this.#state.instances.get(processInstanceId)
    const key = `${processInstanceId}\u0000${name}`
    if (instance === undefined || !instance.variables.has(name)) {
      return this.#state.variableIds.get(key)
    }
    let ids = this.#state.variableIds.get(key)
    if (ids === undefined) {
      ids = { variableInstanceId: newId(), detailId: newId(), createTime: this.now() }
      this.#state.variableIds.set(key, ids)
    }
    return ids
  }

  currentActivity(instance: ProcessInstanceRecord): ActivityModel | undefined {
    return instance.state === 'ACTIVE' ? instance.path[instance.position] : undefined
  }

  #createTask(instance: ProcessInstanceRecord, activity: ActivityModel, ctx: AuthContext): void {
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
    // `TaskDecorator`: assignee, then candidate users, then candidate groups
    if (assignee !== null) {
      this.logIdentityLink(task, { type: 'assignee', userId: assignee, operationType: 'add' }, ctx)
    }
    for (const userId of task.candidateUsers) {
      this.logIdentityLink(task, { type: 'candidate', userId, operationType: 'add' }, ctx)
    }
    for (const groupId of task.candidateGroups) {
      this.logIdentityLink(task, { type: 'candidate', groupId, operationType: 'add' }, ctx)
    }
    this.#recordActivity(instance, activity, task.activityInstanceId, 'userTask', task.id)
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
    this.#recordActivity(instance, activity, task.activityInstanceId, 'serviceTask')
    if (this.#config.historyLevel === 'full') {
      const logId = newId()
      this.#state.historicExternalTaskLogs.set(logId, {
        id: logId,
        processInstanceId: instance.id,
        tenantId: instance.tenantId,
        dto: {
          id: logId,
          timestamp: formatEngineDate(task.createTime),
          removalTime: null,
          externalTaskId: task.id,
          topicName: task.topicName,
          workerId: null,
          priority: task.priority,
          retries: null,
          errorMessage: null,
          activityId: task.activityId,
          activityInstanceId: task.activityInstanceId,
          executionId: instance.id,
          processInstanceId: instance.id,
          processDefinitionId: instance.definitionId,
          processDefinitionKey: instance.definitionKey,
          tenantId: instance.tenantId,
          rootProcessInstanceId: instance.id,
          creationLog: true,
          failureLog: false,
          successLog: false,
          deletionLog: false,
        },
      })
    }
    this.onExternalTaskAvailable()
  }

  terminate(instance: ProcessInstanceRecord, reason: string): void {
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
    for (const job of [...this.#state.jobs.values()]) {
      if (job.processInstanceId === instance.id) this.#state.jobs.delete(job.id)
    }
    this.#deleteEventSubscriptions(instance)
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
    this.terminate(i, reason ?? 'ACTIVITY_DELETED')
    this.operationLog.write(
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
    this.operationLog.write(
      ctx,
      operationType,
      'Variable',
      via.taskId === undefined ? 'Operator' : 'TaskWorker',
      {
        processDefinitionId: instance.definitionId,
        processDefinitionKey: instance.definitionKey,
        processInstanceId: instance.id,
        executionId: instance.id,
        tenantId: instance.tenantId,
        ...(via.taskId === undefined ? {} : { taskId: via.taskId }),
      },
    )
  }
}

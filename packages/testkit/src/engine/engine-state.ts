import type { ActivityModel, FormModel, ProcessModel } from './bpmn-parser.js'
import type { TypedValue } from './variables.js'

/** A user row (`ACT_ID_USER`), including the lockout columns. */
export interface UserRecord {
  id: string
  firstName: string | null
  lastName: string | null
  email: string | null
  /** `{SHA-512}`-style digest of salt+password; `null` when created without credentials. */
  passwordHash: string | null
  salt: string
  attempts: number
  lockExpirationTime: number | null
}

export interface GroupRecord {
  id: string
  name: string | null
  type: string | null
}

export interface TenantRecord {
  id: string
  name: string | null
}

export interface DeploymentResource {
  readonly id: string
  readonly name: string
  readonly data: Buffer
}

export interface DeploymentRecord {
  readonly id: string
  readonly name: string | null
  readonly source: string | null
  readonly deploymentTime: number
  readonly tenantId: string | null
  readonly resources: readonly DeploymentResource[]
}

export interface ProcessDefinitionRecord {
  readonly id: string
  readonly key: string
  readonly name: string | null
  readonly version: number
  readonly versionTag: string | null
  readonly resource: string
  readonly deploymentId: string
  readonly tenantId: string | null
  readonly historyTimeToLive: number | null
  readonly startableInTasklist: boolean
  readonly xml: string
  readonly model: ProcessModel
  suspended: boolean
}

/** An authorization row (`ACT_RU_AUTHORIZATION`): type 0 global, 1 grant, 2 revoke. */
export interface AuthorizationRecord {
  readonly id: string
  readonly type: 0 | 1 | 2
  /** Permission names as granted (`ALL`, `READ`, …). */
  permissions: string[]
  userId: string | null
  groupId: string | null
  resourceType: number
  resourceId: string
}

export type ProcessInstanceState = 'ACTIVE' | 'COMPLETED' | 'EXTERNALLY_TERMINATED'

export interface ProcessInstanceRecord {
  readonly id: string
  readonly definitionId: string
  readonly definitionKey: string
  readonly businessKey: string | null
  readonly tenantId: string | null
  readonly startTime: number
  readonly startUserId: string | null
  readonly startActivityId: string | null
  readonly variables: Map<string, TypedValue>
  /** The linear path from the start event the instance was started at. */
  readonly path: readonly ActivityModel[]
  /** Index into `path` of the activity holding the token; -1 before start. */
  position: number
  state: ProcessInstanceState
  endTime: number | null
  deleteReason: string | null
  suspended: boolean
}

export interface TaskRecord {
  readonly id: string
  name: string | null
  readonly taskDefinitionKey: string
  readonly processInstanceId: string
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  readonly tenantId: string | null
  readonly created: number
  readonly candidateGroups: readonly string[]
  readonly candidateUsers: readonly string[]
  readonly activityInstanceId: string
  /** The task's form, expressions resolved at creation (`DefaultTaskFormHandler`). */
  readonly form: FormModel | null
  assignee: string | null
  owner: string | null
  priority: number
  lastUpdated: number | null
}

export interface HistoricTaskRecord {
  readonly id: string
  readonly name: string | null
  readonly taskDefinitionKey: string
  readonly processInstanceId: string
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  readonly activityInstanceId: string
  readonly tenantId: string | null
  readonly startTime: number
  assignee: string | null
  endTime: number | null
  deleteReason: string | null
  taskState: string
}

export interface ExternalTaskRecord {
  readonly id: string
  readonly topicName: string
  readonly activityId: string
  readonly activityInstanceId: string
  readonly processInstanceId: string
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  readonly processDefinitionVersionTag: string | null
  readonly tenantId: string | null
  readonly businessKey: string | null
  readonly createTime: number
  readonly sequence: number
  workerId: string | null
  lockExpirationTime: number | null
  retries: number | null
  errorMessage: string | null
  errorDetails: string | null
  priority: number
  /** Not fetchable before this time (failure with `retryTimeout`). */
  availableAt: number
}

export interface IncidentRecord {
  readonly id: string
  readonly incidentType: string
  readonly incidentTimestamp: number
  readonly processInstanceId: string
  readonly processDefinitionId: string
  readonly activityId: string
  readonly configuration: string
  readonly incidentMessage: string | null
  readonly tenantId: string | null
}

/** A timer's job definition (`ACT_RU_JOBDEF`), created when a definition with a timer is deployed. */
export interface JobDefinitionRecord {
  readonly id: string
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  readonly activityId: string
  readonly jobType: string
  readonly jobConfiguration: string
  readonly tenantId: string | null
  readonly deploymentId: string
  suspended: boolean
}

/**
 * A timer job (`ACT_RU_JOB`). The simulator has no job executor: a job waits until its instance
 * ends, so it is a stable object to address (on a real engine the timer is hours away).
 */
export interface JobRecord {
  readonly id: string
  readonly jobDefinitionId: string
  readonly processInstanceId: string
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  readonly executionId: string
  readonly activityId: string
  readonly tenantId: string | null
  readonly createTime: number
  readonly dueDate: number
  retries: number
  suspended: boolean
}

/**
 * One history row the simulator only renders and looks up by id (activity instances, job and
 * external task logs, decision instances): its engine DTO as the REST API returns it.
 */
export interface HistoryRow {
  readonly id: string
  readonly processInstanceId: string | null
  readonly tenantId: string | null
  readonly dto: Readonly<Record<string, unknown>>
}

/** Ids of one process variable: its variable instance (= historic variable instance) and its first detail. */
export interface VariableIds {
  readonly variableInstanceId: string
  readonly detailId: string
  readonly createTime: number
}

/** One `ACT_HI_OP_LOG` row, rendered by `GET /history/user-operation`. */
export interface UserOperationLogEntry {
  readonly id: string
  readonly operationId: string
  readonly userId: string
  readonly timestamp: number
  readonly operationType: string
  readonly entityType: string
  readonly category: string
  readonly property: string | null
  readonly orgValue: string | null
  readonly newValue: string | null
  readonly deploymentId: string | null
  readonly processDefinitionId: string | null
  readonly processDefinitionKey: string | null
  readonly processInstanceId: string | null
  readonly executionId: string | null
  readonly taskId: string | null
  readonly externalTaskId: string | null
  readonly tenantId: string | null
}

/**
 * One event subscription (`ACT_RU_EVENT_SUBSCR`): a waiting receive task's message (instance and
 * execution set), or a message start event of a definition's latest version (both `null`).
 */
export interface EventSubscriptionRecord {
  readonly id: string
  readonly eventType: 'message'
  readonly eventName: string
  readonly executionId: string | null
  readonly processInstanceId: string | null
  /** The definition a start event subscription belongs to (not rendered). */
  readonly processDefinitionId: string
  readonly activityId: string
  readonly createdDate: number
  readonly tenantId: string | null
}

/** One `ACT_HI_IDENTITYLINK` row: a task's assignee, owner or candidate added or deleted. */
export interface HistoricIdentityLinkRecord {
  readonly id: string
  readonly time: number
  readonly type: 'assignee' | 'candidate' | 'owner'
  readonly userId: string | null
  readonly groupId: string | null
  readonly taskId: string
  readonly processDefinitionId: string
  readonly processDefinitionKey: string
  readonly operationType: 'add' | 'delete'
  readonly assignerId: string | null
  readonly tenantId: string | null
  readonly rootProcessInstanceId: string
}

/** Every in-memory table of the simulated engine. */
export class EngineState {
  readonly users = new Map<string, UserRecord>()
  readonly groups = new Map<string, GroupRecord>()
  readonly tenants = new Map<string, TenantRecord>()
  /** groupId → member user ids */
  readonly groupMembers = new Map<string, Set<string>>()
  /** tenantId → member user ids */
  readonly tenantUsers = new Map<string, Set<string>>()
  /** tenantId → member group ids */
  readonly tenantGroups = new Map<string, Set<string>>()
  readonly deployments = new Map<string, DeploymentRecord>()
  readonly definitions = new Map<string, ProcessDefinitionRecord>()
  /** Running and ended instances (history is derived from the same rows). */
  readonly instances = new Map<string, ProcessInstanceRecord>()
  readonly tasks = new Map<string, TaskRecord>()
  readonly historicTasks = new Map<string, HistoricTaskRecord>()
  readonly externalTasks = new Map<string, ExternalTaskRecord>()
  readonly incidents = new Map<string, IncidentRecord>()
  readonly operationLog: UserOperationLogEntry[] = []
  readonly authorizations = new Map<string, AuthorizationRecord>()
  readonly jobDefinitions = new Map<string, JobDefinitionRecord>()
  readonly jobs = new Map<string, JobRecord>()
  /** `processInstanceId \u0000 name` → the variable's ids (assigned when first addressed). */
  readonly variableIds = new Map<string, VariableIds>()
  readonly historicActivityInstances = new Map<string, HistoryRow>()
  readonly historicJobLogs = new Map<string, HistoryRow>()
  readonly historicExternalTaskLogs = new Map<string, HistoryRow>()
  readonly historicDecisionInstances = new Map<string, HistoryRow>()
  readonly eventSubscriptions = new Map<string, EventSubscriptionRecord>()
  readonly historicIdentityLinks: HistoricIdentityLinkRecord[] = []
  externalTaskSequence = 0

  clear(): void {
    this.users.clear()
    this.groups.clear()
    this.tenants.clear()
    this.groupMembers.clear()
    this.tenantUsers.clear()
    this.tenantGroups.clear()
    this.deployments.clear()
    this.definitions.clear()
    this.instances.clear()
    this.tasks.clear()
    this.historicTasks.clear()
    this.externalTasks.clear()
    this.incidents.clear()
    this.operationLog.length = 0
    this.authorizations.clear()
    this.jobDefinitions.clear()
    this.jobs.clear()
    this.variableIds.clear()
    this.historicActivityInstances.clear()
    this.historicJobLogs.clear()
    this.historicExternalTaskLogs.clear()
    this.historicDecisionInstances.clear()
    this.eventSubscriptions.clear()
    this.historicIdentityLinks.length = 0
    this.externalTaskSequence = 0
  }
}

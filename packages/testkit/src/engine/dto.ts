/** Renders state rows as engine-rest DTOs (field names and nulls as the engine serialises them). */
import { formatEngineDate } from './engine-format.js'
import type {
  DeploymentRecord,
  EventSubscriptionRecord,
  ExternalTaskRecord,
  HistoricIdentityLinkRecord,
  HistoricTaskRecord,
  ProcessDefinitionRecord,
  ProcessInstanceRecord,
  TaskRecord,
  UserOperationLogEntry,
  UserRecord,
} from './engine-state.js'
import type { fromTypedMap } from './variables.js'

const link = (baseUrl: string, path: string): { method: string; href: string; rel: string } => ({
  method: 'GET',
  href: `${baseUrl}${path}`,
  rel: 'self',
})

export const userProfileDto = (u: UserRecord) => ({
  id: u.id,
  firstName: u.firstName,
  lastName: u.lastName,
  email: u.email,
})

/** `selfLinkBase`: only create and by-id reads add the reflexive link; lists carry `links: []`. */
export const deploymentDto = (d: DeploymentRecord, selfLinkBase: string | null) => ({
  links: selfLinkBase === null ? [] : [link(selfLinkBase, `/deployment/${d.id}`)],
  id: d.id,
  name: d.name,
  source: d.source,
  deploymentTime: formatEngineDate(d.deploymentTime),
  tenantId: d.tenantId,
})

export const definitionDto = (d: ProcessDefinitionRecord) => ({
  id: d.id,
  key: d.key,
  category: 'http://bpmn.io/schema/bpmn',
  description: null,
  name: d.name,
  version: d.version,
  resource: d.resource,
  deploymentId: d.deploymentId,
  diagram: null,
  suspended: d.suspended,
  tenantId: d.tenantId,
  versionTag: d.versionTag,
  historyTimeToLive: d.historyTimeToLive,
  startableInTasklist: d.startableInTasklist,
})

/** `selfLinkBase`: only the start endpoints add the reflexive link. */
export const processInstanceDto = (i: ProcessInstanceRecord, selfLinkBase: string | null) => ({
  links: selfLinkBase === null ? [] : [link(selfLinkBase, `/process-instance/${i.id}`)],
  id: i.id,
  definitionId: i.definitionId,
  definitionKey: i.definitionKey,
  businessKey: i.businessKey,
  caseInstanceId: null,
  ended: i.state !== 'ACTIVE',
  suspended: i.suspended,
  tenantId: i.tenantId,
})

export const taskDto = (t: TaskRecord) => ({
  id: t.id,
  name: t.name,
  assignee: t.assignee,
  created: formatEngineDate(t.created),
  lastUpdated: formatEngineDate(t.lastUpdated),
  due: null,
  followUp: null,
  delegationState: null,
  description: null,
  executionId: t.processInstanceId,
  owner: t.owner,
  parentTaskId: null,
  priority: t.priority,
  processDefinitionId: t.processDefinitionId,
  processInstanceId: t.processInstanceId,
  taskDefinitionKey: t.taskDefinitionKey,
  caseExecutionId: null,
  caseInstanceId: null,
  caseDefinitionId: null,
  suspended: false,
  formKey: null,
  camundaFormRef: null,
  tenantId: t.tenantId,
  taskState: t.assignee === null ? 'Created' : 'Updated',
})

export const externalTaskDto = (t: ExternalTaskRecord) => ({
  activityId: t.activityId,
  activityInstanceId: t.activityInstanceId,
  errorMessage: t.errorMessage,
  executionId: t.processInstanceId,
  id: t.id,
  lockExpirationTime: formatEngineDate(t.lockExpirationTime),
  createTime: formatEngineDate(t.createTime),
  processDefinitionId: t.processDefinitionId,
  processDefinitionKey: t.processDefinitionKey,
  processDefinitionVersionTag: t.processDefinitionVersionTag,
  processInstanceId: t.processInstanceId,
  tenantId: t.tenantId,
  retries: t.retries,
  suspended: false,
  workerId: t.workerId,
  topicName: t.topicName,
  priority: t.priority,
  businessKey: t.businessKey,
})

export const lockedExternalTaskDto = (
  t: ExternalTaskRecord,
  variables: ReturnType<typeof fromTypedMap>,
  includeExtensionProperties: boolean,
) => ({
  ...externalTaskDto(t),
  errorDetails: t.errorDetails,
  variables,
  ...(includeExtensionProperties ? { extensionProperties: {} } : {}),
})

export const historicProcessInstanceDto = (
  i: ProcessInstanceRecord,
  def: ProcessDefinitionRecord | undefined,
) => ({
  id: i.id,
  rootProcessInstanceId: i.id,
  superProcessInstanceId: null,
  superCaseInstanceId: null,
  caseInstanceId: null,
  processDefinitionName: def?.name ?? null,
  processDefinitionKey: i.definitionKey,
  processDefinitionVersion: def?.version ?? null,
  processDefinitionId: i.definitionId,
  businessKey: i.businessKey,
  startTime: formatEngineDate(i.startTime),
  endTime: formatEngineDate(i.endTime),
  removalTime: null,
  durationInMillis: i.endTime === null ? null : i.endTime - i.startTime,
  startUserId: i.startUserId,
  startActivityId: i.startActivityId,
  deleteReason: i.deleteReason,
  tenantId: i.tenantId,
  state: i.state,
  restartedProcessInstanceId: null,
})

export const historicTaskDto = (t: HistoricTaskRecord) => ({
  id: t.id,
  processDefinitionKey: t.processDefinitionKey,
  processDefinitionId: t.processDefinitionId,
  processInstanceId: t.processInstanceId,
  executionId: t.processInstanceId,
  caseDefinitionKey: null,
  caseDefinitionId: null,
  caseInstanceId: null,
  caseExecutionId: null,
  activityInstanceId: t.activityInstanceId,
  name: t.name,
  description: null,
  deleteReason: t.deleteReason,
  owner: null,
  assignee: t.assignee,
  startTime: formatEngineDate(t.startTime),
  endTime: formatEngineDate(t.endTime),
  duration: t.endTime === null ? null : t.endTime - t.startTime,
  taskDefinitionKey: t.taskDefinitionKey,
  priority: 50,
  due: null,
  parentTaskId: null,
  followUp: null,
  tenantId: t.tenantId,
  removalTime: null,
  rootProcessInstanceId: t.processInstanceId,
  taskState: t.taskState,
})

/** `UserOperationLogEntryDto` (the REST DTO has no `tenantId`). */
export const userOperationDto = (e: UserOperationLogEntry) => ({
  id: e.id,
  userId: e.userId,
  timestamp: formatEngineDate(e.timestamp),
  operationId: e.operationId,
  operationType: e.operationType,
  entityType: e.entityType,
  category: e.category,
  annotation: null,
  property: e.property,
  orgValue: e.orgValue,
  newValue: e.newValue,
  deploymentId: e.deploymentId,
  processDefinitionId: e.processDefinitionId,
  processDefinitionKey: e.processDefinitionKey,
  processInstanceId: e.processInstanceId,
  executionId: e.executionId,
  caseDefinitionId: null,
  caseInstanceId: null,
  caseExecutionId: null,
  taskId: e.taskId,
  externalTaskId: e.externalTaskId,
  batchId: null,
  jobId: null,
  jobDefinitionId: null,
  removalTime: null,
  rootProcessInstanceId: e.processInstanceId,
})

/** `EventSubscriptionDto`. */
export const eventSubscriptionDto = (e: EventSubscriptionRecord) => ({
  id: e.id,
  eventType: e.eventType,
  eventName: e.eventName,
  executionId: e.executionId,
  processInstanceId: e.processInstanceId,
  activityId: e.activityId,
  createdDate: formatEngineDate(e.createdDate),
  tenantId: e.tenantId,
})

/** `HistoricIdentityLinkLogDto`. */
export const historicIdentityLinkDto = (l: HistoricIdentityLinkRecord) => ({
  id: l.id,
  time: formatEngineDate(l.time),
  type: l.type,
  userId: l.userId,
  groupId: l.groupId,
  taskId: l.taskId,
  processDefinitionId: l.processDefinitionId,
  processDefinitionKey: l.processDefinitionKey,
  operationType: l.operationType,
  assignerId: l.assignerId,
  tenantId: l.tenantId,
  removalTime: null,
  rootProcessInstanceId: l.rootProcessInstanceId,
})

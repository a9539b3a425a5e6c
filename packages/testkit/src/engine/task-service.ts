/** The engine's task service: user tasks, their assignment and completion. */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import { engineException, nullValue, tenantViolationMessage } from './engine-errors.js'
import type { ProcessInstanceRecord, TaskRecord } from './engine-state.js'
import type { TypedValue } from './variables.js'
import type { LogChange, LogFields } from './operation-log.js'
import { EngineService } from './engine-service.js'

/** User tasks with the transparent tenant check and the operation log. */
export class TaskService extends EngineService {
  /** A task visible to the caller (query semantics), or `undefined`. */
  findTask(ctx: AuthContext, id: string): TaskRecord | undefined {
    const t = this.state.tasks.get(id)
    return t !== undefined && isAuthenticatedTenant(ctx, t.tenantId) ? t : undefined
  }

  /** Command-style task access: missing → NullValue 500, foreign → ENGINE-13034 (`operation`). */
  taskForCommand(ctx: AuthContext, id: string, operation: string): TaskRecord {
    const t = this.state.tasks.get(id)
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

  /**
   * `PUT /task/{id}` after the resource found the task: the DTO replaces name, assignee, owner and
   * priority; a `tenantId` other than the task's fails like `TaskEntity.setTenantId` (ENGINE-03072),
   * so a caller must repeat the task's tenant (T24). Authorizations are not modelled here.
   */
  updateTask(
    ctx: AuthContext,
    task: TaskRecord,
    fields: {
      name: string | null
      assignee: string | null
      owner: string | null
      priority: number
      tenantId: string | null
    },
  ): void {
    if (fields.tenantId !== task.tenantId) {
      throw engineException(
        `ENGINE-03072 Cannot change tenantId of Task '${task.id}'. Current tenant id '${task.tenantId}', Tenant id to set '${fields.tenantId}'`,
      )
    }
    const changes: LogChange[] = []
    for (const key of ['name', 'assignee', 'owner', 'priority'] as const) {
      const before = task[key]
      if (before === fields[key]) continue
      changes.push({
        property: key,
        orgValue: before === null ? null : String(before),
        newValue: fields[key] === null ? null : String(fields[key]),
      })
    }
    this.#logUserChange(ctx, task, 'assignee', task.assignee, fields.assignee)
    this.#logUserChange(ctx, task, 'owner', task.owner, fields.owner)
    task.name = fields.name
    task.assignee = fields.assignee
    task.owner = fields.owner
    task.priority = fields.priority
    task.lastUpdated = this.runtime.now()
    if (changes.length > 0) {
      this.log.write(ctx, 'Update', 'Task', 'TaskWorker', this.#taskLogFields(task), changes)
    }
  }

  setAssignee(ctx: AuthContext, id: string, userId: string | null): void {
    const task = this.taskForCommand(ctx, id, 'assign the task')
    this.#setAssignee(ctx, task, userId, 'Assign')
  }

  #setAssignee(ctx: AuthContext, task: TaskRecord, userId: string | null, op: string): void {
    const previous = task.assignee
    this.#logUserChange(ctx, task, 'assignee', previous, userId)
    task.assignee = userId
    task.lastUpdated = this.runtime.now()
    const h = this.state.historicTasks.get(task.id)
    if (h !== undefined) {
      h.assignee = userId
      h.taskState = 'Updated'
    }
    this.log.write(ctx, op, 'Task', 'TaskWorker', this.#taskLogFields(task), [
      { property: 'assignee', orgValue: previous, newValue: userId },
    ])
  }

  /** The identity link history of a changed assignee or owner: the old one deleted, the new one added. */
  #logUserChange(
    ctx: AuthContext,
    task: TaskRecord,
    type: 'assignee' | 'owner',
    before: string | null,
    after: string | null,
  ): void {
    if (before === after) return
    if (before !== null) {
      this.runtime.logIdentityLink(task, { type, userId: before, operationType: 'delete' }, ctx)
    }
    if (after !== null) {
      this.runtime.logIdentityLink(task, { type, userId: after, operationType: 'add' }, ctx)
    }
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
    const instance = this.state.instances.get(task.processInstanceId)
    if (instance === undefined)
      throw nullValue(`execution ${task.processInstanceId} doesn't exist`, 'execution')
    for (const [k, v] of variables) instance.variables.set(k, v)
    this.state.tasks.delete(id)
    const h = this.state.historicTasks.get(id)
    if (h !== undefined) {
      h.endTime = this.runtime.now()
      h.deleteReason = 'completed'
      h.taskState = 'Completed'
    }
    this.log.write(ctx, 'Complete', 'Task', 'TaskWorker', this.#taskLogFields(task), [
      { property: 'delete', orgValue: 'false', newValue: 'true' },
    ])
    this.runtime.advance(instance, ctx)
    return instance
  }
}

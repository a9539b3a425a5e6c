/** The engine's external task service: locks, completion, failures, BPMN errors, retries. */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import {
  badUserRequest,
  engineException,
  restException,
  tenantViolationMessage,
} from './engine-errors.js'
import { newId } from './engine-format.js'
import type { ExternalTaskRecord, ProcessInstanceRecord } from './engine-state.js'
import type { TypedValue } from './variables.js'
import { EngineService } from './engine-service.js'

/** External tasks with the transparent tenant check and the operation log. */
export class ExternalTaskService extends EngineService {
  findExternalTask(ctx: AuthContext, id: string): ExternalTaskRecord | undefined {
    const t = this.state.externalTasks.get(id)
    return t !== undefined && isAuthenticatedTenant(ctx, t.tenantId) ? t : undefined
  }

  isLocked(t: ExternalTaskRecord): boolean {
    return t.lockExpirationTime !== null && t.lockExpirationTime > this.runtime.now()
  }

  /** Whether a task can be fetched now (unlocked, retries left, not in a retry back-off). */
  isFetchable(t: ExternalTaskRecord): boolean {
    if (t.retries !== null && t.retries <= 0) return false
    if (this.isLocked(t)) return false
    const instance = this.state.instances.get(t.processInstanceId)
    return instance === undefined || !instance.suspended
  }

  /** Earliest future time at which a currently unfetchable task becomes fetchable, if any. */
  nextAvailability(): number | null {
    let next: number | null = null
    for (const t of this.state.externalTasks.values()) {
      if (t.retries !== null && t.retries <= 0) continue
      if (t.lockExpirationTime !== null && t.lockExpirationTime > this.runtime.now()) {
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
    const t = this.state.externalTasks.get(id)
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
    const t = this.state.externalTasks.get(id)
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

  /** Ends the worker's task (complete, BPMN error): the task goes, its variables land on the instance. */
  #finish(
    ctx: AuthContext,
    id: string,
    workerId: unknown,
    variables: ReadonlyMap<string, TypedValue>,
    what: (workerId: string) => string,
  ): ProcessInstanceRecord | undefined {
    const t = this.#externalTaskForHandle(ctx, id, workerId, what)
    this.state.externalTasks.delete(id)
    const instance = this.state.instances.get(t.processInstanceId)
    for (const [k, v] of variables) instance?.variables.set(k, v)
    return instance
  }

  completeExternalTask(
    ctx: AuthContext,
    id: string,
    workerId: unknown,
    variables: ReadonlyMap<string, TypedValue>,
  ): void {
    const instance = this.#finish(
      ctx,
      id,
      workerId,
      variables,
      (w) => `External Task ${id} cannot be completed by worker '${w}`,
    )
    if (instance !== undefined) this.runtime.advance(instance, ctx)
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
    const instance = this.state.instances.get(t.processInstanceId)
    if (instance !== undefined) for (const [k, v] of input.variables) instance.variables.set(k, v)
    t.errorMessage = input.errorMessage
    t.errorDetails = input.errorDetails
    t.retries = input.retries
    t.lockExpirationTime = this.runtime.now() + Math.max(0, input.retryTimeout)
    if (input.retries === 0) {
      const incident = {
        id: newId(),
        incidentType: 'failedExternalTask',
        incidentTimestamp: this.runtime.now(),
        processInstanceId: t.processInstanceId,
        processDefinitionId: t.processDefinitionId,
        activityId: t.activityId,
        configuration: t.id,
        incidentMessage: input.errorMessage,
        tenantId: t.tenantId,
      }
      this.state.incidents.set(incident.id, incident)
    } else {
      this.runtime.onExternalTaskAvailable()
    }
  }

  /** BPMN error without a modelled catching boundary event: the engine ends the instance. */
  bpmnErrorExternalTask(
    ctx: AuthContext,
    id: string,
    workerId: unknown,
    variables: ReadonlyMap<string, TypedValue>,
  ): void {
    const instance = this.#finish(
      ctx,
      id,
      workerId,
      variables,
      (w) => `Bpmn error of External Task ${id} cannot be reported by worker '${w}`,
    )
    if (instance === undefined) return
    instance.state = 'COMPLETED'
    instance.endTime = this.runtime.now()
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
    t.lockExpirationTime = this.runtime.now() + newDuration
  }

  unlockExternalTask(ctx: AuthContext, id: string): void {
    const t = this.externalTaskForCommand(ctx, id)
    t.workerId = null
    t.lockExpirationTime = null
    this.log.write(ctx, 'Unlock', 'ExternalTask', 'Operator', {
      processDefinitionId: t.processDefinitionId,
      processDefinitionKey: t.processDefinitionKey,
      processInstanceId: t.processInstanceId,
      externalTaskId: t.id,
      tenantId: t.tenantId,
    })
    this.runtime.onExternalTaskAvailable()
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
    t.lockExpirationTime = this.runtime.now() + lockDuration
  }

  setExternalTaskRetries(ctx: AuthContext, id: string, retries: number): void {
    const t = this.externalTaskForCommand(ctx, id)
    if (retries < 0) throw badUserRequest('The number of retries cannot be negative.')
    const previous = t.retries
    t.retries = retries
    if (retries > 0) {
      for (const [incidentId, inc] of this.state.incidents) {
        if (inc.configuration === id) this.state.incidents.delete(incidentId)
      }
      this.runtime.onExternalTaskAvailable()
    }
    this.log.write(
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
}

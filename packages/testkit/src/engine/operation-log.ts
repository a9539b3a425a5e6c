/** The user operation log (`ACT_HI_OP_LOG`) as the engine writes it. */
import type { AuthContext } from './auth-context.js'
import { newId } from './engine-format.js'
import type { EngineState, UserOperationLogEntry } from './engine-state.js'

/** Property changes of one logged operation (one row each, one shared `operationId`). */
export interface LogChange {
  readonly property?: string | null
  readonly orgValue?: string | null
  readonly newValue?: string | null
}

export type LogFields = Partial<
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

/** Writes the user operation log for every engine service. */
export class OperationLog {
  readonly #state: EngineState
  readonly #config: { readonly historyLevel: () => string; readonly now: () => number }

  constructor(
    state: EngineState,
    config: { readonly historyLevel: () => string; readonly now: () => number },
  ) {
    this.#state = state
    this.#config = config
  }

  /** Writes `ACT_HI_OP_LOG` rows: only at history level full and only for an authenticated user. */
  write(
    ctx: AuthContext,
    operationType: string,
    entityType: string,
    category: string,
    fields: LogFields,
    changes: readonly LogChange[] = [{}],
  ): void {
    if (this.#config.historyLevel() !== 'full' || ctx.userId === null) return
    const operationId = newId()
    const timestamp = this.#config.now()
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
}

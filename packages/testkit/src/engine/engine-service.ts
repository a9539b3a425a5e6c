import type { EngineState } from './engine-state.js'
import type { OperationLog } from './operation-log.js'
import type { RuntimeService } from './runtime-service.js'

/**
 * What the repository, task, external-task and message services share: the engine's tables, the
 * runtime service that moves tokens, and the user operation log.
 */
export abstract class EngineService {
  protected readonly state: EngineState
  protected readonly runtime: RuntimeService
  protected readonly log: OperationLog

  constructor(state: EngineState, runtime: RuntimeService) {
    this.state = state
    this.runtime = runtime
    this.log = runtime.operationLog
  }
}

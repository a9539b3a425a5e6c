/** Message correlation (`POST /message`). */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import type { StartEventModel } from './bpmn-parser.js'
import { restException } from './engine-errors.js'
import type { EngineState, ProcessDefinitionRecord, ProcessInstanceRecord } from './engine-state.js'
import type { TypedValue } from './variables.js'
import { EngineService } from './engine-service.js'
import type { RuntimeService } from './runtime-service.js'
import type { RepositoryService } from './repository-service.js'

/** Correlates messages to waiting receive tasks and message start events. */
export class MessageService extends EngineService {
  readonly #repository: RepositoryService

  constructor(state: EngineState, runtime: RuntimeService, repository: RepositoryService) {
    super(state, runtime)
    this.#repository = repository
  }

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
    const executions = [...this.state.instances.values()].filter((i) => {
      if (i.state !== 'ACTIVE' || i.suspended) return false
      const a = this.runtime.currentActivity(i)
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
      for (const def of this.state.definitions.values()) {
        if (!this.#repository.isLatestVersion(def) || def.suspended) continue
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
      this.log.write(
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
      this.runtime.advance(instance, ctx)
      results.push({ resultType: 'Execution', instance })
    }
    if (input.all || chosenExecutions.length === 0) {
      for (const { def, event } of input.all ? starts : starts.slice(0, 1)) {
        const instance = this.runtime.startInstance(ctx, def, {
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

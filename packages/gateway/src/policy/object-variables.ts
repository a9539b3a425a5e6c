import { C7AuthError } from '@c7auth/core'

/**
 * Operations whose JSON body carries typed variable values (`{ value, type, valueInfo }`) — every
 * operation of the engine-rest OpenAPI document whose JSON request body references
 * `VariableValueDto` (a test derives the set from the document). Denied ones are listed too: if
 * one is ever opened, it is checked.
 */
export const VARIABLE_WRITE_OPERATIONS: ReadonlySet<string> = new Set([
  'evaluateCondition',
  'evaluateDecisionByKey',
  'evaluateDecisionByKeyAndTenant',
  'evaluateDecisionById',
  'modifyLocalExecutionVariables',
  'putLocalExecutionVariable',
  'triggerEvent',
  'signalExecution',
  'handleExternalTaskBpmnError',
  'completeExternalTaskResource',
  'handleFailure',
  'deliverMessage',
  'executeMigrationPlan',
  'executeMigrationPlanAsync',
  'generateMigrationPlan',
  'validateMigrationPlan',
  'startProcessInstanceByKey',
  'submitFormByKey',
  'startProcessInstanceByKeyAndTenantId',
  'submitFormByKeyAndTenantId',
  'startProcessInstance',
  'submitForm',
  'correlateMessageAsyncOperation',
  'setVariablesAsyncOperation',
  'modifyProcessInstance',
  'modifyProcessInstanceAsyncOperation',
  'modifyProcessInstanceVariables',
  'setProcessInstanceVariable',
  'throwSignal',
  'handleBpmnError',
  'handleEscalation',
  'complete',
  'modifyTaskLocalVariables',
  'putTaskLocalVariable',
  'resolve',
  'submit',
  'modifyTaskVariables',
  'putTaskVariable',
])

/**
 * Multipart variable uploads (`…/variables/{varName}/data`): a `type` part names a Java class the
 * REST layer's Jackson mapper instantiates from the `data` part, on the write itself.
 */
export const BINARY_VARIABLE_OPERATIONS: ReadonlySet<string> = new Set([
  'setLocalExecutionVariableBinary',
  'setProcessInstanceVariableBinary',
  'setBinaryTaskLocalVariable',
  'setBinaryTaskVariable',
])

/** Serialization formats the engine reads an `Object` value from without Java serialization. */
const TEXT_FORMATS = new Set(['application/json', 'application/xml'])

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function forbidden(message: string, detail: string): C7AuthError {
  return new C7AuthError('C7AUTH_VARIABLE_TYPE_FORBIDDEN', { message, detail })
}

/** Throws `C7AUTH_VARIABLE_TYPE_FORBIDDEN` unless `name` is on the allowlist. */
export function assertObjectTypeAllowed(name: unknown, allowed: ReadonlySet<string>): void {
  if (typeof name !== 'string' || !allowed.has(name)) {
    throw forbidden(
      'Object variables must name an objectTypeName this tenant allows (C7AUTH_TENANT_<ENVID>_OBJECT_TYPES).',
      'objectTypeName not allowlisted',
    )
  }
}

/**
 * Walks a whole JSON body and refuses (400 `C7AUTH_VARIABLE_TYPE_FORBIDDEN`) every typed value
 * the engine would turn into an instance of a client-named class: `type` `Object` (any case)
 * whose `valueInfo.objectTypeName` is not in `allowed`, or whose `serializationDataFormat` is not
 * `application/json` / `application/xml` (absent means the engine's default format, Java
 * serialization on most engines); and Java serialization (`application/x-java-serialized-object`)
 * anywhere. Every nested object is looked at, whatever its key, so no variable map is missed.
 *
 * @example
 * ```ts
 * assertTypedValuesAllowed({ variables: { o: { type: 'Object', value: '{}', valueInfo: {
 *   objectTypeName: 'java.util.HashMap', serializationDataFormat: 'application/json' } } } },
 *   new Set(['java.util.HashMap'])) // passes
 * ```
 */
export function assertTypedValuesAllowed(json: unknown, allowed: ReadonlySet<string>): void {
  const stack: unknown[] = [json]
  while (stack.length > 0) {
    const node = stack.pop()
    if (Array.isArray(node)) {
      stack.push(...node)
      continue
    }
    if (!isObject(node)) continue
    const info = node.valueInfo
    const format = isObject(info) ? info.serializationDataFormat : undefined
    if (typeof format === 'string' && /x-java-serialized-object/i.test(format)) {
      throw forbidden(
        'Java serialization is not accepted for variables.',
        'java serialization format',
      )
    }
    if (typeof node.type === 'string' && node.type.toLowerCase() === 'object') {
      assertObjectTypeAllowed(isObject(info) ? info.objectTypeName : undefined, allowed)
      if (typeof format !== 'string' || !TEXT_FORMATS.has(format.toLowerCase())) {
        throw forbidden(
          'Object variables need serializationDataFormat application/json or application/xml.',
          'object variable without a text serialization format',
        )
      }
    }
    for (const value of Object.values(node)) if (typeof value === 'object') stack.push(value)
  }
}

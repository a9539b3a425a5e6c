export { startEngineSimulator } from './engine-simulator.js'
export type {
  AuthorizationView,
  DeployedDefinition,
  EngineFault,
  EngineSimulator,
  EngineSimulatorOptions,
  EngineSimulatorStats,
  RecordedRequest,
  UserOperationLogView,
  ValidationIssue,
} from './simulator-types.js'
export type { HistoryLevel, TenantIdProviderContext } from './runtime-service.js'
export type { LoginThrottling, NewUser } from './identity-service.js'
export { evaluatePasswordPolicy } from './identity-service.js'
export { parseBpmn } from './bpmn-parser.js'
export type { ProcessModel, ActivityModel } from './bpmn-parser.js'
export { linearProcessXml } from './bpmn-builder.js'
export type { LinearProcessOptions, ProcessStep } from './bpmn-builder.js'

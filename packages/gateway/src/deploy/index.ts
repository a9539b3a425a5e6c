export { mayDeploy } from './grants.js'
export type { TenantSafetySettings } from './grants.js'
export { DEPLOYMENT_RULES, refusalMessage, refusedOutright } from './rules.js'
export type { DeploymentFinding, DeploymentRule } from './rules.js'
export { ResourceScanner, resourceKind } from './resource-scanner.js'
export type { ResourceKind } from './resource-scanner.js'
export { createDeploymentInspection } from './inspection.js'
export type { DeploymentInspectionOptions } from './inspection.js'
export { expressionsIn, isInertExpression, onlyInertExpressions } from './expression.js'
export {
  SHARED_SIGNAL_QUERY,
  createSharedSignalProbe,
  tenantSafetySettingsOf,
} from './engine-checks.js'

export { createGateway } from './gateway.js'
export type { BootstrapReport, CreateGatewayOptions, Gateway, ReadyReport } from './gateway.js'
export { createEngineProxy } from './proxy.js'
export { createDelegationCapture } from './delegation-capture.js'
export type {
  DelegationCapture,
  DelegationCaptureOptions,
  DelegationEvent,
} from './delegation-capture.js'
export type { EngineProxy, EngineProxyOptions, HandleOptions } from './proxy.js'
export { createIdentityBridge } from './identity-bridge.js'
export type { CanaryReport, IdentityBridge, IdentityBridgeOptions } from './identity-bridge.js'
export { deriveBridgePassword, passesDefaultPasswordPolicy } from './bridge-password.js'
export { createUpstreamAuth } from './upstream-auth.js'
export type { UpstreamAuth, UpstreamAuthOptions } from './upstream-auth.js'
export {
  ASSERTION_LIFETIME_SECONDS,
  ASSERTION_TYPE,
  createAssertionSigner,
} from './assertion-signer.js'
export type {
  AssertionJwk,
  AssertionJwks,
  AssertionSigner,
  AssertionSignerOptions,
} from './assertion-signer.js'
export { engineGroupsOf, engineIdCheck } from './engine-groups.js'
export type { EngineGroupRules } from './engine-groups.js'
export {
  basicAuth,
  createAdminClient,
  createEngineEndpoint,
  engineJson,
  upstreamFailure,
} from './engine-client.js'
export type {
  AdminClient,
  EngineEndpoint,
  EngineEndpointOptions,
  JsonResult,
} from './engine-client.js'
export { adaptPolicy } from './policy-adapter.js'
export type { PolicyAdapterOptions } from './policy-adapter.js'
export {
  appAuthorizations,
  bootstrapTenants,
  configuredAuthorizations,
  userAuthorizations,
} from './tenant-bootstrap.js'
export type { AuthorizationGrant, TenantBootstrapReport } from './tenant-bootstrap.js'
export { createAuditLog } from './audit.js'
export type { AuditEvent, AuditLog } from './audit.js'
export { MultipartTenantStamper, multipartBoundary } from './multipart-tenant.js'
export { rewriteLinks } from './links.js'
export { sendError, toC7AuthError } from '../auth/http-error.js'
export { sendJson } from './render-error.js'
export { requestIdOf } from '../auth/request-id.js'
export type {
  AuditOutcome,
  BodyMode,
  EngineLookup,
  GatewayHooks,
  JsonOutcome,
  PolicyInput,
  ProxyDecision,
  ProxyPolicy,
} from './types.js'
export {
  TYPE_VALIDATION_PROBE,
  classifyTypeValidation,
  probeTypeValidation,
} from './type-validation.js'
export type { TypeValidationReport } from './type-validation.js'

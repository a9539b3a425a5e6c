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
export { createUpstreamCredentials } from './upstream-credentials.js'
export type { UpstreamCredentials, UpstreamCredentialsOptions } from './upstream-credentials.js'
export {
  ASSERTION_LIFETIME_SECONDS,
  ASSERTION_TYPE,
  createAssertionSigner,
  noAssertionKeys,
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
export { sendError, sendJson, toC7AuthError } from '../auth/http-error.js'
export { requestIdOf } from '../auth/request-id.js'
export type { AuditOutcome, GatewayHooks } from './types.js'
export { planBody, StreamedBody } from './request-body.js'
export type { BodyLimits, PlannedBody } from './request-body.js'
export { relayUpstream, requestUpstream, withCredentials } from './upstream-call.js'
export type { ClientState, UpstreamCall } from './upstream-call.js'
export { publicBaseOf, writeResponse } from './response.js'
export type { LinkRewrite } from './response.js'
export {
  TYPE_VALIDATION_PROBE,
  classifyTypeValidation,
  probeTypeValidation,
} from './type-validation.js'
export type { TypeValidationReport } from './type-validation.js'

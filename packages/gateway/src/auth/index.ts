export { createAuthenticator } from './authenticator.js'
export type { Authenticator, AuthenticatorStats } from './authenticator.js'
export { authenticatorOptionsFromConfig } from './from-config.js'
export { extractBearerToken } from './bearer.js'
export type { AuthRequestLike } from './bearer.js'
export {
  createEngineIdMapper,
  toEngineId,
  userEngineId,
  DEFAULT_ENGINE_ID_PATTERN,
  MAX_KEPT_ID_LENGTH,
} from './engine-id.js'
export type { EngineIdMapper, UserIdMapper } from './engine-id.js'
export {
  assertScopes,
  assertTenant,
  sendError,
  toC7AuthError,
  toErrorResponse,
  JWKS_RETRY_AFTER_SECONDS,
} from './http-error.js'
export { requestIdOf, responseRequestId } from './request-id.js'
export type { ErrorResponse } from './http-error.js'
export { DEFAULT_ALGORITHMS } from './jws.js'
export type { JwsAlgorithm } from './jws.js'
export type { KeyStoreStats } from './key-store.js'
export type {
  AuthenticatorOptions,
  ClaimMappingOptions,
  Claims,
  IssuerOptions,
  JwksOptions,
  LoggerLike,
  TenantOptions,
  TokenCacheOptions,
} from './options.js'
export { PRESETS, resolveClaimMapping } from './presets.js'
export type { ClaimMapping } from './presets.js'

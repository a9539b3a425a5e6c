export * from './errors.js'
export * from './identity.js'
export type * from './config/types.js'
export type * from './token/types.js'
export { loadConfigFromEnv, splitPublicKeyPems } from './config/load-config.js'
export { isLoopbackUrl, refusesPlainHttp } from './config/url-safety.js'
export type { EnvSource, LoadConfigOptions } from './config/load-config.js'
export {
  CONFIG_SCHEMA,
  DEFAULT_ENGINE_CONNECTIONS,
  GLOBAL_KEYS,
  TENANT_KEYS,
  envIdOf,
  envKeyOf,
  renderEnvTable,
} from './config/schema.js'
export type { ConfigKeySpec, ConfigValueType } from './config/schema.js'
export {
  createTokenClient,
  ACCESS_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from './token/token-client.js'
export { createMemoryTokenStore } from './token/token-store.js'
export type {
  TokenStore,
  TokenStoreLease,
  StoredToken,
  MemoryTokenStoreOptions,
} from './token/token-store.js'
export {
  createSharedTokenStore,
  createTokenStoreFromConfig,
} from './token/store/shared-token-store.js'
export type {
  SharedTokenStore,
  SharedTokenStoreOptions,
  TokenStoreEvent,
} from './token/store/shared-token-store.js'
export type { TokenStoreBackendKind } from './token/store/backend-kind.js'
export {
  REFRESH_TOKEN_TYPE,
  createOnBehalfOfVault,
  createOnBehalfOfVaultFromConfig,
} from './vault/vault.js'
export type {
  DelegationGrant,
  OnBehalfOfVault,
  OnBehalfOfVaultOptions,
  VaultBinding,
  VaultEntryInfo,
  VaultFilter,
  VaultPutOptions,
} from './vault/vault.js'
export { withTokenRetry } from './token/with-token-retry.js'
export type { WithTokenRetryOptions } from './token/with-token-retry.js'
export * from './jws-algorithms.js'
export {
  DEFAULT_TRACE_VARIABLE,
  contextFromTraceParent,
  runInSpan,
  traceParentOf,
} from './trace-context.js'
export * from './config/vocabulary.js'

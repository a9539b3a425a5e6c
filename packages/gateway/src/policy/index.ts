export * from './types.js'
export { normalizePath, encodePath } from './normalize-path.js'
export { ROUTES, DENY_REASONS } from './routes.js'
export { createPolicy } from './policy.js'
export type { Policy, PolicyOptions } from './policy.js'
export { createSettle } from './settle.js'
export type { Settle, SettleOptions } from './settle.js'
export { formReferenceVerdict } from './form-guard.js'
export { computeScope, scopeSearchParams, scopeJsonBody, emptyResult } from './scope.js'
export type { TenantScope } from './scope.js'
export { actingUserPatch, actingUserValue, actingUserOf } from './acting-user.js'
export {
  OWNER_RESOURCES,
  OwnerCache,
  checkOwner,
  engineNotFound,
  ownerAbsent,
  ownerForbidden,
  ownerLookup,
} from './owner.js'
export type { OwnerResolver, OwnerVerdict, OwnerCacheOptions } from './owner.js'
export { routeCounts } from './counts.js'

/** Who the current request runs as, as the engine's `Authentication` would hold it. */
export interface AuthContext {
  /** Authenticated user id, or `null` when authentication is off (no engine authentication set). */
  readonly userId: string | null
  readonly groupIds: readonly string[]
  readonly tenantIds: readonly string[]
  /** Member of an admin group or listed as admin user (`isCamundaAdmin`). */
  readonly admin: boolean
  /** `TenantManager.isTenantCheckEnabled()`: authenticated, not admin, check switched on. */
  readonly tenantCheck: boolean
}

/** No authentication set: no tenant check, no operation log. */
export const UNAUTHENTICATED: AuthContext = {
  userId: null,
  groupIds: [],
  tenantIds: [],
  admin: false,
  tenantCheck: false,
}

/** `TenantManager.isAuthenticatedTenant`: NULL-tenant data is visible to everybody. */
export const isAuthenticatedTenant = (ctx: AuthContext, tenantId: string | null): boolean =>
  !ctx.tenantCheck || tenantId === null || ctx.tenantIds.includes(tenantId)

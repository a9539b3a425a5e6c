import { HttpAuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { Authenticator } from './authenticator.js'
import type { AuthRequestLike } from './bearer.js'

/**
 * The principal the engine proxy acts for: the one an earlier middleware verified, else the
 * request authenticated with the gateway's own authenticator. A non-admin principal with no tenant
 * (a plain JWT check, which maps none) is refused: the proxy scopes every call by tenant.
 */
export async function principalForProxy(
  authenticator: Authenticator,
  req: AuthRequestLike,
  verified: Principal | undefined,
): Promise<Principal> {
  const principal = verified ?? (await authenticator.authenticate(req))
  if (principal.tenantIds.length === 0 && !principal.admin) {
    throw new HttpAuthError('C7AUTH_TENANT_UNKNOWN', {
      realm: authenticator.realm,
      detail: 'principal maps to no tenant',
    })
  }
  return principal
}

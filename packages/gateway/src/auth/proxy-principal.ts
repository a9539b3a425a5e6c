import { HttpAuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { Authenticator } from './authenticator.js'
import type { AuthRequestLike } from './bearer.js'

/**
 * The principal the engine proxy acts for: the one an earlier middleware verified, else the
 * request authenticated with the gateway's own authenticator (synchronously on a cache hit). A
 * non-admin principal with no tenant (a plain JWT check, which maps none) is refused: the proxy
 * scopes every call by tenant. Throws or rejects with the refusal. `authenticator` has `lookup`:
 * the proxies pass it through `withLookup` once, when they are made.
 */
export function principalForProxy(
  authenticator: Authenticator,
  req: AuthRequestLike,
  verified: Principal | undefined,
): Principal | Promise<Principal> {
  if (verified !== undefined) return admitted(authenticator, verified)
  const found = authenticator.lookup(req)
  return found instanceof Promise
    ? found.then((v) => admitted(authenticator, v.principal))
    : admitted(authenticator, found.principal)
}

function admitted(authenticator: Authenticator, principal: Principal): Principal {
  if (principal.tenantIds.length === 0 && !principal.admin) {
    throw new HttpAuthError('C7AUTH_TENANT_UNKNOWN', {
      realm: authenticator.realm,
      detail: 'principal maps to no tenant',
    })
  }
  return principal
}

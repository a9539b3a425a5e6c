import type { DeployProfile, Principal } from '@c7auth/core'

/** Per-tenant deployment and variable settings (from `C7AUTH_TENANT_<ENVID>_*`, see core's schema). */
export interface TenantSafetySettings {
  /** `scope:<s>`, `group:<g>`, `client:<id>` entries; a principal needs one. Absent: nobody. */
  readonly deployers?: readonly string[] | undefined
  /** Default `strict`. */
  readonly deployProfile?: DeployProfile | undefined
  /** `objectTypeName`s allowed in `Object` variable writes. Absent: none. */
  readonly objectTypes?: readonly string[] | undefined
}

/**
 * True when one of the tenant's deployer entries matches the principal: `scope:<s>` a granted
 * scope, `group:<g>` a (mapped) group id, `client:<id>` an app (client credentials) with that client
 * id — not the users who log in through it. No entries: false.
 *
 * @example
 * ```ts
 * mayDeploy(principal, ['scope:engine:deploy', 'group:deployers'])
 * ```
 */
export function mayDeploy(principal: Principal, deployers: readonly string[] | undefined): boolean {
  if (deployers === undefined) return false
  return deployers.some((entry) => {
    const colon = entry.indexOf(':')
    if (colon <= 0) return false
    const kind = entry.slice(0, colon)
    const value = entry.slice(colon + 1)
    if (value === '') return false
    if (kind === 'scope') return principal.scopes.includes(value)
    if (kind === 'group') return principal.groupIds.includes(value)
    // the app itself, not the users who log in through it
    if (kind === 'client') return principal.kind === 'app' && principal.clientId === value
    return false
  })
}

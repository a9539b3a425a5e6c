import type { Principal } from '@c7auth/core'

/** What decides the engine groups of a principal (bridge memberships, assertion `groups`). */
export interface EngineGroupRules {
  /** The engine's admin group; only gateway admins get it, never from a token's groups. */
  readonly adminGroup: string
  /** Groups every principal of a kind gets. */
  readonly defaultGroups: { readonly app: readonly string[]; readonly user: readonly string[] }
  /** Groups every principal acting in a tenant gets, by tenant id. */
  readonly tenantDefaultGroups?: Readonly<Record<string, readonly string[]>> | undefined
  /** Mapped token groups that may reach the engine; others are ignored. */
  readonly groupAllowlist: readonly string[]
  /** Gateway admins get the engine admin group. Default true. */
  readonly adminPrincipalsJoinAdminGroup?: boolean | undefined
}

/** An engine id check: the engine's columns are varchar(64) and its whitelist is a full-match regex. */
export function engineIdCheck(idPattern: string | undefined): (id: string) => boolean {
  const idRegex = new RegExp(`^(?:${idPattern ?? '[a-zA-Z0-9]+'})$`)
  return (id) => id.length > 0 && id.length <= 64 && /^[\x21-\x7e]+$/.test(id) && idRegex.test(id)
}

/**
 * The engine groups of a principal, sorted: default groups of its kind and tenants, allowlisted
 * token groups that are valid engine ids, and the admin group exactly for gateway admins.
 */
export function engineGroupsOf(
  p: Principal,
  rules: EngineGroupRules,
  validId: (id: string) => boolean,
): string[] {
  const allow = new Set(rules.groupAllowlist)
  const out = new Set<string>(rules.defaultGroups[p.kind])
  for (const t of p.tenantIds) for (const g of rules.tenantDefaultGroups?.[t] ?? []) out.add(g)
  for (const g of p.groupIds) if (allow.has(g) && validId(g)) out.add(g)
  out.delete(rules.adminGroup)
  if (p.admin && rules.adminPrincipalsJoinAdminGroup !== false) out.add(rules.adminGroup)
  return [...out].sort()
}

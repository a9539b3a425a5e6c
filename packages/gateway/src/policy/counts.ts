import { ROUTES } from './routes.js'
import { RULE_KINDS } from './types.js'
import type { Rule, RouteRule } from './types.js'

/**
 * Number of operations per rule kind (printed in docs/route-policy.md).
 *
 * @example
 * ```ts
 * routeCounts() // { scopeQuery: 74, stampTenant: 38, ownerCheck: 131, public: 2, adminOnly: 50, deny: 104 }
 * ```
 */
export function routeCounts(routes: readonly RouteRule[] = ROUTES): Record<Rule['kind'], number> {
  const counts = Object.fromEntries(RULE_KINDS.map((k) => [k, 0])) as Record<Rule['kind'], number>
  for (const row of routes) counts[row.rule.kind] += 1
  return counts
}

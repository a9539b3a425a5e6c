import { C7AuthError } from '@c7auth/core'
import type { JsonRewrite, ScopeQueryRule } from './types.js'

/**
 * The effective tenant filter for one query: `tenants` to send as `tenantIdIn` (never empty),
 * `nullOnly` (send `withoutTenantId=true` alone: shared rows only), or `none` (nothing can match).
 */
export type TenantScope =
  | {
      readonly kind: 'tenants'
      readonly tenants: readonly string[]
      readonly includeShared: boolean
    }
  | { readonly kind: 'nullOnly' }
  | { readonly kind: 'none' }

/**
 * Computes what a principal may see given what the client asked for, like the engine's transparent
 * tenant check would: no client filter → all own tenants (+ shared rows where `shared`); a client
 * `tenantIdIn` → its intersection with the principal's tenants; `withoutTenantId` → shared rows
 * where `shared`, nothing otherwise. Shared rows are never added for runtime/history (T6).
 *
 * @example
 * ```ts
 * computeScope({ shared: false }, ['a', 'b'], { tenantIdIn: ['b', 'x'], without: false, include: false })
 * // { kind: 'tenants', tenants: ['b'], includeShared: false }
 * ```
 */
export function computeScope(
  rule: Pick<ScopeQueryRule, 'shared'>,
  principalTenants: readonly string[],
  asked: { tenantIdIn: readonly string[] | undefined; without: boolean; include: boolean },
): TenantScope {
  if (asked.tenantIdIn !== undefined && asked.without) {
    throw new C7AuthError('C7AUTH_REQUEST_INVALID', {
      message: 'Invalid query usage: cannot set both tenantIdIn and withoutTenantId filters.',
    })
  }
  if (asked.without) return rule.shared ? { kind: 'nullOnly' } : { kind: 'none' }
  const includeShared = rule.shared && (asked.tenantIdIn === undefined || asked.include)
  if (asked.tenantIdIn === undefined) {
    if (principalTenants.length === 0)
      return includeShared ? { kind: 'nullOnly' } : { kind: 'none' }
    return { kind: 'tenants', tenants: principalTenants, includeShared }
  }
  const wanted = new Set(asked.tenantIdIn)
  const tenants = principalTenants.filter((t) => wanted.has(t))
  if (tenants.length === 0) return includeShared ? { kind: 'nullOnly' } : { kind: 'none' }
  return { kind: 'tenants', tenants, includeShared }
}

const TENANT_IN = 'tenantidin'
const WITHOUT = 'withouttenantid'

function truthy(v: string | undefined): boolean {
  return v !== undefined && v.toLowerCase() === 'true'
}

/**
 * The empty answer of a list or count endpoint.
 *
 * @example
 * ```ts
 * emptyResult('count') // { count: 0 }
 * ```
 */
export function emptyResult(empty: 'list' | 'count'): unknown {
  return empty === 'count' ? { count: 0 } : []
}

/**
 * Rewrites a GET query string (C1, C3, C4, T3, T4): the client's wish is read as the engine would
 * read it (exact-case name, first occurrence, comma list), then every parameter whose lower-cased
 * name is `tenantIdIn`, `withoutTenantId` or the resource's include parameter is dropped and
 * exactly one gateway value is appended. Returns `undefined` when nothing can match.
 *
 * @example
 * ```ts
 * scopeSearchParams(rule, new URLSearchParams('tenantIdIn=&assignee=bob'), ['a'])?.toString()
 * // 'assignee=bob&tenantIdIn=a'
 * ```
 */
export function scopeSearchParams(
  rule: ScopeQueryRule,
  query: URLSearchParams,
  principalTenants: readonly string[],
): URLSearchParams | undefined {
  const include = rule.includeParam?.toLowerCase()
  let tenantIdIn: string[] | undefined
  let without = false
  let includeAsked = false
  // first occurrence of each exact-case name (three flags, not a Set per request)
  let seenIn = false
  let seenWithout = false
  let seenInclude = false
  const out = new URLSearchParams()
  for (const [name, value] of query) {
    const lower = name.toLowerCase()
    const policed = lower === TENANT_IN || lower === WITHOUT || lower === include
    if (!policed) {
      out.append(name, value)
      continue
    }
    // the engine reads exact-case names only, and the first occurrence (C3, C4); variants are dropped
    if (name === 'tenantIdIn') {
      if (!seenIn) tenantIdIn = value.split(',').filter((v) => v !== '')
      seenIn = true
    } else if (name === 'withoutTenantId') {
      if (!seenWithout) without = truthy(value)
      seenWithout = true
    } else if (name === rule.includeParam) {
      if (!seenInclude) includeAsked = truthy(value)
      seenInclude = true
    }
  }
  const scope = computeScope(rule, principalTenants, {
    tenantIdIn: tenantIdIn !== undefined && tenantIdIn.length > 0 ? tenantIdIn : undefined,
    // resources without the parameter ignore it (C10), so must we
    without: rule.withoutParam && without,
    include: includeAsked,
  })
  if (scope.kind === 'none') return undefined
  if (scope.kind === 'nullOnly') {
    if (!rule.withoutParam) return undefined
    out.append('withoutTenantId', 'true')
    return out
  }
  out.append('tenantIdIn', scope.tenants.join(','))
  if (scope.includeShared && rule.includeParam !== undefined) out.append(rule.includeParam, 'true')
  return out
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function bodyInvalid(detail: string): C7AuthError {
  return new C7AuthError('C7AUTH_BODY_INVALID', { detail })
}

function readTenantList(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) {
    throw bodyInvalid(`${where}tenantIdIn must be an array of strings`)
  }
  return v.length === 0 ? undefined : (v as string[])
}

function readBool(v: unknown, where: string): boolean {
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw bodyInvalid(`${where} must be a boolean`)
  return v
}

/** Keys that look like a tenant filter in any casing (Jackson ignores miscased ones; we drop them). */
function isTenantKey(key: string, rule: Pick<ScopeQueryRule, 'includeParam'>): boolean {
  const lower = key.toLowerCase()
  return (
    lower === TENANT_IN ||
    lower === WITHOUT ||
    (rule.includeParam !== undefined && lower === rule.includeParam.toLowerCase())
  )
}

/**
 * Applies the scope to one JSON query object (top level of a POST query or one fetchAndLock topic).
 * Returns `undefined` when nothing can match.
 */
function scopeObject(
  rule: ScopeQueryRule,
  obj: Record<string, unknown>,
  principalTenants: readonly string[],
  where: string,
): Record<string, unknown> | undefined {
  const includeKey = rule.includeParam
  const tenantIdIn = readTenantList(obj.tenantIdIn, where)
  const without = readBool(obj.withoutTenantId, `${where}withoutTenantId`)
  const asked = {
    tenantIdIn,
    // C10: ignored where the resource lacks it; fetchAndLock: tenantIdIn wins over it (§2.8)
    without: rule.withoutParam && without && !(rule.in === 'topics' && tenantIdIn !== undefined),
    include: includeKey === undefined ? false : readBool(obj[includeKey], `${where}${includeKey}`),
  }
  const scope = computeScope(rule, principalTenants, asked)
  if (scope.kind === 'none') return undefined
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(obj).filter(([k]) => !isTenantKey(k, rule)),
  )
  if (scope.kind === 'nullOnly') {
    if (!rule.withoutParam) return undefined
    out.withoutTenantId = true
    return out
  }
  out.tenantIdIn = [...scope.tenants]
  if (scope.includeShared && includeKey !== undefined) out[includeKey] = true
  return out
}

/**
 * Narrows the tenant criteria inside `orQueries` (C9): the top-level filter already bounds the
 * result; inside an OR group a criterion outside the principal's tenants is simply false, so it is
 * removed, and a group left with nothing else makes the whole query empty.
 */
function scopeOrQueries(
  value: unknown,
  principalTenants: readonly string[],
): unknown[] | undefined | 'empty' {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw bodyInvalid('orQueries must be an array')
  const out: unknown[] = []
  for (const q of value) {
    if (!isObject(q)) throw bodyInvalid('orQueries items must be objects')
    const list = readTenantList(q.tenantIdIn, 'orQueries[].')
    const without = readBool(q.withoutTenantId, 'orQueries[].withoutTenantId')
    const item: Record<string, unknown> = Object.fromEntries(
      Object.entries(q).filter(([k]) => {
        const lower = k.toLowerCase()
        return lower !== TENANT_IN && lower !== WITHOUT
      }),
    )
    const kept = list?.filter((t) => principalTenants.includes(t)) ?? []
    if (kept.length > 0) item.tenantIdIn = kept
    const hadTenantCriterion = list !== undefined || without
    if (hadTenantCriterion && kept.length === 0 && Object.keys(item).length === 0) return 'empty'
    out.push(item)
  }
  return out
}

/**
 * JSON rewrite for a scoped POST query (`in: 'body'`) or fetchAndLock (`in: 'topics'`). Pure.
 * fetchAndLock: every topic gets `tenantIdIn` = its permitted tenants and loses `withoutTenantId`;
 * a topic left with no tenant is dropped; no topic left → answer `[]` (T4, T18).
 *
 * @example
 * ```ts
 * scopeJsonBody(rule, { topics: [{ topicName: 'pay', tenantIdIn: [] }] }, ['a'])
 * // { kind: 'forward', json: { topics: [{ topicName: 'pay', tenantIdIn: ['a'] }] } }
 * ```
 */
export function scopeJsonBody(
  rule: ScopeQueryRule,
  json: unknown,
  principalTenants: readonly string[],
): JsonRewrite {
  const body = json === undefined ? {} : json
  if (!isObject(body)) throw bodyInvalid('JSON object body expected')
  const respond: JsonRewrite = { kind: 'respond', status: 200, json: emptyResult(rule.empty) }
  if (rule.in === 'topics') {
    const topics = body.topics
    if (!Array.isArray(topics)) throw bodyInvalid('topics must be an array')
    const kept: Record<string, unknown>[] = []
    for (const t of topics) {
      if (!isObject(t)) throw bodyInvalid('topics items must be objects')
      const scoped = scopeObject(rule, t, principalTenants, 'topics[].')
      if (scoped !== undefined) kept.push(scoped)
    }
    if (kept.length === 0) return respond
    return { kind: 'forward', json: { ...body, topics: kept } }
  }
  const scoped = scopeObject(rule, body, principalTenants, '')
  if (scoped === undefined) return respond
  if ('orQueries' in scoped) {
    const or = scopeOrQueries(scoped.orQueries, principalTenants)
    if (or === 'empty') return respond
    if (or !== undefined) scoped.orQueries = or
  }
  return { kind: 'forward', json: scoped }
}

/**
 * Reads list/count criteria the way engine-rest does: GET query strings (first value wins,
 * comma-separated lists, `BooleanConverter`) or POST JSON bodies (arrays, unknown keys ignored).
 */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import { EngineError, invalidRequest } from './engine-errors.js'

export type CriterionType = 'string' | 'list' | 'bool' | 'int' | 'object'

export type CriteriaSpec = Readonly<Record<string, CriterionType>>

export type Criteria = Record<
  string,
  string | string[] | boolean | number | Record<string, unknown> | unknown[]
>

/** First-value view of a query string (the engine uses the first value of a repeated parameter). */
export type FirstValueQuery = ReadonlyMap<string, string>

export function firstValues(search: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of search) if (!out.has(k)) out.set(k, v)
  return out
}

const cannotSet = (name: string, value: string, reason: string): EngineError =>
  invalidRequest(`Cannot set query parameter '${name}' to value '${value}': ${reason}`)

/** Converts GET query parameters per spec; unknown (or miscased) names are ignored like the engine. */
export function criteriaFromQuery(spec: CriteriaSpec, query: FirstValueQuery): Criteria {
  const out: Criteria = {}
  for (const [name, type] of Object.entries(spec)) {
    const raw = query.get(name)
    if (raw === undefined) continue
    switch (type) {
      case 'string':
        out[name] = raw
        break
      case 'list':
        out[name] = raw === '' ? [] : raw.split(',')
        break
      case 'bool':
        // BooleanConverter: Boolean.parseBoolean semantics after an explicit true/false check
        if (raw !== 'true' && raw !== 'false') {
          throw cannotSet(
            name,
            raw,
            'Cannot convert value "' + raw + '" to java type java.lang.Boolean',
          )
        }
        out[name] = raw === 'true'
        break
      case 'int': {
        if (!/^-?\d+$/.test(raw)) {
          throw cannotSet(
            name,
            raw,
            'Cannot convert value "' + raw + '" to java type java.lang.Integer',
          )
        }
        out[name] = Number(raw)
        break
      }
      case 'object':
        break
    }
  }
  return out
}

const mapping = (name: string, expected: string): EngineError =>
  new EngineError(
    400,
    'InvalidRequestException',
    `Cannot deserialize value of property '${name}': expected ${expected}`,
  )

/** Converts a POST query body per spec. Non-array lists fail like Jackson (no single-value-as-array). */
export function criteriaFromBody(spec: CriteriaSpec, body: unknown): Criteria {
  const out: Criteria = {}
  if (body === undefined || body === null) return out
  if (typeof body !== 'object' || Array.isArray(body)) throw mapping('(body)', 'a JSON object')
  const obj = body as Record<string, unknown>
  for (const [name, type] of Object.entries(spec)) {
    const v = obj[name]
    if (v === undefined || v === null) continue
    switch (type) {
      case 'string':
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw mapping(name, 'a string')
        }
        out[name] = String(v)
        break
      case 'list':
        if (!Array.isArray(v)) throw mapping(name, 'an array')
        out[name] = v.map(String)
        break
      case 'bool':
        if (typeof v !== 'boolean') throw mapping(name, 'a boolean')
        out[name] = v
        break
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v)) throw mapping(name, 'an integer')
        out[name] = v
        break
      case 'object':
        if (typeof v !== 'object') throw mapping(name, 'an object or array')
        out[name] = v as Record<string, unknown>
        break
    }
  }
  return out
}

/** Pagination from the query string (also used by POST queries). */
export function pagination(query: FirstValueQuery): { first: number; max: number | null } {
  const parse = (name: string): number | null => {
    const raw = query.get(name)
    if (raw === undefined || raw === '') return null
    if (!/^-?\d+$/.test(raw)) {
      throw cannotSet(
        name,
        raw,
        'Cannot convert value "' + raw + '" to java type java.lang.Integer',
      )
    }
    return Number(raw)
  }
  return { first: Math.max(0, parse('firstResult') ?? 0), max: parse('maxResults') }
}

export function paginate<T>(items: readonly T[], page: { first: number; max: number | null }): T[] {
  return items.slice(page.first, page.max === null ? undefined : page.first + Math.max(0, page.max))
}

/** One sorting instruction, from `sortBy`/`sortOrder` (GET) or `sorting[]` (POST). */
export interface Sorting {
  readonly sortBy: string
  readonly sortOrder: 'asc' | 'desc'
}

export function sortingFromQuery(query: FirstValueQuery, allowed: readonly string[]): Sorting[] {
  const sortBy = query.get('sortBy')
  const sortOrder = query.get('sortOrder')
  if (sortBy === undefined && sortOrder === undefined) return []
  if (sortBy === undefined || sortOrder === undefined) {
    throw invalidRequest('Only a single sorting parameter specified. sortBy and sortOrder required')
  }
  return [checkSorting(sortBy, sortOrder, allowed)]
}

export function sortingFromBody(body: unknown, allowed: readonly string[]): Sorting[] {
  if (body === null || typeof body !== 'object') return []
  const sorting = (body as { sorting?: unknown }).sorting
  if (sorting === undefined || sorting === null) return []
  if (!Array.isArray(sorting)) throw mapping('sorting', 'an array')
  return sorting.map((s: unknown) => {
    const { sortBy, sortOrder } = (s ?? {}) as { sortBy?: unknown; sortOrder?: unknown }
    if (typeof sortBy !== 'string' || typeof sortOrder !== 'string') {
      throw invalidRequest(
        'Only a single sorting parameter specified. sortBy and sortOrder required',
      )
    }
    return checkSorting(sortBy, sortOrder, allowed)
  })
}

function checkSorting(sortBy: string, sortOrder: string, allowed: readonly string[]): Sorting {
  if (!allowed.includes(sortBy)) {
    throw invalidRequest(`Cannot set query parameter 'sortBy' to value '${sortBy}'`)
  }
  if (sortOrder !== 'asc' && sortOrder !== 'desc') {
    throw invalidRequest(`Cannot set query parameter 'sortOrder' to value '${sortOrder}'`)
  }
  return { sortBy, sortOrder }
}

/** Stable multi-key sort; `pick` maps a sortBy name to the comparable value of an item. */
export function applySorting<T>(
  items: T[],
  sorting: readonly Sorting[],
  pick: (item: T, sortBy: string) => string | number | null,
): T[] {
  if (sorting.length === 0) return items
  return items.sort((a, b) => {
    for (const s of sorting) {
      const va = pick(a, s.sortBy)
      const vb = pick(b, s.sortBy)
      if (va === vb) continue
      const c = va === null ? -1 : vb === null ? 1 : va < vb ? -1 : 1
      return s.sortOrder === 'asc' ? c : -c
    }
    return 0
  })
}

/** Tenant criteria shared by most queries. */
export interface TenantCriteria {
  readonly tenantIdIn?: readonly string[] | undefined
  readonly withoutTenantId?: boolean | undefined
  readonly includeWithoutTenantId?: boolean | undefined
}

/** The tenant criteria of a query: `tenantIdIn`, `withoutTenantId` and its `include…` parameter. */
export function tenantCriteriaOf(criteria: Criteria, includeParam?: string): TenantCriteria {
  const tenantIdIn = criteria['tenantIdIn']
  return {
    tenantIdIn: Array.isArray(tenantIdIn) ? (tenantIdIn as string[]) : undefined,
    withoutTenantId: criteria['withoutTenantId'] as boolean | undefined,
    ...(includeParam !== undefined
      ? { includeWithoutTenantId: criteria[includeParam] as boolean | undefined }
      : {}),
  }
}

/** Explicit tenant filter (before the transparent check). Empty `tenantIdIn` = no filter. */
export function matchesTenantCriteria(tenantId: string | null, c: TenantCriteria): boolean {
  if (c.withoutTenantId === true) return tenantId === null
  if (c.tenantIdIn !== undefined && c.tenantIdIn.length > 0) {
    return (
      (tenantId !== null && c.tenantIdIn.includes(tenantId)) ||
      (c.includeWithoutTenantId === true && tenantId === null)
    )
  }
  return true
}

/** `orQueries` of a POST query body, each read with the same spec. */
export function orQueriesFromBody(spec: CriteriaSpec, body: unknown): Criteria[] {
  if (body === null || typeof body !== 'object') return []
  const or = (body as { orQueries?: unknown }).orQueries
  if (or === undefined || or === null) return []
  if (!Array.isArray(or)) throw mapping('orQueries', 'an array')
  return or.map((q) => criteriaFromBody(spec, q))
}

/**
 * Inside one OR query the criteria are OR-ed; an empty OR query adds no restriction. The whole
 * OR group is AND-ed with the top-level criteria (and the transparent tenant check).
 */
export function matchesOrQuery(criteria: Criteria, test: (single: Criteria) => boolean): boolean {
  const keys = Object.keys(criteria)
  if (keys.length === 0) return true
  return keys.some((k) => test({ [k]: criteria[k] } as Criteria))
}

/** The criteria of a query: from the JSON body (`POST`) or the URL query (`GET`). */
export function criteriaOf(
  spec: CriteriaSpec,
  request: { readonly body: unknown; readonly query: FirstValueQuery },
  fromBody: boolean,
): Criteria {
  return fromBody ? criteriaFromBody(spec, request.body) : criteriaFromQuery(spec, request.query)
}

/** The sorting of a query: the body's `sorting` array (`POST`) or `sortBy`/`sortOrder` (`GET`). */
export function sortingOf(
  request: { readonly body: unknown; readonly query: FirstValueQuery },
  allowed: readonly string[],
  fromBody: boolean,
): Sorting[] {
  return fromBody
    ? sortingFromBody(request.body, allowed)
    : sortingFromQuery(request.query, allowed)
}

/**
 * The rows a query returns: visible to the caller (the engine's transparent tenant check), matching
 * the criteria and every one of the body's `orQueries`.
 */
export function matchingRows<T extends { readonly tenantId: string | null }>(
  rows: Iterable<T>,
  auth: AuthContext,
  criteria: Criteria,
  ors: readonly Criteria[],
  matchRow: (row: T, criteria: Criteria) => boolean,
): T[] {
  return [...rows].filter(
    (row) =>
      isAuthenticatedTenant(auth, row.tenantId) &&
      matchRow(row, criteria) &&
      ors.every((o) => matchesOrQuery(o, (single) => matchRow(row, single))),
  )
}

/** True when the criterion `name` is not set or equals the row's `value` (one equality filter). */
export function matches(criteria: Criteria, name: string, value: unknown): boolean {
  return criteria[name] === undefined || criteria[name] === value
}

import { HttpAuthError } from '@c7auth/core'
import type { Principal, TenantMode } from '@c7auth/core'
import { claimAt, isClientScopedClaimPath } from './presets.js'
import type { ClaimMapping } from './presets.js'
import { isMappableAppId } from './engine-id.js'
import type { EngineIdMapper, UserIdMapper } from './engine-id.js'
import type { Claims, TenantOptions } from './options.js'

/** Everything the mapper needs for one issuer, resolved once at startup. */
export interface IssuerMapping {
  /** The configured issuer string (template included), used for tenant binding. */
  readonly issuer: string
  readonly audience: readonly string[]
  readonly claims: ClaimMapping
  readonly tenantMode: TenantMode
  readonly tenantClaim: readonly string[]
  readonly tenantClaimMap: Readonly<Record<string, string>> | undefined
  readonly fixedTenant: string | undefined
}

/** Settings shared by every issuer's mapping. */
export interface MapperContext {
  readonly tenants: readonly TenantOptions[]
  /**
   * False for a plain JWT check (no `tenants` configured): no tenant is mapped and a token
   * mapping to none is not refused. The engine proxy never runs on such principals.
   */
  readonly mapsTenants: boolean
  readonly toEngineId: EngineIdMapper
  /** Engine ids of users: their own namespace per issuer (never an app's id). */
  readonly toUserEngineId: UserIdMapper
  readonly adminGroups: ReadonlySet<string>
  readonly defaultGroups: { readonly app: readonly string[]; readonly user: readonly string[] }
  readonly realm: string
}

const MAX_GROUPS = 500

/**
 * Turns verified claims into a {@link Principal}. Ids are mapped into the engine's pattern; the
 * token itself and the claim set are not kept.
 */
export function mapClaims(
  claims: Claims,
  issuer: IssuerMapping,
  ctx: MapperContext,
  tokenIss: string,
): Principal {
  const m = issuer.claims
  const c = compiled(m)
  const clientId = firstString(claims, c.clientIdPaths)
  const kind = m.kind(claims, clientId)
  const subject = typeof claims.sub === 'string' ? claims.sub : (clientId ?? '')

  let rawUserId: string | undefined
  if (kind === 'app') {
    rawUserId = c.appIdPath === undefined ? clientId : firstString(claims, [c.appIdPath])
    rawUserId ??= typeof claims.sub === 'string' ? claims.sub : undefined
  } else {
    rawUserId = firstString(claims, c.userIdPaths)
  }
  if (rawUserId === undefined || rawUserId.length === 0) {
    throw new HttpAuthError('C7AUTH_TOKEN_INVALID', {
      realm: ctx.realm,
      detail: 'no claim gives a user id',
    })
  }
  if (kind === 'app' && !isMappableAppId(rawUserId)) {
    throw new HttpAuthError('C7AUTH_TOKEN_INVALID', {
      realm: ctx.realm,
      detail: 'app id holds a NUL character',
    })
  }

  const tenantIds = mapTenants(claims, issuer, ctx, clientId)
  const groupIds = mapGroups(claims, m, c, clientId, issuer.audience, ctx, kind)
  for (const t of ctx.tenants) {
    if (t.defaultGroups !== undefined && tenantIds.includes(t.id)) {
      for (const g of t.defaultGroups) if (!groupIds.includes(g)) groupIds.push(g)
    }
  }
  const admin = isAdmin(claims, m, c, ctx)
  if (tenantIds.length === 0 && !admin && ctx.mapsTenants) {
    throw new HttpAuthError('C7AUTH_TENANT_UNKNOWN', {
      realm: ctx.realm,
      detail: `no configured tenant (${issuer.tenantMode} mode)`,
    })
  }

  return {
    kind,
    // Apps keep their readable ids; users are namespaced by issuer, so `{azp: "acme", sub:
    // "globex"}` can never become the globex app's engine account (issue 15 item 5).
    userId: kind === 'app' ? ctx.toEngineId(rawUserId) : ctx.toUserEngineId(tokenIss, rawUserId),
    groupIds,
    tenantIds,
    clientId,
    issuer: tokenIss,
    subject,
    scopes: readScopes(claims, m.scopeClaims),
    expiresAt: claims.exp as number,
    admin,
  }
}

function mapGroups(
  claims: Claims,
  m: ClaimMapping,
  c: CompiledMapping,
  clientId: string | undefined,
  audience: readonly string[],
  ctx: MapperContext,
  kind: 'app' | 'user',
): string[] {
  const out = new Set<string>(ctx.defaultGroups[kind])
  for (const path of c.groupPaths) {
    const values = path.dynamic
      ? valuesAtDynamic(claims, path.segments, 0, clientId, audience)
      : [claimAt(claims, path.segments)]
    for (const value of values) {
      for (const raw of strings(value)) {
        if (out.size >= MAX_GROUPS) break
        const name = groupName(raw, m)
        if (name !== undefined) out.add(ctx.toEngineId(name))
      }
    }
  }
  return [...out]
}

/**
 * Gateway admin: a group read from the admin claim paths (never client-scoped ones, never default
 * groups) whose engine id is in `adminGroups`.
 */
function isAdmin(claims: Claims, m: ClaimMapping, c: CompiledMapping, ctx: MapperContext): boolean {
  if (ctx.adminGroups.size === 0) return false
  let seen = 0
  for (const path of c.adminPaths) {
    for (const raw of strings(claimAt(claims, path))) {
      if (++seen > MAX_GROUPS) return false
      const name = groupName(raw, m)
      if (name !== undefined && ctx.adminGroups.has(ctx.toEngineId(name))) return true
    }
  }
  return false
}

/** A group name after the mapping's filters, before engine id mapping; undefined when dropped. */
function groupName(raw: string, m: ClaimMapping): string | undefined {
  let name = raw.startsWith('/') ? raw.slice(1) : raw // Keycloak full group paths
  if (m.groupPrefix !== undefined) {
    if (!name.startsWith(m.groupPrefix)) return undefined
    if (m.stripGroupPrefix) name = name.slice(m.groupPrefix.length)
  }
  if (m.groupPattern !== undefined && !m.groupPattern.test(name)) return undefined
  return name.length > 0 ? name : undefined
}

/** Claim paths split once per mapping, not per request. */
interface CompiledMapping {
  readonly clientIdPaths: readonly (readonly string[])[]
  readonly userIdPaths: readonly (readonly string[])[]
  readonly appIdPath: readonly string[] | undefined
  readonly groupPaths: readonly {
    readonly segments: readonly string[]
    readonly dynamic: boolean
  }[]
  readonly adminPaths: readonly (readonly string[])[]
}

const compiledMappings = new WeakMap<ClaimMapping, CompiledMapping>()

function compiled(m: ClaimMapping): CompiledMapping {
  let c = compiledMappings.get(m)
  if (c === undefined) {
    c = {
      clientIdPaths: m.clientIdClaims.map((p) => p.split('.')),
      userIdPaths: m.userIdClaims.map((p) => p.split('.')),
      appIdPath: m.appIdClaim?.split('.'),
      groupPaths: m.groupClaims.map((p) => {
        const segments = p.split('.')
        return { segments, dynamic: segments.some((s) => s === '{clientId}' || s === '{audience}') }
      }),
      // Placeholders are refused at startup; filtered again so they can never resolve here.
      adminPaths: m.adminGroupClaims
        .filter((p) => !isClientScopedClaimPath(p))
        .map((p) => p.split('.')),
    }
    compiledMappings.set(m, c)
  }
  return c
}

function mapTenants(
  claims: Claims,
  issuer: IssuerMapping,
  ctx: MapperContext,
  clientId: string | undefined,
): string[] {
  const index = tenantIndex(issuer, ctx)
  let candidates: readonly TenantOptions[]
  switch (issuer.tenantMode) {
    case 'app':
      candidates = clientId === undefined ? [] : (index.byClient.get(clientId) ?? [])
      break
    case 'claim': {
      const wanted = new Set<string>()
      for (const value of tenantValuesAt(claims, issuer.tenantClaim)) {
        const id = issuer.tenantClaimMap === undefined ? value : issuer.tenantClaimMap[value]
        if (id !== undefined) wanted.add(id)
      }
      candidates = index.forIssuer.filter((t) => wanted.has(t.id))
      break
    }
    case 'fixed':
      candidates = index.forIssuer.filter((t) => t.id === issuer.fixedTenant)
      break
  }
  if (candidates.length === 0) return []
  // Audience binding is per token; the rest of the index is static.
  let aud: string[] | undefined
  const out: string[] = []
  for (const t of candidates) {
    if (t.audience !== undefined) {
      aud ??= audiences(claims)
      if (!t.audience.some((a) => aud?.includes(a))) continue
    }
    if (!out.includes(t.id)) out.push(t.id)
  }
  return out
}

/** Per issuer: the tenants it may map to, and app mode's client id → tenants. Built once. */
interface TenantIndex {
  readonly forIssuer: readonly TenantOptions[]
  readonly byClient: ReadonlyMap<string, readonly TenantOptions[]>
}

const tenantIndexes = new WeakMap<IssuerMapping, TenantIndex>()

function tenantIndex(issuer: IssuerMapping, ctx: MapperContext): TenantIndex {
  let index = tenantIndexes.get(issuer)
  if (index === undefined) {
    const forIssuer = ctx.tenants.filter(
      (t) => t.issuer === undefined || t.issuer === issuer.issuer,
    )
    const byClient = new Map<string, TenantOptions[]>()
    for (const t of forIssuer) {
      const ids = t.clientIds !== undefined && t.clientIds.length > 0 ? t.clientIds : [t.id]
      for (const id of ids) byClient.set(id, [...(byClient.get(id) ?? []), t])
    }
    index = { forIssuer, byClient }
    tenantIndexes.set(issuer, index)
  }
  return index
}

/** Values at a path whose segments may be `{clientId}` or `{audience}` (own properties only). */
function valuesAtDynamic(
  node: unknown,
  segments: readonly string[],
  i: number,
  clientId: string | undefined,
  audience: readonly string[],
): unknown[] {
  if (i === segments.length) return [node]
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return []
  const seg = segments[i]!
  const keys =
    seg === '{clientId}'
      ? clientId === undefined
        ? []
        : [clientId]
      : seg === '{audience}'
        ? audience
        : [seg]
  const out: unknown[] = []
  for (const k of keys) {
    if (Object.prototype.hasOwnProperty.call(node, k)) {
      out.push(
        ...valuesAtDynamic(
          (node as Record<string, unknown>)[k],
          segments,
          i + 1,
          clientId,
          audience,
        ),
      )
    }
  }
  return out
}

/** Tenant claim values: a string, an array of strings, or an object's keys (Keycloak 26 `organization`). */
function tenantValuesAt(claims: Claims, path: readonly string[]): string[] {
  const v = claimAt(claims, path)
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return Object.keys(v)
  return stringsAt(claims, path)
}

function stringsAt(claims: Claims, path: readonly string[]): string[] {
  return strings(claimAt(claims, path))
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v]
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  return []
}

function firstString(claims: Claims, paths: readonly (readonly string[])[]): string | undefined {
  for (const p of paths) {
    const v = claimAt(claims, p)
    if (typeof v === 'string' && v.length > 0) return v
  }
  return undefined
}

function readScopes(claims: Claims, names: readonly string[]): string[] {
  const out = new Set<string>()
  for (const n of names) {
    const v = claimAt(claims, [n])
    if (typeof v === 'string') for (const s of v.split(' ')) if (s) out.add(s)
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string' && s) out.add(s)
  }
  return [...out]
}

/** The token's `aud` as a list. */
export function audiences(claims: Claims): string[] {
  const aud = claims.aud
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string')
  return []
}

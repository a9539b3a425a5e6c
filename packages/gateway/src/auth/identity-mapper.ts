import { HttpAuthError } from '@c7auth/core'
import type { Principal, TenantMode } from '@c7auth/core'
import { claimAt } from './presets.js'
import type { ClaimMapping } from './presets.js'
import type { EngineIdMapper } from './engine-id.js'
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
  readonly toEngineId: EngineIdMapper
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
  const clientId = firstString(
    claims,
    m.clientIdClaims.map((c) => [c]),
  )
  const kind = m.kind(claims, clientId)
  const subject = typeof claims.sub === 'string' ? claims.sub : (clientId ?? '')

  let rawUserId: string | undefined
  if (kind === 'app') {
    rawUserId =
      m.appIdClaim === undefined ? clientId : firstString(claims, [m.appIdClaim.split('.')])
    rawUserId ??= typeof claims.sub === 'string' ? claims.sub : undefined
  } else {
    rawUserId = firstString(
      claims,
      m.userIdClaims.map((c) => c.split('.')),
    )
  }
  if (rawUserId === undefined || rawUserId.length === 0) {
    throw new HttpAuthError('C7AUTH_TOKEN_INVALID', {
      realm: ctx.realm,
      detail: 'no claim gives a user id',
    })
  }

  const tenantIds = mapTenants(claims, issuer, ctx, clientId)
  const groupIds = mapGroups(claims, m, clientId, issuer.audience, ctx, kind)
  for (const t of ctx.tenants) {
    if (t.defaultGroups !== undefined && tenantIds.includes(t.id)) {
      for (const g of t.defaultGroups) if (!groupIds.includes(g)) groupIds.push(g)
    }
  }
  const admin = groupIds.some((g) => ctx.adminGroups.has(g))
  if (tenantIds.length === 0 && !admin) {
    throw new HttpAuthError('C7AUTH_TENANT_UNKNOWN', {
      realm: ctx.realm,
      detail: `no configured tenant (${issuer.tenantMode} mode)`,
    })
  }

  return {
    kind,
    userId: ctx.toEngineId(rawUserId),
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
  clientId: string | undefined,
  audience: readonly string[],
  ctx: MapperContext,
  kind: 'app' | 'user',
): string[] {
  const out = new Set<string>(ctx.defaultGroups[kind])
  for (const path of m.groupClaims) {
    for (const segs of expandPath(path, clientId, audience)) {
      for (let name of stringsAt(claims, segs)) {
        if (out.size >= MAX_GROUPS) break
        if (name.startsWith('/')) name = name.slice(1) // Keycloak full group paths
        if (m.groupPrefix !== undefined) {
          if (!name.startsWith(m.groupPrefix)) continue
          if (m.stripGroupPrefix) name = name.slice(m.groupPrefix.length)
        }
        if (m.groupPattern !== undefined && !m.groupPattern.test(name)) continue
        if (name.length > 0) out.add(ctx.toEngineId(name))
      }
    }
  }
  return [...out]
}

function mapTenants(
  claims: Claims,
  issuer: IssuerMapping,
  ctx: MapperContext,
  clientId: string | undefined,
): string[] {
  const aud = audiences(claims)
  const bound = ctx.tenants.filter(
    (t) =>
      (t.issuer === undefined || t.issuer === issuer.issuer) &&
      (t.audience === undefined || t.audience.some((a) => aud.includes(a))),
  )
  const out = new Set<string>()
  switch (issuer.tenantMode) {
    case 'app':
      if (clientId === undefined) break
      for (const t of bound) {
        const ids = t.clientIds
        if (ids !== undefined && ids.length > 0 ? ids.includes(clientId) : t.id === clientId) {
          out.add(t.id)
        }
      }
      break
    case 'claim': {
      for (const value of stringsAt(claims, issuer.tenantClaim)) {
        const id = issuer.tenantClaimMap === undefined ? value : issuer.tenantClaimMap[value]
        if (id !== undefined && bound.some((t) => t.id === id)) out.add(id)
      }
      break
    }
    case 'fixed':
      if (issuer.fixedTenant !== undefined && bound.some((t) => t.id === issuer.fixedTenant)) {
        out.add(issuer.fixedTenant)
      }
      break
  }
  return [...out]
}

function expandPath(
  path: string,
  clientId: string | undefined,
  audience: readonly string[],
): string[][] {
  let variants: string[][] = [[]]
  for (const seg of path.split('.')) {
    let values: readonly string[]
    if (seg === '{clientId}') values = clientId === undefined ? [] : [clientId]
    else if (seg === '{audience}') values = audience
    else values = [seg]
    variants = variants.flatMap((v) => values.map((x) => [...v, x]))
  }
  return variants
}

function stringsAt(claims: Claims, path: readonly string[]): string[] {
  const v = claimAt(claims, path)
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

import type { Tracer } from '@opentelemetry/api'
import { ConfigError } from '@c7auth/core'
import type { C7AuthConfig, ClaimMappingOverrides, IdpPreset } from '@c7auth/core'
import type { JwsAlgorithm } from './jws.js'
import type {
  AuthenticatorOptions,
  ClaimMappingOptions,
  IssuerOptions,
  LoggerLike,
  TenantOptions,
} from './options.js'
import { resolveClaimMapping } from './presets.js'

/**
 * Builds {@link AuthenticatorOptions} from the loaded product configuration. Tenants that share
 * an issuer (one Auth0 tenant for all apps) share one issuer entry whose audiences are the union;
 * each tenant stays bound to its own issuer and audiences for tenant mapping. Only issuers listed
 * in `gateway.adminIssuers` (`C7AUTH_GATEWAY_ADMIN_ISSUERS`) may make gateway admins; every other
 * issuer gets `claims.adminGroupClaims: []`.
 *
 * @example
 * ```ts
 * const auth = createAuthenticator(authenticatorOptionsFromConfig(loadConfigFromEnv(process.env)))
 * ```
 */
export function authenticatorOptionsFromConfig(
  config: C7AuthConfig,
  extra: { logger?: LoggerLike; tracer?: Tracer } = {},
): AuthenticatorOptions {
  const issues: string[] = []
  const byIssuer = new Map<
    string,
    {
      audience: Set<string>
      jwksUri: string | undefined
      preset: IdpPreset
      from: string
      algorithms: string | undefined
      claims: string
    }
  >()
  const tenants: TenantOptions[] = []
  const g = config.gateway
  for (const t of config.tenants) {
    const key = `C7AUTH_TENANT_${t.envId}`
    // Global audiences are accepted for every tenant, in addition to the tenant's own.
    const audience = [...new Set([...(t.audience ?? []), ...(g.audience ?? [])])]
    tenants.push({
      id: t.id,
      clientIds: t.clientIds,
      ...(t.issuer === undefined ? {} : { issuer: t.issuer }),
      ...(t.audience === undefined || t.audience.length === 0 ? {} : { audience }),
      ...(t.defaultGroups.length === 0 ? {} : { defaultGroups: t.defaultGroups }),
    })
    if (t.issuer === undefined) continue
    // The environment has no tid allowlist: a templated issuer would accept every Entra directory.
    if (t.issuer.includes('{tenantid}')) {
      issues.push(
        `${key}_ISSUER: a templated issuer ({tenantid}) would accept tokens from any Entra ` +
          'directory; configure one tenant block per directory ' +
          '(https://login.microsoftonline.com/<tid>/v2.0) or use the programmatic API ' +
          '(createAuthenticator) with issuers[].allowedTenantIds',
      )
      continue
    }
    if (audience.length === 0) {
      issues.push(`${key}_AUDIENCE (or C7AUTH_GATEWAY_AUDIENCE) is required with ${key}_ISSUER`)
      continue
    }
    const preset = t.preset ?? 'generic'
    const algorithms = t.algorithms === undefined ? undefined : [...t.algorithms].sort().join(' ')
    const claims = JSON.stringify(t.claims ?? {})
    const entry = byIssuer.get(t.issuer)
    if (entry === undefined) {
      byIssuer.set(t.issuer, {
        audience: new Set(audience),
        jwksUri: t.jwksUri,
        preset,
        from: key,
        algorithms,
        claims,
      })
      continue
    }
    for (const a of audience) entry.audience.add(a)
    // Tenants sharing an issuer share its verification and mapping settings: they must agree.
    if (entry.preset !== preset) {
      issues.push(`${key}_PRESET differs from ${entry.from}_PRESET for one issuer`)
    }
    if (entry.algorithms !== algorithms) {
      issues.push(`${key}_ALGORITHMS differs from ${entry.from}_ALGORITHMS for one issuer`)
    }
    if (entry.claims !== claims) {
      issues.push(`${key}_CLAIM_* differ from ${entry.from}_CLAIM_* for one issuer`)
    }
    if (t.jwksUri !== undefined && entry.jwksUri !== undefined && t.jwksUri !== entry.jwksUri) {
      issues.push(`${key}_JWKS_URI differs from ${entry.from}_JWKS_URI for one issuer`)
    }
    entry.jwksUri ??= t.jwksUri
  }
  if (byIssuer.size === 0 && issues.length === 0) {
    issues.push('no tenant configures an issuer (C7AUTH_TENANT_<ID>_ISSUER)')
  }
  // Admin is opt-in per issuer (fail closed): a tenant's own IdP must not mint gateway admins.
  const adminIssuers = new Set(g.adminIssuers ?? [])
  if (g.adminGroups.length > 0 && adminIssuers.size === 0) {
    issues.push(
      'C7AUTH_GATEWAY_ADMIN_GROUPS requires C7AUTH_GATEWAY_ADMIN_ISSUERS (the issuers whose tokens may carry admin groups)',
    )
  }
  let entry = 0
  for (const issuer of adminIssuers) {
    entry++
    if (!byIssuer.has(issuer)) {
      issues.push(
        `C7AUTH_GATEWAY_ADMIN_ISSUERS: entry #${entry} is not the issuer of any configured tenant`,
      )
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)

  const issuers: IssuerOptions[] = [...byIssuer].map(([issuer, e]) => {
    const overrides = claimOverrides(JSON.parse(e.claims) as ClaimMappingOverrides)
    // Explicit either way, so `createAuthenticator` sees every issuer opted in or out.
    const adminGroupClaims = adminIssuers.has(issuer)
      ? resolveClaimMapping(e.preset, overrides).adminGroupClaims
      : []
    return {
      issuer,
      audience: [...e.audience],
      preset: e.preset,
      ...(e.jwksUri === undefined ? {} : { jwksUri: e.jwksUri }),
      ...(e.algorithms === undefined
        ? {}
        : { algorithms: e.algorithms.split(' ') as JwsAlgorithm[] }),
      claims: { ...overrides, adminGroupClaims },
    }
  })
  return {
    issuers,
    tenants,
    tenantMode: g.tenantMode,
    tenantClaim: g.tenantClaim,
    ...(g.fixedTenant === undefined ? {} : { fixedTenant: g.fixedTenant }),
    clockToleranceSeconds: g.clockToleranceSeconds,
    maxTokenLifetimeSeconds: g.maxTokenLifetimeSeconds,
    ...(g.maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeSeconds: g.maxTokenAgeSeconds }),
    requireTypAtJwt: g.requireTypAtJwt,
    idPattern: config.engine.idPattern,
    adminGroups: g.adminGroups,
    defaultGroups: g.defaultGroups,
    ...(extra.logger === undefined ? {} : { logger: extra.logger }),
    ...(extra.tracer === undefined ? {} : { tracer: extra.tracer }),
  }
}

function claimOverrides(c: ClaimMappingOverrides): ClaimMappingOptions {
  return {
    ...(c.userId === undefined ? {} : { userIdClaims: [c.userId] }),
    ...(c.groups === undefined ? {} : { groupClaims: [c.groups] }),
    ...(c.clientId === undefined ? {} : { clientIdClaims: [c.clientId] }),
    ...(c.scopes === undefined ? {} : { scopeClaims: [c.scopes] }),
  }
}

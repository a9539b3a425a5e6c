import { decodeJwt } from 'jose'
import { createTokenClient } from '@c7auth/core'
import type { C7AuthConfig, TenantConfig } from '@c7auth/core'
import { errorText } from './check.js'
import type { CheckResult, Fetch } from './check.js'
import { runEngineChecks } from './engine-checks.js'
import { checkTokenStore } from './token-store-check.js'

export type { CheckResult, CheckStatus } from './check.js'

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Per-request timeout, ms. Default: 10,000. */
  readonly timeoutMs?: number
}

/**
 * Checks a loaded configuration against the real IdP(s) and engine: everything that would
 * otherwise fail at the first request or silently weaken isolation. Sequential on purpose: an
 * operator reads the lines in order, and a broken IdP should not be hammered in parallel.
 */
export async function runDoctor(
  config: C7AuthConfig,
  options: DoctorOptions = {},
): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const results: CheckResult[] = []
  const get: Fetch = (url, init = {}) =>
    fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })

  // --- IdP: discovery and JWKS, once per issuer
  const issuers = new Map<string, TenantConfig>()
  for (const t of config.tenants) if (t.issuer !== undefined) issuers.set(t.issuer, t)
  for (const [issuer, tenant] of issuers) {
    let jwksUri = tenant.jwksUri
    const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
    try {
      const res = await get(discoveryUrl)
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown }
      if (doc.issuer !== issuer)
        results.push({
          id: `idp.discovery:${issuer}`,
          status: 'fail',
          detail: `discovery names issuer ${JSON.stringify(doc.issuer)}`,
          fix: 'set C7AUTH_TENANT_<ID>_ISSUER to exactly the issuer the IdP publishes',
        })
      else
        results.push({
          id: `idp.discovery:${issuer}`,
          status: 'ok',
          detail: 'discovery document parsed',
        })
      if (jwksUri === undefined && typeof doc.jwks_uri === 'string') jwksUri = doc.jwks_uri
    } catch (err) {
      results.push({
        id: `idp.discovery:${issuer}`,
        status: tenant.jwksUri === undefined ? 'fail' : 'warn',
        detail: `${discoveryUrl} unreachable or not JSON (${errorText(err)})`,
        fix: 'check the issuer URL and that the gateway host can reach the IdP',
      })
    }
    if (jwksUri === undefined) continue
    try {
      const res = await get(jwksUri)
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const jwks = (await res.json()) as { keys?: unknown }
      const keys = Array.isArray(jwks.keys) ? jwks.keys : []
      const usable = keys.filter(
        (k): k is { kty: string } =>
          typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string',
      )
      results.push(
        usable.length > 0
          ? { id: `idp.jwks:${issuer}`, status: 'ok', detail: `${usable.length} key(s)` }
          : {
              id: `idp.jwks:${issuer}`,
              status: 'fail',
              detail: 'JWKS holds no keys',
              fix: 'the IdP publishes no signing key at jwks_uri; check C7AUTH_TENANT_<ID>_JWKS_URI',
            },
      )
    } catch (err) {
      results.push({
        id: `idp.jwks:${issuer}`,
        status: 'fail',
        detail: `JWKS unreachable or not JSON (${errorText(err)})`,
        fix: 'check the JWKS URI (discovered or C7AUTH_TENANT_<ID>_JWKS_URI)',
      })
    }
  }

  // --- a token per worker client, mapped back to its tenant
  for (const tenant of config.tenants) {
    if (tenant.client === undefined) continue
    const id = `token:${tenant.id}`
    const { params, ...client } = tenant.client
    const tc = createTokenClient({ ...client, params, timeoutMs, retry: { minDelayMs: 0 } })
    try {
      const issued = await tc.getIssuedToken()
      results.push(checkClaims(id, issued.accessToken, tenant, config))
    } catch (err) {
      results.push({
        id,
        status: 'fail',
        detail: `no token (${errorText(err)})`,
        fix: `check C7AUTH_TENANT_${tenant.envId}_CLIENT_ID / _CLIENT_SECRET and the client's grants at the IdP`,
      })
    } finally {
      tc.close()
    }
  }

  // --- the shared token store, if one is configured
  if (config.tokenStore !== undefined && config.tokenStore.kind !== 'memory') {
    results.push(await checkTokenStore(config))
  }

  results.push(...(await runEngineChecks(config, get)))
  return results
}

function checkClaims(
  id: string,
  token: string,
  tenant: TenantConfig,
  config: C7AuthConfig,
): CheckResult {
  let claims: Record<string, unknown>
  try {
    claims = decodeJwt(token)
  } catch {
    return {
      id,
      status: 'warn',
      detail: 'token obtained but is not a JWT (opaque); the gateway verifies JWTs only',
      fix: 'configure the IdP to issue JWT access tokens for this client',
    }
  }
  const problems: string[] = []
  const azp = claims['azp'] ?? claims['client_id'] ?? claims['appid']
  if (
    config.gateway.tenantMode === 'app' &&
    !(typeof azp === 'string' && tenant.clientIds.includes(azp))
  )
    problems.push(`client id claim is not one of C7AUTH_TENANT_${tenant.envId}_CLIENT_IDS`)
  const accepted = [...(tenant.audience ?? []), ...(config.gateway.audience ?? [])]
  const aud = claims['aud']
  const auds = Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : []
  if (accepted.length > 0 && !auds.some((a) => accepted.includes(a as string)))
    problems.push('aud matches none of the accepted audiences')
  if (config.gateway.tenantMode === 'claim') {
    const value = config.gateway.tenantClaim
      .split('.')
      .reduce<unknown>(
        (o, k) =>
          typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined,
        claims,
      )
    if (value !== tenant.id)
      problems.push(`claim ${config.gateway.tenantClaim} does not name tenant ${tenant.id}`)
  }
  if (tenant.issuer !== undefined && claims['iss'] !== tenant.issuer)
    problems.push('iss differs from the configured issuer')
  return problems.length === 0
    ? { id, status: 'ok', detail: 'token obtained; aud/client/tenant map to this tenant' }
    : {
        id,
        status: 'fail',
        detail: `token obtained but ${problems.join('; ')}`,
        fix: 'align the IdP client (audience mapper, client id) with the tenant settings',
      }
}

/** Renders results one line each: `ok   id  detail — fix`. */
export function formatDoctorReport(results: readonly CheckResult[]): string {
  return results
    .map(
      (r) =>
        `${r.status.padEnd(4)} ${r.id}  ${r.detail}${r.fix === undefined ? '' : ` — fix: ${r.fix}`}`,
    )
    .join('\n')
}

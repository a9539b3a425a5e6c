import { decodeJwt } from 'jose'
import { randomBytes } from 'node:crypto'
import { createTokenClient, createTokenStoreFromConfig } from '@c7auth/core'
import type { C7AuthConfig, TenantConfig, TokenStoreEvent } from '@c7auth/core'

/** Outcome of one doctor check. */
export type CheckStatus = 'ok' | 'warn' | 'fail'

/** One line of the doctor's report. Never carries a token, secret or claim set. */
export interface CheckResult {
  /** Stable id, e.g. `idp.discovery`, `token:acme`, `engine.basic-auth`. */
  readonly id: string
  readonly status: CheckStatus
  /** What was seen (no secrets). */
  readonly detail: string
  /** How to fix it (warn/fail only). */
  readonly fix?: string
}

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
  const get = (url: string, init: RequestInit = {}): Promise<Response> =>
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

  // --- engine
  const engineUrl = config.engine.url.replace(/\/$/, '')
  const account = engineAccount(config)
  const auth =
    account === undefined
      ? undefined
      : `Basic ${Buffer.from(`${account.user}:${account.password}`).toString('base64')}`
  const headers: Record<string, string> = auth === undefined ? {} : { authorization: auth }

  try {
    const anon = await get(`${engineUrl}/version`)
    results.push(
      anon.status === 401 || anon.status === 403
        ? {
            id: 'engine.basic-auth',
            status: 'ok',
            detail: `anonymous request refused (${anon.status})`,
          }
        : {
            id: 'engine.basic-auth',
            status: 'fail',
            detail: `anonymous GET /version answered ${anon.status}`,
            fix: 'enable HTTP Basic authentication on engine-rest (camunda.bpm.run.auth.enabled=true or the ProcessEngineAuthenticationFilter); anyone reaching the engine bypasses the gateway',
          },
    )
  } catch (err) {
    results.push({
      id: 'engine.reachable',
      status: 'fail',
      detail: `${engineUrl} unreachable (${errorText(err)})`,
      fix: 'check C7AUTH_ENGINE_URL and the network path to the engine',
    })
    return results
  }

  try {
    const res = await get(`${engineUrl}/version`, { headers })
    if (res.ok) {
      const v = (await res.json()) as { version?: unknown }
      results.push({ id: 'engine.reachable', status: 'ok', detail: `version ${String(v.version)}` })
    } else
      results.push({
        id: 'engine.reachable',
        status: 'fail',
        detail: `GET /version with the configured account answered ${res.status}`,
        fix:
          res.status === 401
            ? 'the engine refuses the configured account: check C7AUTH_ENGINE_ADMIN_USER/_PASSWORD (or SERVICE_*), and that it is not locked'
            : 'check C7AUTH_ENGINE_URL points at engine-rest',
      })
  } catch (err) {
    results.push({ id: 'engine.reachable', status: 'fail', detail: errorText(err) })
  }

  if (account !== undefined) {
    try {
      const res = await get(`${engineUrl}/identity/verify`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ username: account.user, password: account.password }),
      })
      const body = res.ok ? ((await res.json()) as { authenticated?: unknown }) : {}
      results.push(
        body.authenticated === true
          ? { id: 'engine.account', status: 'ok', detail: `${account.role} account authenticates` }
          : {
              id: 'engine.account',
              status: 'fail',
              detail: `${account.role} account does not authenticate (HTTP ${res.status})`,
              fix: 'wrong password or the account is locked after failed logins: unlock it in the engine (PUT /user/{id}/unlock by another admin) and check the password',
            },
      )
    } catch (err) {
      results.push({ id: 'engine.account', status: 'fail', detail: errorText(err) })
    }
  }

  if (config.engine.auth === 'bridge') {
    try {
      const res = await get(`${engineUrl}/user`, { method: 'OPTIONS', headers })
      const body = res.ok ? ((await res.json()) as { links?: { rel?: unknown }[] }) : {}
      const canCreate = (body.links ?? []).some((l) => l.rel === 'create')
      results.push(
        res.status === 404 || res.status === 405
          ? {
              id: 'engine.identity-writable',
              status: 'warn',
              detail: `OPTIONS /user not answered (HTTP ${res.status}); cannot tell`,
              fix: 'make sure the identity service is writable (not LDAP read-only) for bridge mode',
            }
          : canCreate
            ? {
                id: 'engine.identity-writable',
                status: 'ok',
                detail: 'user creation offered to the admin',
              }
            : {
                id: 'engine.identity-writable',
                status: 'fail',
                detail: `OPTIONS /user offers no create link (HTTP ${res.status})`,
                fix: 'bridge mode needs a writable identity service (not LDAP read-only) and an admin account in the admin group',
              },
      )
    } catch (err) {
      results.push({ id: 'engine.identity-writable', status: 'fail', detail: errorText(err) })
    }
    try {
      const res = await get(`${engineUrl}/identity/password-policy`, { headers })
      results.push(
        res.status === 404
          ? { id: 'engine.password-policy', status: 'ok', detail: 'no password policy' }
          : res.ok
            ? {
                id: 'engine.password-policy',
                status: 'ok',
                detail:
                  'password policy on (bridge passwords are derived to satisfy the default policy)',
              }
            : {
                id: 'engine.password-policy',
                status: 'warn',
                detail: `GET /identity/password-policy answered ${res.status}`,
              },
      )
    } catch (err) {
      results.push({ id: 'engine.password-policy', status: 'warn', detail: errorText(err) })
    }
  }
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

function engineAccount(
  config: C7AuthConfig,
): { user: string; password: string; role: string } | undefined {
  const e = config.engine
  if (e.auth === 'bridge' && e.adminUser !== undefined && e.adminPassword !== undefined)
    return { user: e.adminUser, password: e.adminPassword, role: 'admin' }
  if (e.serviceUser !== undefined && e.servicePassword !== undefined)
    return { user: e.serviceUser, password: e.servicePassword, role: 'service' }
  if (e.adminUser !== undefined && e.adminPassword !== undefined)
    return { user: e.adminUser, password: e.adminPassword, role: 'admin' }
  return undefined
}

// Error messages of fetch/undici never hold a secret; cut them so a stack never ends up in a report.
/**
 * Writes, reads back and deletes a probe entry (a random value, never a token) through the real
 * store: reachability, permissions (PostgreSQL creates its schema) and the key ring together.
 */
async function checkTokenStore(config: C7AuthConfig): Promise<CheckResult> {
  const id = 'token-store'
  const events: TokenStoreEvent[] = []
  const fix =
    'check C7AUTH_TOKEN_STORE (host, port, credentials) and that this host can reach it; until then each replica keeps its own token cache'
  let shared
  try {
    shared = createTokenStoreFromConfig(config.tokenStore, { onEvent: (e) => events.push(e) })
  } catch (err) {
    return { id, status: 'fail', detail: errorText(err), fix }
  }
  if (shared === undefined) return { id, status: 'ok', detail: 'memory' }
  const store = shared.forTenant('c7auth-doctor')
  const key = `doctor|${randomBytes(8).toString('hex')}`
  const now = Date.now()
  const probe = randomBytes(16).toString('base64url')
  try {
    await store.set(
      key,
      { accessToken: probe, tokenType: 'probe', obtainedAt: now, expiresAt: now + 30_000 },
      30_000,
    )
    const back = await store.get(key)
    await store.delete(key)
    const down = events.find((e) => e.type === 'down')
    if (down !== undefined || !shared.shared) {
      return {
        id,
        status: 'fail',
        detail: `${down?.backend ?? 'store'} unreachable (${down?.reason ?? 'error'})`,
        fix,
      }
    }
    if (back?.accessToken !== probe) {
      return {
        id,
        status: 'fail',
        detail: 'the probe entry did not read back',
        fix: 'check C7AUTH_TOKEN_STORE_KEYS',
      }
    }
    return {
      id,
      status: 'ok',
      detail: `${config.tokenStore?.kind} store reachable, entries encrypted and read back`,
    }
  } catch (err) {
    return { id, status: 'fail', detail: errorText(err), fix }
  } finally {
    await shared.close()
  }
}

function errorText(err: unknown): string {
  const e = err as { message?: unknown; cause?: { code?: unknown } }
  const code = typeof e.cause?.code === 'string' ? `${e.cause.code}: ` : ''
  return `${code}${typeof e.message === 'string' ? e.message.slice(0, 200) : 'error'}`
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

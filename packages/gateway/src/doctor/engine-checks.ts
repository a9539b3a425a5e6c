import type { C7AuthConfig, Principal } from '@c7auth/core'
import { createAssertionSigner } from '../engine/assertion-signer.js'
import { probeHistoryLevel } from '../engine/history-level.js'
import { TYPE_VALIDATION_PROBE, classifyTypeValidation } from '../engine/type-validation.js'
import { errorText } from './check.js'
import type { CheckResult, Fetch } from './check.js'

/** A user id no engine has: the authorization probe asks what a stranger may do. */
const PROBE_USER = 'c7auth-doctor-probe'

/** The assertion the doctor signs in `assertion` mode: no groups, no tenants. */
const PROBE_PRINCIPAL: Principal = {
  kind: 'app',
  userId: PROBE_USER,
  groupIds: [],
  tenantIds: [],
  clientId: undefined,
  issuer: 'c7auth-doctor',
  subject: PROBE_USER,
  scopes: [],
  expiresAt: Number.MAX_SAFE_INTEGER,
  admin: false,
}

interface EngineAccount {
  readonly user: string
  readonly password: string
  readonly role: string
}

function engineAccount(config: C7AuthConfig): EngineAccount | undefined {
  const e = config.engine
  if (e.auth === 'bridge' && e.adminUser !== undefined && e.adminPassword !== undefined)
    return { user: e.adminUser, password: e.adminPassword, role: 'admin' }
  if (e.serviceUser !== undefined && e.servicePassword !== undefined)
    return { user: e.serviceUser, password: e.servicePassword, role: 'service' }
  if (e.adminUser !== undefined && e.adminPassword !== undefined)
    return { user: e.adminUser, password: e.adminPassword, role: 'admin' }
  return undefined
}

const basic = (a: EngineAccount): string =>
  `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}`

/**
 * The engine half of the doctor: engine-rest refuses anonymous calls, the configured account
 * authenticates, and the settings isolation leans on (authorization checks, history level,
 * identity service, password policy, the engine plugin, object type validation) are what the
 * gateway expects. Nothing is created on the engine (the one POST targets an instance that does
 * not exist).
 */
export async function runEngineChecks(config: C7AuthConfig, get: Fetch): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  const engineUrl = config.engine.url.replace(/\/$/, '')
  const account = engineAccount(config)
  const headers: Record<string, string> =
    account === undefined ? {} : { authorization: basic(account) }

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

  if (config.engine.auth === 'assertion') results.push(await pluginCheck(config, engineUrl, get))

  // assertion mode without a Basic account: the plugin line above already asked for the version
  if (account === undefined && config.engine.auth === 'assertion') return results
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

  if (account === undefined) return results
  results.push(await accountCheck(engineUrl, account, headers, get))
  results.push(await authorizationCheck(engineUrl, headers, get))
  results.push(await historyCheck(engineUrl, headers, get))
  if (config.engine.auth === 'bridge') {
    results.push(await identityWritableCheck(engineUrl, headers, get))
    results.push(await passwordPolicyCheck(engineUrl, headers, get))
  }
  results.push(await objectTypeValidationCheck(engineUrl, headers, get))
  return results
}

/** `/identity/verify` fails for a wrong password and for an account locked after failed logins. */
async function accountCheck(
  engineUrl: string,
  account: EngineAccount,
  headers: Record<string, string>,
  get: Fetch,
): Promise<CheckResult> {
  try {
    const res = await get(`${engineUrl}/identity/verify`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ username: account.user, password: account.password }),
    })
    const body = res.ok ? ((await res.json()) as { authenticated?: unknown }) : {}
    return body.authenticated === true
      ? { id: 'engine.account', status: 'ok', detail: `${account.role} account authenticates` }
      : {
          id: 'engine.account',
          status: 'fail',
          detail: `${account.role} account does not authenticate (HTTP ${res.status})`,
          fix: 'wrong password or the account is locked after failed logins: unlock it in the engine (PUT /user/{id}/unlock by another admin) and check the password',
        }
  } catch (err) {
    return { id: 'engine.account', status: 'fail', detail: errorText(err) }
  }
}

/**
 * With authorization checks off, the engine's authorization service says yes to anyone: asking
 * what a user that does not exist may do on an application tells whether they are on.
 */
async function authorizationCheck(
  engineUrl: string,
  headers: Record<string, string>,
  get: Fetch,
): Promise<CheckResult> {
  const id = 'engine.authorization'
  const query = new URLSearchParams({
    permissionName: 'ACCESS',
    resourceName: 'application',
    resourceType: '0',
    resourceId: PROBE_USER,
    userId: PROBE_USER,
  })
  try {
    const res = await get(`${engineUrl}/authorization/check?${query.toString()}`, { headers })
    if (!res.ok)
      return {
        id,
        status: 'warn',
        detail: `GET /authorization/check answered ${res.status}; cannot tell`,
        fix: 'give the configured account READ on the Authorization resource, or check by hand that camunda.bpm.authorization.enabled=true',
      }
    const body = (await res.json()) as { authorized?: unknown }
    return body.authorized === false
      ? { id, status: 'ok', detail: 'authorization checks on (a stranger is refused)' }
      : {
          id,
          status: 'fail',
          detail:
            'a user that does not exist is authorized: authorization checks are off (or a global GRANT covers everyone)',
          fix: 'set camunda.bpm.authorization.enabled=true (authorizationEnabled) and remove global grants; without it every engine user may do everything the REST API offers',
        }
  } catch (err) {
    return { id, status: 'warn', detail: errorText(err) }
  }
}

async function count(get: Fetch, url: string, headers: Record<string, string>): Promise<number> {
  const res = await get(url, { headers })
  if (!res.ok) throw new Error(`${new URL(url).pathname} answered HTTP ${res.status}`)
  const body = (await res.json()) as { count?: unknown }
  if (typeof body.count !== 'number') throw new Error('count missing')
  return body.count
}

/** The engine's history level (see {@link probeHistoryLevel}): only `full` records who did what. */
async function historyCheck(
  engineUrl: string,
  headers: Record<string, string>,
  get: Fetch,
): Promise<CheckResult> {
  const id = 'engine.history-level'
  const fix =
    'set camunda.bpm.history-level=full: the user operation log records who did what through the gateway only at FULL'
  try {
    const { level, detail } = await probeHistoryLevel((path) =>
      count(get, `${engineUrl}${path}`, headers),
    )
    if (level === 'full') return { id, status: 'ok', detail: `${detail} (level full)` }
    if (level === 'unknown') {
      return {
        id,
        status: 'warn',
        detail: 'no variables written yet; the level shows once a process sets one',
        fix: 'make sure camunda.bpm.history-level=full; rerun the doctor after the first process ran',
      }
    }
    return { id, status: 'fail', detail: `${detail}: level ${level}`, fix }
  } catch (err) {
    return { id, status: 'warn', detail: `cannot tell (${errorText(err)})`, fix }
  }
}

async function identityWritableCheck(
  engineUrl: string,
  headers: Record<string, string>,
  get: Fetch,
): Promise<CheckResult> {
  const id = 'engine.identity-writable'
  try {
    const res = await get(`${engineUrl}/user`, { method: 'OPTIONS', headers })
    const body = res.ok ? ((await res.json()) as { links?: { rel?: unknown }[] }) : {}
    const canCreate = (body.links ?? []).some((l) => l.rel === 'create')
    if (res.status === 404 || res.status === 405)
      return {
        id,
        status: 'warn',
        detail: `OPTIONS /user not answered (HTTP ${res.status}); cannot tell`,
        fix: 'make sure the identity service is writable (not LDAP read-only) for bridge mode',
      }
    return canCreate
      ? { id, status: 'ok', detail: 'user creation offered to the admin' }
      : {
          id,
          status: 'fail',
          detail: `OPTIONS /user offers no create link (HTTP ${res.status})`,
          fix: 'bridge mode needs a writable identity service (not LDAP read-only) and an admin account in the admin group',
        }
  } catch (err) {
    return { id, status: 'fail', detail: errorText(err) }
  }
}

async function passwordPolicyCheck(
  engineUrl: string,
  headers: Record<string, string>,
  get: Fetch,
): Promise<CheckResult> {
  const id = 'engine.password-policy'
  try {
    const res = await get(`${engineUrl}/identity/password-policy`, { headers })
    if (res.status === 404) return { id, status: 'ok', detail: 'no password policy' }
    return res.ok
      ? {
          id,
          status: 'ok',
          detail: 'password policy on (bridge passwords are derived to satisfy the default policy)',
        }
      : { id, status: 'warn', detail: `GET /identity/password-policy answered ${res.status}` }
  } catch (err) {
    return { id, status: 'warn', detail: errorText(err) }
  }
}

/**
 * `assertion` mode: signs the same kind of assertion the gateway will send and asks for the
 * version with it. Only the c7auth engine plugin, trusting this key, issuer and audience, says yes.
 */
async function pluginCheck(
  config: C7AuthConfig,
  engineUrl: string,
  get: Fetch,
): Promise<CheckResult> {
  const id = 'engine.plugin'
  const settings = config.engine.assertion
  if (settings === undefined)
    return {
      id,
      status: 'fail',
      detail: 'assertion mode without signing settings',
      fix: 'set C7AUTH_ENGINE_ASSERTION_ISSUER, _AUDIENCE and _KEY',
    }
  try {
    const signer = createAssertionSigner({ ...settings, groupsOf: () => [] })
    const assertion = await signer.assertionFor(PROBE_PRINCIPAL)
    const res = await get(`${engineUrl}/version`, {
      headers: { authorization: `Bearer ${assertion}` },
    })
    return res.ok
      ? { id, status: 'ok', detail: "the engine accepts the gateway's signed assertions" }
      : {
          id,
          status: 'fail',
          detail: `a signed assertion was refused (HTTP ${res.status})`,
          fix: 'install the c7auth engine plugin as the engine-rest authentication provider, and make its C7AUTH_PLUGIN_ISSUER/_AUDIENCE/_JWKS_URL match the gateway (the JWKS must be reachable from the engine)',
        }
  } catch (err) {
    return { id, status: 'fail', detail: errorText(err) }
  }
}

/**
 * Whether the engine validates the classes of object variables it deserializes (T31): engine
 * configuration engine-rest does not show, so the doctor asks with the type validation probe (a
 * binary variable upload to a process instance that does not exist; nothing is written).
 */
async function objectTypeValidationCheck(
  engineUrl: string,
  headers: Record<string, string>,
  get: Fetch,
): Promise<CheckResult> {
  const id = 'engine.object-type-validation'
  const fix =
    'set deserializationTypeValidationEnabled=true (with an allowlist of your types) in the engine configuration, so a tenant cannot make the engine instantiate arbitrary classes'
  try {
    const res = await get(`${engineUrl}${TYPE_VALIDATION_PROBE.path}`, {
      method: TYPE_VALIDATION_PROBE.method,
      headers: { ...headers, 'content-type': TYPE_VALIDATION_PROBE.contentType },
      body: TYPE_VALIDATION_PROBE.body,
    })
    const report = classifyTypeValidation(res.status, (await res.text()).slice(0, 2000))
    if (report.state === 'enabled') return { id, status: 'ok', detail: report.detail }
    return { id, status: 'warn', detail: report.detail, fix }
  } catch (err) {
    return { id, status: 'warn', detail: `type validation probe failed: ${errorText(err)}`, fix }
  }
}

import type { Tracer } from '@opentelemetry/api'
import { inSpan } from '../observability/tracing.js'
import NodeCache from 'node-cache'
import type { Dispatcher } from 'undici'
import type { Logger } from 'pino'
import { C7AuthError, ConfigError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { deriveBridgePassword } from './bridge-password.js'
import { basicAuth, createAdminClient, engineJson } from './engine-client.js'
import { engineGroupsOf } from './engine-groups.js'
import type { AdminClient, EngineEndpoint, JsonResult } from './engine-client.js'
import type { GatewayHooks } from './types.js'

/** Options of {@link createIdentityBridge}. */
export interface IdentityBridgeOptions {
  readonly endpoint: EngineEndpoint
  /** Engine admin account used only for provisioning, repair and bootstrap. */
  readonly adminUser: string
  readonly adminPassword: string
  /** Secret the users' passwords are derived from. Same value on every replica. */
  readonly secret: string
  /** The engine's admin group (`camunda-admin`, Operaton `operaton-admin`). */
  readonly adminGroup: string
  /** Groups every principal of a kind joins. */
  readonly defaultGroups: { readonly app: readonly string[]; readonly user: readonly string[] }
  /** Groups every principal acting in a tenant joins, by tenant id. */
  readonly tenantDefaultGroups?: Readonly<Record<string, readonly string[]>>
  /** Mapped token groups that may be provisioned; others are ignored. */
  readonly groupAllowlist: readonly string[]
  /** Regex source every id must fully match. Default `[a-zA-Z0-9]+`. */
  readonly idPattern?: string
  /** Admin call timeout, ms. Default 10 000. */
  readonly timeoutMs?: number
  /** How long a provisioning result is trusted, seconds. Default 900. */
  readonly cacheTtlSeconds?: number
  /** Minimum time between two repairs of the same user, ms. Default 30 000. */
  readonly repairIntervalMs?: number
  /** Global repair budget per minute. Default 30. */
  readonly maxRepairsPerMinute?: number
  /** Id of the canary user checked at startup. Default `c7authcanary`. */
  readonly canaryUserId?: string
  /** Gateway admins join the engine admin group (so admin routes work with authorization on). Default true. */
  readonly adminPrincipalsJoinAdminGroup?: boolean
  /**
   * Group that marks the engine users the bridge created (and so may manage). Every user the bridge
   * creates joins it; an existing user outside it is never touched (no membership change, no
   * credential reset). Never granted from a token. Must match the id pattern. Default `c7authbridged`.
   */
  readonly markerGroupId?: string
  /**
   * One-time migration from bridge versions without the marker group: adopt existing engine users
   * outside the marker group (add them to it, then manage them). Members of the engine admin group
   * are never adopted. Default false; switch it off again once the old users were seen.
   */
  readonly adoptExistingUsers?: boolean
  /** Share an admin client (and its call count / lockout guard) with the tenant bootstrap. */
  readonly admin?: AdminClient
  readonly hooks?: GatewayHooks
  readonly logger?: Logger
  /** Traces provisioning (a span per provisioning run, child of the request's span). */
  readonly tracer?: Tracer | undefined
}

/** Outcome of the startup canary check. */
export interface CanaryReport {
  readonly userId: string
  /** `created`: new canary; `ok`: the secret matches; `rotated`: it did not and was repaired. */
  readonly status: 'created' | 'ok' | 'rotated'
}

/** The identity bridge: makes principals real engine users and answers their Basic credentials. */
export interface IdentityBridge {
  /**
   * Provisions (once, cached) and returns the `Authorization` header to forward as the principal.
   * Throws `C7AUTH_BRIDGE_FAILED` for an existing engine user outside the marker group (not created
   * by the bridge), without touching it.
   */
  ensure(principal: Principal): Promise<{ authorization: string }>
  /**
   * Resets the user's credentials and unlocks it (rate-limited). True when repaired. Throws
   * `C7AUTH_BRIDGE_FAILED` for a user outside the marker group.
   */
  repair(userId: string): Promise<boolean>
  /** Creates the tenant or updates its name. Idempotent. */
  ensureTenant(id: string, name?: string): Promise<'created' | 'updated' | 'unchanged'>
  /** Creates the group when missing. Idempotent. */
  ensureGroup(id: string): Promise<'created' | 'unchanged'>
  /** Startup check that the secret works (and that the identity service is writable). */
  checkCanary(): Promise<CanaryReport>
  /** The canary's `Authorization` header (readiness probes; never an admin credential). */
  canaryAuthorization(): string
  /** Forget a user's cached provisioning. */
  invalidate(userId: string): void
  /** One admin call (counted, guarded against admin lockout). */
  adminCall(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<JsonResult>
  /** Admin calls made so far. */
  readonly adminCalls: number
  /** The group that marks the users the bridge created and manages. */
  readonly markerGroupId: string
  close(): void
}

/** Default id of the group that marks the engine users the bridge created. */
export const DEFAULT_MARKER_GROUP = 'c7authbridged'

/** How long a refusal (existing user outside the marker group) is remembered, ms. */
const REFUSAL_MEMORY_MS = 10_000

interface Provisioned {
  readonly fingerprint: string
  readonly authorization: string
}

const enc = encodeURIComponent

/**
 * Creates the identity bridge.
 *
 * @example
 * ```ts
 * const bridge = createIdentityBridge({ endpoint, adminUser: 'admin', adminPassword, secret,
 *   adminGroup: 'camunda-admin', defaultGroups: { app: ['apps'], user: [] }, groupAllowlist: [] })
 * const { authorization } = await bridge.ensure(principal) // Basic … for that user
 * ```
 */
export function createIdentityBridge(options: IdentityBridgeOptions): IdentityBridge {
  const timeoutMs = options.timeoutMs ?? 10_000
  const idRegex = new RegExp(`^(?:${options.idPattern ?? '[a-zA-Z0-9]+'})$`)
  const canaryId = options.canaryUserId ?? 'c7authcanary'
  const managedGroups = new Set<string>([
    ...options.groupAllowlist,
    ...options.defaultGroups.app,
    ...options.defaultGroups.user,
    ...Object.values(options.tenantDefaultGroups ?? {}).flat(),
    options.adminGroup,
  ])
  const cache = new NodeCache({
    stdTTL: options.cacheTtlSeconds ?? 900,
    checkperiod: 120,
    useClones: false,
    maxKeys: 200_000,
  })
  const markerGroup = options.markerGroupId ?? DEFAULT_MARKER_GROUP
  if (!/^[a-zA-Z0-9]+$/.test(markerGroup) || !validId(markerGroup)) {
    throw new ConfigError([
      `bridge marker group ${JSON.stringify(markerGroup)} must match [a-zA-Z0-9]+ and the engine id pattern`,
    ])
  }
  if (managedGroups.has(markerGroup)) {
    throw new ConfigError([
      `bridge marker group ${JSON.stringify(markerGroup)} must not be the engine admin group, a default group or an allowlisted group`,
    ])
  }
  // short memory of refused users, so a token for a foreign engine user cannot make every request cost admin calls
  const refused = new Map<string, number>()
  const knownTenants = new Set<string>()
  // the engine's admin group always exists and is allowed by the engine's own id pattern
  const knownGroups = new Set<string>([options.adminGroup])
  const inflight = new Map<string, Promise<unknown>>()
  const lastRepair = new Map<string, number>()
  const repairWindow: number[] = []
  const passwords = new Map<string, string>()
  const log = options.logger

  function validId(id: string): boolean {
    return id.length > 0 && id.length <= 64 && /^[\x21-\x7e]+$/.test(id) && idRegex.test(id)
  }

  function passwordOf(userId: string): string {
    let pw = passwords.get(userId)
    if (pw === undefined) {
      pw = deriveBridgePassword(options.secret, userId)
      if (passwords.size > 100_000) passwords.clear()
      passwords.set(userId, pw)
    }
    return pw
  }

  function fail(detail: string, message?: string): C7AuthError {
    return new C7AuthError('C7AUTH_BRIDGE_FAILED', message ? { detail, message } : { detail })
  }

  const admin =
    options.admin ??
    createAdminClient({
      endpoint: options.endpoint,
      user: options.adminUser,
      password: options.adminPassword,
      timeoutMs,
      onCall: options.hooks?.onAdminCall?.bind(options.hooks),
      onRejected: () =>
        log?.error(
          { adminUser: options.adminUser },
          'engine rejected the bridge admin credentials; provisioning disabled until restart',
        ),
    })
  const adminCall = (method: Dispatcher.HttpMethod, path: string, body?: unknown) =>
    admin.call(method, path, body)

  function unexpected(what: string, r: JsonResult): C7AuthError {
    if (r.status === 401) return fail(`${what}: admin credentials rejected`)
    const msg =
      typeof r.body === 'object' && r.body !== null && 'message' in r.body
        ? String((r.body as { message: unknown }).message)
        : ''
    if (r.status === 403 && /read-only/i.test(msg)) {
      return fail(`${what}: the engine's identity service is read-only (LDAP/SSO plugin)`)
    }
    return fail(`${what}: engine answered ${r.status} ${msg.slice(0, 200)}`)
  }

  async function ensureTenant(
    id: string,
    name?: string,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    if (!validId(id)) throw fail(`tenant id ${JSON.stringify(id)} does not match the id pattern`)
    const wanted = name ?? id
    const got = await adminCall('GET', `/tenant/${enc(id)}`)
    if (got.status === 200) {
      knownTenants.add(id)
      const current = (got.body as { name?: unknown } | undefined)?.name
      if (name === undefined || current === wanted) return 'unchanged'
      const put = await adminCall('PUT', `/tenant/${enc(id)}`, { id, name: wanted })
      if (put.status !== 204) throw unexpected(`update tenant ${id}`, put)
      return 'updated'
    }
    if (got.status !== 404) throw unexpected(`read tenant ${id}`, got)
    const created = await adminCall('POST', '/tenant/create', { id, name: wanted })
    if (created.status === 204 || created.status === 200 || created.status === 400) {
      // 400 = created concurrently by another replica: the tenant exists, as wanted
      knownTenants.add(id)
      return created.status === 400 ? 'unchanged' : 'created'
    }
    throw unexpected(`create tenant ${id}`, created)
  }

  async function ensureGroup(id: string): Promise<'created' | 'unchanged'> {
    if (id !== options.adminGroup && !validId(id))
      throw fail(`group id ${JSON.stringify(id)} does not match the id pattern`)
    const got = await adminCall('GET', `/group/${enc(id)}`)
    if (got.status === 200) {
      knownGroups.add(id)
      return 'unchanged'
    }
    if (got.status !== 404) throw unexpected(`read group ${id}`, got)
    const created = await adminCall(
      'POST',
      '/group/create',
      id === markerGroup
        ? { id, name: 'c7auth bridged users', type: 'SYSTEM' }
        : { id, name: id, type: 'c7auth' },
    )
    if (created.status === 204 || created.status === 200 || created.status === 400) {
      knownGroups.add(id)
      return created.status === 400 ? 'unchanged' : 'created'
    }
    throw unexpected(`create group ${id}`, created)
  }

  function desiredGroups(p: Principal): string[] {
    const out = new Set(engineGroupsOf(p, options, validId))
    out.add(markerGroup) // never from a token: the allowlist cannot contain it (checked above)
    return [...out].sort()
  }

  function idsOf(body: unknown): string[] {
    return Array.isArray(body)
      ? body
          .map((x) => (x as { id?: unknown }).id)
          .filter((x): x is string => typeof x === 'string')
      : []
  }

  /** Creates the user and marks it as the bridge's. False when it already exists. */
  async function createUser(userId: string): Promise<boolean> {
    const r = await adminCall('POST', '/user/create', {
      profile: { id: userId },
      credentials: { password: passwordOf(userId) },
    })
    if (r.status === 400) return false // already exists
    if (r.status !== 204 && r.status !== 200) throw unexpected(`create user ${userId}`, r)
    await markCreated(userId)
    return true
  }

  async function markCreated(userId: string): Promise<void> {
    if (!knownGroups.has(markerGroup)) await ensureGroup(markerGroup)
    try {
      await addMembership('group', markerGroup, userId)
    } catch (err) {
      // an unmarked user would be refused for good: take back the user created a moment ago
      await adminCall('DELETE', `/user/${enc(userId)}`).catch(() => undefined)
      throw err
    }
  }

  async function groupsOfUser(userId: string): Promise<string[]> {
    const r = await adminCall('GET', `/group?member=${enc(userId)}`)
    if (r.status !== 200) throw unexpected(`read groups of ${userId}`, r)
    return idsOf(r.body)
  }

  /** The error for an engine user the bridge did not create; logged, never touched. */
  function refuse(userId: string, why: string, remember: boolean): C7AuthError {
    if (remember) {
      if (refused.size > 10_000) refused.clear()
      refused.set(userId, Date.now() + REFUSAL_MEMORY_MS)
    }
    log?.warn({ userId, markerGroup }, `bridge refuses to manage engine user: ${why}`)
    return fail(
      `engine user ${userId} ${why}; add it to group ${markerGroup} if the bridge may manage it`,
    )
  }

  /** An existing user outside the marker group: refused, or adopted during a migration. */
  async function adoptOrRefuse(userId: string, currentGroups: string[]): Promise<string[]> {
    if (options.adoptExistingUsers !== true) {
      throw refuse(userId, `exists but was not created by the bridge (not in ${markerGroup})`, true)
    }
    if (currentGroups.includes(options.adminGroup)) {
      throw refuse(userId, `is in ${options.adminGroup}; engine admins are never adopted`, true)
    }
    if (!knownGroups.has(markerGroup)) await ensureGroup(markerGroup)
    await addMembership('group', markerGroup, userId)
    log?.warn({ userId, markerGroup }, 'bridge adopted an existing engine user')
    return [...currentGroups, markerGroup]
  }

  async function addMembership(kind: 'tenant' | 'group', target: string, userId: string) {
    const path =
      kind === 'tenant'
        ? `/tenant/${enc(target)}/user-members/${enc(userId)}`
        : `/group/${enc(target)}/members/${enc(userId)}`
    const r = await adminCall('PUT', path)
    if (r.status === 204 || r.status === 200) return
    if (r.status === 500) {
      // duplicate key (added concurrently): fine if the membership is there now
      const list =
        kind === 'tenant'
          ? await adminCall('GET', `/tenant?userMember=${enc(userId)}`)
          : await adminCall('GET', `/group?member=${enc(userId)}`)
      if (idsOf(list.body).includes(target)) return
    }
    throw unexpected(`add ${userId} to ${kind} ${target}`, r)
  }

  async function removeMembership(kind: 'tenant' | 'group', target: string, userId: string) {
    const path =
      kind === 'tenant'
        ? `/tenant/${enc(target)}/user-members/${enc(userId)}`
        : `/group/${enc(target)}/members/${enc(userId)}`
    const r = await adminCall('DELETE', path)
    if (r.status !== 204 && r.status !== 200)
      throw unexpected(`remove ${userId} from ${kind} ${target}`, r)
  }

  async function provision(p: Principal, fingerprint: string, tenants: string[], groups: string[]) {
    const before = admin.calls
    const created = await createUser(p.userId)
    let currentTenants: string[] = []
    let currentGroups: string[] = [markerGroup]
    if (!created) {
      // only users the bridge created are managed: an operator's own account is never rewritten
      currentGroups = await groupsOfUser(p.userId)
      if (!currentGroups.includes(markerGroup))
        currentGroups = await adoptOrRefuse(p.userId, currentGroups)
      currentTenants = idsOf((await adminCall('GET', `/tenant?userMember=${enc(p.userId)}`)).body)
    }
    for (const t of tenants) if (!knownTenants.has(t)) await ensureTenant(t)
    for (const g of groups) if (!knownGroups.has(g)) await ensureGroup(g)
    for (const t of tenants)
      if (!currentTenants.includes(t)) await addMembership('tenant', t, p.userId)
    for (const t of currentTenants)
      if (!tenants.includes(t)) await removeMembership('tenant', t, p.userId)
    for (const g of groups)
      if (!currentGroups.includes(g)) await addMembership('group', g, p.userId)
    for (const g of currentGroups) {
      if (managedGroups.has(g) && !groups.includes(g)) await removeMembership('group', g, p.userId)
    }
    const entry: Provisioned = {
      fingerprint,
      authorization: basicAuth(p.userId, passwordOf(p.userId)),
    }
    cache.set(p.userId, entry)
    options.hooks?.onProvision?.({ userId: p.userId, created, adminCalls: admin.calls - before })
    log?.info(
      { userId: p.userId, created, tenants, groups, adminCalls: admin.calls - before },
      'bridge provisioned user',
    )
    return entry
  }

  async function ensure(p: Principal): Promise<{ authorization: string }> {
    const userId = p.userId
    if (!validId(userId)) throw fail(`user id does not match the engine id pattern`)
    if (
      userId.toLowerCase() === options.adminUser.toLowerCase() ||
      userId.toLowerCase() === canaryId.toLowerCase()
    ) {
      throw fail(`principal user id collides with the bridge's own account`)
    }
    const tenants = [...new Set(p.tenantIds)].sort()
    for (const t of tenants) if (!validId(t)) throw fail(`tenant id does not match the id pattern`)
    const groups = desiredGroups(p)
    const fingerprint = `${tenants.join(',')}|${groups.join(',')}`
    const refusedUntil = refused.get(userId)
    if (refusedUntil !== undefined) {
      if (refusedUntil > Date.now())
        throw fail(`engine user ${userId} was not created by the bridge (refused recently)`)
      refused.delete(userId)
    }
    for (;;) {
      const hit = cache.get<Provisioned>(userId)
      if (hit && hit.fingerprint === fingerprint) return { authorization: hit.authorization }
      const running = inflight.get(userId)
      if (running) {
        await running // a failed provisioning fails its waiters too, instead of retrying N times
        continue
      }
      const tracer = options.tracer
      const job =
        tracer === undefined
          ? provision(p, fingerprint, tenants, groups)
          : inSpan(tracer, 'c7auth.bridge.provision', { 'c7auth.principal.kind': p.kind }, () =>
              provision(p, fingerprint, tenants, groups),
            )
      inflight.set(userId, job)
      try {
        const entry = await job
        return { authorization: entry.authorization }
      } finally {
        inflight.delete(userId)
      }
    }
  }

  async function repair(userId: string): Promise<boolean> {
    const now = Date.now()
    const last = lastRepair.get(userId)
    if (last !== undefined && now - last < (options.repairIntervalMs ?? 30_000)) return false
    while (repairWindow.length > 0 && now - repairWindow[0]! > 60_000) repairWindow.shift()
    if (repairWindow.length >= (options.maxRepairsPerMinute ?? 30)) return false
    repairWindow.push(now)
    lastRepair.set(userId, now)
    if (lastRepair.size > 100_000) lastRepair.clear()
    let ok = false
    try {
      if (!(await groupsOfUser(userId)).includes(markerGroup)) {
        cache.del(userId) // a deleted user is recreated (and marked) by the next ensure()
        throw refuse(userId, `is not in ${markerGroup}: its credentials are never reset`, false)
      }
      const put = await adminCall('PUT', `/user/${enc(userId)}/credentials`, {
        password: passwordOf(userId),
        authenticatedUserPassword: options.adminPassword,
      })
      if (put.status === 404) {
        cache.del(userId) // deleted in the engine: the next ensure() recreates it
      } else if (put.status !== 204 && put.status !== 200) {
        throw unexpected(`reset credentials of ${userId}`, put)
      }
      // a reset does not clear the lock; unlock needs the admin group
      const unlock = await adminCall('POST', `/user/${enc(userId)}/unlock`)
      if (unlock.status !== 204 && unlock.status !== 200 && unlock.status !== 404) {
        throw unexpected(`unlock ${userId}`, unlock)
      }
      ok = true
      return true
    } finally {
      options.hooks?.onRepair?.({ userId, ok })
      log?.warn({ userId, ok }, 'bridge repaired user credentials after an engine 401')
    }
  }

  async function checkCanary(): Promise<CanaryReport> {
    const r = await adminCall('POST', '/user/create', {
      profile: { id: canaryId },
      credentials: { password: passwordOf(canaryId) },
    })
    if (r.status === 403) {
      throw new ConfigError([
        `C7AUTH_ENGINE_AUTH=bridge needs a writable identity service, but the engine's is read-only ` +
          `(LDAP or SSO identity plugin). Use C7AUTH_ENGINE_AUTH=service or header instead.`,
      ])
    }
    if (r.status === 401) {
      throw new ConfigError([
        'the engine rejected the bridge admin account (C7AUTH_ENGINE_ADMIN_USER/PASSWORD)',
      ])
    }
    if (r.status !== 204 && r.status !== 200 && r.status !== 400)
      throw unexpected('create canary', r)
    if (r.status !== 400) {
      await markCreated(canaryId)
      return { userId: canaryId, status: 'created' }
    }
    if (!knownGroups.has(markerGroup)) await ensureGroup(markerGroup)
    const marked = (await groupsOfUser(canaryId)).includes(markerGroup)
    const probe = await engineJson(options.endpoint, 'GET', `/user/${enc(canaryId)}/profile`, {
      authorization: canaryAuthorization(),
      timeoutMs,
    })
    if (!marked) {
      // a canary from a bridge version without the marker: its derived password proves it is ours
      if (probe.status === 200 || options.adoptExistingUsers === true) {
        await addMembership('group', markerGroup, canaryId)
      } else {
        throw new ConfigError([
          `the bridge canary user ${canaryId} exists, is not in group ${markerGroup} and rejects the ` +
            `password derived from C7AUTH_BRIDGE_SECRET: it was not created by this bridge (or the ` +
            `secret changed during the upgrade). Add it to group ${markerGroup} or delete it, then restart.`,
        ])
      }
    }
    if (probe.status !== 401) return { userId: canaryId, status: 'ok' }
    log?.warn(
      { canary: canaryId },
      'bridge secret does not match the canary user: the secret changed or replicas disagree; ' +
        'users are repaired on their next request',
    )
    lastRepair.delete(canaryId)
    await repair(canaryId)
    return { userId: canaryId, status: 'rotated' }
  }

  function canaryAuthorization(): string {
    return basicAuth(canaryId, passwordOf(canaryId))
  }

  return {
    ensure,
    repair,
    ensureTenant,
    ensureGroup,
    checkCanary,
    canaryAuthorization,
    invalidate: (userId) => {
      cache.del(userId)
      refused.delete(userId)
    },
    adminCall,
    get adminCalls() {
      return admin.calls
    },
    markerGroupId: markerGroup,
    close: () => cache.close(),
  }
}

import { ConfigError, UpstreamError } from '@c7auth/core'
import type { C7AuthError, EngineAuthorizationsMode } from '@c7auth/core'
import type { AdminClient } from './engine-client.js'
import type { IdentityBridge } from './identity-bridge.js'

/** One authorization the bootstrap makes sure exists (a GRANT for a group). */
export interface AuthorizationGrant {
  readonly groupId: string
  /** Camunda resource type id (`Resources.java`): 6 process definition, 7 task, 8 process instance, … */
  readonly resourceType: number
  /** Resource id or `*`. */
  readonly resourceId: string
  /** Permission names, e.g. `READ`, `CREATE_INSTANCE`. */
  readonly permissions: readonly string[]
}

/**
 * What a tenant app's worker and API calls need on an engine with authorization checks enabled
 * (from the engine's command checkers). Grant it to the default `app` group.
 *
 * @example
 * ```ts
 * createGateway({ config, authorizations: appAuthorizations('c7authapps') })
 * ```
 */
export function appAuthorizations(groupId: string): AuthorizationGrant[] {
  return [
    {
      groupId,
      resourceType: 6,
      resourceId: '*',
      permissions: [
        'READ',
        'CREATE_INSTANCE',
        'READ_INSTANCE',
        'UPDATE_INSTANCE',
        'READ_TASK',
        'UPDATE_TASK',
        'TASK_WORK',
        'READ_HISTORY',
      ],
    },
    { groupId, resourceType: 8, resourceId: '*', permissions: ['CREATE', 'READ', 'UPDATE'] },
    { groupId, resourceType: 7, resourceId: '*', permissions: ['READ', 'UPDATE', 'TASK_WORK'] },
    { groupId, resourceType: 9, resourceId: '*', permissions: ['CREATE', 'READ'] },
    { groupId, resourceType: 10, resourceId: '*', permissions: ['READ', 'CREATE_INSTANCE'] },
  ]
}

/**
 * What a user group needs to work on tasks on an engine with authorization checks enabled: read
 * process definitions, their instances and tasks, and work (claim, complete) tasks.
 *
 * @example
 * ```ts
 * createGateway({ config, authorizations: userAuthorizations('c7authusers') })
 * ```
 */
export function userAuthorizations(groupId: string): AuthorizationGrant[] {
  return [
    {
      groupId,
      resourceType: 6,
      resourceId: '*',
      permissions: ['READ', 'READ_TASK', 'TASK_WORK', 'READ_INSTANCE'],
    },
    { groupId, resourceType: 7, resourceId: '*', permissions: ['READ', 'TASK_WORK'] },
    { groupId, resourceType: 8, resourceId: '*', permissions: ['READ'] },
  ]
}

/**
 * The grants `C7AUTH_ENGINE_AUTHORIZATIONS` stands for: `apps` → {@link appAuthorizations} for
 * every default app group, `apps+users` → also {@link userAuthorizations} for every default user
 * group, `none` → nothing.
 *
 * @example
 * ```ts
 * configuredAuthorizations('apps', { app: ['apps'], user: [] }) // appAuthorizations('apps')
 * ```
 */
export function configuredAuthorizations(
  mode: EngineAuthorizationsMode | undefined,
  defaultGroups: { readonly app: readonly string[]; readonly user: readonly string[] },
): AuthorizationGrant[] {
  if (mode === undefined || mode === 'none') return []
  const grants = [...new Set(defaultGroups.app)].flatMap(appAuthorizations)
  if (mode === 'apps+users')
    grants.push(...[...new Set(defaultGroups.user)].flatMap(userAuthorizations))
  return grants
}

/** What the startup bootstrap did. */
export interface TenantBootstrapReport {
  readonly tenants: { created: string[]; updated: string[]; unchanged: string[] }
  readonly groups: { created: string[]; unchanged: string[] }
  readonly authorizations: { created: number; updated: number; unchanged: number }
}

/**
 * Creates or updates every configured tenant, the default groups and the configured group
 * authorizations. Idempotent: the engine has no upsert, so everything is read first.
 */
export async function bootstrapTenants(input: {
  admin: AdminClient
  bridge: IdentityBridge | undefined
  tenants: readonly { id: string; name: string }[]
  groups: readonly string[]
  authorizations: readonly AuthorizationGrant[]
}): Promise<TenantBootstrapReport> {
  const report: TenantBootstrapReport = {
    tenants: { created: [], updated: [], unchanged: [] },
    groups: { created: [], unchanged: [] },
    authorizations: { created: 0, updated: 0, unchanged: 0 },
  }
  const enc = encodeURIComponent
  const { admin, bridge } = input
  for (const t of input.tenants) {
    if (bridge) {
      report.tenants[await bridge.ensureTenant(t.id, t.name)].push(t.id)
      continue
    }
    const got = await admin.call('GET', `/tenant/${enc(t.id)}`)
    if (got.status === 200) {
      if ((got.body as { name?: unknown }).name === t.name) report.tenants.unchanged.push(t.id)
      else {
        await expectOk(
          admin.call('PUT', `/tenant/${enc(t.id)}`, { id: t.id, name: t.name }),
          `update tenant ${t.id}`,
        )
        report.tenants.updated.push(t.id)
      }
    } else if (got.status === 404) {
      await expectOk(
        admin.call('POST', '/tenant/create', { id: t.id, name: t.name }),
        `create tenant ${t.id}`,
      )
      report.tenants.created.push(t.id)
    } else {
      throw bootstrapFailure(`read tenant ${t.id}`, got)
    }
  }
  for (const g of new Set(input.groups)) {
    if (bridge) {
      report.groups[await bridge.ensureGroup(g)].push(g)
      continue
    }
    const got = await admin.call('GET', `/group/${enc(g)}`)
    if (got.status === 200) report.groups.unchanged.push(g)
    else {
      await expectOk(
        admin.call('POST', '/group/create', { id: g, name: g, type: 'c7auth' }),
        `create group ${g}`,
      )
      report.groups.created.push(g)
    }
  }
  for (const a of input.authorizations) {
    const q = `groupIdIn=${enc(a.groupId)}&resourceType=${a.resourceType}&resourceId=${enc(a.resourceId)}&type=1`
    const got = await admin.call('GET', `/authorization?${q}`)
    const existing = Array.isArray(got.body)
      ? (
          got.body as { id: string; type?: number; permissions?: string[]; resourceId?: string }[]
        ).find((x) => (x.type ?? 1) === 1 && x.resourceId === a.resourceId)
      : undefined
    if (!existing) {
      await expectOk(
        admin.call('POST', '/authorization/create', {
          type: 1,
          permissions: a.permissions,
          userId: null,
          groupId: a.groupId,
          resourceType: a.resourceType,
          resourceId: a.resourceId,
        }),
        `create authorization for ${a.groupId}`,
      )
      report.authorizations.created++
      continue
    }
    const have = new Set(existing.permissions ?? [])
    if (have.has('ALL') || a.permissions.every((p) => have.has(p))) {
      report.authorizations.unchanged++
      continue
    }
    await expectOk(
      admin.call('PUT', `/authorization/${enc(existing.id)}`, {
        permissions: [...new Set([...have, ...a.permissions])],
        userId: null,
        groupId: a.groupId,
        resourceType: a.resourceType,
        resourceId: a.resourceId,
      }),
      `update authorization ${existing.id}`,
    )
    report.authorizations.updated++
  }
  return report
}

async function expectOk(p: Promise<{ status: number; body: unknown }>, what: string) {
  const r = await p
  if (r.status >= 300) throw bootstrapFailure(what, r)
  return r
}

/**
 * A bootstrap call the engine refused: an engine (or its proxy) not ready yet is an upstream
 * failure worth retrying at startup; any other answer is what the configuration asks of this
 * engine (tenant ids, the admin account's rights), named with the engine's message.
 */
function bootstrapFailure(what: string, r: { status: number; body: unknown }): C7AuthError {
  const msg = (r.body as { message?: unknown } | undefined)?.message
  const text = `${what}: engine answered ${r.status}${typeof msg === 'string' ? ` ${msg.slice(0, 200)}` : ''}`
  if (r.status === 502 || r.status === 503 || r.status === 504) {
    return new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', { message: text })
  }
  return new ConfigError([text])
}

/** `/user`, `/group`, `/tenant`, `/identity`: the engine's identity REST resources. */
import type { AuthContext } from '../auth-context.js'
import { RESOURCE } from '../authorization-service.js'
import { userProfileDto } from '../dto.js'
import { adminRequired, invalidRequest, missingAuthorization, notFound } from '../engine-errors.js'
import type { IdentityOperation } from '../identity-service.js'
import { evaluatePasswordPolicy } from '../identity-service.js'
import type { CriteriaSpec } from '../query-criteria.js'
import {
  applySorting,
  criteriaFromQuery,
  criteriaOf,
  matches,
  paginate,
  pagination,
  sortingFromQuery,
  sortingOf,
} from '../query-criteria.js'
import type { EngineRouter, EngineServices, Handler, HandlerContext } from './route-types.js'
import { addQueryRoutes, bodyObject, json, noContent, str } from './route-types.js'

/** SQL `LIKE` with `%` wildcards (the engine passes the pattern through). */
export function likeMatcher(pattern: string): (value: string | null) => boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('%')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/_/g, '.'))
        .join('.*') +
      '$',
  )
  return (value) => value !== null && re.test(value)
}

const USER_QUERY: CriteriaSpec = {
  id: 'string',
  idIn: 'list',
  firstName: 'string',
  firstNameLike: 'string',
  lastName: 'string',
  lastNameLike: 'string',
  email: 'string',
  emailLike: 'string',
  memberOfGroup: 'string',
  memberOfTenant: 'string',
}

const GROUP_QUERY: CriteriaSpec = {
  id: 'string',
  idIn: 'list',
  name: 'string',
  nameLike: 'string',
  type: 'string',
  member: 'string',
  memberOfTenant: 'string',
}

const TENANT_QUERY: CriteriaSpec = {
  id: 'string',
  name: 'string',
  nameLike: 'string',
  userMember: 'string',
  groupMember: 'string',
  includingGroupsOfUser: 'bool',
}

/** Identity writes a read-only identity service (LDAP and the like) refuses. */
export const IDENTITY_WRITES: ReadonlySet<string> = new Set([
  'POST /user/create',
  'PUT /user/{id}/profile',
  'PUT /user/{id}/credentials',
  'DELETE /user/{id}',
  'POST /group/create',
  'PUT /group/{id}',
  'DELETE /group/{id}',
  'PUT /group/{id}/members/{userId}',
  'DELETE /group/{id}/members/{userId}',
  'POST /tenant/create',
  'PUT /tenant/{id}',
  'DELETE /tenant/{id}',
  'PUT /tenant/{id}/user-members/{userId}',
  'DELETE /tenant/{id}/user-members/{userId}',
  'PUT /tenant/{id}/group-members/{groupId}',
  'DELETE /tenant/{id}/group-members/{groupId}',
])

export function registerIdentityRoutes(engineRouter: EngineRouter, engine: EngineServices): void {
  const { state, identity, runtime, authorization } = engine
  // the resources check `isReadOnly()` before anything else: 403, the same text for every write
  const router = {
    add(method: string, template: string, handler: Handler): void {
      engineRouter.add(
        method,
        template,
        engine.readOnlyIdentity === true && IDENTITY_WRITES.has(`${method} ${template}`)
          ? () => {
              throw invalidRequest('Identity service implementation is read-only.', 403)
            }
          : handler,
      )
    },
  }

  /**
   * The engine's `DefaultAuthorizationProvider` (authorization checks on only): a new user gets
   * ALL on its own user resource, a new group's members READ on the group.
   */
  const grantOnCreate = (
    owner: { userId: string } | { groupId: string },
    resourceType: number,
    resourceId: string,
    permissions: readonly string[],
  ): void => {
    if (!engine.authorizationChecks) return
    authorization.create({
      type: 1,
      permissions,
      userId: 'userId' in owner ? owner.userId : null,
      groupId: 'groupId' in owner ? owner.groupId : null,
      resourceType,
      resourceId,
    })
  }

  /** With authorization checks on, identity writes need admin rights (or ALL on one's own user). */
  const requireAuthorization = (
    auth: AuthContext,
    permission: string,
    resource: string,
    selfId?: string,
  ): void => {
    if (!engine.authorizationChecks || auth.userId === null || auth.admin) return
    if (selfId !== undefined && selfId === auth.userId) return
    // the engine names the user resource's id (the user acted on) in the message and the body
    throw missingAuthorization(auth.userId, permission, resource, selfId ?? null)
  }

  /** `UserOperationLogManager.log*Operation`: category Admin, property changes userId, groupId, tenantId. */
  const logged = (
    auth: AuthContext,
    op: IdentityOperation | null,
    fields: { userId?: string; groupId?: string; tenantId?: string },
  ): void => {
    if (op === null) return
    const changes = (['userId', 'groupId', 'tenantId'] as const)
      .filter((k) => fields[k] !== undefined)
      .map((property) => ({ property, newValue: fields[property] ?? null }))
    const tenantId = op.entityType === 'TenantMembership' ? fields.tenantId : undefined
    runtime.operationLog.write(
      auth,
      op.operationType,
      op.entityType,
      'Admin',
      tenantId === undefined ? {} : { tenantId },
      changes,
    )
  }

  // ------------------------------------------------------------------ users
  const queryUsers = (c: HandlerContext, fromBody: boolean) => {
    const q = criteriaOf(USER_QUERY, c, fromBody)
    const sorting = sortingOf(c, ['userId', 'firstName', 'lastName', 'email'], fromBody)
    const firstLike =
      typeof q['firstNameLike'] === 'string' ? likeMatcher(q['firstNameLike']) : null
    const lastLike = typeof q['lastNameLike'] === 'string' ? likeMatcher(q['lastNameLike']) : null
    const emailLike = typeof q['emailLike'] === 'string' ? likeMatcher(q['emailLike']) : null
    const users = [...state.users.values()].filter((u) => {
      if (!matches(q, 'id', u.id)) return false
      if (Array.isArray(q['idIn']) && q['idIn'].length > 0 && !q['idIn'].includes(u.id))
        return false
      if (!matches(q, 'firstName', u.firstName)) return false
      if (!matches(q, 'lastName', u.lastName)) return false
      if (!matches(q, 'email', u.email)) return false
      if (firstLike !== null && !firstLike(u.firstName)) return false
      if (lastLike !== null && !lastLike(u.lastName)) return false
      if (emailLike !== null && !emailLike(u.email)) return false
      if (
        typeof q['memberOfGroup'] === 'string' &&
        state.groupMembers.get(q['memberOfGroup'])?.has(u.id) !== true
      ) {
        return false
      }
      if (
        typeof q['memberOfTenant'] === 'string' &&
        !identity.tenantsOf(u.id).includes(q['memberOfTenant'])
      ) {
        return false
      }
      return true
    })
    return applySorting(
      users.sort((a, b) => a.id.localeCompare(b.id)),
      sorting,
      (u, by) => (by === 'userId' ? u.id : (u[by as 'firstName' | 'lastName' | 'email'] ?? null)),
    )
  }

  router.add('GET', '/user', (c) =>
    json(paginate(queryUsers(c, false), pagination(c.query)).map(userProfileDto)),
  )
  router.add('GET', '/user/count', (c) => json({ count: queryUsers(c, false).length }))

  router.add('POST', '/user/create', (c) => {
    const body = bodyObject(c.body)
    const profile = body['profile'] as Record<string, unknown> | null | undefined
    const id = profile === null || profile === undefined ? null : str(profile['id'])
    if (id === null)
      throw invalidRequest('request object must provide profile information with valid id.')
    requireAuthorization(c.auth, 'CREATE', 'User')
    const credentials = (body['credentials'] ?? null) as Record<string, unknown> | null
    const op = identity.createUser({
      id,
      firstName: str(profile?.['firstName']),
      lastName: str(profile?.['lastName']),
      email: str(profile?.['email']),
      password: credentials === null ? null : str(credentials['password']),
    })
    logged(c.auth, op, { userId: id })
    grantOnCreate({ userId: id }, RESOURCE.USER, id, ['ALL'])
    return noContent()
  })

  router.add('GET', '/user/{id}/profile', (c) => {
    const user = state.users.get(c.params['id'] as string)
    if (user === undefined) throw notFound(`User with id ${c.params['id']} does not exist`)
    return json(userProfileDto(user))
  })

  router.add('PUT', '/user/{id}/profile', (c) => {
    const id = c.params['id'] as string
    if (!state.users.has(id)) throw notFound(`User with id ${id} does not exist`)
    requireAuthorization(c.auth, 'UPDATE', 'User', id)
    const body = bodyObject(c.body)
    logged(
      c.auth,
      identity.updateProfile(id, {
        firstName: str(body['firstName']),
        lastName: str(body['lastName']),
        email: str(body['email']),
      }),
      { userId: id },
    )
    return noContent()
  })

  router.add('PUT', '/user/{id}/credentials', (c) => {
    const id = c.params['id'] as string
    const body = bodyObject(c.body)
    if (c.auth.userId !== null) {
      const own = str(body['authenticatedUserPassword'])
      if (own === null || !identity.checkPassword(c.auth.userId, own)) {
        throw invalidRequest('The given authenticated user password is not valid.')
      }
    }
    if (!state.users.has(id)) throw notFound(`User with id ${id} does not exist`)
    requireAuthorization(c.auth, 'UPDATE', 'User', id)
    const password = str(body['password'])
    // a null password leaves the stored one untouched (no new password, nothing saved)
    if (password !== null) logged(c.auth, identity.setPassword(id, password), { userId: id })
    return noContent()
  })

  router.add('DELETE', '/user/{id}', (c) => {
    const id = c.params['id'] as string
    requireAuthorization(c.auth, 'DELETE', 'User', id)
    logged(c.auth, identity.deleteUser(id), { userId: id })
    return noContent()
  })

  router.add('POST', '/user/{id}/unlock', (c) => {
    const id = c.params['id'] as string
    if (engine.authorizationChecks && c.auth.userId !== null && !c.auth.admin) {
      throw adminRequired()
    }
    logged(c.auth, identity.unlockUser(id), { userId: id })
    return noContent()
  })

  // ------------------------------------------------------------------ groups
  const queryGroups = (c: HandlerContext, fromBody: boolean) => {
    const q = criteriaOf(GROUP_QUERY, c, fromBody)
    const sorting = sortingOf(c, ['id', 'name', 'type'], fromBody)
    const nameLike = typeof q['nameLike'] === 'string' ? likeMatcher(q['nameLike']) : null
    const groups = [...state.groups.values()].filter((g) => {
      if (!matches(q, 'id', g.id)) return false
      if (Array.isArray(q['idIn']) && q['idIn'].length > 0 && !q['idIn'].includes(g.id))
        return false
      if (!matches(q, 'name', g.name)) return false
      if (nameLike !== null && !nameLike(g.name)) return false
      if (!matches(q, 'type', g.type)) return false
      if (
        typeof q['member'] === 'string' &&
        state.groupMembers.get(g.id)?.has(q['member']) !== true
      )
        return false
      if (
        typeof q['memberOfTenant'] === 'string' &&
        state.tenantGroups.get(q['memberOfTenant'])?.has(g.id) !== true
      ) {
        return false
      }
      return true
    })
    return applySorting(
      groups.sort((a, b) => a.id.localeCompare(b.id)),
      sorting,
      (g, by) => g[by as 'id' | 'name' | 'type'],
    )
  }
  const groupDto = (g: { id: string; name: string | null; type: string | null }) => ({
    id: g.id,
    name: g.name,
    type: g.type,
  })

  addQueryRoutes(router, '/group', queryGroups, groupDto)

  router.add('POST', '/group/create', (c) => {
    const body = bodyObject(c.body)
    const id = str(body['id'])
    if (id === null) throw invalidRequest('Group id is null')
    requireAuthorization(c.auth, 'CREATE', 'Group')
    logged(c.auth, identity.createGroup({ id, name: str(body['name']), type: str(body['type']) }), {
      groupId: id,
    })
    grantOnCreate({ groupId: id }, RESOURCE.GROUP, id, ['READ'])
    return noContent()
  })

  router.add('GET', '/group/{id}', (c) => {
    const g = state.groups.get(c.params['id'] as string)
    if (g === undefined) throw notFound(`Group with id ${c.params['id']} does not exist`)
    return json(groupDto(g))
  })

  router.add('PUT', '/group/{id}', (c) => {
    const g = state.groups.get(c.params['id'] as string)
    if (g === undefined) throw notFound(`Group with id ${c.params['id']} does not exist`)
    requireAuthorization(c.auth, 'UPDATE', 'Group')
    const body = bodyObject(c.body)
    g.name = str(body['name'])
    g.type = str(body['type'])
    logged(c.auth, { entityType: 'Group', operationType: 'Update' }, { groupId: g.id })
    return noContent()
  })

  router.add('DELETE', '/group/{id}', (c) => {
    requireAuthorization(c.auth, 'DELETE', 'Group')
    logged(c.auth, identity.deleteGroup(c.params['id'] as string), {
      groupId: c.params['id'] as string,
    })
    return noContent()
  })

  router.add('PUT', '/group/{id}/members/{userId}', (c) => {
    const { id, userId } = c.params as { id: string; userId: string }
    requireAuthorization(c.auth, 'CREATE', 'Group membership')
    logged(c.auth, identity.createGroupMembership(userId, id), { userId, groupId: id })
    return noContent()
  })

  router.add('DELETE', '/group/{id}/members/{userId}', (c) => {
    const { id, userId } = c.params as { id: string; userId: string }
    requireAuthorization(c.auth, 'DELETE', 'Group membership')
    logged(c.auth, identity.deleteGroupMembership(userId, id), { userId, groupId: id })
    return noContent()
  })

  // ------------------------------------------------------------------ tenants
  const queryTenants = (c: HandlerContext) => {
    const q = criteriaFromQuery(TENANT_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, ['id', 'name'])
    const nameLike = typeof q['nameLike'] === 'string' ? likeMatcher(q['nameLike']) : null
    const tenants = [...state.tenants.values()].filter((t) => {
      if (!matches(q, 'id', t.id)) return false
      if (!matches(q, 'name', t.name)) return false
      if (nameLike !== null && !nameLike(t.name)) return false
      if (typeof q['userMember'] === 'string') {
        const user = q['userMember']
        const direct = state.tenantUsers.get(t.id)?.has(user) === true
        const viaGroup =
          q['includingGroupsOfUser'] === true &&
          identity.groupsOf(user).some((g) => state.tenantGroups.get(t.id)?.has(g) === true)
        if (!direct && !viaGroup) return false
      }
      if (
        typeof q['groupMember'] === 'string' &&
        state.tenantGroups.get(t.id)?.has(q['groupMember']) !== true
      ) {
        return false
      }
      return true
    })
    return applySorting(
      tenants.sort((a, b) => a.id.localeCompare(b.id)),
      sorting,
      (t, by) => t[by as 'id' | 'name'],
    )
  }
  const tenantDto = (t: { id: string; name: string | null }) => ({ id: t.id, name: t.name })

  router.add('GET', '/tenant', (c) =>
    json(paginate(queryTenants(c), pagination(c.query)).map(tenantDto)),
  )
  router.add('GET', '/tenant/count', (c) => json({ count: queryTenants(c).length }))

  router.add('POST', '/tenant/create', (c) => {
    const body = bodyObject(c.body)
    const id = str(body['id'])
    if (id === null) throw invalidRequest('Tenant id is null')
    requireAuthorization(c.auth, 'CREATE', 'Tenant')
    logged(c.auth, identity.createTenant({ id, name: str(body['name']) }), { tenantId: id })
    return noContent()
  })

  router.add('GET', '/tenant/{id}', (c) => {
    const t = state.tenants.get(c.params['id'] as string)
    if (t === undefined) throw notFound(`Tenant with id ${c.params['id']} does not exist`)
    return json(tenantDto(t))
  })

  router.add('PUT', '/tenant/{id}', (c) => {
    const t = state.tenants.get(c.params['id'] as string)
    if (t === undefined) throw notFound(`Tenant with id ${c.params['id']} does not exist`)
    requireAuthorization(c.auth, 'UPDATE', 'Tenant')
    t.name = str(bodyObject(c.body)['name'])
    logged(c.auth, { entityType: 'Tenant', operationType: 'Update' }, { tenantId: t.id })
    return noContent()
  })

  router.add('DELETE', '/tenant/{id}', (c) => {
    requireAuthorization(c.auth, 'DELETE', 'Tenant')
    logged(c.auth, identity.deleteTenant(c.params['id'] as string), {
      tenantId: c.params['id'] as string,
    })
    return noContent()
  })

  router.add('PUT', '/tenant/{id}/user-members/{userId}', (c) => {
    const { id, userId } = c.params as { id: string; userId: string }
    requireAuthorization(c.auth, 'CREATE', 'Tenant membership')
    logged(c.auth, identity.createTenantUserMembership(id, userId), { tenantId: id, userId })
    return noContent()
  })
  router.add('DELETE', '/tenant/{id}/user-members/{userId}', (c) => {
    const { id, userId } = c.params as { id: string; userId: string }
    requireAuthorization(c.auth, 'DELETE', 'Tenant membership')
    logged(c.auth, identity.deleteTenantUserMembership(id, userId), { tenantId: id, userId })
    return noContent()
  })
  router.add('PUT', '/tenant/{id}/group-members/{groupId}', (c) => {
    const { id, groupId } = c.params as { id: string; groupId: string }
    requireAuthorization(c.auth, 'CREATE', 'Tenant membership')
    logged(c.auth, identity.createTenantGroupMembership(id, groupId), { tenantId: id, groupId })
    return noContent()
  })
  router.add('DELETE', '/tenant/{id}/group-members/{groupId}', (c) => {
    const { id, groupId } = c.params as { id: string; groupId: string }
    requireAuthorization(c.auth, 'DELETE', 'Tenant membership')
    logged(c.auth, identity.deleteTenantGroupMembership(id, groupId), { tenantId: id, groupId })
    return noContent()
  })

  // ------------------------------------------------------------------ identity
  router.add('POST', '/identity/verify', (c) => {
    const body = bodyObject(c.body)
    const username = str(body['username'])
    const password = str(body['password'])
    if (username === null || password === null)
      throw invalidRequest('Username and password are required')
    const ok = identity.checkPassword(username, password)
    return json({ authenticatedUser: username, authenticated: ok, tenants: null, groups: null })
  })

  router.add('GET', '/identity/groups', (c) => {
    const userId = c.query.get('userId')
    if (userId === undefined) throw invalidRequest('No user id was supplied')
    const groupIds = identity.groupsOf(userId)
    const groups = groupIds.map((id) => ({ id, name: state.groups.get(id)?.name ?? null }))
    const users = new Set<string>()
    for (const g of groupIds)
      for (const u of state.groupMembers.get(g) ?? []) if (u !== userId) users.add(u)
    const groupUsers = [...users].sort().map((id) => {
      const u = state.users.get(id)
      return {
        id,
        firstName: u?.firstName ?? null,
        lastName: u?.lastName ?? null,
        displayName:
          [u?.firstName, u?.lastName].filter((x) => x !== null && x !== undefined).join(' ') || id,
      }
    })
    return json({ groups, groupUsers })
  })

  // IdentityRestServiceImpl answers a bare 404 (no entity) when the policy is disabled
  router.add('GET', '/identity/password-policy', () => {
    if (!identity.config.passwordPolicy) return { status: 404 }
    return json({
      rules: evaluatePasswordPolicy('', {}).map(({ placeholder, parameter }) => ({
        placeholder,
        parameter,
      })),
    })
  })
  router.add('POST', '/identity/password-policy', (c) => {
    if (!identity.config.passwordPolicy) return { status: 404 }
    const body = bodyObject(c.body)
    const profile = (body['profile'] ?? {}) as Record<string, unknown>
    const rules = evaluatePasswordPolicy(str(body['password']) ?? '', {
      id: str(profile['id']),
      firstName: str(profile['firstName']),
      lastName: str(profile['lastName']),
      email: str(profile['email']),
    })
    return json({ rules, valid: rules.every((r) => r.valid) })
  })
}

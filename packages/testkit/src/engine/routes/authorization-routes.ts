/** `/authorization`: the engine's authorization REST resource. */
import type { AuthContext } from '../auth-context.js'
import type { AuthorizationInput } from '../authorization-service.js'
import { RESOURCE, authorizationView, resourceName } from '../authorization-service.js'
import { invalidRequest, missingAuthorization, notFound } from '../engine-errors.js'
import type { AuthorizationRecord } from '../engine-state.js'
import type { CriteriaSpec } from '../query-criteria.js'
import {
  applySorting,
  criteriaFromQuery,
  paginate,
  pagination,
  sortingFromQuery,
} from '../query-criteria.js'
import type { EngineRouter, EngineServices, HandlerContext } from './route-types.js'
import { bodyObject, json, noContent, str } from './route-types.js'

const AUTHORIZATION_QUERY: CriteriaSpec = {
  id: 'string',
  type: 'int',
  userIdIn: 'list',
  groupIdIn: 'list',
  resourceType: 'int',
  resourceId: 'string',
}

const authorizationDto = (a: AuthorizationRecord) => ({
  ...authorizationView(a),
  removalTime: null,
  rootProcessInstanceId: null,
})

const int = (v: unknown, name: string): number | null => {
  if (v === undefined || v === null) return null
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw invalidRequest(`Cannot deserialize value of property '${name}': expected an integer`)
  }
  return v
}

function inputOf(body: Record<string, unknown>): AuthorizationInput {
  const permissions = body['permissions']
  if (
    permissions !== undefined &&
    permissions !== null &&
    (!Array.isArray(permissions) || permissions.some((p) => typeof p !== 'string'))
  ) {
    throw invalidRequest(
      "Cannot deserialize value of property 'permissions': expected an array of strings",
    )
  }
  return {
    type: int(body['type'], 'type'),
    permissions: (permissions as string[] | null | undefined) ?? null,
    userId: str(body['userId']),
    groupId: str(body['groupId']),
    resourceType: int(body['resourceType'], 'resourceType'),
    resourceId: str(body['resourceId']),
  }
}

export function registerAuthorizationRoutes(router: EngineRouter, engine: EngineServices): void {
  const { authorization } = engine

  const require = (auth: AuthContext, permission: string, resourceId: string): void => {
    if (authorization.isAuthorized(auth, permission, RESOURCE.AUTHORIZATION, resourceId)) return
    // CREATE is checked on `*` but reported without a resource id, like the engine
    throw missingAuthorization(
      auth.userId,
      permission,
      resourceName(RESOURCE.AUTHORIZATION),
      resourceId === '*' ? null : resourceId,
    )
  }

  /** Queries return only rows the caller may read (an SQL filter in the engine, no 403). */
  const query = (c: HandlerContext): AuthorizationRecord[] => {
    const q = criteriaFromQuery(AUTHORIZATION_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, ['resourceType', 'resourceId'])
    const rows = authorization
      .query({
        ...(typeof q['id'] === 'string' ? { id: q['id'] } : {}),
        ...(typeof q['type'] === 'number' ? { type: q['type'] } : {}),
        ...(Array.isArray(q['userIdIn']) ? { userIdIn: q['userIdIn'] as string[] } : {}),
        ...(Array.isArray(q['groupIdIn']) ? { groupIdIn: q['groupIdIn'] as string[] } : {}),
        ...(typeof q['resourceType'] === 'number' ? { resourceType: q['resourceType'] } : {}),
        ...(typeof q['resourceId'] === 'string' ? { resourceId: q['resourceId'] } : {}),
      })
      .filter((a) => authorization.isAuthorized(c.auth, 'READ', RESOURCE.AUTHORIZATION, a.id))
    return applySorting(rows, sorting, (a, by) =>
      by === 'resourceType' ? a.resourceType : a.resourceId,
    )
  }

  const byId = (c: HandlerContext): AuthorizationRecord => {
    const id = c.params['id'] as string
    const a = authorization.get(id)
    if (a === undefined) throw notFound(`Authorization with id ${id} does not exist.`)
    return a
  }

  router.add('GET', '/authorization', (c) =>
    json(paginate(query(c), pagination(c.query)).map(authorizationDto)),
  )
  router.add('GET', '/authorization/count', (c) => json({ count: query(c).length }))

  router.add('POST', '/authorization/create', (c) => {
    require(c.auth, 'CREATE', '*')
    const created = authorization.create(inputOf(bodyObject(c.body)))
    const href = `${c.baseUrl}/authorization/${created.id}`
    return json({
      ...authorizationDto(created),
      links: [
        { method: 'GET', href, rel: 'self' },
        { method: 'PUT', href, rel: 'update' },
        { method: 'DELETE', href, rel: 'delete' },
      ],
    })
  })

  // `AuthorizationRestServiceImpl.isUserAuthorized`: another user's check needs READ on the
  // Authorization resource; with authorization checks off the engine says yes to anyone.
  router.add('GET', '/authorization/check', (c) => {
    const permissionName = c.query.get('permissionName') ?? null
    const resourceNameParam = c.query.get('resourceName') ?? null
    const resourceTypeParam = c.query.get('resourceType') ?? null
    if (permissionName === null)
      throw invalidRequest("Query parameter 'permissionName' cannot be null")
    if (resourceNameParam === null)
      throw invalidRequest("Query parameter 'resourceName' cannot be null")
    if (resourceTypeParam === null || !/^-?\d+$/.test(resourceTypeParam))
      throw invalidRequest("Query parameter 'resourceType' cannot be null")
    if (c.auth.userId === null)
      throw invalidRequest('You must be authenticated in order to use this resource.', 401)
    const resourceType = Number(resourceTypeParam)
    const resourceId = c.query.get('resourceId') ?? null
    const userId = c.query.get('userId') ?? null
    let subject: AuthContext = c.auth
    if (userId !== null && userId !== c.auth.userId) {
      if (!authorization.isAuthorized(c.auth, 'READ', RESOURCE.AUTHORIZATION, '*'))
        throw invalidRequest('You must have READ permission for Authorization resource.', 403)
      // the engine checks the named user's own and group rows; being an admin is no bypass here
      subject = { ...c.auth, userId, groupIds: engine.identity.groupsOf(userId), admin: false }
    }
    return json({
      permissionName,
      resourceName: resourceNameParam,
      resourceId,
      authorized: authorization.isAuthorized(
        subject,
        permissionName,
        resourceType,
        resourceId ?? '*',
      ),
    })
  })

  router.add('GET', '/authorization/{id}', (c) => {
    const a = byId(c)
    // The engine reads through a query: a row the caller may not read is "missing".
    if (!authorization.isAuthorized(c.auth, 'READ', RESOURCE.AUTHORIZATION, a.id)) {
      throw notFound(`Authorization with id ${a.id} does not exist.`)
    }
    return json(authorizationDto(a))
  })

  router.add('PUT', '/authorization/{id}', (c) => {
    const a = byId(c)
    require(c.auth, 'UPDATE', a.id)
    const body = bodyObject(c.body)
    authorization.update(a, inputOf({ ...body, type: a.type }))
    return noContent()
  })

  router.add('DELETE', '/authorization/{id}', (c) => {
    const a = byId(c)
    require(c.auth, 'DELETE', a.id)
    authorization.delete(a.id)
    return noContent()
  })
}

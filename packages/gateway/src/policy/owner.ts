import NodeCache from 'node-cache'
import { C7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { OwnerCheck, OwnerResource } from './types.js'

/**
 * Resolves the tenant of one engine object, normally with {@link ownerLookup}'s `GET`. Returns
 * `undefined` when the engine answers 404 (the object does not exist); `tenantId: null` for
 * shared (NULL-tenant) objects. Throws on upstream failure (the proxy answers 502/504).
 */
export type OwnerResolver = (
  resource: OwnerResource,
  id: string,
) => Promise<{ tenantId: string | null } | undefined>

/** Outcome of an owner check: go on, answer the engine's 404, or 403 (shared, read-only). */
export type OwnerVerdict = 'allow' | 'notFound' | 'forbidden'

interface OwnerInfo {
  /** Engine `GET` that returns the object with its `tenantId`. */
  readonly path: (id: string) => string
  readonly query?: string
  /** The engine's 404 for a missing id (`type`, `message`), copied from engine-rest 7.23. */
  readonly notFound: (id: string) => { type: string; message: string }
  /**
   * `0` where the resource wraps the engine's own `ProcessEngineException` (the engine then
   * serialises its code); `null` (default) where the resource builds the 404 itself.
   */
  readonly code?: 0
  /**
   * Statuses of the lookup that mean "not there for this caller" (default: 404). The decision
   * requirements definition answers a missing id — and, under the engine's tenant check, a
   * foreign one — with 400.
   */
  readonly absent?: readonly number[]
}

const ire = (message: string) => ({ type: 'InvalidRequestException', message })
const seg = encodeURIComponent

/** Owner lookups and the engine's own 404 bodies (CBP `engine-rest/…/sub/…/impl/…ResourceImpl.java`). */
export const OWNER_RESOURCES: Readonly<Record<OwnerResource, OwnerInfo>> = {
  processDefinition: {
    path: (id) => `/process-definition/${seg(id)}`,
    notFound: (id) => ire(`No matching definition with id ${id}`),
    code: 0,
  },
  processInstance: {
    path: (id) => `/process-instance/${seg(id)}`,
    notFound: (id) => ire(`Process instance with id ${id} does not exist`),
  },
  task: {
    path: (id) => `/task/${seg(id)}`,
    notFound: (id) => ire(`No matching task with id ${id}`),
  },
  externalTask: {
    path: (id) => `/external-task/${seg(id)}`,
    notFound: (id) => ({
      type: 'RestException',
      message: `External task with id ${id} does not exist`,
    }),
  },
  deployment: {
    path: (id) => `/deployment/${seg(id)}`,
    notFound: (id) => ire(`Deployment with id '${id}' does not exist`),
  },
  execution: {
    path: (id) => `/execution/${seg(id)}`,
    notFound: (id) => ire(`Execution with id ${id} does not exist`),
  },
  job: {
    path: (id) => `/job/${seg(id)}`,
    notFound: (id) => ire(`Job with id ${id} does not exist`),
  },
  jobDefinition: {
    path: (id) => `/job-definition/${seg(id)}`,
    notFound: (id) => ire(`Job Definition with id ${id} does not exist`),
  },
  incident: {
    path: (id) => `/incident/${seg(id)}`,
    notFound: (id) => ire(`No matching incident with id ${id}`),
  },
  variableInstance: {
    path: (id) => `/variable-instance/${seg(id)}`,
    query: 'deserializeValue=false',
    notFound: (id) => ire(`Variable instance with Id '${id}' does not exist.`),
  },
  historicProcessInstance: {
    path: (id) => `/history/process-instance/${seg(id)}`,
    notFound: (id) => ire(`Historic process instance with id ${id} does not exist`),
  },
  historicActivityInstance: {
    path: (id) => `/history/activity-instance/${seg(id)}`,
    notFound: (id) => ire(`Historic activity instance with id '${id}' does not exist`),
  },
  historicVariableInstance: {
    path: (id) => `/history/variable-instance/${seg(id)}`,
    query: 'deserializeValue=false',
    notFound: (id) => ire(`Historic variable instance with Id '${id}' does not exist.`),
  },
  historicDetail: {
    path: (id) => `/history/detail/${seg(id)}`,
    query: 'deserializeValue=false',
    notFound: (id) => ire(`Historic detail with Id '${id}' does not exist.`),
  },
  historicJobLog: {
    path: (id) => `/history/job-log/${seg(id)}`,
    notFound: (id) => ire(`Historic job log with id ${id} does not exist`),
  },
  historicExternalTaskLog: {
    path: (id) => `/history/external-task-log/${seg(id)}`,
    notFound: (id) => ire(`Historic external task log with id ${id} does not exist`),
  },
  historicDecisionInstance: {
    path: (id) => `/history/decision-instance/${seg(id)}`,
    notFound: (id) => ire(`Historic decision instance with id '${id}' does not exist`),
  },
  // The routes of these two answer a missing id differently per sub-route (status, type): their
  // rows use `missing: 'route'`; this is `GET /{id}` of the decision definition (7.24, Operaton 1.0).
  decisionDefinition: {
    path: (id) => `/decision-definition/${seg(id)}`,
    notFound: (id) =>
      ire(`no deployed decision definition found with id '${id}': decisionDefinition is null`),
    code: 0,
  },
  decisionRequirementsDefinition: {
    path: (id) => `/decision-requirements-definition/${seg(id)}`,
    notFound: (id) =>
      ire(
        `no deployed decision requirements definition found with id '${id}': decisionRequirementsDefinition is null`,
      ),
    code: 0,
    absent: [400, 404],
  },
}

/**
 * The engine request that resolves an owner: `GET {path}?{query}` below the engine prefix; the
 * answer's `tenantId` is the owner, a 404 means "does not exist".
 *
 * @example
 * ```ts
 * ownerLookup('task', 'a1') // { method: 'GET', path: '/task/a1', query: '' }
 * ```
 */
export function ownerLookup(
  resource: OwnerResource,
  id: string,
): { method: 'GET'; path: string; query: string } {
  const info = OWNER_RESOURCES[resource]
  return { method: 'GET', path: info.path(id), query: info.query ?? '' }
}

/**
 * True when an owner lookup's status means the object is not there for the caller (missing, or
 * hidden by the engine's tenant check): 404, or what {@link OWNER_RESOURCES} says for the resource.
 *
 * @example
 * ```ts
 * ownerAbsent('task', 404) // true
 * ```
 */
export function ownerAbsent(resource: OwnerResource, status: number): boolean {
  return (OWNER_RESOURCES[resource].absent ?? [404]).includes(status)
}

/**
 * The engine's own 404 for `id` — what a caller of another tenant gets, so existence is not leaked.
 * `code` is `null` where engine-rest 7.23 builds the 404 itself, and `0` where it wraps an engine
 * exception (`GET /process-definition/{id}`).
 *
 * @example
 * ```ts
 * engineNotFound('task', 'a1')
 * // { status: 404, body: { type: 'InvalidRequestException', message: 'No matching task with id a1', code: null } }
 * ```
 */
export function engineNotFound(
  resource: OwnerResource,
  id: string,
): { status: 404; body: { type: string; message: string; code: 0 | null } } {
  const info = OWNER_RESOURCES[resource]
  return { status: 404, body: { ...info.notFound(id), code: info.code ?? null } }
}

/**
 * Decides an owner check from a resolution: the principal's own tenant → `allow`; missing or
 * another tenant's → `notFound` (answer {@link engineNotFound}); NULL tenant → by `check.shared`.
 *
 * @example
 * ```ts
 * const verdict = checkOwner(await resolver(check.resource, check.id), principal, check)
 * if (verdict === 'notFound') return send(engineNotFound(check.resource, check.id))
 * if (verdict === 'forbidden') throw ownerForbidden()
 * ```
 */
export function checkOwner(
  resolution: { tenantId: string | null } | undefined,
  principal: Principal,
  check: Pick<OwnerCheck, 'shared'>,
  options: { adminBypassesTenantScope?: boolean } = {},
): OwnerVerdict {
  if (resolution === undefined) return 'notFound'
  if (options.adminBypassesTenantScope === true && principal.admin) return 'allow'
  const { tenantId } = resolution
  if (tenantId === null) {
    return check.shared === 'allow' ? 'allow' : check.shared === 'forbid' ? 'forbidden' : 'notFound'
  }
  return principal.tenantIds.includes(tenantId) ? 'allow' : 'notFound'
}

/**
 * The error for a `forbidden` verdict: shared (NULL-tenant) objects are read-only for tenants.
 *
 * @example
 * ```ts
 * if (verdict === 'forbidden') throw ownerForbidden() // 403 C7AUTH_TENANT_FORBIDDEN
 * ```
 */
export function ownerForbidden(): C7AuthError {
  return new C7AuthError('C7AUTH_TENANT_FORBIDDEN', {
    message: 'Shared (tenant-less) resources are read-only through the gateway.',
  })
}

/** Options of {@link OwnerCache}. */
export interface OwnerCacheOptions {
  /** Seconds a resolution is kept. Default 300 (a tenant id never changes; ids are not reused). */
  ttlSeconds?: number
  /** Most entries kept; when full the cache is emptied. Default 10 000. */
  maxEntries?: number
}

/**
 * Bounded TTL cache of owner resolutions with single-flight: concurrent checks of one id share one
 * engine call. Only found objects are cached (a missing id may be created later).
 *
 * @example
 * ```ts
 * const owners = new OwnerCache({ ttlSeconds: 300 })
 * const resolution = await owners.resolve('default', 'task', id, resolver)
 * ```
 */
export class OwnerCache {
  readonly #cache: NodeCache
  readonly #inFlight = new Map<string, Promise<{ tenantId: string | null } | undefined>>()
  readonly #max: number

  constructor(options: OwnerCacheOptions = {}) {
    this.#max = options.maxEntries ?? 10_000
    this.#cache = new NodeCache({
      stdTTL: options.ttlSeconds ?? 300,
      checkperiod: 0,
      useClones: false,
    })
  }

  /** Resolves through the cache; `engine` keeps named engines apart. */
  async resolve(
    engine: string | undefined,
    resource: OwnerResource,
    id: string,
    resolver: OwnerResolver,
  ): Promise<{ tenantId: string | null } | undefined> {
    const key = `${engine ?? ''}\u0000${resource}\u0000${id}`
    const hit = this.#cache.get<string | null>(key)
    if (hit !== undefined) return { tenantId: hit }
    const pending = this.#inFlight.get(key)
    if (pending) return pending
    const p = resolver(resource, id).then(
      (res) => {
        this.#inFlight.delete(key)
        if (res !== undefined) {
          if (this.#cache.getStats().keys >= this.#max) this.#cache.flushAll()
          this.#cache.set(key, res.tenantId)
        }
        return res
      },
      (err: unknown) => {
        this.#inFlight.delete(key)
        throw err
      },
    )
    this.#inFlight.set(key, p)
    return p
  }

  /** Forgets one id (e.g. after a DELETE). */
  forget(engine: string | undefined, resource: OwnerResource, id: string): void {
    this.#cache.del(`${engine ?? ''}\u0000${resource}\u0000${id}`)
  }

  /** Number of cached resolutions. */
  get size(): number {
    return this.#cache.getStats().keys
  }

  /** Empties the cache; stops nothing (no timers run). */
  clear(): void {
    this.#cache.flushAll()
  }
}

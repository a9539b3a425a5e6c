import { UpstreamError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import {
  OwnerCache,
  checkOwner,
  engineNotFound,
  ownerForbidden,
  ownerLookup,
} from '../policy/index.js'
import type { OwnerCheck, Policy } from '../policy/index.js'
import type { BodyMode, EngineLookup, JsonOutcome, ProxyDecision, ProxyPolicy } from './types.js'

/** Options of {@link adaptPolicy}. */
export interface PolicyAdapterOptions {
  /** Owner resolutions cache (shared across requests). Default: a new `OwnerCache()`. */
  readonly owners?: OwnerCache
  /** Same value as the policy's option. Default false. */
  readonly adminBypassesTenantScope?: boolean
}

/**
 * Turns the route-table policy (`createPolicy()`, synchronous) into what the proxy executes:
 * owner checks are resolved with an engine `GET` as the caller (cached), a foreign or missing id
 * becomes the engine's own 404 body, a shared object a tenant may not touch a 403.
 *
 * @example
 * ```ts
 * const proxyPolicy = adaptPolicy(createPolicy({ actingUserVariable: 'c7authActingUser' }))
 * ```
 */
export function adaptPolicy(policy: Policy, options: PolicyAdapterOptions = {}): ProxyPolicy {
  const owners = options.owners ?? new OwnerCache()
  const bypass = { adminBypassesTenantScope: options.adminBypassesTenantScope ?? false }

  /** Undefined to go on; a 404 answer for a foreign/missing id; throws 403 for a shared one. */
  async function verify(
    engine: string | undefined,
    check: OwnerCheck,
    principal: Principal,
    lookup: EngineLookup,
  ): Promise<{ status: number; body: unknown } | undefined> {
    const resolution = await owners.resolve(
      engine,
      check.resource,
      check.id,
      async (resource, id) => {
        const l = ownerLookup(resource, id)
        const prefix = engine === undefined ? '' : `/engine/${encodeURIComponent(engine)}`
        const r = await lookup(prefix + l.path + (l.query ? `?${l.query}` : ''))
        if (r.status === 404) return undefined
        if (r.status !== 200 || typeof r.body !== 'object' || r.body === null) {
          throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
            detail: `owner lookup ${resource} answered ${r.status}`,
          })
        }
        const tenantId = (r.body as { tenantId?: unknown }).tenantId
        return { tenantId: typeof tenantId === 'string' ? tenantId : null }
      },
    )
    const verdict = checkOwner(resolution, principal, check, bypass)
    if (verdict === 'allow') return undefined
    if (verdict === 'forbidden') throw ownerForbidden()
    return engineNotFound(check.resource, check.id)
  }

  return {
    async decide(input, lookup): Promise<ProxyDecision> {
      const d = policy.decide({
        method: input.method,
        path: input.path,
        query: new URLSearchParams(input.query),
        principal: input.principal,
      })
      if (d.action === 'respond') {
        return {
          action: 'respond',
          operationId: d.operationId,
          tenantId: undefined,
          mutating: false,
          status: d.status,
          body: d.json,
        }
      }
      const common = { operationId: d.operationId, tenantId: d.tenant, mutating: d.mutating }
      if (d.ownerCheck) {
        const answer = await verify(d.engine, d.ownerCheck, input.principal, lookup)
        if (answer) return { action: 'respond', ...common, ...answer }
      }
      let body: BodyMode
      const plan = d.body
      if (plan.kind === 'stream') body = { kind: 'stream' }
      else if (plan.kind === 'multipart')
        body = {
          kind: 'multipart',
          field: plan.field,
          scanReferences: plan.scanReferences,
          resolveTenant: plan.resolveTenant,
          profileOf: plan.profileOf,
        }
      else {
        body = {
          kind: 'json',
          rewrite: async (json): Promise<JsonOutcome> => {
            const r = plan.rewrite(json)
            if (r.kind === 'respond') return { kind: 'respond', status: r.status, body: r.json }
            if (r.ownerCheck) {
              const answer = await verify(d.engine, r.ownerCheck, input.principal, lookup)
              if (answer) return { kind: 'respond', ...answer }
            }
            return { kind: 'forward', json: r.json }
          },
        }
      }
      return { action: 'forward', ...common, path: d.path, query: d.query.toString(), body }
    },
  }
}

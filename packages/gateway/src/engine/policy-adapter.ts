import { C7AuthError, UpstreamError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import {
  MISSING_ID_SENTINEL,
  OwnerCache,
  checkOwner,
  engineNotFound,
  ownerAbsent,
  ownerForbidden,
  ownerLookup,
} from '../policy/index.js'
import type { GuardPlan, OwnerCheck, Policy } from '../policy/index.js'
import { formReferenceVerdict } from './form-guard.js'
import type { BodyMode, EngineLookup, JsonOutcome, ProxyDecision, ProxyPolicy } from './types.js'

/** Options of {@link adaptPolicy}. */
export interface PolicyAdapterOptions {
  /** Owner resolutions cache (shared across requests). Default: a new `OwnerCache()`. */
  readonly owners?: OwnerCache
  /** Same value as the policy's option. Default false. */
  readonly adminBypassesTenantScope?: boolean
  /**
   * True when the engine applies its own tenant check to the caller (`bridge`, `assertion`): a
   * Camunda Form bound by `latest` then resolves in the caller's tenants only and is served.
   * Default false: such forms are refused (T29).
   */
  readonly engineChecksTenants?: boolean
}

type Answer = { status: number; body: unknown }

/**
 * Turns the route-table policy (`createPolicy()`, synchronous) into what the proxy executes:
 * owner checks are resolved with an engine `GET` as the caller (cached), a foreign or missing id
 * becomes the engine's own 404 body (or, for `missing: 'route'` rows, what that route answers for
 * a missing id), a shared object a tenant may not touch a 403; route guards (deployed forms,
 * tenant rows) run after the owner check.
 *
 * @example
 * ```ts
 * const proxyPolicy = adaptPolicy(createPolicy({ actingUserVariable: 'c7authActingUser' }))
 * ```
 */
export function adaptPolicy(policy: Policy, options: PolicyAdapterOptions = {}): ProxyPolicy {
  const owners = options.owners ?? new OwnerCache()
  const bypass = { adminBypassesTenantScope: options.adminBypassesTenantScope ?? false }
  const engineChecksTenants = options.engineChecksTenants ?? false
  /** What each `missing: 'route'` operation answers for a missing id, per engine (never changes). */
  const missingAnswers = new Map<string, Promise<Answer>>()

  /**
   * The route's own answer for a missing id: asked once per engine with the sentinel id (as the
   * caller, so bridge users get what the engine answers them), then the sentinel is replaced by
   * `id` in the answer's strings. A 2xx to the sentinel would be a broken engine: fail closed.
   */
  async function missingAnswer(
    engine: string | undefined,
    check: OwnerCheck & { probe: NonNullable<OwnerCheck['probe']> },
    lookup: EngineLookup,
  ): Promise<Answer> {
    const key = `${engine ?? ''}\u0000${check.probe.method} ${check.probe.path}`
    let pending = missingAnswers.get(key)
    if (pending === undefined) {
      pending = lookup(
        check.probe.path,
        check.probe.method === 'POST' ? { method: 'POST', body: {} } : undefined,
      ).then((r) => {
        // only the engine's own exception body is learned (never a proxy's 502/503 page)
        const dto = r.body as { type?: unknown; message?: unknown } | null
        if (
          r.status < 400 ||
          typeof dto !== 'object' ||
          dto === null ||
          typeof dto.type !== 'string' ||
          typeof dto.message !== 'string' ||
          r.status === 502 ||
          r.status === 503 ||
          r.status === 504
        ) {
          throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
            detail: `missing-id probe of ${check.probe.path} answered ${r.status}`,
          })
        }
        return r
      })
      missingAnswers.set(key, pending)
      pending.catch(() => missingAnswers.delete(key))
    }
    const learned = await pending
    return { status: learned.status, body: replaceSentinel(learned.body, check.id) }
  }

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
        if (ownerAbsent(resource, r.status)) return undefined
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
    const { probe } = check
    if (probe !== undefined) return missingAnswer(engine, { ...check, probe }, lookup)
    return engineNotFound(check.resource, check.id)
  }

  /** Runs a route guard: `undefined` to forward, or the answer to give instead. */
  async function guard(
    plan: GuardPlan,
    path: string,
    query: string,
    principal: Principal,
    lookup: EngineLookup,
  ): Promise<Answer | undefined> {
    if (plan.kind === 'deployedForm') {
      const meta = await lookup(plan.metadataPath)
      // The form data could not be read: the deployed-form read fails the same way (the engine
      // reads that very form data first), so the engine answers it itself.
      if (meta.status >= 400 && meta.status < 500) return undefined
      if (meta.status !== 200) {
        throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
          detail: `form reference lookup answered ${meta.status}`,
        })
      }
      // the engine's admin group skips the engine's tenant check: never trust it for admins
      const checked = engineChecksTenants && !principal.admin
      const verdict = formReferenceVerdict(meta.body, checked)
      return verdict.kind === 'forward' ? undefined : verdict.answer
    }
    const r = await lookup(path + (query ? `?${query}` : ''))
    if (r.status >= 500) {
      // Under its own tenant check (bridge, assertion) the engine fails the whole list when the
      // model names another tenant's process, and its message names that definition: not passed on.
      throw new C7AuthError('C7AUTH_TENANT_FORBIDDEN', {
        message: 'The engine could not list these definitions within your tenants.',
        detail: `tenantRows list answered ${r.status}`,
      })
    }
    if (r.status !== 200) return r
    if (!Array.isArray(r.body)) {
      throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
        detail: 'expected a JSON array from the engine',
      })
    }
    const mine = (row: unknown) => {
      const tenant = (row as { tenantId?: unknown } | null)?.tenantId
      return tenant === null || (typeof tenant === 'string' && principal.tenantIds.includes(tenant))
    }
    return { status: 200, body: r.body.filter(mine) }
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
      if (d.guard) {
        const query = d.query.toString()
        const answer = await guard(d.guard, d.path, query, input.principal, lookup)
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
              if (answer && r.orElse !== undefined) return { kind: 'forward', json: r.orElse }
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

/** Deep copy of a JSON answer with the missing-id sentinel replaced by `id` in every string. */
function replaceSentinel(value: unknown, id: string): unknown {
  if (typeof value === 'string') return value.split(MISSING_ID_SENTINEL).join(id)
  if (Array.isArray(value)) return value.map((v) => replaceSentinel(v, id))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSentinel(v, id)]))
  }
  return value
}

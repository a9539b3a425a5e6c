import { C7AuthError, UpstreamError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import { formReferenceVerdict } from './form-guard.js'
import { checkOwner, engineNotFound, ownerAbsent, ownerForbidden, ownerLookup } from './owner.js'
import type { OwnerCache } from './owner.js'
import { MISSING_ID_SENTINEL } from './types.js'
import type { BodyPlan, Decision, EngineAccess, ForwardDecision, GuardPlan } from './types.js'
import type { JsonRewrite, OwnerCheck } from './types.js'

/** Options of {@link createSettle}. */
export interface SettleOptions {
  /** Owner resolutions cache (shared across requests). */
  readonly owners: OwnerCache
  /** The policy's `adminBypassesTenantScope`: admins pass owner checks and guards too. */
  readonly adminBypassesTenantScope: boolean
}

type Answer = { status: number; body: unknown }

/** Settles one decision for one principal against the engine (see {@link createSettle}). */
export type Settle = (
  decision: Decision,
  principal: Principal,
  engine: EngineAccess,
) => Decision | Promise<Decision>

/**
 * Settles what the route table alone cannot: owner checks are resolved with an engine `GET` as the
 * caller (cached), a foreign or missing id becomes the engine's own 404 body (or, for
 * `missing: 'route'` rows, what that route answers for a missing id), a shared object a tenant may
 * not touch a 403; route guards (deployed forms, tenant rows) run after the owner check; a JSON
 * rewrite that reveals an owner check (a comment's `processInstanceId`) gets it run. A decision
 * that needs none of this is returned as it is, synchronously (the hot path allocates nothing).
 */
export function createSettle(options: SettleOptions): Settle {
  const { owners } = options
  const bypass = { adminBypassesTenantScope: options.adminBypassesTenantScope }
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
    access: EngineAccess,
  ): Promise<Answer> {
    const key = `${engine ?? ''}\u0000${check.probe.method} ${check.probe.path}`
    let pending = missingAnswers.get(key)
    if (pending === undefined) {
      pending = access
        .lookup(
          check.probe.path,
          check.probe.method === 'POST' ? { method: 'POST', body: {} } : undefined,
        )
        .then((r) => {
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
    access: EngineAccess,
  ): Promise<Answer | undefined> {
    const resolution = await owners.resolve(
      engine,
      check.resource,
      check.id,
      async (resource, id) => {
        const l = ownerLookup(resource, id)
        const prefix = engine === undefined ? '' : `/engine/${encodeURIComponent(engine)}`
        const r = await access.lookup(prefix + l.path + (l.query ? `?${l.query}` : ''))
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
    if (probe !== undefined) return missingAnswer(engine, { ...check, probe }, access)
    return engineNotFound(check.resource, check.id)
  }

  /** Runs a route guard: `undefined` to forward, or the answer to give instead. */
  async function guard(
    plan: GuardPlan,
    decision: ForwardDecision,
    principal: Principal,
    access: EngineAccess,
  ): Promise<Answer | undefined> {
    if (plan.kind === 'deployedForm') {
      const meta = await access.lookup(plan.metadataPath)
      // The form data could not be read: the deployed-form read fails the same way (the engine
      // reads that very form data first), so the engine answers it itself.
      if (meta.status >= 400 && meta.status < 500) return undefined
      if (meta.status !== 200) {
        throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
          detail: `form reference lookup answered ${meta.status}`,
        })
      }
      // the engine's admin group skips the engine's tenant check: never trust it for admins
      const checked = access.checksTenants && !principal.admin
      const verdict = formReferenceVerdict(meta.body, checked)
      return verdict.kind === 'forward' ? undefined : verdict.answer
    }
    const query = decision.query.toString()
    const r = await access.lookup(decision.path + (query ? `?${query}` : ''))
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

  /** The JSON rewrite with the owner check it may reveal run (or the body as it is). */
  function settledBody(d: ForwardDecision, principal: Principal, access: EngineAccess): BodyPlan {
    const plan = d.body
    if (plan.kind !== 'json') return plan
    // a rewrite may reveal an owner check only once it has read the body (a comment's instance)
    return {
      kind: 'json',
      rewrite: async (json): Promise<JsonRewrite> => {
        const r = await plan.rewrite(json)
        if (r.kind === 'respond' || r.ownerCheck === undefined) return r
        const answer = await verify(d.engine, r.ownerCheck, principal, access)
        if (answer === undefined) return { kind: 'forward', json: r.json }
        if (r.orElse !== undefined) return { kind: 'forward', json: r.orElse }
        return { kind: 'respond', status: answer.status, json: answer.body }
      },
    }
  }

  const respond = (d: ForwardDecision, answer: Answer): Decision => ({
    action: 'respond',
    operationId: d.operationId,
    status: answer.status,
    json: answer.body,
    tenant: d.tenant,
    mutating: d.mutating,
  })

  async function settleChecks(
    d: ForwardDecision,
    principal: Principal,
    access: EngineAccess,
  ): Promise<Decision> {
    if (d.ownerCheck) {
      const answer = await verify(d.engine, d.ownerCheck, principal, access)
      if (answer) return respond(d, answer)
    }
    if (d.guard) {
      const answer = await guard(d.guard, d, principal, access)
      if (answer) return respond(d, answer)
    }
    return {
      ...d,
      ownerCheck: undefined,
      guard: undefined,
      body: settledBody(d, principal, access),
    }
  }

  return (decision, principal, access) => {
    if (decision.action === 'respond') return decision
    if (decision.ownerCheck !== undefined || decision.guard !== undefined) {
      return settleChecks(decision, principal, access)
    }
    if (decision.body.kind === 'json') {
      return { ...decision, body: settledBody(decision, principal, access) }
    }
    return decision
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

import { C7AuthError, DEFAULT_ACTING_USER_VARIABLE, traceParentOf } from '@c7auth/core'
import type { DeployProfile, Principal } from '@c7auth/core'
import { mayDeploy } from '../deploy/grants.js'
import type { TenantSafetySettings } from '../deploy/grants.js'
import { actingUserPatch, injectVariable, stripVariable } from './acting-user.js'
import { encodePath, normalizePath } from './normalize-path.js'
import { ROUTES } from './routes.js'
import { emptyResult, scopeJsonBody, scopeSearchParams } from './scope.js'
import { namespaceWorkerIds } from './worker-id.js'
import { OwnerCache } from './owner.js'
import { createSettle } from './settle.js'
import { MISSING_ID_SENTINEL } from './types.js'
import {
  BINARY_VARIABLE_OPERATIONS,
  VARIABLE_WRITE_OPERATIONS,
  assertObjectTypeAllowed,
  assertTypedValuesAllowed,
} from './object-variables.js'
import type {
  ActingUserMode,
  BodyPlan,
  Decision,
  EngineAccess,
  ForwardDecision,
  GuardPlan,
  JsonRewrite,
  MatchedRoute,
  OwnerCheck,
  PolicyRequest,
  RouteMethod,
  RouteRule,
  StampTenantRule,
} from './types.js'

/** Options of {@link createPolicy}. */
export interface PolicyOptions {
  /** Name of the acting-user process variable. Default `DEFAULT_ACTING_USER_VARIABLE`. */
  actingUserVariable?: string
  /** Engine names accepted in an `/engine/{name}/…` prefix. Default `['default']`. */
  engineNames?: readonly string[]
  /**
   * Let admin principals skip tenant scoping (they still pass the table): query scoping, tenant
   * stamps, owner checks and answer guards alike, however the policy is mounted. Default `false`.
   */
  adminBypassesTenantScope?: boolean
  /** Owner resolutions cache of {@link Policy.settle}. Default: a new `OwnerCache()`. */
  owners?: OwnerCache
  /**
   * Cap for list queries (T1), like the engine's `queryMaxResultsLimit` for authenticated users:
   * a scoped list without `maxResults`, or with more, is refused with 400 `C7AUTH_REQUEST_INVALID`
   * and the engine's message. Default: no cap.
   */
  queryMaxResults?: number
  /** The route table. Default {@link ROUTES}. */
  routes?: readonly RouteRule[]
  /**
   * Tracing on: where the acting user is written, the active span's W3C `traceparent` is written
   * into this `String` variable too (client values are dropped), so workers continue the trace.
   */
  traceVariable?: string
  /**
   * Per-tenant deployment grants, deployment profile and object-type allowlist, by tenant id. A
   * tenant without an entry: nobody may deploy, profile `strict`, no object types.
   */
  tenantSettings?: Readonly<Record<string, TenantSafetySettings>>
}

/** The policy engine built by {@link createPolicy}. */
export interface Policy {
  /** Finds the route of a method and normalised path (`HEAD` is matched as `GET`). */
  match(method: string, path: string): MatchedRoute | undefined
  /**
   * Decides one request from the route table alone: forward (rewritten) or answer; throws a
   * `C7AuthError` to refuse. A forward may still name an owner check or a guard ({@link settle}).
   */
  decide(request: PolicyRequest): Decision
  /**
   * The decision the proxy executes: {@link decide}, then its owner check, guard and any owner
   * check a JSON body reveals run against the engine as the caller. Synchronous when nothing needs
   * the engine (every scoped query); a foreign or missing id settles to the engine's own answer.
   */
  settle(request: PolicyRequest, engine: EngineAccess): Decision | Promise<Decision>
  /** Name of the acting-user variable in force. */
  readonly actingUserVariable: string
}

interface Node {
  readonly literals: Map<string, Node>
  param: Node | undefined
  readonly routes: Map<RouteMethod, { route: RouteRule; names: (string | undefined)[] }>
}

const newNode = (): Node => ({ literals: new Map(), param: undefined, routes: new Map() })
const PARAM = /^\{([^}]+)\}$/
const STREAM: BodyPlan = Object.freeze({ kind: 'stream' })
const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'])

function buildTrie(routes: readonly RouteRule[]): Node {
  const root = newNode()
  for (const route of routes) {
    let node = root
    const names: (string | undefined)[] = []
    for (const seg of route.path.slice(1).split('/')) {
      const m = PARAM.exec(seg)
      if (m) {
        node.param ??= newNode()
        node = node.param
        names.push(m[1])
      } else {
        let next = node.literals.get(seg)
        if (!next) node.literals.set(seg, (next = newNode()))
        node = next
        names.push(undefined)
      }
    }
    if (node.routes.has(route.method)) {
      throw new C7AuthError('C7AUTH_CONFIG_INVALID', {
        message: `Duplicate route ${route.method} ${route.path}`,
      })
    }
    node.routes.set(route.method, { route, names })
  }
  return root
}

/**
 * JAX-RS style: the first template that matches the path wins, literal segments before parameters
 * (backtracking only over templates with no operation at all); the method is checked afterwards,
 * so `GET /task/create` does not fall through to `GET /task/{id}`.
 */
function find(node: Node, segments: readonly string[], i: number): Node | undefined {
  if (i === segments.length) return node.routes.size > 0 ? node : undefined
  const lit = node.literals.get(segments[i] as string)
  if (lit) {
    const hit = find(lit, segments, i + 1)
    if (hit) return hit
  }
  return node.param ? find(node.param, segments, i + 1) : undefined
}

/** The upstream path of `route` with the sentinel in place of the id segment. */
function probePath(
  route: RouteRule,
  engine: string | undefined,
  segments: readonly string[],
  idParam: string,
): string {
  const at = route.path.slice(1).split('/').indexOf(`{${idParam}}`)
  return encodePath(
    engine,
    segments.map((s, i) => (i === at ? MISSING_ID_SENTINEL : s)),
  )
}

/** The guard of a forward decision; admins that bypass tenant scope need none. */
function guardPlan(
  route: RouteRule,
  upstreamPath: string,
  bypassed: boolean,
): GuardPlan | undefined {
  const guard = route.guard
  if (guard === undefined || bypassed) return undefined
  switch (guard.kind) {
    case 'deployedForm': {
      // `…/deployed-start-form` → `…/startForm`, `/task/{id}/deployed-form` → `/task/{id}/form`
      const cut = upstreamPath.lastIndexOf('/')
      return {
        kind: 'deployedForm',
        metadataPath: `${upstreamPath.slice(0, cut)}/${guard.metadata}`,
      }
    }
    case 'tenantRows':
      return { kind: 'tenantRows' }
    case 'commentInstance':
      return undefined
  }
}

function denied(detail: string): C7AuthError {
  return new C7AuthError('C7AUTH_ROUTE_DENIED', { detail })
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Builds the policy: the route table compiled into a segment trie once, and a synchronous `decide`.
 *
 * @example
 * ```ts
 * const policy = createPolicy({ actingUserVariable: 'c7authActingUser' })
 * const d = policy.decide({ method: 'GET', path: '/task', query: new URLSearchParams(), principal })
 * if (d.action === 'forward') … // d.query has tenantIdIn=<principal tenants>
 * ```
 */
export function createPolicy(options: PolicyOptions = {}): Policy {
  const variable = options.actingUserVariable ?? DEFAULT_ACTING_USER_VARIABLE
  const engineNames = options.engineNames ?? ['default']
  const bypass = options.adminBypassesTenantScope ?? false
  const settleDecision = createSettle({
    owners: options.owners ?? new OwnerCache(),
    adminBypassesTenantScope: bypass,
  })
  const root = buildTrie(options.routes ?? ROUTES)
  const maxResults = options.queryMaxResults
  const { traceVariable } = options

  /** The acting-user rewrite, plus the trace variable while tracing is on. */
  function patch(
    json: unknown,
    principal: Principal,
    mode: ActingUserMode,
  ): Record<string, unknown> {
    const out = actingUserPatch(json, principal, variable, mode)
    if (traceVariable === undefined) return out
    const stripped = stripVariable(out, traceVariable)
    const parent = mode === 'inject' ? traceParentOf() : undefined
    return parent === undefined ? stripped : injectVariable(stripped, traceVariable, parent)
  }

  const settings = options.tenantSettings ?? {}
  const settingsOf = (tenant: string | undefined): TenantSafetySettings =>
    (tenant === undefined ? undefined : settings[tenant]) ?? {}
  const profileOf = (tenant: string | undefined): DeployProfile =>
    settingsOf(tenant).deployProfile ?? 'strict'

  /** Deploying needs a grant of the tenant (T32): scope, group or client named in its settings. */
  function ensureDeployer(principal: Principal, tenant: string): void {
    if (!mayDeploy(principal, settingsOf(tenant).deployers)) {
      throw new C7AuthError('C7AUTH_DEPLOY_FORBIDDEN', {
        message: `The caller may not deploy in tenant ${tenant}.`,
        detail: 'no deployer grant',
      })
    }
  }

  function checkMaxResults(query: URLSearchParams): void {
    if (maxResults === undefined) return
    const raw = query.get('maxResults')
    if (raw === null) {
      throw new C7AuthError('C7AUTH_REQUEST_INVALID', {
        message: 'An unbound number of results is forbidden!',
      })
    }
    const n = Number(raw)
    if (!Number.isInteger(n) || n > maxResults) {
      throw new C7AuthError('C7AUTH_REQUEST_INVALID', {
        message: `Max results limit of ${maxResults} exceeded!`,
      })
    }
  }

  function matchSegments(method: string, segments: readonly string[]): MatchedRoute | undefined {
    const m = method === 'HEAD' ? 'GET' : method
    if (!METHODS.has(m)) return undefined
    const hit = find(root, segments, 0)?.routes.get(m as RouteMethod)
    if (!hit) return undefined
    const params: Record<string, string> = {}
    hit.names.forEach((name, i) => {
      if (name !== undefined) params[name] = segments[i] as string
    })
    return { route: hit.route, params }
  }

  function match(method: string, path: string): MatchedRoute | undefined {
    const segments = path === '/' ? [] : path.slice(1).split('/')
    return matchSegments(method, segments)
  }

  function onlyTenant(
    principal: Principal,
    what: string,
    code: 'C7AUTH_REQUEST_INVALID' | 'C7AUTH_BODY_INVALID' = 'C7AUTH_REQUEST_INVALID',
  ): string {
    const [first, ...rest] = principal.tenantIds
    if (first === undefined) {
      throw new C7AuthError('C7AUTH_TENANT_FORBIDDEN', { detail: 'principal has no tenant' })
    }
    if (rest.length > 0) {
      throw new C7AuthError(code, { message: `The caller acts in several tenants; ${what}.` })
    }
    return first
  }

  function ensureTenant(principal: Principal, tenant: string): void {
    if (!principal.tenantIds.includes(tenant) && !(bypass && principal.admin)) {
      throw new C7AuthError('C7AUTH_TENANT_FORBIDDEN', { detail: 'tenant not granted' })
    }
  }

  /**
   * Redeploy repeats resources the gateway does not scan again, in a tenant known only after the
   * owner check: every tenant of the caller must grant it deploying under the `trusted` profile.
   */
  function ensureRedeploy(principal: Principal): void {
    for (const tenant of principal.tenantIds) {
      ensureDeployer(principal, tenant)
      if (profileOf(tenant) === 'strict') {
        throw new C7AuthError('C7AUTH_DEPLOY_FORBIDDEN', {
          message:
            'Redeploying is not available under the strict deployment profile; deploy the resources again (they are scanned).',
          detail: 'redeploy under strict',
        })
      }
    }
  }

  function actingPlan(mode: ActingUserMode | undefined, principal: Principal): BodyPlan {
    if (mode === undefined) return STREAM
    return {
      kind: 'json',
      rewrite: (json) => ({
        kind: 'forward',
        json: patch(json, principal, mode),
      }),
    }
  }

  function messagePlan(principal: Principal, mode: ActingUserMode | undefined): BodyPlan {
    return {
      kind: 'json',
      rewrite: (json): JsonRewrite => {
        const body = mode ? patch(json, principal, mode) : json
        if (!isObject(body)) throw new C7AuthError('C7AUTH_BODY_INVALID')
        const out: Record<string, unknown> = Object.fromEntries(
          Object.entries(body).filter(([k]) => {
            const lower = k.toLowerCase()
            return lower !== 'tenantid' && lower !== 'withouttenantid'
          }),
        )
        if (body.withoutTenantId === true) {
          throw new C7AuthError('C7AUTH_TENANT_FORBIDDEN', {
            message: 'Correlating to shared (tenant-less) processes is not allowed.',
          })
        }
        if (body.processInstanceId !== undefined && body.processInstanceId !== null) {
          // The engine cannot take processInstanceId together with tenantId (ENGINE-13028), and
          // without a tenant it falls back to message start events of EVERY tenant (by name only).
          throw new C7AuthError('C7AUTH_BODY_INVALID', {
            message:
              'Correlating by processInstanceId is not available through the gateway; use businessKey or correlationKeys (your tenant is added).',
            detail: 'message with processInstanceId',
          })
        }
        const asked = body.tenantId
        let tenant: string
        if (asked === undefined || asked === null) {
          tenant = onlyTenant(principal, 'name one in tenantId', 'C7AUTH_BODY_INVALID')
        } else if (typeof asked !== 'string') {
          throw new C7AuthError('C7AUTH_BODY_INVALID', { detail: 'tenantId must be a string' })
        } else {
          ensureTenant(principal, asked)
          tenant = asked
        }
        out.tenantId = tenant
        return { kind: 'forward', json: out }
      },
    }
  }

  function stamp(
    rule: StampTenantRule,
    route: RouteRule,
    params: Readonly<Record<string, string>>,
    principal: Principal,
  ): { segments?: string[]; body: BodyPlan; tenant: string | undefined } {
    switch (rule.at) {
      case 'path': {
        const tenant = params[rule.pathParam] as string
        ensureTenant(principal, tenant)
        return { body: actingPlan(route.actingUser, principal), tenant }
      }
      case 'keyPath': {
        const tenant = onlyTenant(principal, 'use the …/tenant-id/{tenant-id}/… path')
        const segments = rule.rewriteTo
          .slice(1)
          .split('/')
          .map((s) => {
            const m = PARAM.exec(s)
            if (!m) return s
            return m[1] === 'tenant-id' ? tenant : (params[m[1] as string] as string)
          })
        return { segments, body: actingPlan(route.actingUser, principal), tenant }
      }
      case 'multipart': {
        const resolveTenant = (values: readonly string[]): string => {
          if (values.length > 1) {
            throw new C7AuthError('C7AUTH_BODY_INVALID', {
              message: `Exactly one ${rule.multipartField} part is allowed.`,
            })
          }
          const [value] = values
          if (value === undefined || value === '') {
            return onlyTenant(
              principal,
              `send a ${rule.multipartField} part`,
              'C7AUTH_BODY_INVALID',
            )
          }
          ensureTenant(principal, value)
          ensureDeployer(principal, value)
          return value
        }
        // refuse before reading the body when the tenant is known already
        if (principal.tenantIds.length === 1) ensureDeployer(principal, principal.tenantIds[0]!)
        return {
          body: { kind: 'multipart', field: rule.multipartField, resolveTenant, profileOf },
          tenant: principal.tenantIds.length === 1 ? principal.tenantIds[0] : undefined,
        }
      }
      case 'body':
        return {
          body: messagePlan(principal, route.actingUser),
          tenant: principal.tenantIds.length === 1 ? principal.tenantIds[0] : undefined,
        }
    }
  }

  /**
   * `POST /task/{id}/comment/create`: the engine stores the body's `processInstanceId` unchecked,
   * so an id of another tenant would attach B's comment to A's instance. The caller's own instance
   * is kept; any other (foreign or missing, alike) is dropped and the comment stays on the task.
   */
  function commentPlan(): BodyPlan {
    return {
      kind: 'json',
      rewrite: (json): JsonRewrite => {
        if (!isObject(json)) return { kind: 'forward', json }
        const pid = json.processInstanceId
        if (pid === undefined || pid === null) return { kind: 'forward', json }
        const rest = Object.fromEntries(
          Object.entries(json).filter(([k]) => k !== 'processInstanceId'),
        )
        if (typeof pid !== 'string') return { kind: 'forward', json: rest }
        return {
          kind: 'forward',
          json,
          ownerCheck: { resource: 'processInstance', id: pid, shared: 'hide' },
          orElse: rest,
        }
      },
    }
  }

  function decide(request: PolicyRequest): Decision {
    const decision = decideRoute(request)
    if (decision.action !== 'forward') return decision
    const checked = checkObjectVariables(decision, request.principal)
    if (bypass && request.principal.admin) return checked
    return namespaceWorkerIds(checked, request.principal)
  }

  /**
   * The object types a write may name (T31): the allowlist of the request's tenant, or, when the
   * tenant is known only after the owner check, what every tenant of the caller allows.
   */
  function objectTypesFor(principal: Principal, tenant: string | undefined): Set<string> {
    const tenants = tenant === undefined ? principal.tenantIds : [tenant]
    const [first, ...rest] = tenants.map((t) => new Set(settingsOf(t).objectTypes ?? []))
    if (first === undefined) return new Set()
    return new Set([...first].filter((name) => rest.every((set) => set.has(name))))
  }

  /** Typed variable writes: `Object` values only with an allowlisted type, never Java serialization. */
  function checkObjectVariables(decision: ForwardDecision, principal: Principal): ForwardDecision {
    const op = decision.operationId
    if (BINARY_VARIABLE_OPERATIONS.has(op)) {
      const allowed = objectTypesFor(principal, decision.tenant)
      const resolveType = (values: readonly string[]): string | undefined => {
        if (values.length > 1) {
          throw new C7AuthError('C7AUTH_BODY_INVALID', {
            message: 'At most one type part is allowed.',
          })
        }
        const [value] = values
        if (value === undefined) return undefined
        assertObjectTypeAllowed(value, allowed)
        return value
      }
      return {
        ...decision,
        body: {
          kind: 'multipart',
          field: 'type',
          resolveTenant: resolveType,
          scanReferences: false,
        },
      }
    }
    if (!VARIABLE_WRITE_OPERATIONS.has(op)) return decision
    const allowed = objectTypesFor(principal, decision.tenant)
    const before = decision.body
    if (before.kind === 'multipart') return decision
    const body: BodyPlan = {
      kind: 'json',
      rewrite: (json) => {
        assertTypedValuesAllowed(json, allowed)
        return before.kind === 'json' ? before.rewrite(json) : { kind: 'forward', json }
      },
    }
    return { ...decision, body }
  }

  function decideRoute(request: PolicyRequest): Decision {
    const { principal } = request
    const norm = normalizePath(request.path, engineNames)
    const matched = matchSegments(request.method.toUpperCase(), norm.segments)
    if (!matched) throw denied('no route')
    const { route, params } = matched
    const { rule } = route
    const mutatingMethod = route.method !== 'GET' && route.method !== 'OPTIONS'
    // an escape-free path passed normalisation unchanged; only decoded ones need re-encoding
    const path = request.path.includes('%') ? encodePath(norm.engine, norm.segments) : request.path
    const single = principal.tenantIds.length === 1 ? principal.tenantIds[0] : undefined
    // one object shape for every forward decision keeps decide() monomorphic
    const forward = (
      query: URLSearchParams,
      body: BodyPlan,
      mutating: boolean,
      tenant: string | undefined,
      ownerCheck?: OwnerCheck,
      upstreamPath = path,
    ): ForwardDecision => ({
      action: 'forward',
      operationId: route.operationId,
      route,
      rule,
      engine: norm.engine,
      path: upstreamPath,
      query,
      body,
      ownerCheck,
      mutating,
      tenant,
      guard: guardPlan(route, upstreamPath, bypass && principal.admin),
    })
    switch (rule.kind) {
      case 'deny':
        throw denied(rule.reason)
      case 'adminOnly':
        if (!principal.admin) throw new C7AuthError('C7AUTH_ADMIN_ONLY')
        return forward(request.query, STREAM, mutatingMethod, undefined)
      case 'public':
        return forward(request.query, STREAM, false, undefined)
      case 'scopeQuery': {
        const bypassed = bypass && principal.admin
        if (rule.empty === 'list' && rule.in !== 'topics') checkMaxResults(request.query)
        if (rule.in === 'query') {
          const query = bypassed
            ? request.query
            : scopeSearchParams(rule, request.query, principal.tenantIds)
          if (query === undefined) {
            return {
              action: 'respond',
              operationId: route.operationId,
              status: 200,
              json: emptyResult(rule.empty),
            }
          }
          return forward(query, STREAM, false, single)
        }
        const tenants = principal.tenantIds
        const body: BodyPlan = bypassed
          ? STREAM
          : { kind: 'json', rewrite: (json) => scopeJsonBody(rule, json, tenants) }
        return forward(request.query, body, rule.in === 'topics', single)
      }
      case 'stampTenant': {
        const s = stamp(rule, route, params, principal)
        const upstream = s.segments ? encodePath(norm.engine, s.segments) : path
        return forward(request.query, s.body, mutatingMethod, s.tenant, undefined, upstream)
      }
      case 'ownerCheck': {
        if (
          rule.varNameParam !== undefined &&
          mutatingMethod &&
          params[rule.varNameParam] === variable
        ) {
          throw new C7AuthError('C7AUTH_ROUTE_DENIED', {
            message: 'The acting-user variable is written by the gateway only.',
          })
        }
        const check: OwnerCheck = {
          resource: rule.resource,
          id: params[rule.idParam] as string,
          shared: rule.shared,
          ...(rule.missing === 'route'
            ? {
                probe: {
                  method: route.method,
                  path: probePath(route, norm.engine, norm.segments, rule.idParam),
                },
              }
            : {}),
        }
        if (route.operationId === 'redeploy') ensureRedeploy(principal)
        const body =
          route.guard?.kind === 'commentInstance'
            ? commentPlan()
            : actingPlan(route.actingUser, principal)
        return forward(request.query, body, mutatingMethod, single, check)
      }
    }
  }

  function settle(request: PolicyRequest, engine: EngineAccess): Decision | Promise<Decision> {
    return settleDecision(decide(request), request.principal, engine)
  }

  return { match, decide, settle, actingUserVariable: variable }
}

import type { DeployProfile, Principal } from '@c7auth/core'

/** HTTP methods of the engine-rest OpenAPI document. `HEAD` is routed as `GET`. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS'

/** Resources whose tenant the gateway can resolve by id (one engine `GET`, cached). */
export type OwnerResource =
  | 'processDefinition'
  | 'processInstance'
  | 'task'
  | 'externalTask'
  | 'deployment'
  | 'execution'
  | 'job'
  | 'jobDefinition'
  | 'incident'
  | 'variableInstance'
  | 'historicProcessInstance'
  | 'historicActivityInstance'
  | 'historicVariableInstance'
  | 'historicDetail'
  | 'historicJobLog'
  | 'historicExternalTaskLog'
  | 'historicDecisionInstance'
  | 'decisionDefinition'
  | 'decisionRequirementsDefinition'

/**
 * How NULL-tenant ("shared") owners are treated by an owner check: `allow` (shared definitions and
 * deployments may be read), `forbid` (visible but not writable: 403), `hide` (runtime data of shared
 * definitions belongs to nobody: the engine's 404).
 */
export type SharedOwner = 'allow' | 'forbid' | 'hide'

/** Replace the client's tenant filter of a list/count query with the principal's tenants. */
export interface ScopeQueryRule {
  readonly kind: 'scopeQuery'
  /** Where the filter lives: URL query (`GET`), JSON query body (`POST`), or `topics[]` of fetchAndLock. */
  readonly in: 'query' | 'body' | 'topics'
  /** True when NULL-tenant rows are shared data every tenant may read (definitions, deployments). */
  readonly shared: boolean
  /** The resource's `include…WithoutTenantId` parameter, if it has one. */
  readonly includeParam?: string
  /** True when the resource has a `withoutTenantId` parameter. */
  readonly withoutParam: boolean
  /** The answer when nothing can match: `list` → `[]`, `count` → `{ "count": 0 }`. */
  readonly empty: 'list' | 'count'
}

/**
 * Pin the request to one of the principal's tenants. Where the tenant is named decides the check,
 * one variant each, so a rule without a location cannot be written.
 */
export type StampTenantRule =
  /** Path parameter holding the tenant (`tenant-id`): must be one of the principal's tenants. */
  | { readonly kind: 'stampTenant'; readonly at: 'path'; readonly pathParam: 'tenant-id' }
  /**
   * Key-only path (the engine reads it as "shared definition"): rewritten to this tenant template
   * for a single-tenant principal; a multi-tenant principal must name the tenant.
   */
  | { readonly kind: 'stampTenant'; readonly at: 'keyPath'; readonly rewriteTo: string }
  /** JSON body field holding the tenant (`/message`): checked, or stamped for a single tenant. */
  | { readonly kind: 'stampTenant'; readonly at: 'body'; readonly body: 'tenantId' }
  /** Multipart text field holding the tenant (`/deployment/create`). */
  | { readonly kind: 'stampTenant'; readonly at: 'multipart'; readonly multipartField: 'tenant-id' }

/** Resolve the tenant of the id in the path first; a foreign id gets the engine's own 404. */
export interface OwnerCheckRule {
  readonly kind: 'ownerCheck'
  readonly resource: OwnerResource
  /** Path parameter holding the id. */
  readonly idParam: string
  readonly shared: SharedOwner
  /** Path parameter naming a variable; writing the acting-user variable through it is refused. */
  readonly varNameParam?: string
  /**
   * How a foreign or missing id is answered: `resource` (default) with the resource's own 404
   * (`engineNotFound`); `route` with whatever this very route answers for an id that does not
   * exist — sub-routes of one resource differ (400 vs 404, other exception types, a 500 on some) —
   * learned once per engine by asking it for a sentinel id (see `missingIdProbe`).
   */
  readonly missing?: 'resource' | 'route'
}

/** Reserved to gateway administrators (identity and authorization resources). */
export interface AdminOnlyRule {
  readonly kind: 'adminOnly'
}

/** Refused for everybody with 403 `C7AUTH_ROUTE_DENIED`. */
export interface DenyRule {
  readonly kind: 'deny'
  /** Why (trap number of the reference), for reviewers and logs. */
  readonly reason: string
}

/** Any authenticated caller; no tenant data involved (`/version`, `/engine`). */
export interface PublicRule {
  readonly kind: 'public'
}

/** One rule of the route table. */
export type Rule =
  ScopeQueryRule | StampTenantRule | OwnerCheckRule | AdminOnlyRule | DenyRule | PublicRule

/** The rule kinds, in docs/route-policy.md order. */
export const RULE_KINDS = [
  'scopeQuery',
  'stampTenant',
  'ownerCheck',
  'public',
  'adminOnly',
  'deny',
] as const satisfies readonly Rule['kind'][]

/**
 * What the gateway does with the acting-user variable in a JSON body: `inject` (start, complete,
 * submit-form: drop client values under that name, then write the caller), `strip` (any other
 * body that sets variables: drop client values only).
 */
export type ActingUserMode = 'inject' | 'strip'

/**
 * A check of what the engine would answer, after the rule passed, for operations whose answer can
 * carry another tenant's data although the addressed object is the caller's:
 * - `deployedForm` (T29): the Camunda Form reference is read first (`…/startForm`, `/task/{id}/form`);
 *   a form bound by `latest` is refused with the engine's own "no form definition" 404 unless the
 *   engine checks tenants itself (bridge, assertion). `deployment` binding reads the definition's
 *   own deployment, `version` binding only tenant-less forms, form keys the definition's deployment.
 * - `tenantRows`: a JSON array whose rows carry `tenantId`; rows of other tenants are dropped
 *   (`static-called-process-definitions`: a model may name another tenant's process, T13).
 * - `commentInstance`: the body's `processInstanceId` must be the caller's; otherwise it is dropped
 *   (the engine stores any id unchecked, so a missing and a foreign id are treated alike).
 */
export type RouteGuard =
  | { readonly kind: 'deployedForm'; readonly metadata: 'startForm' | 'form' }
  | { readonly kind: 'tenantRows' }
  | { readonly kind: 'commentInstance' }

/** One row of the route table: an OpenAPI operation and its rule. */
export interface RouteRule {
  readonly method: RouteMethod
  /** The OpenAPI path template, e.g. `/process-definition/{id}`. */
  readonly path: string
  readonly operationId: string
  readonly rule: Rule
  readonly actingUser?: ActingUserMode
  readonly guard?: RouteGuard
  /**
   * A long poll (`fetchAndLock`): the JSON body is always read, its `asyncResponseTimeout` capped
   * (`C7AUTH_ENGINE_MAX_LONG_POLL_MS`), and the upstream headers timeout extended by it.
   */
  readonly longPoll?: true
  /**
   * The 2xx JSON answer carries `links[].href` with the engine's own URL: buffered and rewritten
   * to the gateway's public URL. Every other answer streams through untouched.
   */
  readonly links?: true
}

/** Result of {@link normalizePath}. */
export interface NormalizedPath {
  /** Engine named by an `/engine/{name}` prefix; `undefined` for the default mount. */
  readonly engine: string | undefined
  /** Decoded path below the engine prefix, e.g. `/task/abc`. */
  readonly path: string
  /** Decoded segments of {@link NormalizedPath.path}. */
  readonly segments: readonly string[]
}

/** A route matched against a normalised path. */
export interface MatchedRoute {
  readonly route: RouteRule
  /** Decoded path parameters by template name. */
  readonly params: Readonly<Record<string, string>>
}

/** An owner check the proxy must perform before forwarding. */
export interface OwnerCheck {
  readonly resource: OwnerResource
  readonly id: string
  readonly shared: SharedOwner
  /**
   * For `missing: 'route'`: the same operation with {@link MISSING_ID_SENTINEL} in place of the id
   * (upstream path, `/engine/{name}` kept); its answer, with the sentinel replaced by the id, is the
   * answer for a foreign or missing id.
   */
  readonly probe?: { readonly method: RouteMethod; readonly path: string }
}

/** An id no engine object has: the probe of a route's answer for a missing id. */
export const MISSING_ID_SENTINEL = 'c7auth-missing-id-probe-5f0c0ffee'

/** The {@link RouteGuard} of a forward decision, with its engine paths. */
export type GuardPlan =
  /** Read the form reference at `metadataPath` (below the mount) first. */
  { readonly kind: 'deployedForm'; readonly metadataPath: string } | { readonly kind: 'tenantRows' }

/** The outcome of a JSON body rewrite. */
export type JsonRewrite =
  | {
      readonly kind: 'forward'
      readonly json: unknown
      /** An owner check the body revealed (e.g. `processInstanceId` of a message correlation). */
      readonly ownerCheck?: OwnerCheck
      /**
       * Forward this JSON instead when {@link ownerCheck} fails (foreign or missing); without it a
       * failed check answers the engine's 404.
       */
      readonly orElse?: unknown
    }
  | { readonly kind: 'respond'; readonly status: number; readonly json: unknown }

/** What to do with the request body. */
export type BodyPlan =
  /** Pass the body through unchanged (or there is none). */
  | { readonly kind: 'stream' }
  /**
   * Read the JSON body (bounded), call `rewrite` (`undefined` for an empty body) and forward the
   * result, or answer with it. `rewrite` throws `C7AUTH_BODY_INVALID` for a body it cannot police.
   * `decide` gives synchronous rewrites; `settle` wraps one that reveals an owner check in an
   * asynchronous one that has run it (the proxy executes no owner check itself).
   */
  | {
      readonly kind: 'json'
      readonly rewrite: (json: unknown) => JsonRewrite | Promise<JsonRewrite>
    }
  /**
   * Rebuild the multipart body: drop every part whose name equals `field` (ASCII case-insensitive)
   * and add one text part `field` = `resolveTenant(values of the dropped parts)` (none when it
   * answers undefined).
   */
  | {
      readonly kind: 'multipart'
      /** `tenant-id` (deployments) or `type` (the Java type of a binary variable upload). */
      readonly field: 'tenant-id' | 'type'
      /** The value to send in `field`, from the dropped parts' values; undefined: none. */
      readonly resolveTenant: (values: readonly string[]) => string | undefined
      /** The deployment profile of the resolved tenant (the scanner applies it). */
      readonly profileOf?: (tenantId: string | undefined) => DeployProfile
      /** Scan kept parts for `…TenantId` references and DTDs (deployments). Default true. */
      readonly scanReferences?: boolean
    }

/** Forward to the engine, possibly rewritten. */
export interface ForwardDecision {
  readonly action: 'forward'
  readonly operationId: string
  /** The route-table row (its `longPoll` and `links` flags tell the proxy how to carry it). */
  readonly route: RouteRule
  readonly rule: Rule
  readonly engine: string | undefined
  /** Path to request upstream below the mount, percent-encoded, `/engine/{name}` kept. */
  readonly path: string
  readonly query: URLSearchParams
  readonly body: BodyPlan
  /**
   * Resolve this owner (see `checkOwner`) before forwarding; `undefined` when none is needed, and
   * always after `settle` (which runs it).
   */
  readonly ownerCheck: OwnerCheck | undefined
  /** True when the operation changes engine state. */
  readonly mutating: boolean
  /** The tenant the request was pinned to, when there is exactly one. */
  readonly tenant: string | undefined
  /**
   * A check of the engine's answer (see {@link RouteGuard}); `undefined` when none is needed, and
   * always after `settle` (which runs it).
   */
  readonly guard?: GuardPlan | undefined
}

/**
 * Answer without calling the engine: a scoped query that cannot match anything (`[]`, a zero
 * count), or, after `settle`, the engine's own answer for a foreign or missing id.
 */
export interface RespondDecision {
  readonly action: 'respond'
  readonly operationId: string
  readonly status: number
  readonly json: unknown
  /** The tenant the request was pinned to, for audit. */
  readonly tenant?: string | undefined
  /** True when the operation would have changed engine state (audit logs these). */
  readonly mutating?: boolean
}

/**
 * The one decision from policy to proxy: `decide` gives it from the route table alone (it may
 * still name an owner check or a guard); `settle` runs those against the engine, and the proxy
 * executes what `settle` gives.
 */
export type Decision = ForwardDecision | RespondDecision

/** Input of `decide`. */
export interface PolicyRequest {
  readonly method: string
  /** Path below the mount prefix, still percent-encoded, without the query string. */
  readonly path: string
  readonly query: URLSearchParams
  readonly principal: Principal
}

/**
 * Calls the engine as the caller (owner checks, form references, missing-id probes); resolves
 * `{ status, body }`. `GET` unless `init` names another method (a probe of a `POST` route).
 */
export type EngineLookup = (
  path: string,
  init?: { readonly method: 'GET' | 'POST'; readonly body?: unknown },
) => Promise<{ status: number; body: unknown }>

/** The engine as `settle` sees it for one request. */
export interface EngineAccess {
  /** Calls the engine with the caller's upstream credentials. */
  readonly lookup: EngineLookup
  /**
   * True when the engine applies its own tenant check to the caller (`bridge`, `assertion`): a
   * Camunda Form bound by `latest` then resolves in the caller's tenants only and is served.
   * False: such forms are refused (T29).
   */
  readonly checksTenants: boolean
}

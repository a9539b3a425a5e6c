import type { Task, TaskService } from 'camunda-external-task-client-js'
import {
  ConfigError,
  DEFAULT_ACTING_USER_VARIABLE,
  refusesPlainHttp,
  parseActingUser,
} from '@c7auth/core'
import type { ActingUser, TokenRequestParams, TokenSource } from '@c7auth/core'
import type { Tracer } from '@opentelemetry/api'
import { delegatedToken } from './on-behalf-of.js'
import type { OnBehalfOfSource } from './on-behalf-of.js'
import { inDownstreamSpan } from './tracing.js'
import { emitTo } from './worker-events.js'
import type { WorkerEvent, WorkerEventListener } from './worker-events.js'

/** Default header carrying the tenant id on downstream calls. */
export const DEFAULT_TENANT_HEADER = 'X-C7Auth-Tenant'
/** Default header carrying the acting user's id on downstream calls. */
export const DEFAULT_ACTING_USER_HEADER = 'X-C7Auth-Acting-User'

/** How downstream calls are made. Header names: `false` leaves that header out. */
export interface DownstreamOptions {
  /** Default {@link DEFAULT_TENANT_HEADER}. */
  tenantHeader?: string | false
  /** Default {@link DEFAULT_ACTING_USER_HEADER}. */
  actingUserHeader?: string | false
  /**
   * Allow sending tokens to `http:` URLs on non-loopback hosts. `http:` on `127.0.0.1`, `::1`
   * and `localhost` is always allowed; anywhere else it is refused unless this is true. Default: false.
   */
  allowInsecureHttp?: boolean
}

/** `fetch` options plus the token request parameters for the downstream API. */
export interface DownstreamRequestInit extends RequestInit {
  /** `audience` of the app token (Auth0 style). */
  audience?: string
  /** `scope` of the app token. */
  scope?: string
  /** RFC 8707 resource indicator(s) of the app token. */
  resource?: string | string[]
  /**
   * `'actingUser'`: call as the task's acting user instead of as the app. The user's delegation
   * grant for this process instance (stored by the gateway, docs/on-behalf-of.md) is exchanged for
   * a token of `audience`/`scope`/`resource` whose `sub` is the user and whose `act` names the app.
   * Without a usable grant the call is not made: it rejects with `C7AUTH_DELEGATION_MISSING`,
   * `_REVOKED` or `_FAILED`, never falling back to the app's token.
   */
  onBehalfOf?: 'actingUser'
}

/** A `fetch` that authenticates as the tenant's app and conveys tenant and acting user. */
export type DownstreamFetch = (url: string | URL, init?: DownstreamRequestInit) => Promise<Response>

/** What a tenant worker's handler receives. */
export interface TaskContext {
  /** The locked task (variables read-only). */
  task: Task
  /** Complete, fail, extend the lock… of this task. */
  taskService: TaskService
  /** The tenant this worker serves; always equal to `task.tenantId`. */
  tenant: string
  /** Who started the process or completed the previous user task; absent when unknown. */
  actingUser: ActingUser | undefined
  /** `fetch` with this tenant's app token for the given audience, plus context headers. */
  fetch: DownstreamFetch
}

/** Options of {@link createTaskContext}. */
export interface TaskContextOptions {
  task: Task
  taskService: TaskService
  tenant: string
  /** The tenant app's token source (app tokens per audience). */
  tokenSource: TokenSource
  /** Process variable holding the acting user. Default {@link DEFAULT_ACTING_USER_VARIABLE}. */
  actingUserVariable?: string
  /** Header names and transport rules of `ctx.fetch`. */
  downstream?: DownstreamOptions
  /** The `fetch` to wrap. Default: the global `fetch`. */
  fetch?: typeof fetch
  /** Receives token and downstream-401 events. */
  onEvent?: WorkerEventListener
  /** Traces each downstream call (a client span; its `traceparent` goes downstream). */
  tracer?: Tracer
  /** Vault and token exchange for `ctx.fetch(url, { onBehalfOf: 'actingUser' })`. */
  onBehalfOf?: OnBehalfOfSource
}

/**
 * Builds a handler's {@link TaskContext}: reads the acting user from the task's variables and binds
 * a downstream `fetch` to the tenant's app credentials. Useful with a hand-built `Client`; tenant
 * workers call it for every task.
 *
 * @example
 * ```ts
 * client.subscribe('charge', { tenantIdIn: ['acme'] }, async ({ task, taskService }) => {
 *   const ctx = createTaskContext({ task, taskService, tenant: 'acme', tokenSource })
 *   await ctx.fetch('https://billing.internal/charges', { method: 'POST', audience: 'billing' })
 *   await taskService.complete(task)
 * })
 * ```
 */
export function createTaskContext(options: TaskContextOptions): TaskContext {
  const { task, taskService, tenant } = options
  const actingUser = parseActingUser(
    task.variables.get(options.actingUserVariable ?? DEFAULT_ACTING_USER_VARIABLE),
  )
  const fetch = createDownstreamFetch({
    tenant,
    actingUser,
    tokenSource: options.tokenSource,
    ...(options.downstream === undefined ? {} : { downstream: options.downstream }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
    ...(options.onBehalfOf === undefined ? {} : { onBehalfOf: options.onBehalfOf }),
    processInstanceId: task.processInstanceId,
  })
  return { task, taskService, tenant, actingUser, fetch }
}

/** Options of {@link createDownstreamFetch}. */
export interface DownstreamFetchOptions {
  tenant: string
  actingUser: ActingUser | undefined
  tokenSource: TokenSource
  downstream?: DownstreamOptions
  fetch?: typeof fetch
  onEvent?: WorkerEventListener
  /** Traces each downstream call (a client span; its `traceparent` goes downstream). */
  tracer?: Tracer
  /** Vault and token exchange for `onBehalfOf` calls. */
  onBehalfOf?: OnBehalfOfSource
  /** The task's process instance: the binding of `onBehalfOf` grants. */
  processInstanceId?: string
}

/**
 * A `fetch` that sends `Authorization: Bearer` with an app token of the tenant for the requested
 * audience/scope/resource (cached per parameters by the token source), sets the tenant and
 * acting-user headers (removing any the caller set, so they always tell the truth), and retries
 * once with a fresh token after a 401. Plain `http:` is refused off loopback unless allowed. Bodies that cannot be re-sent (streams) are not retried,
 * but the refused token is still invalidated.
 *
 * @example
 * ```ts
 * const call = createDownstreamFetch({ tenant: 'acme', actingUser, tokenSource })
 * const res = await call('https://crm.internal/customers/42', { audience: 'crm' })
 * ```
 */
export function createDownstreamFetch(options: DownstreamFetchOptions): DownstreamFetch {
  const { tenant, actingUser, tokenSource, tracer } = options
  const fetchImpl = options.fetch ?? globalThis.fetch
  const tenantHeader = options.downstream?.tenantHeader ?? DEFAULT_TENANT_HEADER
  const actingUserHeader = options.downstream?.actingUserHeader ?? DEFAULT_ACTING_USER_HEADER
  const allowInsecureHttp = options.downstream?.allowInsecureHttp === true
  const listeners = options.onEvent ? [options.onEvent] : []
  const emit = (event: WorkerEvent): void => emitTo(listeners, event)

  const getToken = async (params: TokenRequestParams | undefined): Promise<string> => {
    try {
      return await (params ? tokenSource.getToken(params) : tokenSource.getToken())
    } catch (error) {
      emit({ type: 'token:failed', tenant, target: 'downstream', error })
      throw error
    }
  }

  return async (url, init = {}) => {
    const { audience, scope, resource, onBehalfOf, ...requestInit } = init
    const target = new URL(url)
    if (refusesPlainHttp(target, allowInsecureHttp)) {
      throw new ConfigError([
        `ctx.fetch: refusing to send a token over plain http to ${target.origin} (downstream.allowInsecureHttp)`,
      ])
    }
    const params = tokenParams(audience, scope, resource)
    const send = (token: string): Promise<Response> => {
      const headers = new Headers(requestInit.headers)
      headers.set('authorization', `Bearer ${token}`)
      if (tenantHeader) headers.set(tenantHeader, tenant)
      if (actingUserHeader) {
        if (actingUser) headers.set(actingUserHeader, actingUser.userId)
        else headers.delete(actingUserHeader)
      }
      if (tracer === undefined) return fetchImpl(url, { ...requestInit, headers })
      return inDownstreamSpan(tracer, target, requestInit.method ?? 'GET', tenant, headers, () =>
        fetchImpl(url, { ...requestInit, headers }),
      )
    }

    if (onBehalfOf === 'actingUser') {
      // The user's token, once: no retry and no app token after a 401.
      const binding = { tenant, processInstanceId: options.processInstanceId }
      return send(await delegatedToken(options.onBehalfOf, binding, actingUser, params))
    }
    const token = await getToken(params)
    const response = await send(token)
    if (response.status !== 401) return response
    const { origin } = target
    tokenSource.invalidate(token)
    if (!isReplayable(requestInit.body)) {
      emit({ type: 'downstream:unauthorized', tenant, retrying: false, origin })
      return response
    }
    emit({ type: 'downstream:unauthorized', tenant, retrying: true, origin })
    // Free the connection before the retry.
    await response.body?.cancel().catch(() => undefined)
    const second = await send(await getToken(params))
    if (second.status === 401) {
      emit({ type: 'downstream:unauthorized', tenant, retrying: false, origin })
    }
    return second
  }
}

function tokenParams(
  audience: string | undefined,
  scope: string | undefined,
  resource: string | string[] | undefined,
): TokenRequestParams | undefined {
  if (audience === undefined && scope === undefined && resource === undefined) return undefined
  return {
    ...(audience === undefined ? {} : { audience }),
    ...(scope === undefined ? {} : { scope }),
    ...(resource === undefined ? {} : { resource }),
  }
}

/** Bodies `fetch` can send twice; streams and async iterables are consumed by the first send. */
function isReplayable(body: RequestInit['body']): boolean {
  if (body === undefined || body === null) return true
  if (typeof body === 'string') return true
  if (body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData)
    return true
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true
  return false
}

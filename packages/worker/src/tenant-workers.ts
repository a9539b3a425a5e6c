import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'camunda-external-task-client-js'
import type {
  ClientConfig,
  HandlerArgs,
  Interceptor,
  SubscribeOptions,
  Task,
  TaskService,
} from 'camunda-external-task-client-js'
import {
  ConfigError,
  DEFAULT_ACTING_USER_VARIABLE,
  DEFAULT_TRACE_VARIABLE,
  contextFromTraceParent,
  createTokenClient,
  createTokenStoreFromConfig,
  envIdOf,
} from '@c7auth/core'
import type { Tracer } from '@opentelemetry/api'
import type {
  OAuthClientConfig,
  OnBehalfOfVault,
  TenantConfig,
  TokenClient,
  TokenEvent,
  TokenSource,
  TokenStore,
  TokenStoreConfig,
} from '@c7auth/core'
import { bearerAuthInterceptor } from './bearer-auth-interceptor.js'
import { c7authMiddleware } from './c7auth-middleware.js'
import { createTaskContext } from './task-context.js'
import { inTaskSpan, tokenEventSpan, tracingInterceptor } from './tracing.js'
import type { DownstreamOptions, TaskContext } from './task-context.js'
import { emitTo, logEvent } from './worker-events.js'
import type { WorkerEvent, WorkerEventListener, WorkerLogger } from './worker-events.js'

/** The parts of one tenant's configuration a worker needs (a {@link TenantConfig} fits). */
export type WorkerTenantConfig = Pick<TenantConfig, 'id'> & {
  /** The tenant app's OAuth client (required unless `tokenSourceFactory` ignores it). */
  client?: OAuthClientConfig
  /** The env-safe id, used to name missing keys in errors. */
  envId?: string
}

/** The configuration tenant workers read; `loadConfigFromEnv(process.env)` returns a superset. */
export interface TenantWorkersConfig {
  tenants: readonly WorkerTenantConfig[]
  /** `engine.url` is the engine-rest base URL workers call: the gateway's. */
  engine: { url: string }
  gateway?: { actingUserVariable?: string }
  /** `C7AUTH_TOKEN_STORE`: a shared store lets the replicas of this worker share their tokens. */
  tokenStore?: TokenStoreConfig
}

/** Client options tenant workers pass through (they own `baseUrl`, `workerId` and auth). */
export type TenantClientOptions = Omit<ClientConfig, 'baseUrl' | 'workerId'>

/** Options of {@link createTenantWorkers}. */
export interface TenantWorkersOptions {
  /** From `loadConfigFromEnv(process.env)` or written by hand. */
  config: TenantWorkersConfig
  /** Only these tenant ids (default: every configured tenant). */
  tenants?: readonly string[]
  /** Extra `Client` options; `interceptors` and `use` run after c7auth's own. */
  clientOptions?: TenantClientOptions
  /** Builds a tenant's token source. Default: the core token client from `tenant.client`. */
  tokenSourceFactory?: (tenant: WorkerTenantConfig) => TokenSource
  /** Header names for downstream calls made with `ctx.fetch`. */
  downstream?: DownstreamOptions
  /**
   * The on-behalf-of vault (`createOnBehalfOfVaultFromConfig(config.tokenStore)`, the gateway's
   * store) for `ctx.fetch(url, { onBehalfOf: 'actingUser' })`; grants are exchanged with the
   * tenant's token source. Without it such calls fail with `C7AUTH_DELEGATION_MISSING`.
   */
  vault?: OnBehalfOfVault
  /** Acting-user variable name. Default: `config.gateway.actingUserVariable`, then `c7authActingUser`. */
  actingUserVariable?: string
  /**
   * A worker id prefix (`<prefix>:<tenant>`) or a function of the tenant id. Default:
   * `<host>:<pid>:<random>:<tenant>`, unique per process and tenant.
   */
  workerId?: string | ((tenant: string) => string)
  /** Receives every {@link WorkerEvent} (a metrics hook). */
  onEvent?: WorkerEventListener
  /** Where events are logged (pino-compatible). */
  logger?: WorkerLogger
  /** The `fetch` `ctx.fetch` wraps. Default: the global `fetch`. */
  fetch?: typeof fetch
  /**
   * Traces tasks (a consumer span per task, continuing the trace the gateway left in the process),
   * engine calls, token requests and `ctx.fetch` calls, with W3C `traceparent` on every call.
   * Off when absent: no span code runs.
   */
  tracer?: Tracer
  /** Process variable holding the `traceparent` the gateway left. Default `c7authTraceParent`. */
  traceVariable?: string
}

/** A handler of tenant workers. */
export type TenantTaskHandler = (context: TaskContext) => unknown

/** Subscription options; the tenant filter is always set by tenant workers. */
export type TenantSubscribeOptions = Omit<SubscribeOptions, 'tenantIdIn' | 'withoutTenantId'>

/** What {@link TenantWorkers.close} reports. */
export interface CloseResult {
  /** True when every running handler finished within the bound. */
  drained: boolean
  /** Handlers still running when the bound elapsed (their engine calls are aborted). */
  abandoned: number
}

/** One external-task client per tenant, behind one `subscribe`. */
export interface TenantWorkers {
  /** Subscribes `handler` to `topic` in every tenant, each restricted to its own tenant. */
  subscribe(topic: string, handler: TenantTaskHandler): { unsubscribe(): void }
  subscribe(
    topic: string,
    options: TenantSubscribeOptions,
    handler: TenantTaskHandler,
  ): { unsubscribe(): void }
  /** The clients, by tenant id. */
  readonly clients: ReadonlyMap<string, Client>
  /** The worker ids, by tenant id. */
  readonly workerIds: ReadonlyMap<string, string>
  /**
   * Stops polling, waits up to `timeoutMs` (default 10 s) for running handlers, aborts what is
   * still in flight (pending long polls included) and stops the token sources' timers. The
   * process can then exit by itself.
   */
  close(options?: { timeoutMs?: number }): Promise<CloseResult>
}

/**
 * One `camunda-external-task-client-js` {@link Client} per tenant, each authenticating with that
 * tenant's app credentials (client credentials, refreshed ahead of expiry, one retry after a 401).
 * Every subscription fetches only its own tenant's tasks (`tenantIdIn: [tenant]`, never empty); a
 * task of another tenant that arrives anyway is not run and is reported failed (retries 0, so an
 * incident makes it visible). Handlers get a
 * {@link TaskContext} with the tenant, the acting user and a downstream `fetch`.
 *
 * @example
 * ```ts
 * import { loadConfigFromEnv } from '@c7auth/core'
 * import { createTenantWorkers } from '@c7auth/worker'
 *
 * const workers = createTenantWorkers({ config: loadConfigFromEnv(process.env, { role: 'worker' }) })
 * workers.subscribe('charge-card', { lockDuration: 30_000 }, async (ctx) => {
 *   const res = await ctx.fetch('https://billing.internal/charges', { method: 'POST', audience: 'billing' })
 *   await ctx.taskService.complete(ctx.task)
 * })
 * process.once('SIGTERM', () => void workers.close({ timeoutMs: 20_000 }))
 * ```
 */
export function createTenantWorkers(options: TenantWorkersOptions): TenantWorkers {
  const { config } = options
  const tenants = selectTenants(config.tenants, options.tenants)
  const actingUserVariable =
    options.actingUserVariable ?? config.gateway?.actingUserVariable ?? DEFAULT_ACTING_USER_VARIABLE
  const listeners: WorkerEventListener[] = []
  if (options.onEvent) listeners.push(options.onEvent)
  const { logger } = options
  if (logger) listeners.push((event) => logEvent(logger, event))
  // Events only tenant workers see (the middleware reports the client's and interceptor's own).
  const report = (event: WorkerEvent): void => emitTo(listeners, event)
  const { tracer } = options
  const traceVariable = options.traceVariable ?? DEFAULT_TRACE_VARIABLE
  // Only the default token sources use the shared store; a custom factory brings its own.
  const sharedStore =
    options.tokenSourceFactory === undefined
      ? createTokenStoreFromConfig(config.tokenStore, {
          onEvent: (event) => report({ type: 'token:store', event }),
        })
      : undefined
  const factory =
    options.tokenSourceFactory ??
    ((tenant: WorkerTenantConfig) =>
      defaultTokenSource(
        tenant,
        (event) => {
          if (tracer !== undefined) tokenEventSpan(tracer, tenant.id, event)
          report({ type: 'token:lifecycle', tenant: tenant.id, event })
        },
        sharedStore?.forTenant(tenant.id),
      ))
  const workerIdOf = workerIdFactory(options.workerId)

  const clients = new Map<string, Client>()
  const workerIds = new Map<string, string>()
  const tokenSources = new Map<string, TokenSource>()
  const aborts = new Map<string, AbortController>()
  const inFlight = new Set<Promise<unknown>>()
  let closing = false

  try {
    for (const tenant of tenants) tokenSources.set(tenant.id, factory(tenant))
  } catch (error) {
    for (const source of tokenSources.values()) source.close()
    void sharedStore?.close()
    throw error
  }

  for (const tenant of tenants) {
    const tokenSource = tokenSources.get(tenant.id) as TokenSource
    const abort = new AbortController()
    const auth = bearerAuthInterceptor(tokenSource, { tenant: tenant.id })
    const withSignal: Interceptor = (request) => ({ ...request, signal: abort.signal })
    const middleware = c7authMiddleware({
      auth,
      tenant: tenant.id,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    })
    const workerId = workerIdOf(tenant.id)
    const extra = options.clientOptions ?? {}
    const client = new Client({
      ...extra,
      baseUrl: config.engine.url,
      workerId,
      interceptors: [
        withSignal,
        auth,
        ...(tracer === undefined ? [] : [tracingInterceptor(tracer)]),
        ...asArray(extra.interceptors),
      ],
      use: [middleware, ...asArray(extra.use)],
    })
    clients.set(tenant.id, client)
    workerIds.set(tenant.id, workerId)
    aborts.set(tenant.id, abort)
  }

  const run = (
    tenant: string,
    handler: TenantTaskHandler,
  ): ((args: HandlerArgs) => Promise<void>) => {
    const tokenSource = tokenSources.get(tenant) as TokenSource
    return async ({ task, taskService }) => {
      const execution = execute(tenant, tokenSource, handler, task, taskService)
      inFlight.add(execution)
      try {
        await execution
      } finally {
        inFlight.delete(execution)
      }
    }
  }

  const execute = async (
    tenant: string,
    tokenSource: TokenSource,
    handler: TenantTaskHandler,
    task: Task,
    taskService: TaskService,
  ): Promise<void> => {
    if (task.tenantId !== tenant) {
      report({ type: 'task:foreign-tenant', tenant, taskId: task.id, taskTenantId: task.tenantId })
      await taskService
        .handleFailure(task, {
          errorMessage: `c7auth: task of tenant ${JSON.stringify(task.tenantId)} reached the worker of tenant ${JSON.stringify(tenant)}; not executed`,
          retries: 0,
          retryTimeout: 0,
        })
        .catch(() => undefined)
      return
    }
    if (closing) {
      // Fetched by a poll that was already under way when close() began: hand it back.
      await taskService.unlock(task).catch(() => undefined)
      return
    }
    const context = createTaskContext({
      task,
      taskService,
      tenant,
      tokenSource,
      actingUserVariable,
      ...(options.downstream === undefined ? {} : { downstream: options.downstream }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.onEvent === undefined && logger === undefined ? {} : { onEvent: report }),
      ...(tracer === undefined ? {} : { tracer }),
      ...(options.vault === undefined || !canExchange(tokenSource)
        ? {}
        : { onBehalfOf: { vault: options.vault, exchanger: tokenSource } }),
    })
    if (tracer === undefined) {
      await handler(context)
      return
    }
    await inTaskSpan(
      tracer,
      contextFromTraceParent(task.variables.get(traceVariable)),
      {
        'c7auth.tenant': tenant,
        'c7auth.topic': task.topicName,
        'c7auth.task.id': task.id,
        'c7auth.process_instance.id': task.processInstanceId,
        'c7auth.activity.id': task.activityId,
      },
      async () => {
        await handler(context)
      },
    )
  }

  function subscribe(
    topic: string,
    optionsOrHandler: TenantSubscribeOptions | TenantTaskHandler,
    maybeHandler?: TenantTaskHandler,
  ): { unsubscribe(): void } {
    const handler = typeof optionsOrHandler === 'function' ? optionsOrHandler : maybeHandler
    const subscribeOptions = typeof optionsOrHandler === 'function' ? {} : optionsOrHandler
    if (typeof handler !== 'function') {
      throw new ConfigError([`subscribe("${topic}"): a handler function is required`])
    }
    const given = subscribeOptions as SubscribeOptions
    if (given.tenantIdIn !== undefined || given.withoutTenantId !== undefined) {
      throw new ConfigError([
        `subscribe("${topic}"): tenantIdIn/withoutTenantId are set by createTenantWorkers; remove them`,
      ])
    }
    // A subscription that names its variables still gets the ones c7auth reads.
    const wanted = [actingUserVariable, ...(tracer === undefined ? [] : [traceVariable])]
    const variables =
      given.variables === undefined
        ? given.variables
        : [...given.variables, ...wanted.filter((v) => !given.variables?.includes(v))]
    const subscriptions = [...clients].map(([tenant, client]) =>
      client.subscribe(
        topic,
        {
          ...given,
          ...(variables === undefined ? {} : { variables }),
          tenantIdIn: [tenant],
        },
        run(tenant, handler),
      ),
    )
    return {
      unsubscribe: () => {
        for (const subscription of subscriptions) subscription.unsubscribe()
      },
    }
  }

  let closed: Promise<CloseResult> | undefined
  function close(closeOptions: { timeoutMs?: number } = {}): Promise<CloseResult> {
    closed ??= shutDown(closeOptions.timeoutMs ?? 10_000)
    return closed
  }

  async function shutDown(timeoutMs: number): Promise<CloseResult> {
    closing = true
    for (const client of clients.values()) client.stop()
    const bound = new AbortController()
    const drained = await Promise.race([
      Promise.allSettled([...inFlight]).then(() => true),
      sleep(timeoutMs, false, { ref: false, signal: bound.signal }).catch(() => false),
    ])
    bound.abort()
    const abandoned = drained ? 0 : inFlight.size
    for (const abort of aborts.values()) abort.abort()
    for (const source of tokenSources.values()) source.close()
    await sharedStore?.close()
    return { drained, abandoned }
  }

  return {
    subscribe: subscribe as TenantWorkers['subscribe'],
    clients,
    workerIds,
    close,
  }
}

function selectTenants(
  configured: readonly WorkerTenantConfig[],
  wanted: readonly string[] | undefined,
): WorkerTenantConfig[] {
  const issues: string[] = []
  if (configured.length === 0) issues.push('C7AUTH_TENANTS: no tenant is configured')
  const selected = wanted
    ? wanted.map((id) => {
        const found = configured.find((t) => t.id === id)
        if (!found) issues.push(`tenants: "${id}" is not a configured tenant`)
        return found
      })
    : [...configured]
  if (wanted?.length === 0) issues.push('tenants: the list is empty')
  const ids = (wanted ?? configured.map((t) => t.id)).filter((id, i, all) => all.indexOf(id) !== i)
  for (const id of new Set(ids)) issues.push(`tenants: "${id}" is listed twice`)
  if (issues.length > 0) throw new ConfigError(issues)
  return selected.filter((t): t is WorkerTenantConfig => t !== undefined)
}

function defaultTokenSource(
  tenant: WorkerTenantConfig,
  onEvent: (event: TokenEvent) => void,
  store: TokenStore | undefined,
): TokenSource {
  if (!tenant.client) {
    const envId = tenant.envId ?? envIdOf(tenant.id)
    throw new ConfigError([
      `C7AUTH_TENANT_${envId}_CLIENT_ID: tenant "${tenant.id}" has no app credentials (workers need them)`,
    ])
  }
  return createTokenClient({ ...tenant.client, onEvent, ...(store ? { store } : {}) })
}

function workerIdFactory(
  option: string | ((tenant: string) => string) | undefined,
): (tenant: string) => string {
  if (typeof option === 'function') return option
  const prefix =
    option ??
    `${hostname().replace(/[^A-Za-z0-9.-]/g, '-')}:${process.pid}:${randomBytes(4).toString('hex')}`
  return (tenant) => `${prefix}:${tenant}`
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/** Token sources that can exchange a delegation grant (the core token client can). */
function canExchange(
  source: TokenSource,
): source is TokenSource & Pick<TokenClient, 'exchangeToken' | 'refresh'> {
  const client = source as Partial<TokenClient>
  return typeof client.exchangeToken === 'function' && typeof client.refresh === 'function'
}

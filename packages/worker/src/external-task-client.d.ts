/**
 * Types for `camunda-external-task-client-js` 3.1 (the package ships none, and
 * `@types/camunda-external-task-client-js` still describes 1.3). Written from the 3.1.0 sources
 * (`lib/Client.js`, `lib/TaskService.js`, `lib/Variables.js`, `lib/__internal/EngineService.js`).
 * Imported for its side effect by `@c7auth/worker`, so every consumer of the worker package gets them.
 */
declare module 'camunda-external-task-client-js' {
  import type { EventEmitter } from 'node:events'

  /** A Camunda typed value as the engine sends it. */
  export interface TypedValue {
    value: unknown
    type: string
    valueInfo?: Record<string, unknown>
  }

  /** Task variables (read-only on a fetched task; writable when created with `new Variables()`). */
  export class Variables {
    constructor(initialVariables?: Record<string, TypedValue>)
    /** The deserialized value, or `undefined` when the variable was not fetched. */
    get(variableName: string): unknown
    getTyped(variableName: string): TypedValue | null
    getAll(): Record<string, unknown>
    getAllTyped(): Record<string, TypedValue | null>
    getDirtyVariables(): Record<string, TypedValue>
    set(variableName: string, value: unknown): this
    setTyped(variableName: string, typedValue: TypedValue): this
    setTransient(variableName: string, value: unknown): this
    setAll(values: Record<string, unknown>): this
    setAllTyped(typedValues: Record<string, TypedValue>): this
  }

  /** A locked external task (`LockedExternalTaskDto`), with its variables wrapped. */
  export interface Task {
    id: string
    topicName: string
    workerId: string
    activityId: string
    activityInstanceId: string
    executionId: string
    processInstanceId: string
    processDefinitionId: string
    processDefinitionKey: string
    processDefinitionVersionTag: string | null
    /** `null` for tasks of shared (tenant-less) definitions. */
    tenantId: string | null
    businessKey: string | null
    lockExpirationTime: string
    createTime?: string
    retries: number | null
    errorMessage: string | null
    errorDetails: string | null
    priority: number
    extensionProperties?: Record<string, string>
    variables: Variables
  }

  /** The body of `POST /external-task/{id}/failure`, minus `workerId`. */
  export interface HandleFailureOptions {
    errorMessage?: string
    errorDetails?: string
    retries?: number
    retryTimeout?: number
    variables?: Record<string, TypedValue>
    localVariables?: Record<string, TypedValue>
  }

  /** What a handler uses to report on its task. Every method throws the engine's error. */
  export interface TaskService {
    complete(task: Task | string, variables?: Variables, localVariables?: Variables): Promise<void>
    handleFailure(task: Task | string, options?: HandleFailureOptions): Promise<void>
    handleBpmnError(
      task: Task | string,
      errorCode: string,
      errorMessage?: string,
      variables?: Variables,
    ): Promise<void>
    extendLock(task: Task | string, newDuration: number): Promise<void>
    lock(task: Task | string, duration: number): Promise<void>
    unlock(task: Task | string): Promise<void>
  }

  /** A got `beforeRequest` hook (the options are got's `Options`). */
  export type BeforeRequestHook = (options: EngineRequestHookOptions) => unknown
  /** A got `afterResponse` hook. `retryWithMergedOptions` throws to restart the request. */
  export type AfterResponseHook = (
    response: EngineResponse,
    retryWithMergedOptions: (options: Record<string, unknown>) => never,
  ) => unknown

  /** The got options object an interceptor receives (only the fields interceptors touch). */
  export interface EngineRequestOptions {
    method: string
    json?: unknown
    headers?: Record<string, string | string[] | undefined>
    hooks?: {
      beforeRequest?: BeforeRequestHook[]
      afterResponse?: AfterResponseHook[]
      [hook: string]: unknown[] | undefined
    }
    context?: Record<string, unknown>
    signal?: AbortSignal
    [option: string]: unknown
  }

  /** got's `Options` as a `beforeRequest` hook sees them. */
  export interface EngineRequestHookOptions {
    headers: Record<string, string | string[] | undefined>
    context: Record<string, unknown>
    url?: URL | string
    method: string
  }

  /** got's `Response` as an `afterResponse` hook sees it. */
  export interface EngineResponse {
    statusCode: number
    headers: Record<string, string | string[] | undefined>
    body: unknown
    request: { options: { context: Record<string, unknown> } }
  }

  /**
   * A synchronous function over got's request options, applied to every engine request. Async work
   * belongs in the hooks it adds (an async interceptor silently breaks the request).
   */
  export type Interceptor = (options: EngineRequestOptions) => EngineRequestOptions

  /** Runs once when the client is constructed (before polling starts). */
  export type Middleware = (client: Client) => void

  /** `Client` constructor options. */
  export interface ClientConfig {
    /** engine-rest base URL, e.g. `http://gateway/engine-rest`. */
    baseUrl: string
    /** Default: the literal `some-random-id`, shared by every client that does not set one. */
    workerId?: string
    maxTasks?: number
    maxParallelExecutions?: number
    /** Milliseconds between polls. Default 300. */
    interval?: number
    /** Default lock duration for subscriptions, ms. Default 50000. */
    lockDuration?: number
    /** Start polling in the constructor. Default true. */
    autoPoll?: boolean
    /** Long-polling timeout, ms (sent as-is; unset = short polling). */
    asyncResponseTimeout?: number
    usePriority?: boolean
    sorting?: Array<{ sortBy: 'createTime'; sortOrder: 'asc' | 'desc' }>
    interceptors?: Interceptor | Interceptor[]
    use?: Middleware | Middleware[]
  }

  /** Options of `client.subscribe` (copied into the fetchAndLock topic when not null). */
  export interface SubscribeOptions {
    lockDuration?: number
    variables?: string[]
    businessKey?: string
    processDefinitionId?: string
    processDefinitionIdIn?: string[]
    processDefinitionKey?: string
    processDefinitionKeyIn?: string[]
    processDefinitionVersionTag?: string
    processVariables?: Record<string, unknown>
    /** Must be a non-empty array: an empty one disables the engine's tenant filter. */
    tenantIdIn?: string[]
    withoutTenantId?: boolean
    localVariables?: boolean
    includeExtensionProperties?: boolean
  }

  /** What a handler receives. */
  export interface HandlerArgs {
    task: Task
    taskService: TaskService
  }

  export type Handler = (args: HandlerArgs) => unknown

  /** The object `subscribe` returns. */
  export interface TopicSubscription extends SubscribeOptions {
    handler: Handler
    unsubscribe(): void
  }

  /** Event names the client emits (`lib/Client.js`, `lib/TaskService.js`). */
  export type ClientEvent =
    | 'subscribe'
    | 'unsubscribe'
    | 'poll:start'
    | 'poll:stop'
    | 'poll:success'
    | 'poll:error'
    | 'handler:success'
    | 'handler:error'
    | `${'complete' | 'handleFailure' | 'handleBpmnError' | 'extendLock' | 'lock' | 'unlock'}:${'success' | 'error'}`

  export class Client extends EventEmitter {
    static readonly SortBy: { readonly CreateTime: 'createTime' }
    static readonly SortOrder: { readonly ASC: 'asc'; readonly DESC: 'desc' }
    constructor(options: ClientConfig)
    readonly options: ClientConfig & { workerId: string }
    readonly taskService: TaskService
    /** Number of handlers running right now. */
    readonly activeTasksCount: number
    subscribe(topic: string, options: SubscribeOptions | null, handler: Handler): TopicSubscription
    subscribe(topic: string, handler: Handler): TopicSubscription
    /** Starts polling (called by the constructor when `autoPoll` is true). */
    start(): void
    /** Stops polling after the current request; running handlers continue. */
    stop(): void
  }

  /** The built-in console logger middleware. */
  export const logger: Middleware & {
    level(level: 'error' | 'warn' | 'info' | 'verbose' | 'debug' | 'silly' | number): Middleware
    success(message: string): string
    error(message: string): string
  }

  /** `new BasicAuthInterceptor(…)` returns an interceptor adding `Authorization: Basic …`. */
  export const BasicAuthInterceptor: new (options: {
    username: string
    password: string
  }) => Interceptor

  /** Do not use (non-standard `Basic:` header, replaces other interceptors' hooks); see `@c7auth/worker`. */
  export const KeycloakAuthInterceptor: new (options: {
    tokenEndpoint: string
    clientId: string
    clientSecret: string
    cacheOffset?: number
  }) => Interceptor

  /** A file variable. */
  export class File {
    constructor(options: {
      localPath?: string
      remotePath?: string
      typedValue?: TypedValue
      filename?: string
      encoding?: string
      mimetype?: string
      engineService?: unknown
    })
    load(): Promise<this>
    content: Buffer | string
  }
}

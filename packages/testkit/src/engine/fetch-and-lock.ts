/**
 * `POST /external-task/fetchAndLock` including long polling: a request that finds nothing waits
 * until a task becomes available, its `asyncResponseTimeout` passes, or the client disconnects.
 * The caller's authentication is captured when the request arrives (like `FetchAndLockHandlerImpl`).
 */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import { lockedExternalTaskDto } from './dto.js'
import { invalidRequest } from './engine-errors.js'
import type { EngineState, ExternalTaskRecord } from './engine-state.js'
import type { ExternalTaskService } from './external-task-service.js'
import type { RuntimeService } from './runtime-service.js'
import { fromTypedMap } from './variables.js'

/** One `topics[]` entry of the request. */
export interface TopicRequest {
  readonly topicName: string
  readonly lockDuration: number
  readonly variables: readonly string[] | null
  readonly localVariables: boolean
  readonly businessKey: string | null
  readonly processDefinitionId: string | null
  readonly processDefinitionIdIn: readonly string[] | null
  readonly processDefinitionKey: string | null
  readonly processDefinitionKeyIn: readonly string[] | null
  readonly processDefinitionVersionTag: string | null
  readonly tenantIdIn: readonly string[] | null
  readonly withoutTenantId: boolean
  readonly includeExtensionProperties: boolean
  readonly processVariables: Readonly<Record<string, unknown>> | null
}

export interface FetchRequest {
  readonly workerId: string
  readonly maxTasks: number
  readonly usePriority: boolean
  readonly sortCreateTime: 'asc' | 'desc' | null
  readonly asyncResponseTimeout: number | null
  readonly topics: readonly TopicRequest[]
}

type LockedDto = ReturnType<typeof lockedExternalTaskDto>

interface Pending {
  readonly ctx: AuthContext
  readonly request: FetchRequest
  readonly resolve: (tasks: LockedDto[]) => void
  readonly timer: NodeJS.Timeout
  /** The client has gone; the poll still waits and locks, like the real engines' (T19). */
  abandoned: boolean
}

const MAX_ASYNC_TIMEOUT = 1_800_000

const strings = (v: unknown, name: string): string[] | null => {
  if (v === undefined || v === null) return null
  if (!Array.isArray(v))
    throw invalidRequest(`Cannot deserialize value of property '${name}': expected an array`)
  return v.map(String)
}

const optString = (v: unknown): string | null => (typeof v === 'string' ? v : null)

/** Parses and checks a fetchAndLock body like `FetchExternalTasksExtendedDto`. */
export function parseFetchRequest(body: unknown): FetchRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object')
  }
  const b = body as Record<string, unknown>
  const timeout = b['asyncResponseTimeout']
  if (typeof timeout === 'number' && timeout > MAX_ASYNC_TIMEOUT) {
    throw invalidRequest(
      `The asynchronous response timeout cannot be set to a value greater than ${MAX_ASYNC_TIMEOUT} milliseconds`,
    )
  }
  const topicsRaw = b['topics']
  if (topicsRaw !== undefined && topicsRaw !== null && !Array.isArray(topicsRaw)) {
    throw invalidRequest(`Cannot deserialize value of property 'topics': expected an array`)
  }
  const topics = ((topicsRaw as unknown[] | null | undefined) ?? []).map((t): TopicRequest => {
    const o = (t ?? {}) as Record<string, unknown>
    const lockDuration = o['lockDuration']
    return {
      topicName: String(o['topicName'] ?? ''),
      lockDuration: typeof lockDuration === 'number' ? lockDuration : 0,
      variables: strings(o['variables'], 'variables'),
      localVariables: o['localVariables'] === true,
      businessKey: optString(o['businessKey']),
      processDefinitionId: optString(o['processDefinitionId']),
      processDefinitionIdIn: strings(o['processDefinitionIdIn'], 'processDefinitionIdIn'),
      processDefinitionKey: optString(o['processDefinitionKey']),
      processDefinitionKeyIn: strings(o['processDefinitionKeyIn'], 'processDefinitionKeyIn'),
      processDefinitionVersionTag: optString(o['processDefinitionVersionTag']),
      tenantIdIn: strings(o['tenantIdIn'], 'tenantIdIn'),
      withoutTenantId: o['withoutTenantId'] === true,
      includeExtensionProperties: o['includeExtensionProperties'] === true,
      processVariables:
        o['processVariables'] !== null && typeof o['processVariables'] === 'object'
          ? (o['processVariables'] as Record<string, unknown>)
          : null,
    }
  })
  const sorting = Array.isArray(b['sorting']) ? (b['sorting'] as { sortOrder?: unknown }[]) : []
  const order = sorting[0]?.sortOrder
  return {
    workerId: typeof b['workerId'] === 'string' ? b['workerId'] : '',
    maxTasks: typeof b['maxTasks'] === 'number' ? b['maxTasks'] : 0,
    usePriority: b['usePriority'] === true,
    sortCreateTime: order === 'asc' || order === 'desc' ? order : null,
    asyncResponseTimeout: typeof timeout === 'number' ? timeout : null,
    topics,
  }
}

export class FetchAndLockQueue {
  readonly #state: EngineState
  readonly #runtime: RuntimeService
  readonly #externalTasks: ExternalTaskService
  readonly #pending = new Set<Pending>()
  #ticker: NodeJS.Timeout | null = null

  constructor(state: EngineState, runtime: RuntimeService, externalTasks: ExternalTaskService) {
    this.#state = state
    this.#runtime = runtime
    this.#externalTasks = externalTasks
  }

  /** Long-poll requests currently waiting whose client is still connected. */
  get pendingCount(): number {
    let n = 0
    for (const p of this.#pending) if (!p.abandoned) n++
    return n
  }

  /**
   * Long polls whose client disconnected but which still wait: the engines notice a gone client
   * only when they answer, so such a poll locks a task that appears before its timeout.
   */
  get abandonedCount(): number {
    return this.#pending.size - this.pendingCount
  }

  #topicFor(
    ctx: AuthContext,
    t: ExternalTaskRecord,
    request: FetchRequest,
  ): TopicRequest | undefined {
    if (!this.#externalTasks.isFetchable(t)) return undefined
    if (!isAuthenticatedTenant(ctx, t.tenantId)) return undefined
    return request.topics.find((topic) => {
      if (topic.topicName !== t.topicName) return false
      if (topic.tenantIdIn !== null && topic.tenantIdIn.length > 0) {
        if (t.tenantId === null || !topic.tenantIdIn.includes(t.tenantId)) return false
      } else if (topic.tenantIdIn === null && topic.withoutTenantId && t.tenantId !== null) {
        return false
      }
      if (topic.businessKey !== null && t.businessKey !== topic.businessKey) return false
      if (topic.processDefinitionId !== null && t.processDefinitionId !== topic.processDefinitionId)
        return false
      if (
        topic.processDefinitionIdIn !== null &&
        !topic.processDefinitionIdIn.includes(t.processDefinitionId)
      ) {
        return false
      }
      if (
        topic.processDefinitionKey !== null &&
        t.processDefinitionKey !== topic.processDefinitionKey
      )
        return false
      if (
        topic.processDefinitionKeyIn !== null &&
        !topic.processDefinitionKeyIn.includes(t.processDefinitionKey)
      ) {
        return false
      }
      if (
        topic.processDefinitionVersionTag !== null &&
        t.processDefinitionVersionTag !== topic.processDefinitionVersionTag
      ) {
        return false
      }
      if (topic.processVariables !== null) {
        const vars = this.#state.instances.get(t.processInstanceId)?.variables
        for (const [k, v] of Object.entries(topic.processVariables)) {
          if (vars?.get(k)?.value !== v) return false
        }
      }
      return true
    })
  }

  /** Locks what is available now (possibly nothing). */
  fetchNow(ctx: AuthContext, request: FetchRequest): LockedDto[] {
    if (request.maxTasks <= 0) return []
    const candidates: { task: ExternalTaskRecord; topic: TopicRequest }[] = []
    for (const task of this.#state.externalTasks.values()) {
      const topic = this.#topicFor(ctx, task, request)
      if (topic !== undefined) candidates.push({ task, topic })
    }
    candidates.sort((a, b) => {
      if (request.usePriority && a.task.priority !== b.task.priority)
        return b.task.priority - a.task.priority
      if (request.sortCreateTime === 'desc') return b.task.sequence - a.task.sequence
      return a.task.sequence - b.task.sequence
    })
    const now = this.#runtime.now()
    return candidates.slice(0, request.maxTasks).map(({ task, topic }) => {
      task.workerId = request.workerId
      task.lockExpirationTime = now + topic.lockDuration
      const vars = this.#state.instances.get(task.processInstanceId)?.variables ?? new Map()
      return lockedExternalTaskDto(
        task,
        topic.localVariables ? {} : fromTypedMap(vars, topic.variables),
        topic.includeExtensionProperties,
      )
    })
  }

  /**
   * Answers immediately when tasks are available or no timeout is set; otherwise waits.
   * Resolves `[]` on timeout, and `[]` at once when `signal` aborts (client disconnected), but
   * the poll itself goes on until its timeout and locks tasks that appear meanwhile, as on
   * Camunda 7.24 and Operaton (the parity suite checks it).
   */
  fetch(ctx: AuthContext, request: FetchRequest, signal: AbortSignal): Promise<LockedDto[]> {
    const now = this.fetchNow(ctx, request)
    if (
      now.length > 0 ||
      request.asyncResponseTimeout === null ||
      request.asyncResponseTimeout <= 0
    ) {
      return Promise.resolve(now)
    }
    return new Promise((resolve) => {
      const finish = (tasks: LockedDto[]): void => {
        clearTimeout(pending.timer)
        signal.removeEventListener('abort', onAbort)
        this.#pending.delete(pending)
        this.#updateTicker()
        resolve(tasks)
      }
      const onAbort = (): void => {
        pending.abandoned = true
        resolve([])
      }
      const pending: Pending = {
        ctx,
        request,
        resolve: finish,
        timer: setTimeout(() => finish([]), request.asyncResponseTimeout ?? 0),
        abandoned: false,
      }
      if (signal.aborted) {
        clearTimeout(pending.timer)
        resolve([])
        return
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#pending.add(pending)
      this.#updateTicker()
    })
  }

  /** Re-tries waiting requests (new task, unlock, failure with retries, expired locks). */
  notify(): void {
    for (const p of [...this.#pending]) {
      if (!this.#pending.has(p)) continue
      const tasks = this.fetchNow(p.ctx, p.request)
      if (tasks.length > 0) p.resolve(tasks)
    }
  }

  /** Answers every waiting request with `[]` (used on reset/close). */
  flush(): void {
    for (const p of [...this.#pending]) p.resolve([])
  }

  #updateTicker(): void {
    if (this.#pending.size > 0 && this.#ticker === null) {
      // expired locks and retry back-offs make tasks fetchable without any event
      this.#ticker = setInterval(() => this.notify(), 100)
      this.#ticker.unref()
    } else if (this.#pending.size === 0 && this.#ticker !== null) {
      clearInterval(this.#ticker)
      this.#ticker = null
    }
  }
}

import type { TokenEvent, TokenStoreEvent } from '@c7auth/core'

/**
 * What the worker plugin reports: one event union for metrics (`onEvent`) and one mapping from
 * events to log lines. Events never carry a token, a secret or a claim set.
 */

/** Engine operations a task handler performs through `taskService`. */
export type TaskOperation =
  'complete' | 'handleFailure' | 'handleBpmnError' | 'extendLock' | 'lock' | 'unlock'

/** Everything the worker plugin reports. `tenant` is set when the reporter knows it. */
export type WorkerEvent =
  /** A token was obtained for the first time (`refreshed: false`) or a new one replaced it. */
  | { type: 'token:acquired'; tenant?: string; refreshed: boolean; target: 'engine' | 'downstream' }
  /** The token source could not produce a token; the call it was for fails. */
  | { type: 'token:failed'; tenant?: string; target: 'engine' | 'downstream'; error: unknown }
  /** An engine call answered 401: `retrying` when the token was invalidated and the call retried. */
  | { type: 'engine:unauthorized'; tenant?: string; retrying: boolean }
  /** A downstream call answered 401 (`retrying` as above). */
  | { type: 'downstream:unauthorized'; tenant?: string; retrying: boolean; origin: string }
  /** fetchAndLock failed (`status` when the engine answered). */
  | { type: 'poll:error'; tenant?: string; status?: number; error: unknown }
  /** A `taskService` call failed. */
  | {
      type: 'task:error'
      tenant?: string
      operation: TaskOperation
      taskId: string
      status?: number
      error: unknown
    }
  /** A handler threw; the task stays locked until its lock expires (client behaviour). */
  | { type: 'handler:error'; tenant?: string; error: unknown }
  /** A task of another tenant reached this tenant's worker; it was not run, and reported failed. */
  | { type: 'task:foreign-tenant'; tenant: string; taskId: string; taskTenantId: string | null }
  /** The core token client's own lifecycle (background refreshes included; tenant workers only). */
  | { type: 'token:lifecycle'; tenant?: string; event: TokenEvent }
  /** The shared token store went down (memory fallback), came back, or rejected an entry. */
  | { type: 'token:store'; tenant?: string; event: TokenStoreEvent }
  /** Polling stopped. */
  | { type: 'worker:stopped'; tenant?: string }

/** Receives {@link WorkerEvent}s; must not throw (a throwing listener is ignored). */
export type WorkerEventListener = (event: WorkerEvent) => void

/**
 * The logger shape c7auth writes to: pino's `(fields, message)` call form, so a pino logger (or
 * `console`) can be passed directly.
 */
export interface WorkerLogger {
  debug?(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

/** Calls every listener, isolating the caller from listener failures. */
export function emitTo(listeners: Iterable<WorkerEventListener>, event: WorkerEvent): void {
  for (const listener of listeners) {
    try {
      listener(event)
    } catch {
      // A metrics hook must never break an engine call.
    }
  }
}

/** Safe fields of an error for logs: name, stable code, HTTP status, message. Never a body. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) }
  const e = error as Error & { code?: unknown; httpStatusCode?: unknown; status?: unknown }
  const fields: Record<string, unknown> = { errorName: e.name, errorMessage: e.message }
  if (typeof e.code === 'string') fields.errorCode = e.code
  const status = statusOf(error)
  if (status !== undefined) fields.status = status
  return fields
}

/** The HTTP status carried by an engine (`EngineError.httpStatusCode`) or c7auth error. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as { httpStatusCode?: unknown; response?: { statusCode?: unknown } }
  if (typeof e.httpStatusCode === 'number') return e.httpStatusCode
  if (typeof e.response?.statusCode === 'number') return e.response.statusCode
  return undefined
}

/** Writes one event as one log line at a level that matches its severity. */
export function logEvent(logger: WorkerLogger, event: WorkerEvent): void {
  const base: Record<string, unknown> = { event: event.type }
  if (event.tenant !== undefined) base.tenant = event.tenant
  switch (event.type) {
    case 'token:acquired':
      logger.debug?.(
        { ...base, target: event.target, refreshed: event.refreshed },
        event.refreshed ? 'c7auth: access token refreshed' : 'c7auth: access token acquired',
      )
      return
    case 'token:failed':
      logger.error(
        { ...base, target: event.target, ...describeError(event.error) },
        'c7auth: access token request failed',
      )
      return
    case 'engine:unauthorized':
      logger.warn(
        { ...base, retrying: event.retrying },
        event.retrying
          ? 'c7auth: engine answered 401; retrying once with a fresh token'
          : 'c7auth: engine answered 401 again after a fresh token',
      )
      return
    case 'downstream:unauthorized':
      logger.warn(
        { ...base, origin: event.origin, retrying: event.retrying },
        event.retrying
          ? 'c7auth: downstream answered 401; retrying once with a fresh token'
          : 'c7auth: downstream answered 401 again after a fresh token',
      )
      return
    case 'poll:error':
      logger.error({ ...base, ...describeError(event.error) }, 'c7auth: fetchAndLock failed')
      return
    case 'task:error':
      logger.error(
        {
          ...base,
          operation: event.operation,
          taskId: event.taskId,
          ...describeError(event.error),
        },
        `c7auth: ${event.operation} failed`,
      )
      return
    case 'handler:error':
      logger.error({ ...base, ...describeError(event.error) }, 'c7auth: task handler failed')
      return
    case 'task:foreign-tenant':
      logger.error(
        { ...base, taskId: event.taskId, taskTenantId: event.taskTenantId },
        'c7auth: refused a task of another tenant',
      )
      return
    case 'token:lifecycle': {
      const { event: e } = event
      if (e.type === 'cache_hit') return
      const fields = {
        ...base,
        token: e.type,
        grant: e.grant,
        key: e.key,
        background: e.background,
      }
      if (e.type === 'failed') {
        logger.warn(
          {
            ...fields,
            errorCode: e.error?.code,
            oauthError: e.error?.oauthError,
            status: e.error?.status,
          },
          'c7auth: token request failed',
        )
      } else {
        logger.debug?.(fields, `c7auth: token ${e.type}`)
      }
      return
    }
    case 'token:store': {
      const { event: e } = event
      const fields = { ...base, backend: e.backend, reason: e.reason }
      if (e.type === 'down') {
        logger.warn(fields, 'c7auth: token store unavailable, using the process memory cache')
      } else if (e.type === 'up') {
        logger.info(fields, 'c7auth: token store available again')
      } else {
        logger.warn(fields, 'c7auth: token store entry rejected (altered, moved or unknown key)')
      }
      return
    }
    case 'worker:stopped':
      logger.info(base, 'c7auth: polling stopped')
      return
  }
}

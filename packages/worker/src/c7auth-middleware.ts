import type { Client, Middleware } from 'camunda-external-task-client-js'
import type { BearerAuthInterceptor } from './bearer-auth-interceptor.js'
import { emitTo, logEvent, statusOf } from './worker-events.js'
import type {
  TaskOperation,
  WorkerEvent,
  WorkerEventListener,
  WorkerLogger,
} from './worker-events.js'

/** Options of {@link c7authMiddleware}. */
export interface C7AuthMiddlewareOptions {
  /** The interceptor whose token events should be reported along with the client's own. */
  auth?: BearerAuthInterceptor
  /** Receives every {@link WorkerEvent} (a metrics hook). */
  onEvent?: WorkerEventListener
  /** Where events are logged (pino-compatible; `console` works). */
  logger?: WorkerLogger
  /** Tenant label put on the client's events. */
  tenant?: string
}

/** The event name under which the middleware re-emits every {@link WorkerEvent} on the client. */
export const C7AUTH_CLIENT_EVENT = 'c7auth:event'

const OPERATIONS: readonly TaskOperation[] = [
  'complete',
  'handleFailure',
  'handleBpmnError',
  'extendLock',
  'lock',
  'unlock',
]

/**
 * A `use` middleware for `camunda-external-task-client-js` that turns the client's events (poll
 * errors, failed task calls, handler errors, stop) and the interceptor's token events (acquired,
 * refreshed, failed, 401 retries) into {@link WorkerEvent}s: passed to `onEvent`, written to
 * `logger`, and re-emitted on the client as `'c7auth:event'`.
 *
 * @example
 * ```ts
 * const auth = bearerAuthInterceptor(tokens)
 * new Client({
 *   baseUrl,
 *   interceptors: [auth],
 *   use: [c7authMiddleware({ auth, logger, onEvent: (e) => metrics.count(e.type) })],
 * })
 * ```
 */
export function c7authMiddleware(options: C7AuthMiddlewareOptions = {}): Middleware {
  return (client: Client) => {
    const listeners: WorkerEventListener[] = []
    if (options.onEvent) listeners.push(options.onEvent)
    const { logger } = options
    if (logger) listeners.push((event) => logEvent(logger, event))
    listeners.push((event) => {
      client.emit(C7AUTH_CLIENT_EVENT, event)
    })
    const emit = (event: WorkerEvent): void => emitTo(listeners, event)
    const label = options.tenant === undefined ? {} : { tenant: options.tenant }

    options.auth?.listen(emit)

    client.on('poll:error', (error: unknown) => {
      // close() aborts a pending long poll on purpose.
      if (error instanceof Error && error.name === 'AbortError') return
      const status = statusOf(error)
      emit({ type: 'poll:error', ...label, ...(status === undefined ? {} : { status }), error })
    })
    client.on('handler:error', (error: unknown) => {
      emit({ type: 'handler:error', ...label, error })
    })
    client.on('poll:stop', () => {
      emit({ type: 'worker:stopped', ...label })
    })
    for (const operation of OPERATIONS) {
      client.on(`${operation}:error`, (task: unknown, error: unknown) => {
        if (error instanceof Error && error.name === 'AbortError') return
        const status = statusOf(error)
        emit({
          type: 'task:error',
          ...label,
          operation,
          taskId: taskIdOf(task),
          ...(status === undefined ? {} : { status }),
          error,
        })
      })
    }
  }
}

function taskIdOf(task: unknown): string {
  if (typeof task === 'string') return task
  if (
    typeof task === 'object' &&
    task !== null &&
    typeof (task as { id?: unknown }).id === 'string'
  ) {
    return (task as { id: string }).id
  }
  return 'unknown'
}

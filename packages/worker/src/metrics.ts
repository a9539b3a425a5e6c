import type { Counter, Registry } from 'prom-client'
import type { WorkerEvent, WorkerEventListener } from './worker-events.js'

/** One worker metric: the single source of its name, type, help and labels (docs are generated from it). */
export interface WorkerMetricSpec {
  readonly name: string
  readonly type: 'counter'
  readonly help: string
  readonly labelNames: readonly string[]
}

/** A counter spec, keeping its name and label names as literal types. */
const counter = <const N extends string, const L extends readonly string[]>(
  name: N,
  help: string,
  labelNames: L,
) => ({ name, type: 'counter' as const, help, labelNames })

/** Every metric {@link createWorkerMetrics} registers. */
export const WORKER_METRICS = {
  tokenFetches: counter(
    'c7auth_worker_token_fetches_total',
    'Tokens obtained by workers (first fetch or refresh), by tenant, target and kind.',
    ['tenant', 'target', 'kind'],
  ),
  tokenFailures: counter(
    'c7auth_worker_token_failures_total',
    'Token requests that produced no token, by tenant and target.',
    ['tenant', 'target'],
  ),
  unauthorized: counter(
    'c7auth_worker_unauthorized_total',
    '401 answers seen by workers, by tenant, target (engine/downstream) and whether the call was retried with a fresh token.',
    ['tenant', 'target', 'retried'],
  ),
  taskOutcomes: counter(
    'c7auth_worker_task_errors_total',
    'Task handling that went wrong, by tenant and outcome (handler_error, foreign_tenant, or the failed taskService operation).',
    ['tenant', 'outcome'],
  ),
  pollErrors: counter(
    'c7auth_worker_poll_errors_total',
    'fetchAndLock calls that failed, by tenant and HTTP status (none when the engine did not answer).',
    ['tenant', 'status'],
  ),
  tokenStore: counter(
    'c7auth_worker_token_store_events_total',
    'Shared token store state changes, by backend and event (down: replicas fall back to their own caches; up: shared again; rejected: an entry failed to decrypt).',
    ['backend', 'event'],
  ),
} satisfies Record<string, WorkerMetricSpec>

/** The part of the `prom-client` module {@link createWorkerMetrics} uses. */
export interface PromClientLike {
  readonly Counter: typeof Counter
}

/** Worker metrics: pass {@link WorkerMetrics.listener} as the workers' `onEvent`. */
export interface WorkerMetrics {
  readonly listener: WorkerEventListener
}

/**
 * Creates the worker metrics on `registry` with the caller's `prom-client` (an optional peer
 * dependency: the worker never imports it itself, so apps without Prometheus do not load it).
 *
 * @example
 * ```ts
 * import * as promClient from 'prom-client'
 * const metrics = createWorkerMetrics(promClient, registry)
 * createTenantWorkers({ ..., onEvent: metrics.listener })
 * ```
 */
export function createWorkerMetrics(promClient: PromClientLike, registry: Registry): WorkerMetrics {
  const counter = <L extends string>(spec: WorkerMetricSpec) =>
    new promClient.Counter<L>({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames as L[],
      registers: [registry],
    })
  const m = WORKER_METRICS
  const fetches = counter<'tenant' | 'target' | 'kind'>(m.tokenFetches)
  const failures = counter<'tenant' | 'target'>(m.tokenFailures)
  const unauthorized = counter<'tenant' | 'target' | 'retried'>(m.unauthorized)
  const tasks = counter<'tenant' | 'outcome'>(m.taskOutcomes)
  const polls = counter<'tenant' | 'status'>(m.pollErrors)
  const store = counter<'backend' | 'event'>(m.tokenStore)
  const listener = (event: WorkerEvent): void => {
    const tenant = event.tenant ?? ''
    switch (event.type) {
      case 'token:acquired':
        fetches.inc({ tenant, target: event.target, kind: event.refreshed ? 'refresh' : 'first' })
        break
      case 'token:failed':
        failures.inc({ tenant, target: event.target })
        break
      case 'engine:unauthorized':
        unauthorized.inc({ tenant, target: 'engine', retried: String(event.retrying) })
        break
      case 'downstream:unauthorized':
        unauthorized.inc({ tenant, target: 'downstream', retried: String(event.retrying) })
        break
      case 'poll:error':
        polls.inc({ tenant, status: event.status === undefined ? 'none' : String(event.status) })
        break
      case 'task:error':
        tasks.inc({ tenant, outcome: event.operation })
        break
      case 'handler:error':
        tasks.inc({ tenant, outcome: 'handler_error' })
        break
      case 'task:foreign-tenant':
        tasks.inc({ tenant, outcome: 'foreign_tenant' })
        break
      case 'token:store':
        store.inc({ backend: event.event.backend, event: event.event.type })
        break
      default:
        break
    }
  }
  return { listener }
}

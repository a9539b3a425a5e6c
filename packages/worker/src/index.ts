// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- carries the client's types into dist/index.d.ts for every consumer
/// <reference path="./external-task-client.d.ts" preserve="true" />
/**
 * `@c7auth/worker`: OAuth2 for `camunda-external-task-client-js` workers — a bearer interceptor
 * with one retry after a 401, a `use` middleware for logs and metrics, and per-tenant workers whose
 * handlers call downstream APIs with the tenant app's token and the acting user as context.
 */
export { bearerAuthInterceptor } from './bearer-auth-interceptor.js'
export type { BearerAuthInterceptor, BearerAuthOptions } from './bearer-auth-interceptor.js'
export { c7authMiddleware, C7AUTH_CLIENT_EVENT } from './c7auth-middleware.js'
export type { C7AuthMiddlewareOptions } from './c7auth-middleware.js'
export {
  createTaskContext,
  createDownstreamFetch,
  DEFAULT_TENANT_HEADER,
  DEFAULT_ACTING_USER_HEADER,
} from './task-context.js'
export type {
  TaskContext,
  TaskContextOptions,
  DownstreamFetch,
  DownstreamFetchOptions,
  DownstreamRequestInit,
  DownstreamOptions,
} from './task-context.js'
export type { DelegationStrategy, OnBehalfOfSource } from './on-behalf-of.js'
export { createTenantWorkers } from './tenant-workers.js'
export type {
  TenantWorkers,
  TenantWorkersOptions,
  TenantWorkersConfig,
  WorkerTenantConfig,
  TenantClientOptions,
  TenantSubscribeOptions,
  TenantTaskHandler,
  CloseResult,
} from './tenant-workers.js'
export { logEvent } from './worker-events.js'
export { createWorkerMetrics, WORKER_METRICS } from './metrics.js'
export type { PromClientLike, WorkerMetrics, WorkerMetricSpec } from './metrics.js'
export type {
  WorkerEvent,
  WorkerEventListener,
  WorkerLogger,
  TaskOperation,
} from './worker-events.js'
export { tracingInterceptor } from './tracing.js'

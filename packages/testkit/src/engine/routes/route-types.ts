import type { IncomingMessage } from 'node:http'
import type { AuthContext } from '../auth-context.js'
import type { AuthorizationService } from '../authorization-service.js'
import { invalidRequest } from '../engine-errors.js'
import type { EngineState } from '../engine-state.js'
import type { FetchAndLockQueue } from '../fetch-and-lock.js'
import type { IdentityService } from '../identity-service.js'
import type { FirstValueQuery } from '../query-criteria.js'
import { paginate, pagination } from '../query-criteria.js'
import type { Router } from '../router.js'
import type { ExternalTaskService } from '../external-task-service.js'
import type { MessageService } from '../message-service.js'
import type { RepositoryService } from '../repository-service.js'
import type { RuntimeService } from '../runtime-service.js'
import type { TaskService } from '../task-service.js'

/** Everything a handler may read about the request. */
export interface HandlerContext {
  readonly params: Readonly<Record<string, string>>
  readonly query: FirstValueQuery
  /** Parsed JSON, a `MultipartBody`, or `undefined`. */
  readonly body: unknown
  readonly auth: AuthContext
  /** `http://127.0.0.1:<port>/engine-rest` (used in HAL-ish `links`). */
  readonly baseUrl: string
  readonly req: IncomingMessage
  /** Aborted when the client goes away (long polling stops waiting). */
  readonly signal: AbortSignal
}

export interface Reply {
  readonly status: number
  readonly body?: unknown
  /** Only for non-JSON answers; JSON is always exactly `application/json`. */
  readonly contentType?: string
  readonly raw?: Buffer
}

export type Handler = (c: HandlerContext) => Reply | Promise<Reply>

/** The engine parts route modules work with. */
export interface EngineServices {
  readonly state: EngineState
  readonly identity: IdentityService
  readonly runtime: RuntimeService
  readonly repository: RepositoryService
  readonly tasks: TaskService
  readonly externalTasks: ExternalTaskService
  readonly messages: MessageService
  readonly fetchAndLock: FetchAndLockQueue
  readonly authorization: AuthorizationService
  readonly authorizationChecks: boolean
  /** The identity service is read-only (identity writes answer 403). */
  readonly readOnlyIdentity?: boolean
  readonly engineVersion: string
}

export type EngineRouter = Router<Handler>

export const json = (body: unknown, status = 200): Reply => ({ status, body })

export const noContent = (): Reply => ({ status: 204 })

/** The body as a JSON object (`{}` when absent); arrays and scalars are a 400 like Jackson. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

export const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null

/**
 * A query resource's four routes: `GET`/`POST` `path` (a page of rows, `firstResult`/`maxResults`)
 * and `path/count`, with the criteria from the URL query (`GET`) or the JSON body (`POST`).
 */
export function addQueryRoutes<T>(
  router: { add(method: string, template: string, handler: Handler): unknown },
  path: string,
  query: (c: HandlerContext, fromBody: boolean) => readonly T[],
  dto: (row: T) => unknown,
): void {
  for (const [method, fromBody] of [
    ['GET', false],
    ['POST', true],
  ] as const) {
    router.add(method, path, (c) =>
      json(paginate(query(c, fromBody), pagination(c.query)).map(dto)),
    )
    router.add(method, `${path}/count`, (c) => json({ count: query(c, fromBody).length }))
  }
}

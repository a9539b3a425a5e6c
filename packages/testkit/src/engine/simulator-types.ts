/** The public types of the engine simulator: its options, its handle, and what it records. */
import type { IncomingHttpHeaders } from 'node:http'
import type { OpenApiValidationError } from '../openapi/openapi-validator.js'
import type { AuthorizationRecord, UserOperationLogEntry } from './engine-state.js'
import type { LoginThrottling, NewUser } from './identity-service.js'
import type { HistoryLevel, TenantIdProviderContext } from './runtime-service.js'

/** Options of `startEngineSimulator`. Defaults model Camunda Run with `auth.enabled=true`. */
export interface EngineSimulatorOptions {
  /** Require HTTP Basic on every route but `GET /engine` (default `true`). */
  readonly authentication?: boolean
  /** Seeded user, member of `adminGroup` (default `{ id: 'admin', password: 'admin' }`). */
  readonly adminUser?: { readonly id: string; readonly password: string } | null
  /** Admin group id (default `camunda-admin`). */
  readonly adminGroup?: string
  /** Extra `adminUsers` of the engine configuration. */
  readonly adminUsers?: readonly string[]
  /** `enablePasswordPolicy` (default `false`). */
  readonly passwordPolicy?: boolean
  /**
   * `authorizationEnabled` (default `false`). Checked for non-admin users: identity writes and
   * unlock (admin only), `/authorization` (AUTHORIZATION permissions), process definition reads
   * and lists (READ on PROCESS_DEFINITION) and starts (CREATE on PROCESS_INSTANCE and
   * CREATE_INSTANCE on PROCESS_DEFINITION). Nothing else is checked.
   */
  readonly authorizationChecks?: boolean
  /**
   * A read-only identity service, as with the LDAP plugin (default `false`): user, group, tenant
   * and membership writes answer 403 `Identity service implementation is read-only.`
   */
  readonly readOnlyIdentity?: boolean
  /** `tenantCheckEnabled` (default `true`). */
  readonly tenantCheck?: boolean
  /** History level (default `full`, as in Run and the Spring Boot starter). */
  readonly historyLevel?: HistoryLevel
  /** Resource id whitelist (default `[a-zA-Z0-9]+|camunda-admin`, full match). */
  readonly idPattern?: RegExp
  /** Login throttling (engine defaults 10 attempts, 3 s × 2^(n-1), max 60 s). */
  readonly login?: Partial<LoginThrottling>
  /** Validate every request against the OpenAPI document (default `true`). */
  readonly validateRequests?: boolean
  /** OpenAPI document (default: the 7.23.0 document shipped in this package's `openapi/` folder). */
  readonly openApiDocumentPath?: string
  /** Reported by `GET /version` (default `7.23.0`). */
  readonly engineVersion?: string
  /**
   * Models an engine-side `TenantIdProvider`: instances of shared definitions get the returned
   * tenant (default: none, so they stay NULL-tenant and visible to every tenant).
   *
   * @example
   * ```ts
   * tenantIdProvider: ({ variables }) => (typeof variables.c7authTenant === 'string' ? variables.c7authTenant : null)
   * ```
   */
  readonly tenantIdProvider?: (context: TenantIdProviderContext) => string | null
}

/** One request as the simulator saw it. */
export interface RecordedRequest {
  readonly method: string
  /** Path below `/engine-rest`, with any `/engine/default` prefix removed. */
  readonly path: string
  /** Path as received (including `/engine-rest`). */
  readonly rawPath: string
  /** First value of every query parameter. */
  readonly query: Readonly<Record<string, string>>
  /** Every value, in order (duplicate parameters are visible here). */
  readonly queryAll: readonly (readonly [string, string])[]
  readonly headers: IncomingHttpHeaders
  /** Authenticated user id, or `null` (no or failed authentication, or authentication off). */
  readonly user: string | null
  /** Parsed JSON body, multipart summary `{ fields, files: [{ fieldName, fileName, size }] }`, or `undefined`. */
  readonly body: unknown
  readonly operationId: string | null
  readonly status: number
}

/** Counters for assertions such as "the gateway provisioned once" or "no admin calls". */
export interface EngineSimulatorStats {
  requests: number
  authFailures: number
  adminCalls: number
  anonymousCalls: number
  provisioningCalls: number
  callsPerUser: Record<string, number>
  /** TCP connections accepted (a client that keeps its connection alive opens one). */
  connections: number
  /**
   * Request body bytes read so far, counted as they arrive (an upload is seen arriving while the
   * client still sends it).
   */
  bodyBytesReceived: number
}

export interface ValidationIssue {
  readonly method: string
  readonly path: string
  readonly operationId: string | null
  readonly errors: readonly OpenApiValidationError[]
}

/**
 * A fault every request meets until it is cleared (`setFault(null)`): `delay` answers `ms` later,
 * `down` resets the connection without an answer, `status` answers `status` (the request body is
 * drained unread), and `stall` sends the status line, headers and the first part of an answer (`body`),
 * then nothing more until the client goes away; the request is recorded then, with `status`.
 * With `path` (e.g. `/event-subscription`) only the requests whose path below `/engine-rest` starts
 * with it meet the fault.
 */
export type EngineFault =
  | { readonly kind: 'delay'; readonly ms: number; readonly path?: string }
  | { readonly kind: 'down'; readonly path?: string }
  | { readonly kind: 'status'; readonly status: number; readonly path?: string }
  | {
      readonly kind: 'stall'
      /** Default 200. */
      readonly status?: number
      /** Default `application/json`. */
      readonly contentType?: string
      readonly body: string | Uint8Array
      readonly path?: string
    }
  | null

/** A user operation log row as the engine stores it (including `tenantId`, absent from the REST DTO). */
export type UserOperationLogView = Pick<
  UserOperationLogEntry,
  | 'userId'
  | 'operationType'
  | 'entityType'
  | 'category'
  | 'property'
  | 'orgValue'
  | 'newValue'
  | 'processDefinitionKey'
  | 'processInstanceId'
  | 'taskId'
  | 'externalTaskId'
  | 'deploymentId'
  | 'tenantId'
> & { readonly timestamp: string }

/** An authorization row as `GET /authorization` shows it. */
export type AuthorizationView = Readonly<AuthorizationRecord> & {
  readonly permissions: readonly string[]
}

export interface DeployedDefinition {
  readonly id: string
  readonly key: string
  readonly version: number
  readonly tenantId: string | null
}

/** The running simulator. */
export interface EngineSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234/engine-rest`. */
  readonly url: string
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  readonly requests: RecordedRequest[]
  readonly stats: EngineSimulatorStats
  readonly validationErrors: ValidationIssue[]
  /** Throws with every recorded OpenAPI violation (use in `afterEach`). */
  assertNoValidationErrors(): void
  userOperationLog(): UserOperationLogView[]
  setFault(fault: EngineFault): void
  /** Long-poll requests currently waiting whose client is still connected. */
  readonly pendingLongPolls: number
  /**
   * Long polls whose client has gone but which still wait until their timeout and lock tasks that
   * appear meanwhile (as the real engines do).
   */
  readonly abandonedLongPolls: number
  /**
   * Simulated clock: `advance` moves lock expiry and login back-off forward; `freeze` stops real
   * time from passing (exact boundary tests), `unfreeze` lets it run again.
   */
  readonly clock: { now(): number; advance(ms: number): void; freeze(): void; unfreeze(): void }
  /** Direct setup without HTTP (no request log, no operation log). */
  readonly seed: {
    user(user: NewUser): void
    group(group: { id: string; name?: string; type?: string }): void
    tenant(tenant: { id: string; name?: string }): void
    /** `{ userId, groupId }`, `{ tenantId, userId }` or `{ tenantId, groupId }`. */
    membership(m: { userId?: string; groupId?: string; tenantId?: string }): void
    /** A GRANT (default), REVOKE (`type: 2`) or GLOBAL (`type: 0`, `userId: '*'`) row. */
    authorization(a: {
      type?: 0 | 1 | 2
      userId?: string
      groupId?: string
      resourceType: number
      resourceId?: string
      permissions: string[]
    }): string
    /**
     * A historic decision instance, as a DMN evaluation would leave it (the simulator evaluates no
     * DMN); returns its id.
     */
    historicDecisionInstance(d: { decisionDefinitionKey: string; tenantId?: string | null }): string
  }
  deploy(
    xml: string,
    options?: { tenantId?: string | null; name?: string; resourceName?: string },
  ): { deploymentId: string; definitions: DeployedDefinition[] }
  startProcess(
    key: string,
    options?: {
      tenantId?: string | null
      businessKey?: string
      variables?: Record<string, { value: unknown; type?: string }>
    },
  ): { id: string; tenantId: string | null }
  /** Read-only views of the state for assertions. */
  readonly inspect: {
    user(id: string): { attempts: number; locked: boolean } | undefined
    tenantsOf(userId: string): string[]
    groupsOf(userId: string): string[]
    tasks(): {
      id: string
      name: string | null
      assignee: string | null
      tenantId: string | null
      processInstanceId: string
    }[]
    externalTasks(): {
      id: string
      topicName: string
      workerId: string | null
      tenantId: string | null
      retries: number | null
      processInstanceId: string
    }[]
    processInstance(
      id: string,
    ): { state: string; tenantId: string | null; variables: Record<string, unknown> } | undefined
    /** Every authorization row, in creation order. */
    authorizations(): AuthorizationView[]
  }
  /** Clears all data, logs and counters, re-seeds the admin user, and removes any fault. */
  reset(): void
  close(): Promise<void>
}

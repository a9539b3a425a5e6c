/**
 * An in-memory Camunda 7 `engine-rest` over real HTTP: Basic authentication with the engine's
 * login throttling, identity without upsert, the transparent tenant check, deployments, linear
 * processes with user and external tasks, long-polling fetchAndLock, history and the user
 * operation log. Every request is validated against the Camunda 7.23 OpenAPI document.
 */
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OpenApiValidationError, OpenApiValidator } from '../openapi/openapi-validator.js'
import { sharedOpenApiValidator } from '../openapi/openapi-validator.js'
import type { AuthContext } from './auth-context.js'
import { AuthorizationService } from './authorization-service.js'
import { UNAUTHENTICATED } from './auth-context.js'
import { EngineError, invalidRequest } from './engine-errors.js'
import { formatEngineDate } from './engine-format.js'
import { EngineState } from './engine-state.js'
import { FetchAndLockQueue } from './fetch-and-lock.js'
import type { LoginThrottling, NewUser } from './identity-service.js'
import { IdentityService } from './identity-service.js'
import { firstValues } from './query-criteria.js'
import { discardBody, readJsonBody, readMultipartBody } from './request-body.js'
import { Router, splitPath } from './router.js'
import { registerAuthorizationRoutes } from './routes/authorization-routes.js'
import { registerExternalTaskRoutes } from './routes/external-task-routes.js'
import { registerFormRoutes } from './routes/form-routes.js'
import { registerHistoryRoutes } from './routes/history-routes.js'
import { registerIdentityRoutes } from './routes/identity-routes.js'
import { registerRepositoryRoutes } from './routes/repository-routes.js'
import type { EngineServices, Handler, Reply } from './routes/route-types.js'
import { registerRuntimeRoutes } from './routes/runtime-routes.js'
import type { HistoryLevel, TenantIdProviderContext } from './runtime-service.js'
import { RuntimeService } from './runtime-service.js'
import { toTypedMap } from './variables.js'

/** Options of {@link startEngineSimulator}. Defaults model Camunda Run with `auth.enabled=true`. */
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
}

export interface ValidationIssue {
  readonly method: string
  readonly path: string
  readonly operationId: string | null
  readonly errors: readonly OpenApiValidationError[]
}

export type EngineFault =
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'down' }
  | { readonly kind: 'status'; readonly status: number }
  | null

/** A user operation log row as the engine stores it (including `tenantId`, absent from the REST DTO). */
export interface UserOperationLogView {
  readonly userId: string
  readonly operationType: string
  readonly entityType: string
  readonly category: string
  readonly property: string | null
  readonly orgValue: string | null
  readonly newValue: string | null
  readonly processDefinitionKey: string | null
  readonly processInstanceId: string | null
  readonly taskId: string | null
  readonly externalTaskId: string | null
  readonly deploymentId: string | null
  readonly tenantId: string | null
  readonly timestamp: string
}

/** An authorization row as `GET /authorization` shows it. */
export interface AuthorizationView {
  readonly id: string
  /** 0 global, 1 grant, 2 revoke. */
  readonly type: number
  readonly permissions: readonly string[]
  readonly userId: string | null
  readonly groupId: string | null
  readonly resourceType: number
  readonly resourceId: string
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
  /** Long-poll requests currently waiting. */
  readonly pendingLongPolls: number
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

const JSON_TYPE = 'application/json'

const PROVISIONING = new Set([
  'POST /user/create',
  'PUT /user/{id}/profile',
  'PUT /user/{id}/credentials',
  'DELETE /user/{id}',
  'POST /user/{id}/unlock',
  'POST /group/create',
  'PUT /group/{id}',
  'DELETE /group/{id}',
  'PUT /group/{id}/members/{userId}',
  'DELETE /group/{id}/members/{userId}',
  'POST /tenant/create',
  'PUT /tenant/{id}',
  'DELETE /tenant/{id}',
  'PUT /tenant/{id}/user-members/{userId}',
  'DELETE /tenant/{id}/user-members/{userId}',
  'PUT /tenant/{id}/group-members/{groupId}',
  'DELETE /tenant/{id}/group-members/{groupId}',
])

/** Parses `Authorization: Basic …` like `HttpBasicAuthenticationProvider` (split at the first `:`). */
function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  // the provider matches the prefix case-sensitively: `authorizationHeader.startsWith("Basic ")`
  if (header === undefined || !header.startsWith('Basic ')) return null
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return null
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Starts the simulator on `127.0.0.1:0`.
 *
 * @example
 * ```ts
 * const engine = await startEngineSimulator({ adminUser: { id: 'admin', password: 'admin' } })
 * engine.seed.tenant({ id: 'tenantA' })
 * engine.deploy(bpmnXml, { tenantId: 'tenantA' })
 * const res = await fetch(`${engine.url}/process-definition`, {
 *   headers: { authorization: 'Basic ' + Buffer.from('admin:admin').toString('base64') },
 * })
 * await engine.close()
 * ```
 */
export async function startEngineSimulator(
  options: EngineSimulatorOptions = {},
): Promise<EngineSimulator> {
  const authentication = options.authentication ?? true
  const adminGroup = options.adminGroup ?? 'camunda-admin'
  const adminUser =
    options.adminUser === undefined ? { id: 'admin', password: 'admin' } : options.adminUser
  let clockOffset = 0
  let frozenAt: number | null = null
  const now = (): number => (frozenAt ?? Date.now()) + clockOffset

  const state = new EngineState()
  const identity = new IdentityService(state, {
    idPattern: options.idPattern ?? /^(?:[a-zA-Z0-9]+|camunda-admin)$/,
    passwordPolicy: options.passwordPolicy ?? false,
    login: {
      maxAttempts: options.login?.maxAttempts ?? 10,
      delayBaseSeconds: options.login?.delayBaseSeconds ?? 3,
      delayFactor: options.login?.delayFactor ?? 2,
      delayMaxSeconds: options.login?.delayMaxSeconds ?? 60,
    },
    adminGroups: [adminGroup],
    adminUsers: options.adminUsers ?? [],
    tenantCheck: options.tenantCheck ?? true,
    now,
  })
  const runtime = new RuntimeService(state, {
    historyLevel: options.historyLevel ?? 'full',
    now,
    tenantIdProvider: options.tenantIdProvider,
  })
  const fetchAndLock = new FetchAndLockQueue(state, runtime)
  runtime.onExternalTaskAvailable = () => queueMicrotask(() => fetchAndLock.notify())
  const authorizationChecks = options.authorizationChecks ?? false
  const authorization = new AuthorizationService(state, authorizationChecks)
  const services: EngineServices = {
    state,
    identity,
    runtime,
    fetchAndLock,
    authorization,
    authorizationChecks,
    engineVersion: options.engineVersion ?? '7.23.0',
  }

  const router = new Router<Handler>()
  registerIdentityRoutes(router, services)
  registerRepositoryRoutes(router, services)
  registerFormRoutes(router, services)
  registerRuntimeRoutes(router, services)
  registerExternalTaskRoutes(router, services)
  registerHistoryRoutes(router, services)
  registerAuthorizationRoutes(router, services)
  router.add('GET', '/version', () => ({ status: 200, body: { version: services.engineVersion } }))

  const validator: OpenApiValidator | null =
    options.validateRequests === false ? null : sharedOpenApiValidator(options.openApiDocumentPath)

  const requests: RecordedRequest[] = []
  const validationErrors: ValidationIssue[] = []
  const stats: EngineSimulatorStats = {
    requests: 0,
    authFailures: 0,
    adminCalls: 0,
    anonymousCalls: 0,
    provisioningCalls: 0,
    callsPerUser: {},
  }
  let fault: EngineFault = null

  const seedAdmin = (): void => {
    identity.createGroup({ id: adminGroup, name: 'camunda BPM Administrators', type: 'SYSTEM' })
    if (adminUser !== null) {
      identity.createUser({ id: adminUser.id, password: adminUser.password })
      identity.createGroupMembership(adminUser.id, adminGroup)
    }
  }
  seedAdmin()

  let baseUrl = ''

  const send = (
    res: ServerResponse,
    reply: Reply,
    extraHeaders: Record<string, string> = {},
  ): void => {
    if (res.headersSent || res.destroyed) return
    if (reply.raw !== undefined) {
      res.writeHead(reply.status, {
        'Content-Type': reply.contentType ?? 'application/octet-stream',
        'Content-Length': reply.raw.length,
        ...extraHeaders,
      })
      res.end(reply.raw)
      return
    }
    if (reply.body === undefined) {
      res.writeHead(reply.status, extraHeaders)
      res.end()
      return
    }
    const payload = Buffer.from(JSON.stringify(reply.body), 'utf8')
    res.writeHead(reply.status, {
      'Content-Type': JSON_TYPE,
      'Content-Length': payload.length,
      ...extraHeaders,
    })
    res.end(payload)
  }

  const errorReply = (err: unknown): Reply => {
    if (err instanceof EngineError) return { status: err.status, body: err.toJSON() }
    return {
      status: 500,
      body: {
        type: 'ProcessEngineException',
        message: `Simulator failure: ${(err as Error)?.message ?? String(err)}`,
        code: 0,
      },
    }
  }

  const summarize = (body: unknown): unknown => {
    if (
      body !== null &&
      typeof body === 'object' &&
      (body as { kind?: unknown }).kind === 'multipart'
    ) {
      const mp = body as {
        fields: Record<string, readonly string[]>
        files: readonly { fieldName: string; fileName: string; data: Buffer }[]
      }
      return {
        fields: mp.fields,
        files: mp.files.map((f) => ({
          fieldName: f.fieldName,
          fileName: f.fileName,
          size: f.data.length,
        })),
      }
    }
    return body
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', 'http://simulator')
    const query = firstValues(url.searchParams)
    let user: string | null = null
    let auth: AuthContext = UNAUTHENTICATED
    let body: unknown
    let operationId: string | null = null
    let innerPath = url.pathname
    const record = (status: number): void => {
      stats.requests += 1
      if (user === null) stats.anonymousCalls += 1
      else stats.callsPerUser[user] = (stats.callsPerUser[user] ?? 0) + 1
      if (auth.admin) stats.adminCalls += 1
      requests.push({
        method,
        path: innerPath,
        rawPath: url.pathname,
        query: Object.fromEntries(query),
        queryAll: [...url.searchParams],
        headers: req.headers,
        user,
        body: summarize(body),
        operationId,
        status,
      })
    }
    const reply = (r: Reply, headers?: Record<string, string>): void => {
      record(r.status)
      send(res, r, headers)
    }

    const current = fault
    if (current?.kind === 'down') {
      req.socket.destroy()
      return
    }
    if (current?.kind === 'delay') await sleep(current.ms)
    if (current?.kind === 'status') {
      await discardBody(req)
      return reply({
        status: current.status,
        body: { type: 'ServiceUnavailable', message: 'Simulated engine fault' },
      })
    }

    const jaxrsNotFound: Reply = {
      status: 404,
      body: { type: 'NotFoundException', message: 'HTTP 404 Not Found', code: null },
    }
    if (url.pathname !== '/engine-rest' && !url.pathname.startsWith('/engine-rest/')) {
      await discardBody(req)
      return reply(jaxrsNotFound)
    }
    let segments: string[]
    try {
      segments = splitPath(url.pathname.slice('/engine-rest'.length)).map((s) =>
        decodeURIComponent(s),
      )
    } catch {
      await discardBody(req)
      return reply(jaxrsNotFound)
    }
    // ProcessEngineAuthenticationFilter: `/engine` lists engines without authentication
    if (segments[0] === 'engine' && segments.length === 1) {
      innerPath = '/engine'
      await discardBody(req)
      if (method !== 'GET')
        return reply({
          status: 405,
          body: { type: 'NotAllowedException', message: 'HTTP 405 Method Not Allowed', code: null },
        })
      operationId = 'getProcessEngineNames'
      return reply({ status: 200, body: [{ name: 'default' }] })
    }
    if (segments[0] === 'engine') {
      const engineName = segments[1] as string
      if (engineName !== 'default') {
        await discardBody(req)
        return reply({
          status: 404,
          body: {
            type: 'InvalidRequestException',
            message: `Process engine ${engineName} not available`,
            code: null,
          },
        })
      }
      segments = segments.slice(2)
    }
    innerPath = '/' + segments.join('/')

    if (authentication) {
      const credentials = basicCredentials(req.headers.authorization)
      if (credentials === null || !identity.checkPassword(credentials.user, credentials.password)) {
        stats.authFailures += 1
        await discardBody(req)
        return reply({ status: 401 }, { 'WWW-Authenticate': 'Basic realm="default"' })
      }
      user = credentials.user
      auth = identity.authenticate(credentials.user)
    }

    try {
      const contentType = (req.headers['content-type'] ?? '').toLowerCase()
      if (contentType.startsWith('multipart/form-data')) body = await readMultipartBody(req)
      else if (contentType === '' || contentType.startsWith('application/json'))
        body = await readJsonBody(req)
      else {
        await discardBody(req)
        if (
          Number(req.headers['content-length'] ?? '0') > 0 ||
          req.headers['transfer-encoding'] !== undefined
        ) {
          return reply({
            status: 415,
            body: {
              type: 'NotSupportedException',
              message: 'HTTP 415 Unsupported Media Type',
              code: null,
            },
          })
        }
      }
    } catch (err) {
      return reply(errorReply(err))
    }

    const { match, methodMismatch } = router.match(method, segments)
    if (validator !== null) {
      const result = validator.validate({
        method,
        path: innerPath,
        query: url.searchParams,
        headers: req.headers,
        body,
      })
      operationId = result.operationId
      if (result.errors.length > 0) {
        validationErrors.push({
          method,
          path: innerPath,
          operationId: result.operationId,
          errors: result.errors,
        })
        if (result.operationId !== null) {
          return reply({
            status: 400,
            body: {
              type: 'C7AuthSimulatorInvalidRequest',
              code: 'C7AUTH_SIM_INVALID_REQUEST',
              message: `Request violates the Camunda OpenAPI (${result.operationId}): ${result.errors.map((e) => e.message).join('; ')}`,
            },
          })
        }
      }
    }
    if (match === null) {
      if (methodMismatch)
        return reply({
          status: 405,
          body: { type: 'NotAllowedException', message: 'HTTP 405 Method Not Allowed', code: null },
        })
      if (operationId !== null) {
        return reply({
          status: 501,
          body: {
            type: 'C7AuthSimulatorNotImplemented',
            code: 'C7AUTH_SIM_NOT_IMPLEMENTED',
            message: `The simulator does not implement ${operationId}`,
          },
        })
      }
      return reply(jaxrsNotFound)
    }
    if (PROVISIONING.has(`${method} ${match.template}`)) stats.provisioningCalls += 1

    const abort = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    let result: Reply
    try {
      result = await match.handler({
        params: match.params,
        query,
        body,
        auth,
        baseUrl,
        req,
        signal: abort.signal,
      })
    } catch (err) {
      result = errorReply(err)
    }
    reply(result)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      send(res, errorReply(err))
    })
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  baseUrl = `${origin}/engine-rest`

  const simulator: EngineSimulator = {
    url: baseUrl,
    origin,
    requests,
    stats,
    validationErrors,
    assertNoValidationErrors() {
      if (validationErrors.length === 0) return
      const lines = validationErrors.map(
        (v) =>
          `${v.method} ${v.path} (${v.operationId ?? 'unknown operation'}): ${v.errors.map((e) => e.message).join('; ')}`,
      )
      throw new Error(
        `Engine simulator saw ${validationErrors.length} invalid request(s):\n${lines.join('\n')}`,
      )
    },
    userOperationLog: () =>
      state.operationLog.map((e) => ({
        userId: e.userId,
        operationType: e.operationType,
        entityType: e.entityType,
        category: e.category,
        property: e.property,
        orgValue: e.orgValue,
        newValue: e.newValue,
        processDefinitionKey: e.processDefinitionKey,
        processInstanceId: e.processInstanceId,
        taskId: e.taskId,
        externalTaskId: e.externalTaskId,
        deploymentId: e.deploymentId,
        tenantId: e.tenantId,
        timestamp: formatEngineDate(e.timestamp) as string,
      })),
    setFault(f) {
      fault = f
    },
    get pendingLongPolls() {
      return fetchAndLock.pendingCount
    },
    clock: {
      now,
      advance(ms: number) {
        clockOffset += ms
        fetchAndLock.notify()
      },
      freeze() {
        frozenAt ??= Date.now()
      },
      unfreeze() {
        if (frozenAt !== null) clockOffset += frozenAt - Date.now()
        frozenAt = null
      },
    },
    seed: {
      user: (u) => void identity.createUser(u),
      group: (g) =>
        void identity.createGroup({ id: g.id, name: g.name ?? null, type: g.type ?? null }),
      tenant: (t) => void identity.createTenant({ id: t.id, name: t.name ?? null }),
      membership: (m) => {
        if (m.tenantId !== undefined && m.userId !== undefined)
          identity.createTenantUserMembership(m.tenantId, m.userId)
        else if (m.tenantId !== undefined && m.groupId !== undefined)
          identity.createTenantGroupMembership(m.tenantId, m.groupId)
        else if (m.userId !== undefined && m.groupId !== undefined)
          identity.createGroupMembership(m.userId, m.groupId)
        else
          throw new Error(
            'membership needs { userId, groupId }, { tenantId, userId } or { tenantId, groupId }',
          )
      },
      authorization: (a) =>
        authorization.create({
          type: a.type ?? 1,
          permissions: a.permissions,
          userId: a.userId ?? null,
          groupId: a.groupId ?? null,
          resourceType: a.resourceType,
          resourceId: a.resourceId ?? '*',
        }).id,
    },
    deploy(xml, opts = {}) {
      const result = runtime.deploy(UNAUTHENTICATED, {
        name: opts.name ?? 'seed',
        tenantId: opts.tenantId ?? null,
        resources: [{ name: opts.resourceName ?? 'process.bpmn', data: Buffer.from(xml, 'utf8') }],
      })
      return {
        deploymentId: result.deployment.id,
        definitions: result.definitions.map((d) => ({
          id: d.id,
          key: d.key,
          version: d.version,
          tenantId: d.tenantId,
        })),
      }
    },
    startProcess(key, opts = {}) {
      const def = runtime.latestDefinition(key, opts.tenantId ?? null)
      if (def === undefined)
        throw invalidRequest(`No process definition ${key} for tenant ${opts.tenantId ?? 'none'}`)
      const instance = runtime.startInstance(UNAUTHENTICATED, def, {
        businessKey: opts.businessKey ?? null,
        variables: toTypedMap(opts.variables ?? {}, (n) => `variable ${n}`),
      })
      return { id: instance.id, tenantId: instance.tenantId }
    },
    inspect: {
      user(id) {
        const u = state.users.get(id)
        return u === undefined ? undefined : { attempts: u.attempts, locked: identity.isLocked(u) }
      },
      tenantsOf: (userId) => identity.tenantsOf(userId),
      groupsOf: (userId) => identity.groupsOf(userId),
      tasks: () =>
        [...state.tasks.values()].map((t) => ({
          id: t.id,
          name: t.name,
          assignee: t.assignee,
          tenantId: t.tenantId,
          processInstanceId: t.processInstanceId,
        })),
      externalTasks: () =>
        [...state.externalTasks.values()].map((t) => ({
          id: t.id,
          topicName: t.topicName,
          workerId: t.workerId,
          tenantId: t.tenantId,
          retries: t.retries,
          processInstanceId: t.processInstanceId,
        })),
      processInstance(id) {
        const i = state.instances.get(id)
        return i === undefined
          ? undefined
          : {
              state: i.state,
              tenantId: i.tenantId,
              variables: Object.fromEntries([...i.variables].map(([k, v]) => [k, v.value])),
            }
      },
      authorizations: () =>
        [...state.authorizations.values()].map((a) => ({
          id: a.id,
          type: a.type,
          permissions: [...a.permissions],
          userId: a.userId,
          groupId: a.groupId,
          resourceType: a.resourceType,
          resourceId: a.resourceId,
        })),
    },
    reset() {
      fetchAndLock.flush()
      state.clear()
      requests.length = 0
      validationErrors.length = 0
      stats.requests = 0
      stats.authFailures = 0
      stats.adminCalls = 0
      stats.anonymousCalls = 0
      stats.provisioningCalls = 0
      stats.callsPerUser = {}
      fault = null
      clockOffset = 0
      frozenAt = null
      seedAdmin()
    },
    async close() {
      server.closeAllConnections()
      fetchAndLock.flush()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return simulator
}

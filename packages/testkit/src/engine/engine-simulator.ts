/**
 * An in-memory Camunda 7 `engine-rest` over real HTTP: Basic authentication with the engine's
 * login throttling, identity without upsert, the transparent tenant check, deployments, linear
 * processes with user and external tasks, long-polling fetchAndLock, history and the user
 * operation log. Every request is validated against the Camunda 7.23 OpenAPI document.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OpenApiValidator } from '../openapi/openapi-validator.js'
import { sharedOpenApiValidator } from '../openapi/openapi-validator.js'
import { AuthorizationService } from './authorization-service.js'
import { EngineState } from './engine-state.js'
import { FetchAndLockQueue } from './fetch-and-lock.js'
import { createHttpShell } from './http-shell.js'
import { IdentityService } from './identity-service.js'
import { RequestLog } from './request-log.js'
import { Router } from './router.js'
import { registerAuthorizationRoutes } from './routes/authorization-routes.js'
import { registerEngineObjectRoutes } from './routes/engine-object-routes.js'
import { registerEventSubscriptionRoutes } from './routes/event-subscription-routes.js'
import { registerExternalTaskRoutes } from './routes/external-task-routes.js'
import { registerFormRoutes } from './routes/form-routes.js'
import { registerHistoryRoutes } from './routes/history-routes.js'
import { registerIdentityRoutes } from './routes/identity-routes.js'
import { registerRepositoryRoutes } from './routes/repository-routes.js'
import type { EngineServices, Handler } from './routes/route-types.js'
import { registerRuntimeRoutes } from './routes/runtime-routes.js'
import { RuntimeService } from './runtime-service.js'
import { RepositoryService } from './repository-service.js'
import { TaskService } from './task-service.js'
import { ExternalTaskService } from './external-task-service.js'
import { MessageService } from './message-service.js'
import { SimulatorClock } from './simulator-clock.js'
import { createFixtures } from './simulator-fixtures.js'
import type { EngineFault, EngineSimulator, EngineSimulatorOptions } from './simulator-types.js'

export type { EngineSimulator, EngineSimulatorOptions } from './simulator-types.js'

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
  const clock = new SimulatorClock(() => fetchAndLock.notify())
  const now = clock.now

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
  const repository = new RepositoryService(state, runtime)
  const tasks = new TaskService(state, runtime)
  const externalTasks = new ExternalTaskService(state, runtime)
  const messages = new MessageService(state, runtime, repository)
  const fetchAndLock = new FetchAndLockQueue(state, runtime, externalTasks)
  runtime.onExternalTaskAvailable = () => queueMicrotask(() => fetchAndLock.notify())
  const authorizationChecks = options.authorizationChecks ?? false
  const authorization = new AuthorizationService(state, authorizationChecks)
  const services: EngineServices = {
    state,
    identity,
    runtime,
    repository,
    tasks,
    externalTasks,
    messages,
    fetchAndLock,
    authorization,
    authorizationChecks,
    readOnlyIdentity: options.readOnlyIdentity ?? false,
    engineVersion: options.engineVersion ?? '7.23.0',
  }

  const router = new Router<Handler>()
  registerIdentityRoutes(router, services)
  registerRepositoryRoutes(router, services)
  registerFormRoutes(router, services)
  registerRuntimeRoutes(router, services)
  registerEventSubscriptionRoutes(router, services)
  registerExternalTaskRoutes(router, services)
  registerHistoryRoutes(router, services)
  registerEngineObjectRoutes(router, services)
  registerAuthorizationRoutes(router, services)
  router.add('GET', '/version', () => ({ status: 200, body: { version: services.engineVersion } }))

  const validator: OpenApiValidator | null =
    options.validateRequests === false ? null : sharedOpenApiValidator(options.openApiDocumentPath)
  const log = new RequestLog()
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
  const server = createServer(
    createHttpShell({
      router,
      identity,
      log,
      validator,
      authentication,
      fault: () => fault,
      baseUrl: () => baseUrl,
    }),
  )
  server.keepAliveTimeout = 5_000
  server.on('connection', () => {
    log.stats.connections += 1
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  baseUrl = `${origin}/engine-rest`

  return {
    url: baseUrl,
    origin,
    requests: log.requests,
    stats: log.stats,
    validationErrors: log.validationErrors,
    assertNoValidationErrors: () => log.assertNoValidationErrors(),
    ...createFixtures({ state, identity, runtime, repository, authorization }),
    setFault(f) {
      fault = f
    },
    get pendingLongPolls() {
      return fetchAndLock.pendingCount
    },
    get abandonedLongPolls() {
      return fetchAndLock.abandonedCount
    },
    clock: {
      now,
      advance: (ms) => clock.advance(ms),
      freeze: () => clock.freeze(),
      unfreeze: () => clock.unfreeze(),
    },
    reset() {
      fetchAndLock.flush()
      state.clear()
      log.clear()
      fault = null
      clock.reset()
      seedAdmin()
    },
    async close() {
      server.closeAllConnections()
      fetchAndLock.flush()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Direct access to the simulator's state, without HTTP: seeding data, deploying and starting
 * processes, and read-only views for assertions. Nothing here is recorded in the request log.
 */
import { UNAUTHENTICATED } from './auth-context.js'
import { authorizationView } from './authorization-service.js'
import type { AuthorizationService } from './authorization-service.js'
import { invalidRequest } from './engine-errors.js'
import { formatEngineDate, newId } from './engine-format.js'
import type { EngineState } from './engine-state.js'
import type { IdentityService } from './identity-service.js'
import type { RepositoryService } from './repository-service.js'
import type { RuntimeService } from './runtime-service.js'
import type { EngineSimulator } from './simulator-types.js'
import { toTypedMap } from './variables.js'

/** The parts of the simulator handle that read or write its state directly. */
export type SimulatorFixtures = Pick<
  EngineSimulator,
  'userOperationLog' | 'seed' | 'deploy' | 'startProcess' | 'inspect'
>

/** Builds the direct-access part of the simulator handle. */
export function createFixtures(engine: {
  readonly state: EngineState
  readonly identity: IdentityService
  readonly runtime: RuntimeService
  readonly repository: RepositoryService
  readonly authorization: AuthorizationService
}): SimulatorFixtures {
  const { state, identity, runtime, repository, authorization } = engine
  return {
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
      historicDecisionInstance: (d) => {
        const id = newId()
        const tenantId = d.tenantId ?? null
        state.historicDecisionInstances.set(id, {
          id,
          processInstanceId: null,
          tenantId,
          dto: {
            id,
            decisionDefinitionId: `${d.decisionDefinitionKey}:1:${id}`,
            decisionDefinitionKey: d.decisionDefinitionKey,
            decisionDefinitionName: null,
            evaluationTime: formatEngineDate(runtime.now()),
            removalTime: null,
            processDefinitionId: null,
            processDefinitionKey: null,
            processInstanceId: null,
            rootProcessInstanceId: null,
            caseDefinitionId: null,
            caseDefinitionKey: null,
            caseInstanceId: null,
            activityId: null,
            activityInstanceId: null,
            tenantId,
            userId: null,
            collectResultValue: null,
            rootDecisionInstanceId: null,
            decisionRequirementsDefinitionId: null,
            decisionRequirementsDefinitionKey: null,
          },
        })
        return id
      },
    },
    deploy(xml, opts = {}) {
      const result = repository.deploy(UNAUTHENTICATED, {
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
      const def = repository.latestDefinition(key, opts.tenantId ?? null)
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
      authorizations: () => [...state.authorizations.values()].map(authorizationView),
    },
  }
}

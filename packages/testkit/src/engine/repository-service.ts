/** The engine's repository service: deployments and process definitions. */
import type { AuthContext } from './auth-context.js'
import { isAuthenticatedTenant } from './auth-context.js'
import type { StartEventModel } from './bpmn-parser.js'
import { parseBpmn } from './bpmn-parser.js'
import { engineException, notFound } from './engine-errors.js'
import { newId } from './engine-format.js'
import type { DeploymentRecord, ProcessDefinitionRecord } from './engine-state.js'
import type { LogChange } from './operation-log.js'
import { EngineService } from './engine-service.js'

/** One resource of a deployment request. */
export interface DeploymentInput {
  readonly name?: string | null
  readonly source?: string | null
  readonly tenantId?: string | null
  readonly enableDuplicateFiltering?: boolean
  readonly deployChangedOnly?: boolean
  readonly resources: readonly { readonly name: string; readonly data: Buffer }[]
}

export interface DeploymentResult {
  readonly deployment: DeploymentRecord
  /** Definitions created by this call (empty when duplicate filtering returned an old one). */
  readonly definitions: readonly ProcessDefinitionRecord[]
}

/** Deploys, deletes and looks up process definitions. */
export class RepositoryService extends EngineService {
  deploy(ctx: AuthContext, input: DeploymentInput): DeploymentResult {
    const tenantId = input.tenantId === undefined || input.tenantId === '' ? null : input.tenantId
    const name = input.name ?? null
    const source = input.source ?? null
    const filtering = input.enableDuplicateFiltering === true || input.deployChangedOnly === true
    if (filtering) {
      const previous = [...this.state.deployments.values()]
        .filter((d) => d.name === name && d.tenantId === tenantId && d.source === source)
        .sort((a, b) => b.deploymentTime - a.deploymentTime)[0]
      if (previous !== undefined && sameResources(previous, input.resources)) {
        return { deployment: previous, definitions: [] }
      }
    }
    const deploymentId = newId()
    const parsed = input.resources.flatMap((r) =>
      /\.bpmn(20\.xml)?$/i.test(r.name)
        ? parseBpmn(r.data.toString('utf8'), r.name).map((model) => ({ model, resource: r }))
        : [],
    )
    const deployment: DeploymentRecord = {
      id: deploymentId,
      name,
      source,
      deploymentTime: this.runtime.now(),
      tenantId,
      resources: input.resources.map((r) => ({ id: newId(), name: r.name, data: r.data })),
    }
    const definitions: ProcessDefinitionRecord[] = []
    for (const { model, resource } of parsed) {
      const version =
        1 +
        Math.max(
          0,
          ...[...this.state.definitions.values()]
            .filter((d) => d.key === model.key && d.tenantId === tenantId)
            .map((d) => d.version),
        )
      const composed = `${model.key}:${version}:${newId()}`
      definitions.push({
        id: composed.length <= 64 ? composed : newId(),
        key: model.key,
        name: model.name,
        version,
        versionTag: model.versionTag,
        resource: resource.name,
        deploymentId,
        tenantId,
        historyTimeToLive: model.historyTimeToLive,
        startableInTasklist: model.startableInTasklist,
        xml: resource.data.toString('utf8'),
        model,
        suspended: false,
      })
    }
    this.state.deployments.set(deploymentId, deployment)
    for (const d of definitions) {
      this.state.definitions.set(d.id, d)
      this.#createJobDefinitions(d.id, d.key, d.tenantId, deploymentId, d.model.startEvents)
      this.#subscribeMessageStartEvents(d.key, d.tenantId)
    }
    const changes: LogChange[] = [
      { property: 'duplicateFilterEnabled', newValue: String(filtering) },
    ]
    if (filtering)
      changes.push({
        property: 'deployChangedOnly',
        newValue: String(input.deployChangedOnly === true),
      })
    this.log.write(ctx, 'Create', 'Deployment', 'Operator', { deploymentId, tenantId }, changes)
    return { deployment, definitions }
  }

  deleteDeployment(ctx: AuthContext, id: string, cascade: boolean): void {
    const deployment = this.state.deployments.get(id)
    if (deployment === undefined || !isAuthenticatedTenant(ctx, deployment.tenantId)) {
      throw notFound(`Deployment with id '${id}' do not exist`)
    }
    const defs = [...this.state.definitions.values()].filter((d) => d.deploymentId === id)
    const running = [...this.state.instances.values()].filter(
      (i) => i.state === 'ACTIVE' && defs.some((d) => d.id === i.definitionId),
    )
    if (running.length > 0 && !cascade) {
      throw engineException(
        `Deletion of process definition without cascading failed. Process definition with id: ${defs[0]?.id ?? ''} can't be deleted, since there exists ${running.length} dependening process instances.`,
      )
    }
    for (const i of running) this.runtime.terminate(i, 'deleted deployment')
    for (const d of defs) this.state.definitions.delete(d.id)
    for (const d of defs) this.#subscribeMessageStartEvents(d.key, d.tenantId)
    for (const jd of [...this.state.jobDefinitions.values()]) {
      if (jd.deploymentId === id) this.state.jobDefinitions.delete(jd.id)
    }
    this.state.deployments.delete(id)
    this.log.write(
      ctx,
      'Delete',
      'Deployment',
      'Operator',
      { deploymentId: id, tenantId: deployment.tenantId },
      [{ property: 'cascade', newValue: String(cascade) }],
    )
  }

  /** Latest definition of a key: `tenantId === null` means the shared (no tenant) one. */
  latestDefinition(key: string, tenantId: string | null): ProcessDefinitionRecord | undefined {
    let best: ProcessDefinitionRecord | undefined
    for (const d of this.state.definitions.values()) {
      if (d.key !== key || d.tenantId !== tenantId) continue
      if (best === undefined || d.version > best.version) best = d
    }
    return best
  }

  isLatestVersion(def: ProcessDefinitionRecord): boolean {
    return this.latestDefinition(def.key, def.tenantId)?.id === def.id
  }

  /**
   * The message start events of a key (and tenant) are subscribed for its latest version only: a
   * new version replaces the subscriptions of the one before, deleting it restores them.
   */
  #subscribeMessageStartEvents(key: string, tenantId: string | null): void {
    const latest = this.latestDefinition(key, tenantId)
    for (const s of [...this.state.eventSubscriptions.values()]) {
      if (s.processInstanceId !== null || s.processDefinitionId === latest?.id) continue
      const d = this.state.definitions.get(s.processDefinitionId)
      if (d === undefined || (d.key === key && d.tenantId === tenantId)) {
        this.state.eventSubscriptions.delete(s.id)
      }
    }
    if (latest === undefined) return
    const existing = [...this.state.eventSubscriptions.values()].filter(
      (s) => s.processInstanceId === null && s.processDefinitionId === latest.id,
    )
    for (const event of latest.model.startEvents) {
      if (event.messageName === null || existing.some((s) => s.activityId === event.id)) continue
      const id = newId()
      this.state.eventSubscriptions.set(id, {
        id,
        eventType: 'message',
        eventName: event.messageName,
        executionId: null,
        processInstanceId: null,
        processDefinitionId: latest.id,
        activityId: event.id,
        createdDate: this.runtime.now(),
        tenantId,
      })
    }
  }

  /** One timer job definition per timer catch event reachable from a start event (`ACT_RU_JOBDEF`). */
  #createJobDefinitions(
    definitionId: string,
    key: string,
    tenantId: string | null,
    deploymentId: string,
    startEvents: readonly StartEventModel[],
  ): void {
    const seen = new Set<string>()
    for (const activity of startEvents.flatMap((e) => e.path)) {
      if (activity.kind !== 'timer' || seen.has(activity.id)) continue
      seen.add(activity.id)
      const id = newId()
      this.state.jobDefinitions.set(id, {
        id,
        processDefinitionId: definitionId,
        processDefinitionKey: key,
        activityId: activity.id,
        jobType: 'timer-intermediate-transition',
        jobConfiguration: `DURATION: ${activity.timerDuration ?? ''}`,
        tenantId,
        deploymentId,
        suspended: false,
      })
    }
  }
}

function sameResources(
  previous: DeploymentRecord,
  resources: readonly { readonly name: string; readonly data: Buffer }[],
): boolean {
  if (previous.resources.length !== resources.length) return false
  return resources.every((r) =>
    previous.resources.some((p) => p.name === r.name && p.data.equals(r.data)),
  )
}

import { expect } from 'vitest'
import type { OwnerResource } from '../../packages/gateway/src/internal.js'

/**
 * Owner kinds whose routes answer a missing id differently per sub-route (T33): checked route by
 * route against both real engines in `gateway-owner-routes.test.ts`, not seeded here.
 */
export const CHECKED_PER_ROUTE: ReadonlySet<OwnerResource> = new Set([
  'decisionDefinition',
  'decisionRequirementsDefinition',
])

/** The owner kinds this module seeds one tenant-A object of. */
export type SweptOwnerResource = Exclude<
  OwnerResource,
  'decisionDefinition' | 'decisionRequirementsDefinition'
>
import { linearProcessXml } from '@c7auth/testkit'
import { engineAdmin, engineDeploy } from './engines.js'
import type { Harness } from './gateway-engine-harness.js'

/**
 * A one-rule DMN table; evaluating it leaves a historic decision instance (history `full`). The
 * engines refuse a decision without a history time to live.
 */
const DECISION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="sweepDecisions" name="sweep" namespace="http://c7auth/sweep">
  <decision id="sweepDecision" name="sweep decision" camunda:historyTimeToLive="180">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in"><inputExpression id="inExpr" typeRef="string"><text>kind</text></inputExpression></input>
      <output id="out" name="result" typeRef="string" />
      <rule id="r1"><inputEntry id="e1"><text>-</text></inputEntry><outputEntry id="o1"><text>"ok"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>`

/** What {@link seedTenantA} leaves behind: one id per owner kind, plus the instances. */
export interface TenantAObjects {
  readonly ids: Readonly<Record<SweptOwnerResource, string>>
  /** Waits in the user task `approve`, holds variable `v1 = secret-of-a`. */
  readonly waitingInTask: string
  /** Waits in the external task `charge` (unlocked). */
  readonly waitingInExternalTask: string
  /** Its external task failed with no retries left: an incident. */
  readonly withIncident: string
  /** Waits in a one-hour timer: a job. */
  readonly waitingInTimer: string
  /** Waits in the receive task `wait` for message `sweep-go`: an event subscription. */
  readonly waitingForMessage: string
  /** Values no answer to tenant B may contain. */
  readonly secrets: readonly string[]
}

/**
 * Creates a tenant-A object of every kind the gateway checks owners of, the way an app and an
 * operator would on any engine: tenant A's app deploys, starts, completes and fails through the
 * gateway; the engine admin deploys and evaluates a decision (the simulator evaluates no DMN, so
 * it is seeded there) and finds every id over REST. Deploys the same `order` process for tenant B.
 */
export async function seedTenantA(h: Harness, a: string, b: string): Promise<TenantAObjects> {
  const order = linearProcessXml({
    key: 'order',
    steps: [
      // a candidate group: the task's identity links are in the history (identity link log)
      { type: 'userTask', id: 'approve', candidateGroups: ['sweepClerks'] },
      { type: 'externalTask', id: 'charge', topic: 'charge' },
    ],
  })
  const ok = (r: { status: number; text: string }, what: string) =>
    expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBeLessThan(300)
  const dep = await h.deploy(a, order, 'order')
  ok(dep, 'deploy order for A')
  ok(await h.deploy(b, order, 'order'), 'deploy order for B')
  const failing = linearProcessXml({
    key: 'sweepFailing',
    steps: [{ type: 'externalTask', id: 'fail', topic: 'sweep-fail' }],
  })
  ok(await h.deploy(a, failing, 'sweepFailing'), 'deploy sweepFailing')
  const waiting = linearProcessXml({
    key: 'sweepWaiting',
    steps: [{ type: 'timer', id: 'wait', duration: 'PT1H' }],
  })
  const waitingDep = await h.deploy(a, waiting, 'sweepWaiting')
  ok(waitingDep, 'deploy sweepWaiting')
  const message = linearProcessXml({
    key: 'sweepMessage',
    steps: [{ type: 'receiveTask', id: 'wait', message: 'sweep-go' }],
  })
  ok(await h.deploy(a, message, 'sweepMessage'), 'deploy sweepMessage')
  const depJson = dep.json as {
    id: string
    deployedProcessDefinitions: Record<string, { id: string }>
  }
  const waitingDefinition = Object.values(
    (waitingDep.json as { deployedProcessDefinitions: Record<string, { id: string }> })
      .deployedProcessDefinitions,
  )[0]!.id

  const start = async (key: string, body: unknown = {}) => {
    const r = await h.call(a, 'POST', `/process-definition/key/${key}/start`, body)
    ok(r, `start ${key}`)
    return (r.json as { id: string }).id
  }
  const waitingInTask = await start('order', {
    variables: { v1: { value: 'secret-of-a', type: 'String' } },
  })
  const waitingInExternalTask = await start('order')
  const firstTask = (await h.call(a, 'GET', `/task?processInstanceId=${waitingInExternalTask}`))
    .json as { id: string }[]
  ok(await h.call(a, 'POST', `/task/${firstTask[0]!.id}/complete`, {}), 'complete approve')
  const withIncident = await start('sweepFailing')
  const locked = await h.call(a, 'POST', '/external-task/fetchAndLock', {
    workerId: 'seed-worker',
    maxTasks: 1,
    topics: [{ topicName: 'sweep-fail', lockDuration: 60_000 }],
  })
  ok(locked, 'fetchAndLock sweep-fail')
  const lockedTasks = locked.json as { id: string }[]
  expect(lockedTasks).toHaveLength(1)
  ok(
    await h.call(a, 'POST', `/external-task/${lockedTasks[0]!.id}/failure`, {
      workerId: 'seed-worker',
      errorMessage: 'card declined',
      retries: 0,
      retryTimeout: 0,
    }),
    'fail sweep-fail',
  )
  const waitingInTimer = await start('sweepWaiting')
  const waitingForMessage = await start('sweepMessage')

  if (h.simulator) {
    h.simulator.seed.historicDecisionInstance({
      decisionDefinitionKey: 'sweepDecision',
      tenantId: 'tenantA',
    })
  } else {
    await engineDeploy(h.target, DECISION_XML, {
      name: 'sweepDecisions',
      tenantId: 'tenantA',
      resourceName: 'sweepDecisions.dmn',
    })
    await engineAdmin(
      h.target,
      'POST',
      '/decision-definition/key/sweepDecision/tenant-id/tenantA/evaluate',
      { variables: { kind: { value: 'any', type: 'String' } } },
    )
  }

  const admin = <T>(path: string) => engineAdmin<T[]>(h.target, 'GET', path)
  const one = async <T extends { id: string }>(
    path: string,
    pick: (row: T) => boolean = () => true,
  ): Promise<string> => {
    const rows = (await admin<T>(path)).filter(pick)
    expect(rows.length, `${path}: one row`).toBeGreaterThan(0)
    return rows[0]!.id
  }
  const task = await one<{ id: string }>(`/task?processInstanceId=${waitingInTask}`)
  // the kinds no owner check addresses, but scope-query routes list: real rows of A's
  await one(`/event-subscription?processInstanceId=${waitingForMessage}`)
  await one(`/history/identity-link-log?taskId=${task}`)
  const ids: Record<SweptOwnerResource, string> = {
    deployment: depJson.id,
    processDefinition: Object.values(depJson.deployedProcessDefinitions)[0]!.id,
    processInstance: waitingInTask,
    execution: waitingInTask,
    historicProcessInstance: waitingInTask,
    task,
    externalTask: await one(`/external-task?processInstanceId=${waitingInExternalTask}`),
    job: await one(`/job?processInstanceId=${waitingInTimer}`),
    jobDefinition: await one(`/job-definition?processDefinitionId=${waitingDefinition}`),
    incident: await one(`/incident?processInstanceId=${withIncident}`),
    variableInstance: await one<{ id: string; name: string }>(
      `/variable-instance?processInstanceIdIn=${waitingInTask}`,
      (v) => v.name === 'v1',
    ),
    historicActivityInstance: await one<{ id: string; activityId: string }>(
      `/history/activity-instance?processInstanceId=${waitingInTask}`,
      (r) => r.activityId === 'approve',
    ),
    historicVariableInstance: await one<{ id: string; name: string }>(
      `/history/variable-instance?processInstanceId=${waitingInTask}`,
      (v) => v.name === 'v1',
    ),
    historicDetail: await one<{ id: string; variableName?: string }>(
      `/history/detail?processInstanceId=${waitingInTask}`,
      (d) => d.variableName === 'v1',
    ),
    historicJobLog: await one(`/history/job-log?processInstanceId=${waitingInTimer}`),
    historicExternalTaskLog: await one(
      `/history/external-task-log?processInstanceId=${waitingInExternalTask}`,
    ),
    historicDecisionInstance: await one('/history/decision-instance?tenantIdIn=tenantA'),
  }
  return {
    ids,
    waitingInTask,
    waitingInExternalTask,
    withIncident,
    waitingInTimer,
    waitingForMessage,
    secrets: [
      'tenantA',
      'secret-of-a',
      task,
      waitingInTask,
      waitingForMessage,
      ids.externalTask,
      ids.job,
    ],
  }
}

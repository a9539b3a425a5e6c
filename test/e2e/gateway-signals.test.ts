/**
 * Signals (issue 15 item 3, trap T30): a signal thrown inside tenant B's process also reaches the
 * subscriptions without a tenant, so B could start a shared definition the gateway never lets it
 * start directly. The gateway refuses signal throws in `strict` deployments, and in `trusted`
 * ones while the engine holds shared signal subscriptions. Real engines only: the simulator has no
 * signal events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { describeEngines, engineAdmin, engineDeploy, selectedEngines } from './engines.js'

const DEFS = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://c7auth.test/signals">
  <bpmn:signal id="goSignal" name="c7authGo" />
  ${body}
</bpmn:definitions>`

/** Shared definition started by the signal `c7authGo`; it waits in a user task. */
const SHARED_ON_SIGNAL =
  DEFS(`<bpmn:process id="sharedOnSignal" isExecutable="true" camunda:historyTimeToLive="1">
    <bpmn:startEvent id="onGo"><bpmn:signalEventDefinition signalRef="goSignal" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="onGo" targetRef="wait" />
    <bpmn:userTask id="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>`)

/** A process that throws `c7authGo` and ends. */
const throwing = (key: string) =>
  DEFS(`<bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="1">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="shout" />
    <bpmn:intermediateThrowEvent id="shout"><bpmn:signalEventDefinition signalRef="goSignal" /></bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="shout" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>`)

// Without a real engine selected (no Java), say so instead of an empty file.
describe.skipIf(selectedEngines().some((e) => e !== 'simulator'))('signals', () => {
  it.skip('run on real engines only; none is selected or built (see engines.ts)', () => {})
})

describeEngines(
  'signal throws through the gateway',
  (ctx) => {
    describe('service mode, tenant A strict, tenant B trusted', () => {
      let h: Harness
      let a: string
      let b: string
      let sharedDeployment: string
      const sharedInstances = async () =>
        (
          await engineAdmin<{ count: number }>(
            ctx.engine,
            'GET',
            '/process-instance/count?processDefinitionKey=sharedOnSignal',
          )
        ).count

      beforeAll(async () => {
        h = await startHarness({
          mode: 'service',
          framework: 'express',
          testEngine: ctx.engine,
          // real engines on a busy machine: more than the harness's 2 s
          env: { C7AUTH_TENANT_TENANTB_DEPLOY_PROFILE: 'trusted', C7AUTH_ENGINE_TIMEOUT: '20s' },
        })
        a = await h.appToken('appA')
        b = await h.appToken('appB')
        sharedDeployment = (await engineDeploy(ctx.engine, SHARED_ON_SIGNAL, { name: 'shared' })).id
      })
      afterAll(async () => h?.close())

      it('the threat is real: a throw deployed into tenant B behind the gateway’s back starts the shared definition', async () => {
        await engineDeploy(ctx.engine, throwing('backdoorThrow'), {
          name: 'backdoorThrow',
          tenantId: 'tenantB',
        })
        expect(await sharedInstances()).toBe(0)
        const started = await h.call(b, 'POST', '/process-definition/key/backdoorThrow/start', {})
        expect(started.status, started.text).toBe(200)
        expect(await sharedInstances()).toBe(1)
      })

      it('refuses the same throw from B (trusted) while the shared subscription exists, and from A (strict) always', async () => {
        const fromB = await h.deploy(b, throwing('bThrow'), 'bThrow')
        expect(fromB.status, fromB.text).toBe(400)
        expect(fromB.json).toMatchObject({ code: 'C7AUTH_DEPLOYMENT_REFUSED' })
        expect((fromB.json as { message: string }).message).toContain('element "shout"')
        expect((fromB.json as { message: string }).message).toContain('rule signal-throw')
        const fromA = await h.deploy(a, throwing('aThrow'), 'aThrow')
        expect(fromA.status, fromA.text).toBe(400)
        expect((fromA.json as { message: string }).message).toContain('profile strict')
        const defs = await engineAdmin<{ key: string }[]>(
          ctx.engine,
          'GET',
          '/process-definition?keysIn=bThrow,aThrow',
        )
        expect(defs).toEqual([])
        // B cannot start the shared definition itself either
        const direct = await h.call(b, 'POST', '/process-definition/key/sharedOnSignal/start', {})
        expect(direct.status).toBeGreaterThanOrEqual(400)
        expect(await sharedInstances()).toBe(1)
      })

      it('accepts B’s trusted throw once no shared signal subscription is left', async () => {
        await engineAdmin(ctx.engine, 'DELETE', `/deployment/${sharedDeployment}?cascade=true`)
        const fromB = await h.deploy(b, throwing('bThrowLater'), 'bThrowLater')
        expect(fromB.status, fromB.text).toBe(200)
        expect((fromB.json as { tenantId: string }).tenantId).toBe('tenantB')
        const fromA = await h.deploy(a, throwing('aThrowLater'), 'aThrowLater')
        expect(fromA.status, fromA.text).toBe(400)
      })
    })
  },
  { only: ['camunda7', 'operaton'] },
)

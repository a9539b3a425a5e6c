/**
 * The `strict` profile's vocabulary is a real one: a model that uses what it accepts — a start
 * form and a task form bound to the deployment, an external task, a gateway with plain
 * conditions, a business rule task on a FEEL decision of the same deployment —
 * deploys through the gateway on real engines and runs; one `camunda:class` more is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { describeEngines, selectedEngines } from './engines.js'

const BPMN = (extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://c7auth.test/strict">
  <bpmn:process id="strictOrder" isExecutable="true" camunda:historyTimeToLive="1">
    <bpmn:startEvent id="start" camunda:formRef="orderForm" camunda:formRefBinding="deployment" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="risk" />
    <bpmn:businessRuleTask id="risk" camunda:decisionRef="orderRisk" camunda:decisionRefBinding="deployment" camunda:mapDecisionResult="singleEntry" camunda:resultVariable="level" />
    <bpmn:sequenceFlow id="f2" sourceRef="risk" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" />
    <bpmn:sequenceFlow id="high" sourceRef="gw" targetRef="approve"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${level == 'high' &amp;&amp; amount &gt; 1000}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="low" sourceRef="gw" targetRef="charge"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${!(level == 'high' &amp;&amp; amount &gt; 1000)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:userTask id="approve" camunda:candidateGroups="approvers" camunda:formRef="orderForm" camunda:formRefBinding="deployment" />
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="charge" />
    <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge" ${extra} />
    <bpmn:sequenceFlow id="f4" sourceRef="charge" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`

const DMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="riskDefs" name="Risk" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="orderRisk" name="Order risk" camunda:historyTimeToLive="1">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in1" label="Amount"><inputExpression id="inExpr1" typeRef="double"><text>amount</text></inputExpression></input>
      <output id="out1" name="level" typeRef="string" />
      <rule id="r1"><inputEntry id="e1"><text>&gt; 500</text></inputEntry><outputEntry id="o1"><text>"high"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>-</text></inputEntry><outputEntry id="o2"><text>"low"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>`

const FORM = JSON.stringify({
  id: 'orderForm',
  type: 'default',
  components: [{ key: 'amount', label: 'Amount', type: 'number' }],
})

const part = (name: string, content: string) =>
  `--{b}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n\r\n${content}\r\n`

// Without a real engine selected (no Java), say so instead of an empty file.
describe.skipIf(selectedEngines().some((e) => e !== 'simulator'))('strict on real engines', () => {
  it.skip('run on real engines only; none is selected or built (see engines.ts)', () => {})
})

describeEngines(
  'strict deployments on a real engine',
  (ctx) => {
    describe('bridge mode', () => {
      let h: Harness
      let a: string
      beforeAll(async () => {
        h = await startHarness({
          mode: 'bridge',
          framework: 'express',
          testEngine: ctx.engine,
          env: { C7AUTH_ENGINE_TIMEOUT: '20s' },
        })
        a = await h.appToken('appA')
      })
      afterAll(async () => h?.close())

      it('deploys and runs a model built from what strict accepts', async () => {
        const extra = part('order-risk.dmn', DMN) + part('order.form', FORM)
        const deployed = await h.deploy(a, BPMN(), 'strictOrder', extra)
        expect(deployed.status, deployed.text).toBe(200)
        expect((deployed.json as { tenantId: string }).tenantId).toBe('tenantA')
        const started = await h.call(a, 'POST', '/process-definition/key/strictOrder/start', {
          variables: { amount: { value: 2000, type: 'Double' } },
        })
        expect(started.status, started.text).toBe(200)
        const id = (started.json as { id: string }).id
        const tasks = await h.call(a, 'GET', `/task?processInstanceId=${id}`)
        expect(tasks.status).toBe(200)
        expect(
          (tasks.json as { taskDefinitionKey: string }[]).map((t) => t.taskDefinitionKey),
        ).toEqual(['approve'])
      })

      it('refuses the same model with a Java class on the external task', async () => {
        const r = await h.deploy(a, BPMN('camunda:class="com.acme.Charge"'), 'strictOrderJava')
        expect(r.status, r.text).toBe(400)
        expect((r.json as { message: string }).message).toContain(
          'element "charge", rule java-class',
        )
      })
    })
  },
  { only: ['camunda7', 'operaton'] },
)

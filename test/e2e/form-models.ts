/** Models and an admin deployment helper shared by the form and by-id suites (T29, T33). */
import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { basicAuth } from './engines.js'
import type { TestEngine } from './engines.js'

/** The label of tenant A's form: must never reach tenant B. */
export const SECRET = 'SECRET-OF-TENANT-A'

/** A Camunda Form (`.form` resource) with one text field labelled `label`. */
export const formJson = (id: string, label: string) =>
  JSON.stringify({
    id,
    type: 'default',
    schemaVersion: 16,
    components: [{ key: 'field', label, type: 'textfield' }],
  })

/** A process whose start form is `startRef` and task form `taskRef` (may be `${formKey}`), both bound by `binding`. */
export const formProcessXml = (key: string, startRef: string, taskRef: string, binding: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="start" camunda:formRef="${startRef}" camunda:formRefBinding="${binding}" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
    <bpmn:userTask id="fill" camunda:formRef="${taskRef}" camunda:formRefBinding="${binding}" />
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`

/** Deploys files as the engine admin, straight to the engine (no gateway, no scanner). */
export async function adminDeployFiles(
  engine: TestEngine,
  tenantId: string,
  files: Record<string, string>,
): Promise<{ definitionId: string | undefined; json: Record<string, unknown> }> {
  const form = new FormData()
  form.append('deployment-name', `forms-${randomUUID()}`)
  form.append('tenant-id', tenantId)
  for (const [name, text] of Object.entries(files))
    form.append(name, new Blob([text], { type: 'application/octet-stream' }), name)
  const res = await fetch(`${engine.url}/deployment/create`, {
    method: 'POST',
    headers: { authorization: basicAuth(engine.admin) },
    body: form,
  })
  const text = await res.text()
  expect(res.status, text).toBe(200)
  const json = JSON.parse(text) as Record<string, unknown>
  const defs = json.deployedProcessDefinitions as Record<string, unknown> | null
  return { definitionId: defs === null ? undefined : Object.keys(defs)[0], json }
}

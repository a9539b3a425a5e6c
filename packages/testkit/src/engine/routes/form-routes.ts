/**
 * Start and task forms: the form data (`…/startForm`, `/task/{id}/form`) and the deployed form
 * content (`…/deployed-start-form`, `/task/{id}/deployed-form`), resolved like the engine does —
 * form keys and `deployment` binding in the definition's own deployment, `version` binding among
 * tenant-less forms only, `latest` binding across every tenant the tenant check lets through
 * (ENGINE-03109 when several have the key). Camunda Forms are the `.form` resources of deployments,
 * keyed by their JSON `id`, versioned per key and tenant in deployment order.
 */
import type { AuthContext } from '../auth-context.js'
import { isAuthenticatedTenant } from '../auth-context.js'
import type { FormModel } from '../bpmn-parser.js'
import {
  EngineError,
  badUserRequest,
  engineException,
  invalidRequest,
  missingAuthorization,
  notFound,
  restException,
  tenantViolationMessage,
} from '../engine-errors.js'
import type { DeploymentRecord, ProcessDefinitionRecord } from '../engine-state.js'
import { definitionByKey, definitionReadable } from './definition-lookup.js'
import type { EngineRouter, EngineServices, Reply } from './route-types.js'
import { json } from './route-types.js'

/** One Camunda Form definition (`ACT_RE_CAMFORMDEF`), derived from the deployments. */
interface FormDefinition {
  readonly key: string
  readonly version: number
  readonly tenantId: string | null
  readonly deployment: DeploymentRecord
  readonly resourceName: string
  readonly data: Buffer
}

const FORM_KEY_PREFIXES = ['camunda-forms:', 'embedded:'] as const
const DEPLOYMENT_PREFIX = 'deployment:'

export function registerFormRoutes(router: EngineRouter, engine: EngineServices): void {
  const { state, tasks } = engine

  /** Every Camunda Form definition, versions counted per key and tenant in deployment order. */
  function formDefinitions(): FormDefinition[] {
    const out: FormDefinition[] = []
    const versions = new Map<string, number>()
    for (const deployment of state.deployments.values()) {
      for (const r of deployment.resources) {
        if (!r.name.endsWith('.form')) continue
        let key: unknown
        try {
          key = (JSON.parse(r.data.toString('utf8')) as { id?: unknown }).id
        } catch {
          continue
        }
        if (typeof key !== 'string') continue
        const slot = `${deployment.tenantId ?? ''}\u0000${key}`
        const version = (versions.get(slot) ?? 0) + 1
        versions.set(slot, version)
        out.push({
          key,
          version,
          tenantId: deployment.tenantId,
          deployment,
          resourceName: r.name,
          data: r.data,
        })
      }
    }
    return out
  }

  const refText = (ref: NonNullable<FormModel['formRef']>) =>
    `CamundaFormRefImpl [key=${ref.key}, binding=${ref.binding}, version=${ref.version ?? 'null'}]`

  /** `GetCamundaFormDefinitionCmd` plus the resource read of the deployed-form commands. */
  function camundaForm(
    auth: AuthContext,
    ref: NonNullable<FormModel['formRef']>,
    deploymentId: string,
  ): FormDefinition {
    const all = formDefinitions().filter((f) => f.key === ref.key)
    let found: FormDefinition | undefined
    if (ref.binding === 'deployment') {
      found = all.find((f) => f.deployment.id === deploymentId)
    } else if (ref.binding === 'version') {
      found = all.find((f) => f.tenantId === null && f.version === ref.version)
    } else if (ref.binding === 'latest') {
      const latest = new Map<string | null, FormDefinition>()
      for (const f of all) {
        if (!isAuthenticatedTenant(auth, f.tenantId)) continue
        const best = latest.get(f.tenantId)
        if (best === undefined || f.version > best.version) latest.set(f.tenantId, f)
      }
      if (latest.size > 1) {
        throw engineException(
          `ENGINE-03109 Cannot resolve a unique Camunda Form definition for key '${ref.key}' because it exists for multiple tenants.`,
        )
      }
      found = [...latest.values()][0]
    } else {
      throw badUserRequest(
        `Unsupported binding type for camundaFormRef. Expected to be one of [deployment, latest, version] but was:${ref.binding}`,
      )
    }
    if (found === undefined) {
      throw notFound(`No Camunda Form Definition was found for Camunda Form Ref: ${refText(ref)}`)
    }
    return found
  }

  /** The deployed form's content: a Camunda Form by reference, or a resource by form key. */
  function deployedForm(auth: AuthContext, form: FormModel | null, deploymentId: string): Reply {
    if (form?.formRef) {
      const f = camundaForm(auth, form.formRef, deploymentId)
      return { status: 200, contentType: 'application/json', raw: f.data }
    }
    const formKey = form?.formKey ?? null
    if (formKey === null) throw badUserRequest('The form key is not set.')
    let name = formKey
    for (const prefix of FORM_KEY_PREFIXES)
      if (name.startsWith(prefix)) name = name.slice(prefix.length)
    if (!name.startsWith(DEPLOYMENT_PREFIX)) {
      throw badUserRequest(`The form key '${formKey}' does not reference a deployed form.`)
    }
    name = name.slice(DEPLOYMENT_PREFIX.length)
    const resource = state.deployments.get(deploymentId)?.resources.find((r) => r.name === name)
    if (resource === undefined) {
      throw notFound(`The form with the resource name '${name}' cannot be found in deployment.`)
    }
    const contentType = name.endsWith('.form') ? 'application/json' : 'application/xhtml+xml'
    return { status: 200, contentType, raw: resource.data }
  }

  /** The form data DTO (`FormDto`): form key, Camunda Form reference, context path. */
  const formDto = (form: FormModel | null) =>
    json({ key: form?.formKey ?? null, camundaFormRef: form?.formRef ?? null, contextPath: null })

  /** The start form of a definition: its none start event's. */
  const startFormOf = (d: ProcessDefinitionRecord): FormModel | null =>
    d.model.startEvents.find((e) => e.messageName === null)?.form ?? null

  const readable = (auth: AuthContext, d: ProcessDefinitionRecord) =>
    definitionReadable(engine, auth, d)

  /** `GetDeployedStartFormCmd`: missing → 404, other tenant → ENGINE-13034, unreadable → 403. */
  function definitionForCommand(auth: AuthContext, id: string): ProcessDefinitionRecord {
    const d = state.definitions.get(id)
    if (d === undefined) {
      throw notFound(
        `no deployed process definition found with id '${id}': processDefinition is null`,
      )
    }
    if (!isAuthenticatedTenant(auth, d.tenantId)) {
      throw engineException(tenantViolationMessage(`get the process definition '${id}'`))
    }
    if (!readable(auth, d)) {
      throw missingAuthorization(auth.userId, 'READ', 'ProcessDefinition', d.key)
    }
    return d
  }

  // ------------------------------------------------------------------ start forms
  router.add('GET', '/process-definition/{id}/startForm', (c) => {
    const id = c.params['id'] as string
    try {
      return formDto(startFormOf(definitionForCommand(c.auth, id)))
    } catch (err) {
      if (err instanceof EngineError && err.status !== 403) {
        throw invalidRequest(`Cannot get start form data for process definition ${id}`, 400, true)
      }
      throw err
    }
  })
  router.add('GET', '/process-definition/key/{key}/startForm', (c) =>
    formDto(startFormOf(definitionByKey(engine, c.auth, c.params['key'] as string, null))),
  )
  router.add('GET', '/process-definition/key/{key}/tenant-id/{tenant-id}/startForm', (c) =>
    formDto(
      startFormOf(
        definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
      ),
    ),
  )

  /**
   * `GET …/rendered-form`: the default (HTML) form engine renders generated form fields only;
   * without any the answer is the resource's 404. Generated forms are not modelled here (501).
   */
  const renderedStartForm = (d: ProcessDefinitionRecord): Reply => {
    const start = d.model.startEvents.find((e) => e.messageName === null)
    if (start?.formFields === true) {
      return {
        status: 501,
        body: {
          type: 'C7AuthSimulatorNotImplemented',
          code: 'C7AUTH_SIM_NOT_IMPLEMENTED',
          message: 'The simulator does not render generated start forms (camunda:formData)',
        },
      }
    }
    throw invalidRequest(
      `No matching rendered start form for process definition with the id ${d.id} found.`,
      404,
    )
  }
  router.add('GET', '/process-definition/{id}/rendered-form', (c) =>
    renderedStartForm(definitionForCommand(c.auth, c.params['id'] as string)),
  )
  router.add('GET', '/process-definition/key/{key}/rendered-form', (c) =>
    renderedStartForm(definitionByKey(engine, c.auth, c.params['key'] as string, null)),
  )
  router.add('GET', '/process-definition/key/{key}/tenant-id/{tenant-id}/rendered-form', (c) =>
    renderedStartForm(
      definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
    ),
  )

  const deployedStartForm = (auth: AuthContext, d: ProcessDefinitionRecord) =>
    deployedForm(auth, startFormOf(d), d.deploymentId)
  router.add('GET', '/process-definition/{id}/deployed-start-form', (c) =>
    deployedStartForm(c.auth, definitionForCommand(c.auth, c.params['id'] as string)),
  )
  router.add('GET', '/process-definition/key/{key}/deployed-start-form', (c) =>
    deployedStartForm(c.auth, definitionByKey(engine, c.auth, c.params['key'] as string, null)),
  )
  router.add(
    'GET',
    '/process-definition/key/{key}/tenant-id/{tenant-id}/deployed-start-form',
    (c) =>
      deployedStartForm(
        c.auth,
        definitionByKey(engine, c.auth, c.params['key'] as string, c.params['tenant-id'] as string),
      ),
  )

  // ------------------------------------------------------------------ task forms
  router.add('GET', '/task/{id}/form', (c) => {
    const id = c.params['id'] as string
    const t = tasks.findTask(c.auth, id)
    if (t === undefined) throw restException(400, `Cannot get form for task ${id}`)
    return formDto(t.form)
  })
  router.add('GET', '/task/{id}/deployed-form', (c) => {
    const id = c.params['id'] as string
    const t = state.tasks.get(id)
    if (t === undefined) {
      // `GetDeployedTaskFormCmd` dereferences the missing task before any check (7.24, Operaton 1.0)
      throw new EngineError(
        500,
        'NullPointerException',
        'Cannot invoke "org.camunda.bpm.engine.impl.persistence.entity.TaskEntity.getId()" because "task" is null',
      )
    }
    if (!isAuthenticatedTenant(c.auth, t.tenantId)) {
      throw engineException(tenantViolationMessage(`read the task '${id}'`))
    }
    const d = state.definitions.get(t.processDefinitionId)
    if (d === undefined) throw invalidRequest(`task ${id} has no process definition`)
    return deployedForm(c.auth, t.form, d.deploymentId)
  })
}

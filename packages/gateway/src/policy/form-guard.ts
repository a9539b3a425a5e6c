/**
 * The deployed-form guard (T29). The engine finds the content of `…/deployed-start-form` and
 * `/task/{id}/deployed-form` from the form data that `…/startForm` and `/task/{id}/form` return:
 *
 * - a form key (`embedded:deployment:…`, `camunda-forms:deployment:…`): a resource of the
 *   definition's own deployment — the caller's tenant, or shared;
 * - a form reference bound by `deployment`: the form of that same deployment;
 * - bound by `version`: only a form without tenant (the engine looks it up with no tenant);
 * - bound by `latest`: the newest form of that key in **any** tenant the engine's tenant check lets
 *   through — every tenant when no check applies (`service`, `none`): another tenant's form, or
 *   ENGINE-03109 when several tenants have the key (an existence oracle either way).
 *
 * So only `latest` needs a decision: served where the engine checks tenants itself, otherwise
 * answered with what a tenant-checking engine answers when the key is not in the caller's tenants.
 */

/** What to do with a deployed-form read, from its form data. */
export type FormReferenceVerdict =
  | { readonly kind: 'forward' }
  | { readonly kind: 'refuse'; readonly answer: { status: number; body: unknown } }

const SAFE_BINDINGS: ReadonlySet<unknown> = new Set(['deployment', 'version'])

/**
 * Decides a deployed-form read from the engine's form data (`{ key, camundaFormRef, contextPath }`;
 * Operaton names the reference `operatonFormRef`).
 *
 * @example
 * ```ts
 * formReferenceVerdict({ key: null, camundaFormRef: { key: 'k', binding: 'latest', version: null } }, false)
 * // { kind: 'refuse', answer: { status: 404, body: { type: 'InvalidRequestException', … } } }
 * ```
 */
export function formReferenceVerdict(
  formData: unknown,
  engineChecksTenants: boolean,
): FormReferenceVerdict {
  if (typeof formData !== 'object' || formData === null || Array.isArray(formData)) {
    return refuse('Camunda', { key: null, binding: null, version: null })
  }
  const entry = Object.entries(formData).find(([name]) => /^[a-z]+FormRef$/.test(name))
  if (entry === undefined || entry[1] === null) return { kind: 'forward' }
  const [name, ref] = entry
  const brand = name.charAt(0).toUpperCase() + name.slice(1, -'FormRef'.length)
  if (typeof ref !== 'object' || Array.isArray(ref)) {
    return refuse(brand, { key: null, binding: null, version: null })
  }
  const { key, binding, version } = ref as Record<string, unknown>
  if (SAFE_BINDINGS.has(binding)) return { kind: 'forward' }
  if (binding === 'latest' && engineChecksTenants) return { kind: 'forward' }
  return refuse(brand, { key, binding, version })
}

/**
 * The engine's 404 for a form reference that resolves to nothing (`GetCamundaFormDefinitionCmd`
 * returned null): what a tenant-checking engine answers when the form exists in another tenant only.
 */
function refuse(
  brand: string,
  ref: { key: unknown; binding: unknown; version: unknown },
): FormReferenceVerdict {
  const show = (v: unknown) => (v === null || v === undefined ? 'null' : String(v))
  return {
    kind: 'refuse',
    answer: {
      status: 404,
      body: {
        type: 'InvalidRequestException',
        message:
          `No ${brand} Form Definition was found for ${brand} Form Ref: ${brand}FormRefImpl ` +
          `[key=${show(ref.key)}, binding=${show(ref.binding)}, version=${show(ref.version)}]`,
        code: null,
      },
    },
  }
}

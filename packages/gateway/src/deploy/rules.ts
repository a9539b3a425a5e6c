import type { DeployProfile } from '@c7auth/core'

/**
 * The rules of the deployment scanner. `strict` refuses every finding; `trusted` refuses the
 * `always` ones, and `signal-throw` while shared signal subscriptions exist in the engine.
 */
export const DEPLOYMENT_RULES = {
  'xml-invalid': {
    applies: 'always',
    why: 'the resource is not well-formed, namespace-valid XML without a DTD (entities are refused)',
  },
  'model-limits': {
    applies: 'always',
    why: 'a BPMN or DMN model may be at most 32 MiB, 64 elements deep, with at most 256 attributes per element and 256 namespace declarations',
  },
  'form-invalid': { applies: 'always', why: 'a Camunda Form must be a JSON object' },
  'form-latest': {
    applies: 'always',
    why: 'a form reference must be bound by `deployment` or `version`: `latest` (or none) may resolve another tenant’s form',
  },
  'signal-throw': {
    applies: 'signal',
    why: 'a signal throw also reaches the subscriptions of shared (tenant-less) definitions',
  },
  'resource-type': {
    applies: 'strict',
    why: 'only .bpmn, .bpmn20.xml, .dmn, .dmn11.xml, .form and .png/.jpg/.jpeg/.gif resources are accepted',
  },
  script: { applies: 'strict', why: 'scripts run inside the engine' },
  'java-class': { applies: 'strict', why: 'Java classes run inside the engine' },
  'delegate-expression': {
    applies: 'strict',
    why: 'a delegate expression invokes a bean inside the engine',
  },
  expression: {
    applies: 'strict',
    why: 'only expressions that read variables and compare literals are accepted (no member access, no calls)',
  },
  listener: { applies: 'strict', why: 'execution and task listeners run code inside the engine' },
  connector: { applies: 'strict', why: 'connectors make the engine call other systems' },
  'task-type': {
    applies: 'strict',
    why: 'a service-like task must be an external task (`camunda:type="external"`)',
  },
  'form-validator': {
    applies: 'strict',
    why: 'a custom form field validator runs code inside the engine',
  },
  'dmn-expression': {
    applies: 'strict',
    why: 'decision expressions must be FEEL without external (Java) functions',
  },
} as const satisfies Record<string, { applies: 'always' | 'strict' | 'signal'; why: string }>

/** A rule id of {@link DEPLOYMENT_RULES}. */
export type DeploymentRule = keyof typeof DEPLOYMENT_RULES

/** One violation found in a deployment resource. */
export interface DeploymentFinding {
  /** The resource name (the part's file name). */
  readonly resource: string
  /** The `id` of the element it was found in (nearest ancestor with one), if any. */
  readonly element: string | undefined
  readonly rule: DeploymentRule
}

/** True when `profile` refuses the finding without asking the engine anything. */
export function refusedOutright(finding: DeploymentFinding, profile: DeployProfile): boolean {
  const applies = DEPLOYMENT_RULES[finding.rule].applies
  return applies === 'always' || profile === 'strict'
}

/** Client-supplied names are echoed only in a safe, bounded form. */
function safe(name: string): string {
  const clean = name.replace(/[^\w.\-:/ ]/g, '?')
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean
}

/**
 * The public message of a refusal: resource, element id, rule and why.
 *
 * @example
 * ```ts
 * refusalMessage({ resource: 'p.bpmn', element: 'Task_1', rule: 'script' }, 'strict')
 * // 'Deployment refused (profile strict): resource "p.bpmn", element "Task_1", rule script — scripts run inside the engine.'
 * ```
 */
export function refusalMessage(finding: DeploymentFinding, profile: DeployProfile): string {
  const element = finding.element === undefined ? '' : `, element "${safe(finding.element)}"`
  return `Deployment refused (profile ${profile}): resource "${safe(finding.resource)}"${element}, rule ${finding.rule} — ${DEPLOYMENT_RULES[finding.rule].why}.`
}

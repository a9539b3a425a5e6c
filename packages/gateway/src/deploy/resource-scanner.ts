import { SaxesParser } from 'saxes'
import type { SaxesTagNS } from 'saxes'
import { assertJsonDepth } from '../engine/json-limits.js'
import { onlyInertExpressions } from './expression.js'
import type { DeploymentFinding, DeploymentRule } from './rules.js'

/** How a resource is read, by its name (the engine picks its deployer by suffix the same way). */
export type ResourceKind = 'bpmn' | 'dmn' | 'form' | 'image' | 'other'

/**
 * The kind of a deployment resource by file name, ASCII case-insensitively (the engine matches
 * suffixes case-sensitively; reading more names as models only scans more).
 *
 * @example
 * ```ts
 * resourceKind('invoice.bpmn20.xml') // 'bpmn'
 * ```
 */
export function resourceKind(name: string): ResourceKind {
  const n = name.toLowerCase()
  if (n.endsWith('.bpmn') || n.endsWith('.bpmn20.xml')) return 'bpmn'
  if (n.endsWith('.dmn') || n.endsWith('.dmn11.xml')) return 'dmn'
  if (n.endsWith('.form')) return 'form'
  if (/\.(png|jpe?g|gif)$/.test(n)) return 'image'
  return 'other'
}

/** Largest Camunda Form read (a form is a small JSON document). */
const MAX_FORM_BYTES = 1 << 20
/** Findings kept per resource (the first one is reported). */
const MAX_FINDINGS = 32

/** Attributes (local names, any namespace) naming a Java class. */
const CLASS_ATTRIBUTES = new Set(['class', 'formHandlerClass', 'variableMappingClass'])
/** Attributes naming a bean to invoke. */
const DELEGATE_ATTRIBUTES = new Set(['delegateExpression', 'variableMappingDelegateExpression'])
/** Attributes that make an element a script. */
const SCRIPT_ATTRIBUTES = new Set(['scriptFormat', 'resource', 'language'])
/** Elements that are code by themselves. */
const CODE_ELEMENTS: Readonly<Record<string, DeploymentRule>> = {
  scriptTask: 'script',
  script: 'script',
  executionListener: 'listener',
  taskListener: 'listener',
  connector: 'connector',
}
/** Throw events: a signal event definition inside one is a signal throw. */
const THROW_EVENTS = new Set(['intermediateThrowEvent', 'endEvent'])
/** Bindings that resolve a form within the same deployment or an exact version of the tenant. */
const FORM_BINDINGS = new Set(['deployment', 'version'])
/** FEEL as DMN names it; anything else is a script engine or JUEL. */
const FEEL = /^(?:feel|https?:\/\/www\.omg\.org\/spec\/(?:dmn\/\d{8}\/)?feel\/(?:\d{8}\/?)?)$/i
/** Namespaces whose `type` attribute selects a task implementation (Camunda, Operaton, legacy). */
const EXTENSION_NS = /camunda|operaton|activiti/i

interface Frame {
  readonly local: string
  readonly id: string | undefined
}

/**
 * Scans one deployment resource as it streams by and records what the deployment profiles
 * refuse ({@link DeploymentFinding}). BPMN and DMN are parsed by a real XML parser (saxes,
 * namespace-aware) that never expands entities: a DTD, an undefined entity or anything not
 * well-formed is the `xml-invalid` finding. Bytes are read as Latin-1, which keeps every ASCII
 * character at its place whatever the (ASCII-compatible, see `TenantReferenceScanner`) encoding;
 * the rules only look at ASCII names and punctuation. Camunda Forms must be JSON objects; images
 * are not read; any other resource is the `resource-type` finding (refused in `strict`).
 */
export class ResourceScanner {
  readonly findings: DeploymentFinding[] = []
  private readonly kind: ResourceKind
  private parser: SaxesParser<{ xmlns: true }> | undefined
  private readonly stack: Frame[] = []
  private form: Buffer[] | undefined
  private formBytes = 0
  private failed = false

  constructor(private readonly resource: string) {
    this.kind = resourceKind(resource)
    if (this.kind === 'other') this.add('resource-type', undefined)
    if (this.kind === 'form') this.form = []
    if (this.kind === 'bpmn' || this.kind === 'dmn') this.parser = this.createParser()
  }

  /** Feeds the next bytes; `last` at the end of the resource. Never throws. */
  feed(bytes: Buffer, last: boolean): void {
    if (this.parser && !this.failed) {
      try {
        if (bytes.length > 0) this.parser.write(bytes.toString('latin1'))
        if (last) this.parser.close()
      } catch {
        this.fail()
      }
    }
    if (this.form) {
      this.formBytes += bytes.length
      if (this.formBytes > MAX_FORM_BYTES) {
        this.form = undefined
        this.add('form-invalid', undefined)
        return
      }
      this.form.push(Buffer.from(bytes))
      if (last) this.checkForm(Buffer.concat(this.form).toString('utf8'))
    }
  }

  private fail(): void {
    if (this.failed) return
    this.failed = true
    this.parser = undefined
    this.add('xml-invalid', this.currentId())
  }

  private add(rule: DeploymentRule, element: string | undefined): void {
    if (this.findings.length >= MAX_FINDINGS) return
    this.findings.push({ resource: this.resource, element, rule })
  }

  private currentId(): string | undefined {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const id = this.stack[i]?.id
      if (id !== undefined) return id
    }
    return undefined
  }

  private checkForm(text: string): void {
    try {
      assertJsonDepth(text)
      const form: unknown = JSON.parse(text.replace(/^\ufeff/, ''))
      if (typeof form !== 'object' || form === null || Array.isArray(form)) {
        this.add('form-invalid', undefined)
      }
    } catch {
      this.add('form-invalid', undefined)
    }
  }

  private createParser(): SaxesParser<{ xmlns: true }> {
    const parser = new SaxesParser({ xmlns: true, position: false })
    parser.on('doctype', () => this.fail())
    parser.on('opentag', (tag) => this.openTag(tag))
    parser.on('closetag', () => void this.stack.pop())
    parser.on('text', (text) => this.text(text))
    parser.on('cdata', (text) => this.text(text))
    return parser
  }

  private text(text: string): void {
    const top = this.stack[this.stack.length - 1]
    // documentation and annotations are never evaluated
    if (top === undefined || top.local === 'documentation') return
    if (top.local === 'text' && this.stack[this.stack.length - 2]?.local === 'textAnnotation') {
      return
    }
    if (!onlyInertExpressions(text)) this.add('expression', this.currentId())
    if (this.kind === 'dmn' && /\bexternal\b/.test(text))
      this.add('dmn-expression', this.currentId())
  }

  private openTag(tag: SaxesTagNS): void {
    const attributes = Object.values(tag.attributes)
    const id = attributes.find((a) => a.local === 'id' && a.prefix === '')?.value
    const parent = this.stack[this.stack.length - 1]
    this.stack.push({ local: tag.local, id })
    const element = this.currentId()
    const codeRule = CODE_ELEMENTS[tag.local]
    if (codeRule !== undefined) this.add(codeRule, element)
    if (tag.local === 'signalEventDefinition' && parent && THROW_EVENTS.has(parent.local)) {
      this.add('signal-throw', element)
    }
    if (tag.local === 'constraint') {
      const name = attributes.find((a) => a.local === 'name')?.value
      if (name === 'validator') this.add('form-validator', element)
    }
    let formRef = false
    let formBinding: string | undefined
    for (const a of attributes) {
      if (a.prefix === 'xmlns' || (a.prefix === '' && a.local === 'xmlns')) continue
      if (CLASS_ATTRIBUTES.has(a.local)) this.add('java-class', element)
      else if (DELEGATE_ATTRIBUTES.has(a.local)) this.add('delegate-expression', element)
      else if (SCRIPT_ATTRIBUTES.has(a.local)) this.add('script', element)
      else if (a.local === 'type' && EXTENSION_NS.test(a.uri) && a.value !== 'external') {
        this.add('task-type', element)
      } else if (a.local === 'formRef') formRef = true
      else if (a.local === 'formRefBinding') formBinding = a.value
      else if (a.local === 'expressionLanguage' && this.kind === 'dmn' && !FEEL.test(a.value)) {
        this.add('dmn-expression', element)
      }
      if (!onlyInertExpressions(a.value)) this.add('expression', element)
    }
    if (formRef && (formBinding === undefined || !FORM_BINDINGS.has(formBinding))) {
      this.add('form-latest', element)
    }
  }
}

import { SaxesParser } from 'saxes'
import type { SaxesTagPlain } from 'saxes'
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

/**
 * Largest BPMN/DMN model parsed: real models are a few MB; the parsing work per byte is bounded
 * by the depth and attribute limits, so this only caps the total.
 */
const MAX_MODEL_BYTES = 32 << 20
/**
 * Deepest element nesting parsed: real models stay far below it, and namespace resolution costs
 * grow with depth (a deep document would otherwise cost quadratic CPU).
 */
const MAX_DEPTH = 64
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

/** Thrown from a parser callback to stop parsing at once (caught in `feed`). */
const ABORT = new Error('deployment resource scan stopped')

/** Most attributes on one element (real ones carry a dozen). */
const MAX_ATTRIBUTES = 256
/** Most namespace declarations one model may make (real ones make a handful, on the root). */
const MAX_NAMESPACE_DECLARATIONS = 256
/** Prefixes bound without a declaration (XML Namespaces 1.0 §3). */
const BUILTIN_PREFIXES: ReadonlyMap<string, string> = new Map([
  ['xml', 'http://www.w3.org/XML/1998/namespace'],
  ['xmlns', 'http://www.w3.org/2000/xmlns/'],
])

interface Frame {
  readonly local: string
  /** The element's own `id`, else its nearest ancestor's (kept per frame: O(1) at any depth). */
  readonly id: string | undefined
  /** Prefix → namespace in scope (shared with the parent unless this element declares some). */
  readonly ns: ReadonlyMap<string, string>
}

/** `[prefix, local]` of a qualified name. */
function splitName(name: string): [string, string] {
  const colon = name.indexOf(':')
  return colon < 0 ? ['', name] : [name.slice(0, colon), name.slice(colon + 1)]
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
  private parser: SaxesParser<{ xmlns: false; position: false }> | undefined
  private declarations = 0
  private attributeCount = 0
  private readonly stack: Frame[] = []
  private form: Buffer[] | undefined
  private formBytes = 0
  private modelBytes = 0
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
      this.modelBytes += bytes.length
      if (this.modelBytes > MAX_MODEL_BYTES) {
        this.stop('model-limits')
        return
      }
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
    this.stop('xml-invalid')
  }

  /** Stops parsing for good, recording why. */
  private stop(rule: 'xml-invalid' | 'model-limits'): void {
    if (this.failed) return
    this.failed = true
    this.parser = undefined
    this.add(rule, this.currentId())
  }

  private add(rule: DeploymentRule, element: string | undefined): void {
    if (this.findings.length >= MAX_FINDINGS) return
    this.findings.push({ resource: this.resource, element, rule })
  }

  private currentId(): string | undefined {
    return this.stack[this.stack.length - 1]?.id
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

  /**
   * saxes without its namespace mode, whose prefix lookups walk every ancestor (quadratic CPU on
   * deep documents): prefixes are resolved here against one map per scope. Unbound prefixes are
   * refused like a namespace-aware parser refuses them.
   */
  private createParser(): SaxesParser<{ xmlns: false; position: false }> {
    const parser = new SaxesParser<{ xmlns: false; position: false }>({
      xmlns: false,
      position: false,
    })
    parser.on('doctype', () => this.fail())
    parser.on('opentagstart', () => {
      this.attributeCount = 0
    })
    parser.on('attribute', () => {
      if (++this.attributeCount > MAX_ATTRIBUTES) {
        this.stop('model-limits')
        throw ABORT
      }
    })
    parser.on('opentag', (tag) => this.openTag(tag))
    parser.on('closetag', () => void this.stack.pop())
    parser.on('text', (text) => this.text(text))
    parser.on('cdata', (text) => this.text(text))
    return parser
  }

  private text(text: string): void {
    if (this.failed) return
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

  /** Namespaces in scope for an element with these attributes; throws for a bad declaration. */
  private scope(
    parent: ReadonlyMap<string, string>,
    raw: Record<string, string>,
  ): ReadonlyMap<string, string> {
    let ns: Map<string, string> | undefined
    for (const [name, value] of Object.entries(raw)) {
      if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue
      if (++this.declarations > MAX_NAMESPACE_DECLARATIONS) {
        this.stop('model-limits')
        throw ABORT
      }
      const prefix = name === 'xmlns' ? '' : name.slice(6)
      if (BUILTIN_PREFIXES.has(prefix) || (prefix !== '' && value === '')) throw ABORT
      ns ??= new Map(parent)
      ns.set(prefix, value)
    }
    return ns ?? parent
  }

  private openTag(tag: SaxesTagPlain): void {
    if (this.failed) return
    if (this.stack.length >= MAX_DEPTH) {
      this.stop('model-limits')
      throw ABORT // out of saxes' write(): the rest of the chunk is not parsed
    }
    const parent = this.stack[this.stack.length - 1]
    const ns = this.scope(parent?.ns ?? BUILTIN_PREFIXES, tag.attributes)
    const [elementPrefix, local] = splitName(tag.name)
    if (elementPrefix !== '' && !ns.has(elementPrefix)) throw ABORT // unbound prefix
    const attributes: { prefix: string; local: string; uri: string; value: string }[] = []
    for (const [name, value] of Object.entries(tag.attributes)) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue
      const [prefix, attrLocal] = splitName(name)
      const uri = prefix === '' ? '' : ns.get(prefix)
      if (uri === undefined) throw ABORT // unbound prefix
      attributes.push({ prefix, local: attrLocal, uri, value })
    }
    const id = attributes.find((a) => a.local === 'id' && a.prefix === '')?.value
    this.stack.push({ local, id: id ?? parent?.id, ns })
    const element = this.currentId()
    const codeRule = CODE_ELEMENTS[local]
    if (codeRule !== undefined) this.add(codeRule, element)
    if (local === 'signalEventDefinition' && parent && THROW_EVENTS.has(parent.local)) {
      this.add('signal-throw', element)
    }
    if (local === 'constraint') {
      const name = attributes.find((a) => a.local === 'name')?.value
      if (name === 'validator') this.add('form-validator', element)
    }
    let formRef = false
    let formBinding: string | undefined
    for (const a of attributes) {
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

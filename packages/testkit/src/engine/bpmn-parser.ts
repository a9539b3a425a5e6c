/**
 * Minimal BPMN reading: enough to run linear processes (start → user/external/receive tasks → end).
 * Light regex parsing on purpose; the simulator is not a BPMN engine.
 */
import { EngineError } from './engine-errors.js'

export type ActivityKind =
  'userTask' | 'externalTask' | 'receiveTask' | 'timer' | 'passThrough' | 'endEvent'

/** The form of a start event or user task: a form key, or a Camunda Form reference. */
export interface FormModel {
  /** `camunda:formKey` (an expression on user tasks is resolved when the task is created). */
  readonly formKey: string | null
  /** `camunda:formRef` + `formRefBinding` (+ `formRefVersion`); the key may be an expression. */
  readonly formRef: {
    readonly key: string
    readonly binding: string
    readonly version: number | null
  } | null
}

export interface ActivityModel {
  readonly id: string
  readonly name: string | null
  readonly kind: ActivityKind
  readonly topic?: string
  readonly assignee?: string
  readonly candidateGroups?: readonly string[]
  readonly candidateUsers?: readonly string[]
  readonly messageName?: string
  readonly priority?: number
  readonly form?: FormModel
  /** Timer catch events: the ISO 8601 duration (`timeDuration`) the timer waits. */
  readonly timerDuration?: string
}

export interface StartEventModel {
  readonly id: string
  readonly messageName: string | null
  readonly form?: FormModel
  /** Generated form fields (`camunda:formData`/`formProperty`): the HTML form engine renders them. */
  readonly formFields: boolean
  /** The activities reached by following the first outgoing flow from this start event. */
  readonly path: readonly ActivityModel[]
}

export interface ProcessModel {
  readonly key: string
  readonly name: string | null
  readonly versionTag: string | null
  readonly historyTimeToLive: number | null
  readonly startableInTasklist: boolean
  readonly startEvents: readonly StartEventModel[]
}

interface RawElement {
  readonly tag: string
  readonly attrs: Record<string, string>
  readonly inner: string
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

const decode = (s: string): string =>
  s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X'))
      return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10))
    return ENTITIES[e.toLowerCase()] ?? m
  })

function parseAttrs(s: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  for (const m of s.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    attrs[m[1] as string] = decode(m[2] ?? m[3] ?? '')
  }
  return attrs
}

/** Finds `<prefix:tag …>` elements (self-closing or not) whose local name is in `tags`. */
function findElements(xml: string, tags: readonly string[]): RawElement[] {
  const re = new RegExp(
    `<(?:[\\w-]+:)?(${tags.join('|')})\\b([^>]*?)(?:\\/>|>([\\s\\S]*?)<\\/(?:[\\w-]+:)?\\1\\s*>)`,
    'g',
  )
  const out: RawElement[] = []
  for (const m of xml.matchAll(re)) {
    out.push({ tag: m[1] as string, attrs: parseAttrs(m[2] ?? ''), inner: m[3] ?? '' })
  }
  return out
}

/** Reads an attribute written with any namespace prefix bound to the Camunda namespace. */
const camunda = (attrs: Record<string, string>, name: string): string | undefined =>
  attrs[`camunda:${name}`] ?? attrs[`operaton:${name}`]

const list = (s: string | undefined): string[] | undefined =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')

/** The form attributes of an element, if it has any. */
function formOf(attrs: Record<string, string>): FormModel | undefined {
  const formKey = camunda(attrs, 'formKey') ?? null
  const key = camunda(attrs, 'formRef')
  const version = camunda(attrs, 'formRefVersion')
  const formRef =
    key === undefined
      ? null
      : {
          key,
          binding: camunda(attrs, 'formRefBinding') ?? 'latest',
          version: version === undefined || !/^\d+$/.test(version) ? null : Number(version),
        }
  return formKey === null && formRef === null ? undefined : { formKey, formRef }
}

const parseError = (resource: string, message: string): EngineError =>
  new EngineError(
    400,
    'ParseException',
    `ENGINE-09005 Could not parse BPMN process. Errors: * ${message} | ${resource}`,
    0,
  )

const FLOW_NODES = [
  'startEvent',
  'endEvent',
  'userTask',
  'serviceTask',
  'sendTask',
  'businessRuleTask',
  'scriptTask',
  'manualTask',
  'receiveTask',
  'task',
  'exclusiveGateway',
  'parallelGateway',
  'inclusiveGateway',
  'intermediateCatchEvent',
  'intermediateThrowEvent',
] as const

/** Parses every executable process of a BPMN 2.0 XML resource. */
export function parseBpmn(xml: string, resource: string): ProcessModel[] {
  if (!/<(?:[\w-]+:)?definitions\b/.test(xml)) {
    throw parseError(resource, 'The root element must be BPMN "definitions"')
  }
  const messages = new Map<string, string>()
  for (const m of findElements(xml, ['message'])) {
    if (m.attrs['id'] !== undefined) messages.set(m.attrs['id'], m.attrs['name'] ?? m.attrs['id'])
  }
  const models: ProcessModel[] = []
  for (const proc of findElements(xml, ['process'])) {
    const key = proc.attrs['id']
    if (key === undefined || key === '') throw parseError(resource, 'Process has no id')
    if (proc.attrs['isExecutable'] === 'false') continue
    const nodes = new Map<
      string,
      ActivityModel & { isStart: boolean; startMessage: string | null; formFields: boolean }
    >()
    for (const el of findElements(proc.inner, FLOW_NODES)) {
      const id = el.attrs['id']
      if (id === undefined) throw parseError(resource, `<${el.tag}> without id`)
      const messageRef =
        /<(?:[\w-]+:)?messageEventDefinition\b[^>]*messageRef\s*=\s*"([^"]*)"/.exec(
          el.inner,
        )?.[1] ?? el.attrs['messageRef']
      const messageName =
        messageRef === undefined ? undefined : (messages.get(messageRef) ?? messageRef)
      const name = el.attrs['name'] ?? null
      const form = el.tag === 'startEvent' || el.tag === 'userTask' ? formOf(el.attrs) : undefined
      const base = {
        id,
        name,
        isStart: el.tag === 'startEvent',
        startMessage: null,
        formFields: /<(?:[\w-]+:)?(?:formField|formProperty)\b/.test(el.inner),
        ...(form === undefined ? {} : { form }),
      }
      let node: ActivityModel & {
        isStart: boolean
        startMessage: string | null
        formFields: boolean
      }
      switch (el.tag) {
        case 'startEvent':
          node = { ...base, kind: 'passThrough', startMessage: messageName ?? null }
          break
        case 'endEvent':
          node = { ...base, kind: 'endEvent' }
          break
        case 'userTask': {
          const assignee = camunda(el.attrs, 'assignee')
          const candidateGroups = list(camunda(el.attrs, 'candidateGroups'))
          const candidateUsers = list(camunda(el.attrs, 'candidateUsers'))
          const priority = camunda(el.attrs, 'priority')
          node = {
            ...base,
            kind: 'userTask',
            ...(assignee === undefined ? {} : { assignee }),
            ...(candidateGroups === undefined ? {} : { candidateGroups }),
            ...(candidateUsers === undefined ? {} : { candidateUsers }),
            ...(priority === undefined ? {} : { priority: Number(priority) }),
          }
          break
        }
        case 'serviceTask':
        case 'sendTask':
        case 'businessRuleTask': {
          if (camunda(el.attrs, 'type') === 'external') {
            const topic = camunda(el.attrs, 'topic')
            if (topic === undefined || topic === '') {
              throw parseError(resource, `External task '${id}' has no camunda:topic`)
            }
            const priority = camunda(el.attrs, 'taskPriority')
            node = {
              ...base,
              kind: 'externalTask',
              topic,
              ...(priority === undefined ? {} : { priority: Number(priority) }),
            }
          } else {
            node = { ...base, kind: 'passThrough' }
          }
          break
        }
        case 'receiveTask':
        case 'intermediateCatchEvent': {
          const timer = /<(?:[\w-]+:)?timerEventDefinition\b/.test(el.inner)
            ? /<(?:[\w-]+:)?timeDuration\b[^>]*>([^<]*)</.exec(el.inner)?.[1]?.trim()
            : undefined
          if (el.tag === 'intermediateCatchEvent' && timer !== undefined) {
            node = { ...base, kind: 'timer', timerDuration: timer }
            break
          }
          node =
            messageName === undefined
              ? { ...base, kind: 'passThrough' }
              : { ...base, kind: 'receiveTask', messageName }
          break
        }
        default:
          node = { ...base, kind: 'passThrough' }
      }
      nodes.set(id, node)
    }
    const outgoing = new Map<string, string>()
    for (const flow of findElements(proc.inner, ['sequenceFlow'])) {
      const source = flow.attrs['sourceRef']
      const target = flow.attrs['targetRef']
      if (source !== undefined && target !== undefined && !outgoing.has(source)) {
        outgoing.set(source, target)
      }
    }
    const startEvents: StartEventModel[] = []
    for (const node of nodes.values()) {
      if (!node.isStart) continue
      const path: ActivityModel[] = []
      const seen = new Set<string>([node.id])
      let next = outgoing.get(node.id)
      while (next !== undefined && !seen.has(next)) {
        seen.add(next)
        const target = nodes.get(next)
        if (target === undefined) break
        const { isStart: _s, startMessage: _m, formFields: _f, ...activity } = target
        if (activity.kind !== 'passThrough') path.push(activity)
        if (activity.kind === 'endEvent') break
        next = outgoing.get(next)
      }
      startEvents.push({
        id: node.id,
        messageName: node.startMessage,
        formFields: node.formFields,
        path,
        ...(node.form === undefined ? {} : { form: node.form }),
      })
    }
    if (startEvents.length === 0) throw parseError(resource, `Process '${key}' has no start event`)
    const httl = camunda(proc.attrs, 'historyTimeToLive')
    models.push({
      key,
      name: proc.attrs['name'] ?? null,
      versionTag: camunda(proc.attrs, 'versionTag') ?? null,
      historyTimeToLive: httl === undefined || !/^\d+$/.test(httl) ? null : Number(httl),
      startableInTasklist: camunda(proc.attrs, 'isStartableInTasklist') !== 'false',
      startEvents,
    })
  }
  return models
}

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ResourceScanner } from './resource-scanner.js'
import type { DeploymentRule } from './rules.js'

/**
 * Property: wherever a forbidden construct sits in an otherwise clean model — at any depth, among
 * any clean siblings, with any prefix for the extension namespace — and however the bytes are cut
 * into chunks, the scanner reports its rule; the clean model alone is never refused.
 */

const BPMN_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL'
const EXTENSION_NAMESPACES = [
  'http://camunda.org/schema/1.0/bpmn',
  'http://operaton.org/schema/1.0/bpmn',
  'http://activiti.org/bpmn',
]

/** Clean elements `id` may carry; `{p}` is the extension prefix. */
const CLEAN: readonly ((id: string) => string)[] = [
  (id) => `<bpmn:userTask id="${id}" {p}:assignee="\${initiator}" {p}:candidateGroups="a,b" />`,
  (id) => `<bpmn:serviceTask id="${id}" {p}:type="external" {p}:topic="t" />`,
  (id) =>
    `<bpmn:sequenceFlow id="${id}" sourceRef="a" targetRef="b"><bpmn:conditionExpression>\${x &gt; 1 || !y}</bpmn:conditionExpression></bpmn:sequenceFlow>`,
  (id) =>
    `<bpmn:intermediateCatchEvent id="${id}"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>`,
  (id) => `<bpmn:receiveTask id="${id}" messageRef="m" />`,
  (id) => `<bpmn:exclusiveGateway id="${id}" />`,
]

/** Forbidden constructs with the rule that must be reported. */
const HOSTILE: readonly [DeploymentRule, (id: string) => string][] = [
  ['java-class', (id) => `<bpmn:serviceTask id="${id}" {p}:class="x.Y" />`],
  ['delegate-expression', (id) => `<bpmn:serviceTask id="${id}" {p}:delegateExpression="\${b}" />`],
  [
    'script',
    (id) =>
      `<bpmn:scriptTask id="${id}" scriptFormat="js"><bpmn:script>1</bpmn:script></bpmn:scriptTask>`,
  ],
  [
    'listener',
    (id) =>
      `<bpmn:userTask id="${id}"><bpmn:extensionElements><{p}:executionListener event="start" expression="\${x}" /></bpmn:extensionElements></bpmn:userTask>`,
  ],
  ['expression', (id) => `<bpmn:userTask id="${id}" {p}:assignee="\${a.b()}" />`],
  ['task-type', (id) => `<bpmn:serviceTask id="${id}" {p}:type="connector" />`],
  [
    'form-latest',
    (id) => `<bpmn:userTask id="${id}" {p}:formRef="f" {p}:formRefBinding="latest" />`,
  ],
  [
    'signal-throw',
    (id) =>
      `<bpmn:endEvent id="${id}"><bpmn:signalEventDefinition signalRef="s" /></bpmn:endEvent>`,
  ],
  [
    'connector',
    (id) =>
      `<bpmn:serviceTask id="${id}"><bpmn:extensionElements><{p}:connector><{p}:connectorId>http</{p}:connectorId></{p}:connector></bpmn:extensionElements></bpmn:serviceTask>`,
  ],
]

/** A sub-process tree of clean elements with an optional hostile one somewhere inside. */
interface Tree {
  readonly clean: number[]
  readonly children: Tree[]
}

/** Trees at most `depth` sub-processes deep, two children each (at most 15 nodes at depth 3). */
function treeArb(depth: number): fc.Arbitrary<Tree> {
  return fc.record({
    clean: fc.array(fc.nat(CLEAN.length - 1), { maxLength: 4 }),
    children: depth === 0 ? fc.constant([]) : fc.array(treeArb(depth - 1), { maxLength: 2 }),
  })
}

function render(tree: Tree, path: string, hostileAt: string | undefined, hostile: string): string {
  const own = tree.clean.map((c, i) => (CLEAN[c] as (id: string) => string)(`${path}c${i}`))
  if (hostileAt === path) own.splice(Math.floor(own.length / 2), 0, hostile)
  const kids = tree.children.map(
    (child, i) =>
      `<bpmn:subProcess id="${path}s${i}">${render(child, `${path}s${i}_`, hostileAt, hostile)}</bpmn:subProcess>`,
  )
  return [...own, ...kids].join('\n')
}

function paths(tree: Tree, path = 'n'): string[] {
  return [path, ...tree.children.flatMap((c, i) => paths(c, `${path}s${i}_`))]
}

function scan(xml: string, cuts: number[]): DeploymentRule[] {
  const bytes = Buffer.from(xml)
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const s = new ResourceScanner('p.bpmn')
  let from = 0
  for (const cut of at) {
    s.feed(bytes.subarray(from, cut), false)
    from = cut
  }
  s.feed(bytes.subarray(from), true)
  return s.findings.map((f) => f.rule)
}

const document = (body: string, prefix: string, ns: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="${BPMN_NS}" xmlns:${prefix}="${ns}" id="d"><bpmn:process id="p">${body.replaceAll('{p}', prefix)}</bpmn:process></bpmn:definitions>`

describe('ResourceScanner properties', () => {
  const prefixArb = fc.constantFrom('camunda', 'c', 'ext', 'operaton')
  const nsArb = fc.constantFrom(...EXTENSION_NAMESPACES)
  const cutsArb = fc.array(fc.nat(100_000), { maxLength: 12 })

  it('never refuses a clean model, however it is chunked', () => {
    fc.assert(
      fc.property(treeArb(3), prefixArb, nsArb, cutsArb, (tree, prefix, ns, cuts) => {
        expect(scan(document(render(tree, 'n', undefined, ''), prefix, ns), cuts)).toEqual([])
      }),
      { numRuns: 300, seed: 15 },
    )
  })

  it('finds a hostile construct wherever it sits, however the model is chunked', () => {
    fc.assert(
      fc.property(
        treeArb(3),
        fc.nat(HOSTILE.length - 1),
        fc.nat(),
        prefixArb,
        nsArb,
        cutsArb,
        (tree, which, where, prefix, ns, cuts) => {
          const [rule, make] = HOSTILE[which] as [DeploymentRule, (id: string) => string]
          const all = paths(tree)
          const at = all[where % all.length] as string
          const xml = document(render(tree, 'n', at, make('evil')), prefix, ns)
          expect(scan(xml, cuts)).toContain(rule)
        },
      ),
      { numRuns: 500, seed: 15 },
    )
  })
})

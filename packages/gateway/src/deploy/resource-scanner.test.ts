import { describe, expect, it } from 'vitest'
import { ResourceScanner, resourceKind } from './resource-scanner.js'
import type { DeploymentRule } from './rules.js'

const BPMN_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL'
const CAMUNDA_NS = 'http://camunda.org/schema/1.0/bpmn'

/** A BPMN document around `body` (inside one process `p`). */
function bpmn(body: string, ns = CAMUNDA_NS): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="${BPMN_NS}" xmlns:camunda="${ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">${body}</bpmn:process>
</bpmn:definitions>`
}

/** Scans `text` as resource `name`, fed in chunks of `chunk` bytes. */
function scan(
  name: string,
  text: string | Buffer,
  chunk = 7,
): { rule: DeploymentRule; element: string | undefined }[] {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text
  const s = new ResourceScanner(name)
  let fed = 0
  for (let i = 0; i < bytes.length; i += chunk) {
    s.feed(bytes.subarray(i, i + chunk), i + chunk >= bytes.length)
    fed++
  }
  if (fed === 0) s.feed(Buffer.alloc(0), true)
  return s.findings.map((f) => ({ rule: f.rule, element: f.element }))
}

const rulesOf = (name: string, text: string): DeploymentRule[] =>
  scan(name, text).map((f) => f.rule)

describe('resourceKind', () => {
  it('reads the engine deployers’ suffixes, case-insensitively', () => {
    expect(resourceKind('a.bpmn')).toBe('bpmn')
    expect(resourceKind('a.BPMN20.XML')).toBe('bpmn')
    expect(resourceKind('a.dmn11.xml')).toBe('dmn')
    expect(resourceKind('a.form')).toBe('form')
    expect(resourceKind('diagram.png')).toBe('image')
    expect(resourceKind('a.cmmn')).toBe('other')
    expect(resourceKind('form.html')).toBe('other')
    expect(resourceKind('script.groovy')).toBe('other')
    expect(resourceKind('a.xml')).toBe('other')
  })
})

describe('ResourceScanner: what strict accepts', () => {
  it('accepts user tasks, external tasks, gateways with plain conditions, timers, messages and deployment-bound forms', () => {
    const model = bpmn(`
      <bpmn:startEvent id="start" camunda:formRef="orderForm" camunda:formRefBinding="deployment" camunda:initiator="initiator" />
      <bpmn:userTask id="approve" camunda:assignee="\${initiator}" camunda:candidateGroups="approvers" camunda:formRef="f" camunda:formRefBinding="version" camunda:formRefVersion="2" />
      <bpmn:exclusiveGateway id="gw" />
      <bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="charge"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${approved &amp;&amp; amount &lt;= 1000.5 || status == 'vip'}</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="end"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">#{!approved and not empty reason}</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge" camunda:asyncBefore="true" camunda:taskPriority="\${priority + 1}" />
      <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>\${delay}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:receiveTask id="recv" messageRef="m" />
      <bpmn:intermediateCatchEvent id="sig"><bpmn:signalEventDefinition signalRef="s" /></bpmn:intermediateCatchEvent>
      <bpmn:callActivity id="call" calledElement="child" camunda:calledElementBinding="latest"><bpmn:extensionElements><camunda:in businessKey="#{execution.processBusinessKey}" /><camunda:in variables="all" /></bpmn:extensionElements></bpmn:callActivity>
      <bpmn:businessRuleTask id="decide" camunda:decisionRef="risk" camunda:decisionRefBinding="deployment" camunda:mapDecisionResult="singleEntry" camunda:resultVariable="risk" />
      <bpmn:endEvent id="end"><bpmn:documentation>\${anything.goes()} in documentation</bpmn:documentation></bpmn:endEvent>`)
    expect(scan('order.bpmn', model)).toEqual([])
  })

  it('accepts a FEEL decision table, a form and an image', () => {
    const dmn = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="risk" name="Risk"><decisionTable id="t">
    <input id="i1"><inputExpression id="ie1" typeRef="number" expressionLanguage="feel"><text>amount</text></inputExpression></input>
    <output id="o1" name="level" typeRef="string" />
    <rule id="r1"><inputEntry id="e1"><text>&gt; 1000</text></inputEntry><outputEntry id="oe1"><text>"high"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>`
    expect(scan('risk.dmn', dmn)).toEqual([])
    expect(
      scan('order.form', '{"id":"orderForm","components":[{"type":"textfield","key":"x"}]}'),
    ).toEqual([])
    expect(scan('diagram.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]))).toEqual([])
  })
})

describe('ResourceScanner: hostile models', () => {
  it('refuses DTDs and entity expansion (billion laughs, external entities), undefined entities, malformed XML', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><bpmn:definitions xmlns:bpmn="${BPMN_NS}">&lol2;</bpmn:definitions>`
    expect(rulesOf('a.bpmn', laughs)).toEqual(['xml-invalid'])
    const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d>&xxe;</d>`
    expect(rulesOf('a.bpmn', xxe)).toEqual(['xml-invalid'])
    expect(rulesOf('a.bpmn', '<d>&xxe;</d>')).toEqual(['xml-invalid'])
    expect(rulesOf('a.dmn', '<d><e></d>')).toEqual(['xml-invalid'])
    expect(rulesOf('a.bpmn', '<u:d>unbound prefix</u:d>')).toEqual(['xml-invalid'])
    expect(rulesOf('a.bpmn', '')).toEqual(['xml-invalid'])
  })

  it('bounds what it parses: depth, attributes, namespace declarations, size', () => {
    const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n)
    expect(rulesOf('a.bpmn', deep(64))).toEqual([])
    expect(rulesOf('a.bpmn', deep(65))).toEqual(['model-limits'])
    // a million levels is refused at level 65, long before the parser would slow down
    expect(scan('a.bpmn', deep(1_000_000), 65_536).map((f) => f.rule)).toEqual(['model-limits'])
    const attrs = (n: number) =>
      `<a ${Array.from({ length: n }, (_, i) => `a${i}="x"`).join(' ')}/>`
    expect(rulesOf('a.bpmn', attrs(256))).toEqual([])
    expect(rulesOf('a.bpmn', attrs(257))).toEqual(['model-limits'])
    const declarations = (n: number) =>
      `<a>${Array.from({ length: n }, (_, i) => `<b xmlns:p${i}="u${i}"/>`).join('')}</a>`
    expect(rulesOf('a.bpmn', declarations(256))).toEqual([])
    expect(rulesOf('a.bpmn', declarations(257))).toEqual(['model-limits'])
    const big = Buffer.concat([
      Buffer.from('<a>'),
      Buffer.alloc(32 << 20, 0x78),
      Buffer.from('</a>'),
    ])
    expect(scan('a.bpmn', big, 1 << 20).map((f) => f.rule)).toEqual(['model-limits'])
  })

  it('resolves prefixes per scope: a prefix rebound to an extension namespace is read as one', () => {
    const rebound = `<bpmn:definitions xmlns:bpmn="${BPMN_NS}"><bpmn:process id="p"><bpmn:serviceTask id="x" xmlns:xsi="${CAMUNDA_NS}" xsi:type="shell" /></bpmn:process></bpmn:definitions>`
    expect(rulesOf('a.bpmn', rebound)).toEqual(['task-type'])
    // the real XSI namespace's type is no task type
    expect(
      rulesOf(
        'a.bpmn',
        bpmn(
          `<bpmn:sequenceFlow id="f" sourceRef="a" targetRef="b"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${a}</bpmn:conditionExpression></bpmn:sequenceFlow>`,
        ),
      ),
    ).toEqual([])
    // a prefix bound only inside a sibling is unbound here
    expect(rulesOf('a.bpmn', `<r><a xmlns:c="${CAMUNDA_NS}"/><c:b/></r>`)).toEqual(['xml-invalid'])
    expect(rulesOf('a.bpmn', `<r><a xmlns:c="${CAMUNDA_NS}"/><b c:type="x"/></r>`)).toEqual([
      'xml-invalid',
    ])
  })

  it('finds scripts in every position', () => {
    const cases: Record<string, string> = {
      scriptTask: `<bpmn:scriptTask id="x" scriptFormat="groovy"><bpmn:script>println 1</bpmn:script></bpmn:scriptTask>`,
      externalScript: `<bpmn:scriptTask id="x" scriptFormat="groovy" camunda:resource="deployment://s.groovy" />`,
      condition: `<bpmn:sequenceFlow id="x" sourceRef="a" targetRef="b"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">true</bpmn:conditionExpression></bpmn:sequenceFlow>`,
      inputParameter: `<bpmn:userTask id="x"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="v"><camunda:script scriptFormat="js">1</camunda:script></camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>`,
      listenerScript: `<bpmn:userTask id="x"><bpmn:extensionElements><camunda:taskListener event="create"><camunda:script scriptFormat="js">1</camunda:script></camunda:taskListener></bpmn:extensionElements></bpmn:userTask>`,
    }
    for (const [name, body] of Object.entries(cases)) {
      const found = scan('a.bpmn', bpmn(body))
      expect(
        found.map((f) => f.rule),
        name,
      ).toContain('script')
      expect(
        found.every((f) => f.element === 'x'),
        name,
      ).toBe(true)
    }
  })

  it('finds Java classes, delegate expressions, listeners, connectors and other task types', () => {
    const expectRule = (body: string, rule: DeploymentRule) =>
      expect(rulesOf('a.bpmn', bpmn(body)), body).toContain(rule)
    expectRule(`<bpmn:serviceTask id="x" camunda:class="com.acme.Evil" />`, 'java-class')
    expectRule(`<bpmn:userTask id="x" camunda:formHandlerClass="com.acme.Form" />`, 'java-class')
    expectRule(
      `<bpmn:callActivity id="x" calledElement="c" camunda:variableMappingClass="c.M" />`,
      'java-class',
    )
    expectRule(
      `<bpmn:serviceTask id="x" camunda:delegateExpression="\${evil}" />`,
      'delegate-expression',
    )
    expectRule(
      `<bpmn:callActivity id="x" calledElement="c" camunda:variableMappingDelegateExpression="\${m}" />`,
      'delegate-expression',
    )
    expectRule(
      `<bpmn:userTask id="x"><bpmn:extensionElements><camunda:executionListener event="start" expression="\${x}" /></bpmn:extensionElements></bpmn:userTask>`,
      'listener',
    )
    expectRule(
      `<bpmn:userTask id="x"><bpmn:extensionElements><camunda:taskListener event="create" class="c.L" /></bpmn:extensionElements></bpmn:userTask>`,
      'listener',
    )
    expectRule(
      `<bpmn:serviceTask id="x"><bpmn:extensionElements><camunda:connector><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>`,
      'connector',
    )
    expectRule(`<bpmn:serviceTask id="x" camunda:type="shell" />`, 'task-type')
    expectRule(
      `<bpmn:userTask id="x"><bpmn:extensionElements><camunda:formData><camunda:formField id="f" type="string"><camunda:validation><camunda:constraint name="validator" config="com.acme.V" /></camunda:validation></camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>`,
      'form-validator',
    )
    // the legacy Activiti and the Operaton namespaces are read like Camunda's
    expect(
      rulesOf(
        'a.bpmn',
        bpmn(`<bpmn:serviceTask id="x" camunda:type="shell" />`, 'http://activiti.org/bpmn'),
      ),
    ).toContain('task-type')
    expect(
      rulesOf(
        'a.bpmn',
        bpmn(
          `<bpmn:serviceTask id="x" camunda:class="E" />`,
          'http://operaton.org/schema/1.0/bpmn',
        ),
      ),
    ).toContain('java-class')
  })

  it('finds expressions that are more than variable reads and comparisons, wherever they are', () => {
    const bad = [
      '${execution.getProcessEngineServices()}',
      '${bean.run()}',
      '${run()}',
      '${run ()}',
      '${fn:call(x)}',
      "${x['a']}",
      '${a ? b : c}',
      '${a = 1}',
      '${x -> x}',
      '${a; b}',
      '${"#{x.y}"}',
      '${unterminated',
      '#{task.getExecution()}',
      '${x instanceof y}',
    ]
    for (const e of bad) {
      const inAttribute = bpmn(
        `<bpmn:userTask id="x" camunda:assignee="${e.replace(/"/g, '&quot;')}" />`,
      )
      expect(rulesOf('a.bpmn', inAttribute), e).toContain('expression')
      const inText = bpmn(
        `<bpmn:sequenceFlow id="x" sourceRef="a" targetRef="b"><bpmn:conditionExpression><![CDATA[${e}]]></bpmn:conditionExpression></bpmn:sequenceFlow>`,
      )
      expect(rulesOf('a.bpmn', inText), e).toContain('expression')
    }
    // character references cannot hide an expression from the parser
    expect(
      rulesOf('a.bpmn', bpmn(`<bpmn:userTask id="x" camunda:assignee="&#36;{a.b()}" />`)),
    ).toContain('expression')
    expect(
      rulesOf(
        'a.bpmn',
        bpmn(
          `<bpmn:userTask id="x"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="v">&#x24;{a.b()}</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>`,
        ),
      ),
    ).toContain('expression')
  })

  it('finds signal throws but not signal catches', () => {
    const throwing = bpmn(
      `<bpmn:intermediateThrowEvent id="t"><bpmn:signalEventDefinition signalRef="s" /></bpmn:intermediateThrowEvent><bpmn:endEvent id="e"><bpmn:signalEventDefinition signalRef="s" /></bpmn:endEvent>`,
    )
    expect(scan('a.bpmn', throwing)).toEqual([
      { rule: 'signal-throw', element: 't' },
      { rule: 'signal-throw', element: 'e' },
    ])
    const catching = bpmn(
      `<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="s" /></bpmn:startEvent><bpmn:boundaryEvent id="b" attachedToRef="u"><bpmn:signalEventDefinition signalRef="s" /></bpmn:boundaryEvent>`,
    )
    expect(scan('a.bpmn', catching)).toEqual([])
  })

  it('finds forms bound by latest, by default, or by an unknown binding', () => {
    for (const attrs of [
      'camunda:formRef="k" camunda:formRefBinding="latest"',
      'camunda:formRef="${k}" camunda:formRefBinding="latest"',
      'camunda:formRef="k"',
      'camunda:formRef="k" camunda:formRefBinding="LATEST"',
    ]) {
      expect(scan('a.bpmn', bpmn(`<bpmn:userTask id="u" ${attrs} />`)), attrs).toEqual([
        { rule: 'form-latest', element: 'u' },
      ])
    }
  })

  it('finds non-FEEL decision expressions and external functions', () => {
    const dmn = (inner: string) =>
      `<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="n"><decision id="dec" name="d">${inner}</decision></definitions>`
    expect(
      rulesOf(
        'a.dmn',
        dmn(
          `<literalExpression id="l" expressionLanguage="groovy"><text>1</text></literalExpression>`,
        ),
      ),
    ).toEqual(['dmn-expression'])
    expect(
      rulesOf(
        'a.dmn',
        dmn(
          `<literalExpression id="l" expressionLanguage="juel"><text>\${a.b()}</text></literalExpression>`,
        ),
      ),
    ).toEqual(['dmn-expression', 'expression'])
    expect(
      rulesOf(
        'a.dmn',
        dmn(
          `<literalExpression id="l"><text>function(x) external {java:{class:"java.lang.Runtime"}}</text></literalExpression>`,
        ),
      ),
    ).toEqual(['dmn-expression'])
  })

  it('refuses unknown resource types and malformed forms', () => {
    expect(rulesOf('embedded.html', '<script>alert(1)</script>')).toEqual(['resource-type'])
    expect(rulesOf('case.cmmn', '<definitions/>')).toEqual(['resource-type'])
    expect(rulesOf('x.form', '[1,2]')).toEqual(['form-invalid'])
    expect(rulesOf('x.form', '{"a":')).toEqual(['form-invalid'])
    expect(rulesOf('x.form', '['.repeat(10_000))).toEqual(['form-invalid'])
  })

  it('names the nearest element with an id, and reads chunk boundaries anywhere', () => {
    const model = bpmn(
      `<bpmn:serviceTask id="deep"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="v"><camunda:script scriptFormat="js">1</camunda:script></camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>`,
    )
    for (const chunk of [1, 3, 64, 100_000]) {
      expect(scan('a.bpmn', model, chunk)[0], `chunk ${chunk}`).toEqual({
        rule: 'script',
        element: 'deep',
      })
    }
  })
})

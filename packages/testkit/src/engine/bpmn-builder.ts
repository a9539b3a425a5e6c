/** Builds small BPMN documents the simulator (and a real engine) can run. */

/** One step of a linear process. */
export type ProcessStep =
  | {
      readonly type: 'userTask'
      readonly id: string
      readonly name?: string
      readonly assignee?: string
      readonly candidateGroups?: readonly string[]
    }
  | {
      readonly type: 'externalTask'
      readonly id: string
      readonly topic: string
      readonly name?: string
    }
  | {
      readonly type: 'receiveTask'
      readonly id: string
      readonly message: string
      readonly name?: string
    }
  | {
      /** Intermediate timer catch event waiting `duration` (ISO 8601, e.g. `PT1H`): a timer job. */
      readonly type: 'timer'
      readonly id: string
      readonly duration: string
      readonly name?: string
    }

export interface LinearProcessOptions {
  readonly key: string
  readonly name?: string
  readonly steps: readonly ProcessStep[]
  /** Adds a message start event with this message name (besides the none start event). */
  readonly startMessage?: string
  readonly historyTimeToLive?: number
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * A linear `start → steps → end` process as BPMN 2.0 XML.
 *
 * @example
 * ```ts
 * const xml = linearProcessXml({
 *   key: 'invoice',
 *   steps: [
 *     { type: 'userTask', id: 'approve', candidateGroups: ['accounting'] },
 *     { type: 'externalTask', id: 'charge', topic: 'charge-card' },
 *   ],
 * })
 * ```
 */
export function linearProcessXml(options: LinearProcessOptions): string {
  const messages: string[] = []
  const nodes: string[] = []
  const flows: string[] = []
  const ids = ['start', ...options.steps.map((s) => s.id), 'end']
  nodes.push('<bpmn:startEvent id="start" />')
  if (options.startMessage !== undefined) {
    messages.push(`<bpmn:message id="Msg_start" name="${esc(options.startMessage)}" />`)
    nodes.push(
      '<bpmn:startEvent id="messageStart"><bpmn:messageEventDefinition messageRef="Msg_start" /></bpmn:startEvent>',
    )
    flows.push(
      `<bpmn:sequenceFlow id="flow_messageStart" sourceRef="messageStart" targetRef="${esc(ids[1] as string)}" />`,
    )
  }
  for (const step of options.steps) {
    const name = step.name === undefined ? '' : ` name="${esc(step.name)}"`
    if (step.type === 'userTask') {
      const assignee =
        step.assignee === undefined ? '' : ` camunda:assignee="${esc(step.assignee)}"`
      const groups =
        step.candidateGroups === undefined
          ? ''
          : ` camunda:candidateGroups="${esc(step.candidateGroups.join(','))}"`
      nodes.push(`<bpmn:userTask id="${esc(step.id)}"${name}${assignee}${groups} />`)
    } else if (step.type === 'externalTask') {
      nodes.push(
        `<bpmn:serviceTask id="${esc(step.id)}"${name} camunda:type="external" camunda:topic="${esc(step.topic)}" />`,
      )
    } else if (step.type === 'timer') {
      nodes.push(
        `<bpmn:intermediateCatchEvent id="${esc(step.id)}"${name}><bpmn:timerEventDefinition><bpmn:timeDuration>${esc(step.duration)}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>`,
      )
    } else {
      const msgId = `Msg_${step.id}`
      messages.push(`<bpmn:message id="${esc(msgId)}" name="${esc(step.message)}" />`)
      nodes.push(`<bpmn:receiveTask id="${esc(step.id)}"${name} messageRef="${esc(msgId)}" />`)
    }
  }
  nodes.push('<bpmn:endEvent id="end" />')
  for (let i = 0; i < ids.length - 1; i++) {
    flows.push(
      `<bpmn:sequenceFlow id="flow_${i}" sourceRef="${esc(ids[i] as string)}" targetRef="${esc(ids[i + 1] as string)}" />`,
    )
  }
  const name = options.name === undefined ? '' : ` name="${esc(options.name)}"`
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">',
    ...messages,
    `<bpmn:process id="${esc(options.key)}"${name} isExecutable="true" camunda:historyTimeToLive="${options.historyTimeToLive ?? 180}">`,
    ...nodes,
    ...flows,
    '</bpmn:process>',
    '</bpmn:definitions>',
  ].join('\n')
}

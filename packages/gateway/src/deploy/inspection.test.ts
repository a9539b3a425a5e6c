import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { isC7AuthError } from '@c7auth/core'
import type { DeployProfile } from '@c7auth/core'
import { MultipartTenantStamper } from '../engine/multipart-tenant.js'
import { createDeploymentInspection } from './inspection.js'

const BPMN = (inner: string) =>
  `<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d"><bpmn:process id="p">${inner}</bpmn:process></bpmn:definitions>`
const SIGNAL_THROW =
  '<bpmn:endEvent id="end"><bpmn:signalEventDefinition signalRef="s" /></bpmn:endEvent>'

function body(parts: [name: string, filename: string | undefined, content: string][]): Buffer {
  const chunks = parts.map(
    ([name, filename, content]) =>
      `--B\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n\r\n${content}\r\n`,
  )
  return Buffer.from(`${chunks.join('')}--B--\r\n`)
}

/** Runs a body through the real stamper with the deployment inspection; the text or the error. */
async function run(
  input: Buffer,
  profile: DeployProfile,
  probe?: () => Promise<boolean>,
): Promise<{ text?: string; code?: string; message?: string; probed: number }> {
  let probed = 0
  const inspection = createDeploymentInspection({
    profileOf: () => profile,
    sharedSignalSubscriptions: probe
      ? () => {
          probed++
          return probe()
        }
      : undefined,
  })
  const stamper = new MultipartTenantStamper('B', () => 't1', inspection)
  const out: Buffer[] = []
  try {
    // a few bytes at a time: part boundaries fall inside chunks
    const pieces: Buffer[] = []
    for (let i = 0; i < input.length; i += 5) pieces.push(input.subarray(i, i + 5))
    for await (const chunk of Readable.from(pieces).pipe(stamper)) out.push(chunk as Buffer)
    return { text: Buffer.concat(out).toString('utf8'), probed }
  } catch (err) {
    if (!isC7AuthError(err)) throw err
    return { code: err.code, message: err.message, probed }
  }
}

describe('createDeploymentInspection over the multipart stamper', () => {
  it('passes a clean deployment through unchanged and appends the tenant', async () => {
    const r = await run(
      body([
        ['deployment-name', undefined, 'n'],
        ['p.bpmn', 'p.bpmn', BPMN('<bpmn:userTask id="u" />')],
      ]),
      'strict',
    )
    expect(r.code).toBeUndefined()
    expect(r.text).toContain('<bpmn:userTask id="u" />')
    expect(r.text).toMatch(/name="tenant-id"\r\n\r\nt1\r\n--B--\r\n$/)
  })

  it('fails the stream before the closing delimiter when a later resource breaks the profile', async () => {
    const r = await run(
      body([
        ['ok.bpmn', 'ok.bpmn', BPMN('<bpmn:userTask id="u" />')],
        ['bad.bpmn', 'bad.bpmn', BPMN('<bpmn:serviceTask id="t" camunda:class="E" />')],
      ]),
      'strict',
    )
    expect(r.code).toBe('C7AUTH_DEPLOYMENT_REFUSED')
    expect(r.message).toContain('resource "bad.bpmn", element "t", rule java-class')
  })

  it('asks the engine about shared signal subscriptions only for a trusted signal throw', async () => {
    const throwing = body([['s.bpmn', 's.bpmn', BPMN(SIGNAL_THROW)]])
    const strict = await run(throwing, 'strict', async () => false)
    expect(strict).toMatchObject({ code: 'C7AUTH_DEPLOYMENT_REFUSED', probed: 0 })
    const none = await run(throwing, 'trusted', async () => false)
    expect(none.code).toBeUndefined()
    expect(none.probed).toBe(1)
    const shared = await run(throwing, 'trusted', async () => true)
    expect(shared).toMatchObject({ code: 'C7AUTH_DEPLOYMENT_REFUSED', probed: 1 })
    const failing = await run(throwing, 'trusted', () => Promise.reject(new Error('engine down')))
    expect(failing).toMatchObject({ code: 'C7AUTH_DEPLOYMENT_REFUSED', probed: 1 })
    const noProbe = await run(throwing, 'trusted')
    expect(noProbe.code).toBe('C7AUTH_DEPLOYMENT_REFUSED')
    const catching = await run(
      body([
        [
          'c.bpmn',
          'c.bpmn',
          BPMN('<bpmn:startEvent id="s"><bpmn:signalEventDefinition /></bpmn:startEvent>'),
        ],
      ]),
      'trusted',
      async () => true,
    )
    expect(catching).toMatchObject({ probed: 0 })
    expect(catching.code).toBeUndefined()
  })

  it('scans parts by file name, whatever their field name; text fields are not resources', async () => {
    const r = await run(
      body([
        ['deployment-source', undefined, '${not.a.resource()}'],
        ['anything', 'x.groovy', 'println 1'],
      ]),
      'strict',
    )
    expect(r.message).toContain('resource "x.groovy", rule resource-type')
    const trusted = await run(body([['anything', 'x.groovy', 'println 1']]), 'trusted')
    expect(trusted.code).toBeUndefined()
  })
})

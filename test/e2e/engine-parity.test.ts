/**
 * Parity, measured: every engine behaviour c7auth relies on (`ENGINE_BEHAVIOURS` in
 * `@c7auth/testkit`) is probed on every selected engine, and each must answer what the gateway
 * expects. A last check compares the engines with one another; a tally is printed at the end.
 *
 * On the simulator a probe that reaches a route the simulator does not model (501
 * `C7AUTH_SIM_NOT_IMPLEMENTED`, or 405) is reported as skipped, never as passed.
 */
import { afterAll, describe, expect, it } from 'vitest'
// the gateway's own not-found answers (internal: not part of the package's public surface)
import {
  engineNotFound,
  OWNER_RESOURCES,
  ownerAbsent,
} from '../../packages/gateway/src/policy/index.js'
import type { OwnerResource } from '../../packages/gateway/src/policy/index.js'
import { ENGINE_BEHAVIOURS } from '@c7auth/testkit'
import { describeEngines, selectedEngines } from './engines.js'
import type { EngineContext, EngineName } from './engines.js'

const PROBE_TIMEOUT_MS = 60_000
const answers = new Map<string, Map<EngineName, string>>()
const notModelled = new Map<string, string>()

/** The simulator requests of one probe that reached something it does not model (501, 405). */
function unmodelled(ctx: EngineContext, from: number): string[] {
  const sim = ctx.engine.simulator
  if (sim === null) return []
  return sim.requests
    .slice(from)
    .filter((r) => r.status === 501 || r.status === 405)
    .map((r) => `${r.method} ${r.path} → ${r.status}`)
}

describe('engine behaviour data', () => {
  it('has unique ids, a description and an expectation for each entry', () => {
    const ids = ENGINE_BEHAVIOURS.map((b) => b.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const b of ENGINE_BEHAVIOURS) {
      expect(b.description.length, b.id).toBeGreaterThan(10)
      expect(b.expected, b.id).not.toBeUndefined()
    }
  })

  it("matches the gateway's own not-found answers for every owner-checked resource", () => {
    const resources = Object.keys(OWNER_RESOURCES) as OwnerResource[]
    expect.assertions(resources.length * 2)
    for (const resource of resources) {
      const entry = ENGINE_BEHAVIOURS.find((b) => b.id === `not-found-${resource}`)
      const expected = entry?.expected as { status: number; contentType: string; body: unknown }
      expect(expected, resource).toEqual({
        status: expected?.status,
        contentType: 'application/json',
        body: engineNotFound(resource, '<id>').body,
      })
      // what the owner lookup treats as "not there" includes the engine's status for a missing id
      expect(ownerAbsent(resource, expected?.status), resource).toBe(true)
    }
  })
})

describeEngines('engine parity', (ctx) => {
  for (const behaviour of ENGINE_BEHAVIOURS) {
    it(
      behaviour.id,
      async (test) => {
        const from = ctx.engine.simulator?.requests.length ?? 0
        let answer: unknown
        let failure: unknown
        try {
          answer = await behaviour.run(ctx.engine)
        } catch (error) {
          failure = error
        }
        const gaps = unmodelled(ctx, from)
        if (gaps.length > 0) {
          notModelled.set(behaviour.id, gaps.join('; '))
          test.skip(`not modelled by the simulator: ${gaps.join('; ')}`)
        }
        if (failure !== undefined) throw failure
        const text = JSON.stringify(answer)
        let byEngine = answers.get(behaviour.id)
        if (byEngine === undefined) answers.set(behaviour.id, (byEngine = new Map()))
        byEngine.set(ctx.name, text)
        expect(answer, behaviour.description).toEqual(behaviour.expected)
      },
      PROBE_TIMEOUT_MS,
    )
  }
})

describe('engine parity across engines', () => {
  it('every engine that answered a probe answered the same', () => {
    const engines = selectedEngines()
    const disagreements: string[] = []
    for (const [id, byEngine] of answers) {
      if (new Set(byEngine.values()).size > 1) disagreements.push(id)
    }
    expect(disagreements).toEqual([])
    expect(answers.size).toBeGreaterThan(0)
    expect(engines.length).toBeGreaterThan(0)
  })
})

afterAll(() => {
  const agreed = [...answers.values()].filter((m) => new Set(m.values()).size === 1).length
  console.log(
    `[c7auth] engine parity: ${ENGINE_BEHAVIOURS.length} behaviours, engines ${selectedEngines().join(', ')}; ` +
      `${agreed} answered identically; not modelled by the simulator: ${notModelled.size}` +
      (notModelled.size > 0 ? ` (${[...notModelled.keys()].join(', ')})` : ''),
  )
})

/**
 * `probeTypeValidation` (issue 15 item 4, T31): tells an engine that validates the Java types it
 * deserializes variables into from one that does not, without writing anything. Real engines only.
 */
import { describe, expect, it } from 'vitest'
import {
  basicAuth,
  createEngineEndpoint,
  probeTypeValidation,
} from '../../packages/gateway/src/internal.js'
import { describeEngines, engineAdmin } from './engines.js'
import type { EngineContext } from './engines.js'

/** Spring Boot's JSON form of the engine property, for either flavor's property prefix. */
const validationOn = (flavor: 'camunda' | 'operaton') =>
  JSON.stringify({
    [flavor]: {
      bpm: { 'generic-properties': { properties: { deserializationTypeValidationEnabled: true } } },
    },
  })

function probe(ctx: EngineContext) {
  const endpoint = createEngineEndpoint(ctx.engine.url)
  return probeTypeValidation({
    endpoint,
    authorization: basicAuth(ctx.engine.admin.id, ctx.engine.admin.password),
    timeoutMs: 10_000,
  }).finally(() => endpoint.dispatcher.close())
}

describeEngines(
  'type validation probe, engine default',
  (ctx) => {
    it('reports validation off, and writes nothing', async () => {
      const report = await probe(ctx)
      expect(report.state).toBe('disabled')
      expect(report.detail).toContain('deserializationTypeValidationEnabled=true')
      const vars = await engineAdmin<{ count: number }>(
        ctx.engine,
        'GET',
        '/variable-instance/count',
      )
      expect(vars.count).toBe(0)
    })
  },
  { only: ['camunda7', 'operaton'] },
)

for (const flavor of ['camunda7', 'operaton'] as const) {
  describeEngines(
    `type validation probe, validation on (${flavor})`,
    (ctx) => {
      it('reports validation on', async () => {
        expect(await probe(ctx)).toMatchObject({ state: 'enabled' })
      })
    },
    {
      only: [flavor],
      env: {
        SPRING_APPLICATION_JSON: validationOn(flavor === 'camunda7' ? 'camunda' : 'operaton'),
      },
    },
  )
}

describe('type validation probe without an engine', () => {
  it('reports unknown when nothing answers', async () => {
    const endpoint = createEngineEndpoint('http://127.0.0.1:9/engine-rest')
    const report = await probeTypeValidation({ endpoint, timeoutMs: 2_000 })
    await endpoint.dispatcher.close()
    expect(report.state).toBe('unknown')
  })
})

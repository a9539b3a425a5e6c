import { afterAll, beforeAll, expect, it } from 'vitest'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'
import { describeEngines } from './engines.js'

describeEngines('C7AUTH_GATEWAY_QUERY_MAX_RESULTS caps list queries (trap T1)', (ctx) => {
  let h: Harness
  let token: string
  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'koa',
      env: { C7AUTH_GATEWAY_QUERY_MAX_RESULTS: '50' },
      testEngine: ctx.engine,
    })
    token = await h.appToken('appA')
    // provision appA first, so the counts below see client traffic only
    expect((await h.call(token, 'GET', '/task?firstResult=0&maxResults=1')).status).toBe(200)
  })
  afterAll(() => h?.close())

  it('refuses an unbounded or oversized list before it reaches the engine', async () => {
    const upstreamBefore = h.events.upstream
    const requestsBefore = h.simulator?.requests.length ?? 0
    const unbounded = await h.call(token, 'GET', '/task')
    expect(unbounded.status).toBe(400)
    expect(unbounded.json).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID' })
    const oversized = await h.call(token, 'POST', '/task?firstResult=0&maxResults=51', {})
    expect(oversized.status).toBe(400)
    expect(h.events.upstream).toBe(upstreamBefore)
    if (h.simulator) expect(h.simulator.requests.length).toBe(requestsBefore)
  })

  it('forwards a list within the cap', async () => {
    const upstreamBefore = h.events.upstream
    const ok = await h.call(token, 'GET', '/task?firstResult=0&maxResults=50')
    expect(ok.status).toBe(200)
    expect(h.events.upstream).toBe(upstreamBefore + 1)
    if (h.simulator) expect(h.simulator.requests.at(-1)?.path).toBe('/task')
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness } from './gateway-engine-harness.js'
import type { Harness } from './gateway-engine-harness.js'

describe('C7AUTH_GATEWAY_QUERY_MAX_RESULTS caps list queries (trap T1)', () => {
  let h: Harness
  let token: string
  beforeAll(async () => {
    h = await startHarness({
      mode: 'bridge',
      framework: 'koa',
      env: { C7AUTH_GATEWAY_QUERY_MAX_RESULTS: '50' },
    })
    token = await h.appToken('appA')
  })
  afterAll(() => h?.close())

  it('refuses an unbounded or oversized list before it reaches the engine', async () => {
    const before = h.engine.requests.length
    const unbounded = await h.call(token, 'GET', '/task')
    expect(unbounded.status).toBe(400)
    expect(unbounded.json).toMatchObject({ code: 'C7AUTH_REQUEST_INVALID' })
    const oversized = await h.call(token, 'POST', '/task?firstResult=0&maxResults=51', {})
    expect(oversized.status).toBe(400)
    expect(h.engine.requests.filter((r) => r.path === '/task')).toHaveLength(0)
    expect(h.engine.requests.length - before).toBeLessThanOrEqual(5) // provisioning only
  })

  it('forwards a list within the cap', async () => {
    const ok = await h.call(token, 'GET', '/task?firstResult=0&maxResults=50')
    expect(ok.status).toBe(200)
    expect(h.engine.requests.at(-1)?.path).toBe('/task')
  })
})

import { describe, expect, it } from 'vitest'
import { Histogram, Registry } from 'prom-client'
import { LatencyHistogram } from './latency-histogram.js'
import { createGatewayMetrics } from './metrics.js'

describe('gateway metrics: cached children per label tuple', () => {
  it('counts through cached children exactly as labelled calls would', async () => {
    const m = createGatewayMetrics()
    m.countRequest('success', 'ok', 'acme')
    m.countRequest('success', 'ok', 'acme')
    m.countRequest('success', 'ok', 'globex')
    m.countRequest('refused', 'C7AUTH_TOKEN_MISSING', 'none')
    m.observeVerify('ok', 0.0001)
    m.observeVerify('C7AUTH_TOKEN_INVALID', 0.0002)
    m.observeUpstream('getTasks', '2xx', 0.003)
    m.observeUpstream('getTasks', '2xx', 0.004)
    const text = await m.registry.metrics()
    expect(text).toContain('c7auth_requests_total{outcome="success",code="ok",tenant="acme"} 2')
    expect(text).toContain('c7auth_requests_total{outcome="success",code="ok",tenant="globex"} 1')
    expect(text).toContain(
      'c7auth_requests_total{outcome="refused",code="C7AUTH_TOKEN_MISSING",tenant="none"} 1',
    )
    expect(text).toContain('c7auth_token_verification_seconds_count{result="ok"} 1')
    expect(text).toContain(
      'c7auth_token_verification_seconds_count{result="C7AUTH_TOKEN_INVALID"} 1',
    )
    expect(text).toContain('c7auth_upstream_seconds_count{operation="getTasks",status="2xx"} 2')
  })

  it('keeps children apart when label values share a prefix', async () => {
    const m = createGatewayMetrics()
    m.countRequest('a', 'bc', 'd')
    m.countRequest('ab', 'c', 'd')
    const text = await m.registry.metrics()
    expect(text).toContain('c7auth_requests_total{outcome="a",code="bc",tenant="d"} 1')
    expect(text).toContain('c7auth_requests_total{outcome="ab",code="c",tenant="d"} 1')
  })

  it('adds counts made between two collections once, whichever way they are read', async () => {
    const m = createGatewayMetrics()
    const series = (values: { labels: Record<string, unknown>; value: number }[]) =>
      values.map((v) => `${String(v.labels.outcome)}/${String(v.labels.tenant)}=${v.value}`)
    m.countRequest('success', 'ok', 'acme')
    expect(series((await m.requests.get()).values)).toEqual(['success/acme=1'])
    // Collected again with nothing new: unchanged, not doubled.
    expect(series((await m.requests.get()).values)).toEqual(['success/acme=1'])
    m.countRequest('success', 'ok', 'acme')
    m.countRequest('denied', 'C7AUTH_FORBIDDEN', 'acme')
    expect(await m.registry.metrics()).toContain(
      'c7auth_requests_total{outcome="success",code="ok",tenant="acme"} 2',
    )
    expect(series((await m.requests.get()).values)).toEqual(['success/acme=2', 'denied/acme=1'])
  })
})

describe('LatencyHistogram: exposed exactly as a prom-client histogram', () => {
  it('prints the same buckets, sum and count as prom-client for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1]
    const observations = [0.0005, 0.001, 0.002, 0.05, 0.05, 0.5, 3, 0]
    const ours = new Registry()
    const theirs = new Registry()
    const h = new LatencyHistogram(
      { name: 'x_seconds', help: 'h', labelNames: ['op', 'status'], buckets },
      ours,
    )
    const reference = new Histogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['op', 'status'],
      buckets,
      registers: [theirs],
    })
    const a = h.series({ op: 'getTasks', status: '2xx' })
    const b = h.series({ op: 'startProcess', status: '5xx' })
    h.series({ op: 'never', status: '2xx' }) // unobserved: no lines, as prom-client
    for (const [i, v] of observations.entries()) {
      const labels =
        i % 3 === 0 ? { op: 'startProcess', status: '5xx' } : { op: 'getTasks', status: '2xx' }
      ;(i % 3 === 0 ? b : a).observe(v)
      reference.observe(labels, v)
    }
    // the same lines; series order aside (prom-client lists a series by its first observation)
    const lines = async (r: Registry) => (await r.metrics()).split('\n').sort()
    expect(await lines(ours)).toHaveLength(17)
    expect(await lines(ours)).toEqual(await lines(theirs))
    // reset zeroes every series, as prom-client's
    ours.resetMetrics()
    theirs.resetMetrics()
    expect(await ours.metrics()).toBe(await theirs.metrics())
  })
})

describe('LatencyHistogram: series and observations as prom-client takes them', () => {
  const buckets = [0.001, 0.01, 0.1, 1]
  const pair = () => {
    const ours = new Registry()
    const theirs = new Registry()
    const h = new LatencyHistogram(
      { name: 'x_seconds', help: 'h', labelNames: ['op'], buckets },
      ours,
    )
    const reference = new Histogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['op'],
      buckets,
      registers: [theirs],
    })
    return { ours, theirs, h, reference }
  }

  it('gives the same series for the same labels (one set of exposition lines)', async () => {
    const { ours, theirs, h, reference } = pair()
    const first = h.series({ op: 'getTasks' })
    expect(h.series({ op: 'getTasks' })).toBe(first)
    expect(h.series({ op: 'other' })).not.toBe(first)
    first.observe(0.005)
    h.series({ op: 'getTasks' }).observe(0.5)
    reference.observe({ op: 'getTasks' }, 0.005)
    reference.observe({ op: 'getTasks' }, 0.5)
    expect(await ours.metrics()).toBe(await theirs.metrics())
  })

  it('throws on a non-finite value as prom-client does, and counts a negative one as it does', async () => {
    const { ours, theirs, h, reference } = pair()
    const s = h.series({ op: 'getTasks' })
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => reference.observe({ op: 'getTasks' }, bad)).toThrow(TypeError)
      expect(() => s.observe(bad)).toThrow(TypeError)
    }
    s.observe(-0.5)
    reference.observe({ op: 'getTasks' }, -0.5)
    s.observe(0.02)
    reference.observe({ op: 'getTasks' }, 0.02)
    expect(await ours.metrics()).toBe(await theirs.metrics())
    expect(await ours.metrics()).toContain('x_seconds_count{op="getTasks"} 2')
  })

  it('reads the same through getMetricsAsJSON as a prom-client histogram', async () => {
    const { ours, theirs, h, reference } = pair()
    for (const [op, v] of [
      ['getTasks', 0.0005],
      ['getTasks', 0.05],
      ['startProcess', 3],
    ] as const) {
      h.series({ op }).observe(v)
      reference.observe({ op }, v)
    }
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON())
  })
})

import { describe, expect, it } from 'vitest'
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

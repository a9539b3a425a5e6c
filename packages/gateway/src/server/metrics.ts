import { Counter, Registry, collectDefaultMetrics } from 'prom-client'
import { LatencyHistogram } from './latency-histogram.js'
import type { HistogramSeries } from './latency-histogram.js'

/**
 * Prometheus metrics of the standalone gateway. One registry per server, so tests and embedded
 * gateways never share global state.
 */
export interface GatewayMetrics {
  readonly registry: Registry
  /**
   * Requests by outcome (`success`, `failure`, `denied`, `error`, `aborted` from the proxy;
   * `refused` for authentication failures) and reason code (`C7AUTH_*`, or `ok` when the engine
   * answered) and tenant (a configured tenant id; `none` before a tenant was known, e.g. an
   * authentication refusal; `other` never for a configured one, so the label stays bounded).
   */
  readonly requests: Counter<'outcome' | 'code' | 'tenant'>
  /** Token verification latency (cache hits included). */
  readonly verifySeconds: LatencyHistogram<'result'>
  /** JWKS fetches by issuer host and result. */
  readonly jwksRefreshes: Counter<'result'>
  /** Engine identity calls made by the bridge, by kind (user, tenant, membership, repair). */
  readonly provisioningCalls: Counter<'kind'>
  /** Upstream latency by operation id and status class. */
  readonly upstreamSeconds: LatencyHistogram<'operation' | 'status'>
  /**
   * Counts one request on `requests{outcome, code, tenant}`: a plain increment, added to
   * `requests` when it is collected.
   */
  countRequest(outcome: string, code: string, tenant: string): void
  /** Observes one verification on `verifySeconds{result}` through its series, made once. */
  observeVerify(result: string, seconds: number): void
  /** Observes one upstream call on `upstreamSeconds{operation, status}` through its series. */
  observeUpstream(operation: string, status: string, seconds: number): void
}

/**
 * A child per label tuple, made once and kept in nested maps (one to three labels: no rest
 * array per call). The tuples are bounded: outcomes and codes are fixed vocabularies, tenants
 * come from configuration, operations are the route table's ids, status is a class (`2xx`…,
 * `error`).
 */
function childCache<T>(make: (labels: string[]) => T): (a: string, b?: string, c?: string) => T {
  const root = new Map<string, unknown>()
  return (a, b, c) => {
    let node = root
    let key = a
    if (b !== undefined) {
      node = level(node, a)
      key = b
      if (c !== undefined) {
        node = level(node, b)
        key = c
      }
    }
    let child = node.get(key) as T | undefined
    if (child === undefined) {
      const labels = b === undefined ? [a] : c === undefined ? [a, b] : [a, b, c]
      node.set(key, (child = make(labels)))
    }
    return child
  }
}

function level(node: Map<string, unknown>, key: string): Map<string, unknown> {
  let next = node.get(key) as Map<string, unknown> | undefined
  if (next === undefined) node.set(key, (next = new Map()))
  return next
}

/** Requests counted for one label tuple since the counter was last collected. */
interface PendingCount {
  readonly labels: Record<string, string>
  n: number
}

/** Creates the gateway's metrics on a fresh registry (with Node process defaults). */
export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'c7auth_' })
  const registers = [registry]
  // Every request is counted here: a plain increment, added to the prom-client counter when it
  // is collected (a scrape, or `get()`), because prom-client builds a label hash string on every
  // `inc`, even through a child.
  const pending: PendingCount[] = []
  const requests = new Counter({
    name: 'c7auth_requests_total',
    help: 'Requests handled by the gateway, by outcome, reason code and tenant.',
    labelNames: ['outcome', 'code', 'tenant'],
    registers,
    collect() {
      for (const p of pending) {
        if (p.n === 0) continue
        this.inc(p.labels, p.n)
        p.n = 0
      }
    },
  })
  const verifySeconds = new LatencyHistogram(
    {
      name: 'c7auth_token_verification_seconds',
      help: 'Latency of bearer-token verification and mapping.',
      labelNames: ['result'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1],
    },
    registry,
  )
  const upstreamSeconds = new LatencyHistogram(
    {
      name: 'c7auth_upstream_seconds',
      help: 'Engine-rest latency by operation id and status class.',
      labelNames: ['operation', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 60],
    },
    registry,
  )
  const requestChild = childCache((l): PendingCount => {
    const [outcome = '', code = '', tenant = ''] = l
    const p = { labels: { outcome, code, tenant }, n: 0 }
    pending.push(p)
    return p
  })
  const verifyChild = childCache((l): HistogramSeries =>
    verifySeconds.series({ result: l[0] ?? '' }),
  )
  const upstreamChild = childCache((l): HistogramSeries =>
    upstreamSeconds.series({ operation: l[0] ?? '', status: l[1] ?? '' }),
  )
  return {
    registry,
    requests,
    verifySeconds,
    upstreamSeconds,
    countRequest: (outcome, code, tenant) => {
      requestChild(outcome, code, tenant).n++
    },
    observeVerify: (result, seconds) => verifyChild(result).observe(seconds),
    observeUpstream: (operation, status, seconds) =>
      upstreamChild(operation, status).observe(seconds),
    jwksRefreshes: new Counter({
      name: 'c7auth_jwks_refreshes_total',
      help: 'JWKS fetches, by result.',
      labelNames: ['result'],
      registers,
    }),
    provisioningCalls: new Counter({
      name: 'c7auth_bridge_provisioning_calls_total',
      help: 'Engine identity calls made by the identity bridge, by kind.',
      labelNames: ['kind'],
      registers,
    }),
  }
}

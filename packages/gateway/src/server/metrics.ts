import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Prometheus metrics of the standalone gateway. One registry per server, so tests and embedded
 * gateways never share global state.
 */
export interface GatewayMetrics {
  readonly registry: Registry
  /**
   * Requests by outcome (`success`, `failure`, `denied`, `error`, `aborted` from the proxy;
   * `refused` for authentication failures) and reason code (`C7AUTH_*`, or `ok` when the engine
   * answered).
   */
  readonly requests: Counter<'outcome' | 'code'>
  /** Token verification latency (cache hits included). */
  readonly verifySeconds: Histogram<'result'>
  /** JWKS fetches by issuer host and result. */
  readonly jwksRefreshes: Counter<'result'>
  /** Engine identity calls made by the bridge, by kind (user, tenant, membership, repair). */
  readonly provisioningCalls: Counter<'kind'>
  /** Upstream latency by operation id and status class. */
  readonly upstreamSeconds: Histogram<'operation' | 'status'>
  /** Counts one request: `requests{outcome, code}` through a cached child (no label hashing). */
  countRequest(outcome: string, code: string): void
  /** Observes one verification: `verifySeconds{result}` through a cached child. */
  observeVerify(result: string, seconds: number): void
  /** Observes one upstream call: `upstreamSeconds{operation, status}` through a cached child. */
  observeUpstream(operation: string, status: string, seconds: number): void
}

/**
 * prom-client hashes the label object on every `inc`/`observe`; a child per label tuple, made once
 * and kept, skips that. The tuples are bounded: outcomes and codes are fixed vocabularies,
 * operations are the route table's ids, status is a class (`2xx`…, `error`).
 */
function childCache<T>(make: (a: string, b: string) => T): (a: string, b: string) => T {
  const outer = new Map<string, Map<string, T>>()
  return (a, b) => {
    let inner = outer.get(a)
    if (inner === undefined) outer.set(a, (inner = new Map()))
    let child = inner.get(b)
    if (child === undefined) inner.set(b, (child = make(a, b)))
    return child
  }
}

/** Creates the gateway's metrics on a fresh registry (with Node process defaults). */
export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'c7auth_' })
  const registers = [registry]
  const requests = new Counter({
    name: 'c7auth_requests_total',
    help: 'Requests handled by the gateway, by outcome and reason code.',
    labelNames: ['outcome', 'code'],
    registers,
  })
  const verifySeconds = new Histogram({
    name: 'c7auth_token_verification_seconds',
    help: 'Latency of bearer-token verification and mapping.',
    labelNames: ['result'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1],
    registers,
  })
  const upstreamSeconds = new Histogram({
    name: 'c7auth_upstream_seconds',
    help: 'Engine-rest latency by operation id and status class.',
    labelNames: ['operation', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 60],
    registers,
  })
  const requestChild = childCache((outcome, code) => requests.labels(outcome, code))
  const verifyChild = childCache((result) => verifySeconds.labels(result))
  const upstreamChild = childCache((operation, status) => upstreamSeconds.labels(operation, status))
  return {
    registry,
    requests,
    verifySeconds,
    upstreamSeconds,
    countRequest: (outcome, code) => requestChild(outcome, code).inc(),
    observeVerify: (result, seconds) => verifyChild(result, '').observe(seconds),
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

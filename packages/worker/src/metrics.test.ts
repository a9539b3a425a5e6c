import * as promClient from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createWorkerMetrics, WORKER_METRICS } from './metrics.js'

describe('createWorkerMetrics', () => {
  it('counts token fetches, failures, 401 retries and task outcomes by tenant', async () => {
    const registry = new promClient.Registry()
    const { listener } = createWorkerMetrics(promClient, registry)
    listener({ type: 'token:acquired', tenant: 'acme', refreshed: false, target: 'engine' })
    listener({ type: 'token:acquired', tenant: 'acme', refreshed: true, target: 'engine' })
    listener({ type: 'token:failed', tenant: 'acme', target: 'downstream', error: new Error('x') })
    listener({ type: 'engine:unauthorized', tenant: 'acme', retrying: true })
    listener({ type: 'handler:error', tenant: 'globex', error: new Error('boom') })
    listener({
      type: 'task:error',
      tenant: 'globex',
      operation: 'complete',
      taskId: 't1',
      status: 500,
      error: new Error('x'),
    })
    listener({ type: 'poll:error', tenant: 'globex', error: new Error('down') })
    listener({
      type: 'token:store',
      event: { type: 'down', backend: 'redis', reason: 'ECONNREFUSED' },
    })
    listener({ type: 'token:store', event: { type: 'up', backend: 'redis' } })
    const text = await registry.metrics()
    expect(text).toContain(
      'c7auth_worker_token_fetches_total{tenant="acme",target="engine",kind="first"} 1',
    )
    expect(text).toContain(
      'c7auth_worker_token_fetches_total{tenant="acme",target="engine",kind="refresh"} 1',
    )
    expect(text).toContain(
      'c7auth_worker_token_failures_total{tenant="acme",target="downstream"} 1',
    )
    expect(text).toContain(
      'c7auth_worker_unauthorized_total{tenant="acme",target="engine",retried="true"} 1',
    )
    expect(text).toContain(
      'c7auth_worker_task_errors_total{tenant="globex",outcome="handler_error"} 1',
    )
    expect(text).toContain('c7auth_worker_task_errors_total{tenant="globex",outcome="complete"} 1')
    expect(text).toContain('c7auth_worker_poll_errors_total{tenant="globex",status="none"} 1')
    expect(text).toContain('c7auth_worker_token_store_events_total{backend="redis",event="down"} 1')
    expect(text).toContain('c7auth_worker_token_store_events_total{backend="redis",event="up"} 1')
    // every declared metric is registered, and nothing else
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort()
    expect(names).toEqual(
      Object.values(WORKER_METRICS)
        .map((m) => m.name)
        .sort(),
    )
  })

  it('never puts an error message into a label', async () => {
    const registry = new promClient.Registry()
    const { listener } = createWorkerMetrics(promClient, registry)
    listener({
      type: 'token:failed',
      tenant: 'acme',
      target: 'engine',
      error: new Error('eyJsecret'),
    })
    expect(await registry.metrics()).not.toContain('eyJsecret')
  })
})

/**
 * Policy decision cost: µs per `decide()` call (and per body rewrite) for typical routes.
 * Run: `pnpm exec tsx test/bench/policy.bench.ts` (or import `benchPolicy` from a bench runner).
 */
import { pathToFileURL } from 'node:url'
import { createPolicy } from '../../packages/gateway/src/internal.js'
import type { Decision, PolicyRequest } from '../../packages/gateway/src/internal.js'
import type { Principal } from '@c7auth/core'

/** One measured case. */
export interface BenchResult {
  readonly name: string
  readonly iterations: number
  readonly microsPerOp: number
}

const principal: Principal = {
  kind: 'user',
  userId: 'alice',
  groupIds: ['clerks'],
  tenantIds: ['acme', 'globex'],
  clientId: 'web',
  issuer: 'https://idp.example',
  subject: 's',
  scopes: [],
  expiresAt: 4_102_444_800,
  admin: false,
}

function measure(name: string, fn: () => unknown, iterations = 200_000): BenchResult {
  for (let i = 0; i < 10_000; i++) fn()
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn()
  const ns = Number(process.hrtime.bigint() - start)
  return { name, iterations, microsPerOp: ns / iterations / 1000 }
}

function rewriteOf(d: Decision): (json: unknown) => unknown {
  if (d.action !== 'forward' || d.body.kind !== 'json') throw new Error('expected a json plan')
  return d.body.rewrite
}

/** Measures `decide()` on typical routes; synchronous work only. */
export function benchPolicy(): BenchResult[] {
  const policy = createPolicy()
  const req = (method: string, path: string, query = ''): PolicyRequest => ({
    method,
    path,
    query: new URLSearchParams(query),
    principal,
  })
  const listTasks = req('GET', '/task', 'assignee=alice&tenantIdIn=acme&maxResults=50')
  const getTask = req('GET', '/engine/default/task/8f1c2a40-0c6b-11ef-9b5a-0242ac120002')
  const start = req('POST', '/process-definition/key/invoice/tenant-id/acme/start')
  const fetch = req('POST', '/external-task/fetchAndLock')
  const denied = req('GET', '/history/user-operation')
  const fetchRewrite = rewriteOf(policy.decide(fetch))
  const startRewrite = rewriteOf(policy.decide(start))
  const fetchBody = {
    workerId: 'w1',
    maxTasks: 10,
    topics: [
      { topicName: 'charge', lockDuration: 10_000 },
      { topicName: 'notify', lockDuration: 10_000, tenantIdIn: ['acme'] },
    ],
  }
  const startBody = { businessKey: 'b-1', variables: { amount: { value: 42, type: 'Integer' } } }
  return [
    measure('decide GET /task (scope comma list)', () => policy.decide(listTasks)),
    measure('decide GET /engine/default/task/{id} (owner check)', () => policy.decide(getTask)),
    measure('decide POST …/tenant-id/{t}/start (stamp)', () => policy.decide(start)),
    measure('decide POST /external-task/fetchAndLock', () => policy.decide(fetch)),
    measure('decide denied route (throws)', () => {
      try {
        policy.decide(denied)
      } catch {
        // expected
      }
    }),
    measure('rewrite fetchAndLock body (2 topics)', () => fetchRewrite(fetchBody)),
    measure('rewrite start body (acting user)', () => startRewrite(startBody)),
  ]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of benchPolicy()) {
    console.log(`${r.name.padEnd(52)} ${r.microsPerOp.toFixed(3).padStart(8)} µs/op`)
  }
}

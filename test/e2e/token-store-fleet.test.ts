/**
 * Three worker replicas (real child processes running the worker plugin, configured only by env)
 * share one token store: started cold together they make one token request between them, one
 * proactive refresh per token lifetime for the fleet; while the store is unreachable (a proxy this
 * test stops, not the machine's server) each keeps working on its own cache; once it is back they
 * share again.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TokenStoreBackendKind } from '@c7auth/core'
import { startTcpProxy } from '@c7auth/testkit'
import type { TcpProxy } from '@c7auth/testkit'
import type { FleetReport } from './fleet/token-fleet-worker.js'
import {
  BACKENDS,
  freshNamespace,
  keyEnv,
  randomKey,
  rawStore,
  storeUrl,
  targetOf,
} from './token-store-harness.js'
import { startWorkerStack } from './worker-stack.js'
import type { WorkerStack } from './worker-stack.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const REPLICA = fileURLToPath(new URL('./fleet/token-fleet-worker.ts', import.meta.url))
const REPLICAS = 3
/** Lifetime of the IdP's tokens: replicas refresh at half of it, so cycles are 5 s apart. */
const TOKEN_TTL_SECONDS = 10

interface Replica {
  readonly child: ChildProcess
  readonly reports: FleetReport[]
  output(): string
}

function startReplica(env: Record<string, string>): Replica {
  const child = spawn(process.execPath, ['--import', 'tsx', REPLICA], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  let pending = ''
  const reports: FleetReport[] = []
  // Reports arrive as JSON lines on stdout; anything else there or on stderr is kept as output.
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (line.startsWith('{"kind":')) reports.push(JSON.parse(line) as FleetReport)
      else output += `${line}\n`
    }
  })
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return { child, reports, output: () => output }
}

/** Resolves when `predicate` holds; fails after `limitMs` (generous: a cycle is 5 s). */
async function until(predicate: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A background token event: the replica refreshed, or took over the fleet's refreshed token. */
const isBackground = (r: FleetReport) =>
  r.kind === 'token' && r.background && (r.type === 'refreshed' || r.type === 'cache_hit')

describe.each(BACKENDS)(
  'a worker fleet sharing a %s token store',
  (kind: TokenStoreBackendKind) => {
    let stack: WorkerStack
    let proxy: TcpProxy
    const namespace = freshNamespace()
    const replicas: Replica[] = []

    beforeAll(async () => {
      stack = await startWorkerStack({ idp: { accessTokenTtlSeconds: TOKEN_TTL_SECONDS } })
      proxy = await startTcpProxy(targetOf(kind))
    })

    afterAll(async () => {
      for (const r of replicas) {
        if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL')
      }
      await proxy?.close()
      await stack?.close()
      await rawStore(kind, namespace).drop()
    })

    it('makes one token request per lifetime for the fleet, survives a store outage, shares again after', async () => {
      const clientCredentials = () => stack.idp.counts.tokenByGrant.client_credentials ?? 0
      const env = {
        ...stack.workerEnv,
        C7AUTH_TOKEN_STORE: storeUrl(kind, proxy.port),
        C7AUTH_TOKEN_STORE_KEYS: keyEnv([randomKey('fleet1')]),
        C7AUTH_TOKEN_STORE_NAMESPACE: namespace,
        // Generous: on a loaded machine a 1 s budget can expire before the answer is read, and
        // a replica would then (correctly) fetch for itself.
        C7AUTH_TOKEN_STORE_TIMEOUT: '5s',
      }
      for (let i = 0; i < REPLICAS; i++) replicas.push(startReplica(env))
      await until(
        () => replicas.every((r) => r.reports.some((m) => m.kind === 'ready')),
        'the replicas to load',
      )
      stack.idp.resetCounts()
      for (const r of replicas) r.child.stdin?.write('go\n')

      // Cold start: every replica gets a token, the IdP sees one request.
      await until(
        () => replicas.every((r) => r.reports.some((m) => m.kind === 'token')),
        'every replica to hold a token',
      )
      expect(clientCredentials()).toBe(1)
      const tokenReports = () =>
        replicas.flatMap((r) => r.reports.filter((m) => m.kind === 'token'))
      expect(tokenReports().filter((m) => m.type === 'fetched')).toHaveLength(1)

      // First proactive refresh: one replica refreshes, the others take its token over.
      await until(
        () => replicas.every((r) => r.reports.some(isBackground)),
        'every replica to pass its first refresh',
      )
      expect(clientCredentials()).toBe(2)
      expect(tokenReports().filter((m) => m.type === 'refreshed')).toHaveLength(1)

      // Store outage: each replica falls back to its memory cache and refreshes for itself.
      const mark = replicas.map((r) => r.reports.length)
      await proxy.stop()
      const since = (r: Replica, i: number) => r.reports.slice(mark[i])
      await until(
        () =>
          replicas.every((r, i) => {
            const after = since(r, i)
            const down = after.findIndex((m) => m.kind === 'store' && m.type === 'down')
            return (
              down >= 0 &&
              after.slice(down).some((m) => m.kind === 'token' && m.type === 'refreshed')
            )
          }),
        'every replica to refresh on its own while the store is down',
      )
      expect(clientCredentials()).toBe(2 + REPLICAS)

      // Store back: the next refresh is shared again, one request for the fleet.
      const mark2 = replicas.map((r) => r.reports.length)
      const before = clientCredentials()
      await proxy.start()
      await until(
        () =>
          replicas.every((r) => {
            const after = r.reports.slice(mark2[replicas.indexOf(r)])
            const up = after.findIndex((m) => m.kind === 'store' && m.type === 'up')
            return up >= 0 && after.slice(up).some(isBackground)
          }),
        'every replica to pass a refresh with the store back',
      )
      expect(clientCredentials() - before).toBe(1)

      // The replicas kept working throughout: no failed poll, token or engine call.
      expect(replicas.flatMap((r) => r.reports.filter((m) => m.kind === 'failure'))).toEqual([])
      for (const r of replicas) {
        r.child.kill('SIGTERM')
      }
      for (const r of replicas) {
        if (r.child.exitCode === null) {
          await new Promise((resolve) => r.child.once('exit', resolve))
        }
        expect(r.output()).not.toMatch(/eyJ/)
      }
    }, 90_000)
  },
)

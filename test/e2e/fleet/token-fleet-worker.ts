/**
 * One worker replica for the token-store fleet test: real tenant workers configured from the
 * environment only (as a deployed replica would be), polling through the gateway. It reports its
 * token and store events to the parent as JSON lines on stdout; it never writes a token.
 */
import { loadConfigFromEnv } from '@c7auth/core'
import { createTenantWorkers } from '@c7auth/worker'
import type { WorkerEvent } from '@c7auth/worker'

/** What a replica reports: a summary of one worker event. */
export type FleetReport =
  | { kind: 'ready' }
  | { kind: 'token'; type: string; background: boolean }
  | { kind: 'store'; type: string }
  | { kind: 'failure'; type: string }

const send = (report: FleetReport): void => {
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

function report(event: WorkerEvent): void {
  if (event.type === 'token:lifecycle') {
    send({ kind: 'token', type: event.event.type, background: event.event.background === true })
  } else if (event.type === 'token:store') {
    send({ kind: 'store', type: event.event.type })
  } else if (
    event.type === 'token:failed' ||
    event.type === 'poll:error' ||
    event.type === 'engine:unauthorized'
  ) {
    send({ kind: 'failure', type: event.type })
  }
}

const config = loadConfigFromEnv(process.env, { role: 'worker' })
process.stdin.once('data', () => {
  // Started on the parent's signal, so the replicas start cold together.
  const workers = createTenantWorkers({
    config,
    tenants: ['acme'],
    clientOptions: { asyncResponseTimeout: 500, interval: 50 },
    onEvent: report,
  })
  workers.subscribe('fleet-topic', () => undefined)
  process.once('SIGTERM', () => {
    void workers.close({ timeoutMs: 2000 }).then(() => process.exit(0))
  })
})
send({ kind: 'ready' })

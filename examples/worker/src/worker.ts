/**
 * A tenant worker configured from the environment: one external-task client per tenant in
 * `C7AUTH_TENANTS`, each authenticated with its tenant app's client credentials, polling the gateway
 * at `C7AUTH_WORKER_GATEWAY_URL`. Each task calls a billing API with an app token for `BILLING_AUDIENCE`,
 * conveying tenant and acting user, then completes. SIGINT/SIGTERM stop it gracefully.
 *
 * Against the demo stack: `pnpm demo --serve`, export the worker variables it prints, then
 * `pnpm --filter @c7auth/example-worker start`.
 */
import { loadConfigFromEnv } from '@c7auth/core'
import { createTenantWorkers } from '@c7auth/worker'
import type { WorkerLogger } from '@c7auth/worker'

const env = process.env
const topic = env.WORKER_TOPIC ?? 'charge-customer'
const billingUrl = env.BILLING_URL
const billingAudience = env.BILLING_AUDIENCE ?? 'urn:demo:billing'

const line =
  (level: string) =>
  (fields: Record<string, unknown>, message: string): void => {
    console.log(`${level.padEnd(5)} ${message} ${JSON.stringify(fields)}`)
  }
const logger: WorkerLogger = { info: line('info'), warn: line('warn'), error: line('error') }

const config = loadConfigFromEnv(env, { role: 'worker' })
const workers = createTenantWorkers({
  config,
  logger,
  clientOptions: { asyncResponseTimeout: 20_000, maxTasks: 5 },
})

workers.subscribe(topic, { lockDuration: 30_000, variables: ['amount'] }, async (ctx) => {
  const { task, taskService, tenant, actingUser } = ctx
  if (billingUrl) {
    const res = await ctx.fetch(billingUrl, {
      method: 'POST',
      audience: billingAudience,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        amount: task.variables.get('amount') ?? 0,
        processInstance: task.processInstanceId,
      }),
    })
    if (!res.ok) {
      await taskService.handleFailure(task, {
        errorMessage: `billing answered ${res.status}`,
        retries: 0,
        retryTimeout: 0,
      })
      logger.warn({ tenant, taskId: task.id, status: res.status }, 'billing refused the charge')
      return
    }
  }
  await taskService.complete(task)
  logger.info({ tenant, taskId: task.id, actingUser: actingUser?.userId ?? null }, 'task completed')
})

logger.info(
  { tenants: [...workers.clients.keys()], topic, workerIds: Object.fromEntries(workers.workerIds) },
  'worker started',
)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void workers.close({ timeoutMs: 10_000 }).then((result) => {
      logger.info({ signal, ...result }, 'worker stopped')
      // Nothing else holds the event loop: the process exits by itself.
    })
  })
}

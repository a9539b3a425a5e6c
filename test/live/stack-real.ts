/**
 * `pnpm stack:real`: the real-engine recipe on this machine, no Docker — Keycloak (realm of
 * `examples/real-camunda`), Camunda 7.24, the c7auth gateway (bridge mode) and one worker per
 * tenant. Prints the URLs and ready-to-paste token commands; Ctrl-C stops everything.
 */
import { startRealStack, REALM } from './real-stack.js'

const port = Number(process.argv[2] ?? 8088)
console.log('Starting Keycloak and Camunda 7.24 (the first run fetches Keycloak with Maven)…')
const stack = await startRealStack({ gatewayPort: port, logLevel: 'info' })
stack.workers.subscribe('charge-customer', { lockDuration: 20_000 }, async (ctx) => {
  console.log(`[worker ${ctx.tenant}] charge-customer for ${ctx.task.processInstanceId}`)
  await ctx.taskService.complete(ctx.task)
})
const [acme] = REALM.apps
console.log(`
c7auth real stack is up (keycloak ${stack.timings.keycloak} s, camunda ${stack.timings.engine} s):

  Gateway (engine-rest)  ${stack.gatewayUrl}
  Keycloak realm         ${stack.keycloak.issuer}   (dev mode, in-memory database)
  Camunda engine-rest    ${stack.engine.url}   (admin ${stack.engine.adminUser.id}; only the gateway should use it)
  Workers                one per tenant (${REALM.apps.map((a) => a.tenant).join(', ')}), topic charge-customer

An app token (tenant ${acme.tenant}) and a call through the gateway:
  TOKEN=$(curl -s -u ${acme.clientId}:${acme.secret} -d grant_type=client_credentials ${stack.keycloak.tokenEndpoint} | jq -r .access_token)
  curl -s -H "authorization: Bearer $TOKEN" ${stack.gatewayUrl}/process-definition

A user token for ${REALM.user.username} (tenant ${REALM.user.tenant}):
  curl -s -d grant_type=password -d client_id=${REALM.user.clientId} -d username=${REALM.user.username} -d password=${REALM.user.password} ${stack.keycloak.tokenEndpoint}

Ctrl-C stops everything.`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    console.log('\nStopping…')
    stack.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err)
        process.exit(1)
      },
    )
  })
}

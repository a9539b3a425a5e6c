/**
 * `pnpm demo`: the whole c7auth story on one machine, no setup. `pnpm demo --serve` keeps the stack
 * running and prints ready-made commands. On the engine simulator by default; `DEMO_ENGINE_URL`
 * (engine-rest URL), `DEMO_ENGINE_ADMIN_USER`, `DEMO_ENGINE_ADMIN_PASSWORD` and
 * `DEMO_ENGINE_ADMIN_GROUP` (default `camunda-admin`) put a running Camunda 7 or Operaton behind
 * the gateway instead (a fresh one: the story expects no tasks of its process yet).
 */
import { readFileSync } from 'node:fs'
import { userEngineId } from '@c7auth/gateway'
import { BILLING_AUDIENCE, TENANTS, startDemoStack } from './stack.js'
import type { DemoStack, ExternalEngine } from './stack.js'

const serve = process.argv.includes('--serve')
/** The external task topic of bpmn/order-approval.bpmn; the demo's own workers serve it. */
const DEMO_TOPIC = 'charge-customer'
const bpmn = readFileSync(new URL('./bpmn/order-approval.bpmn', import.meta.url), 'utf8')
const [ACME, GLOBEX] = TENANTS

const step = (() => {
  let n = 0
  return (who: string, what: string, result: string) => {
    n += 1
    console.log(
      `${String(n).padStart(2)}. ${who.padEnd(16)} ${what}\n    ${' '.repeat(16)} → ${result}`,
    )
  }
})()

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    console.error(`\nDEMO FAILED: ${message}`)
    process.exitCode = 1
    throw new Error(message)
  }
}

async function appToken(stack: DemoStack, client: string, secret: string): Promise<string> {
  const res = await fetch(stack.idp.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'engine:read engine:write',
    }),
  })
  const body = (await res.json()) as { access_token?: string }
  check(res.status === 200 && body.access_token, `token for ${client}: HTTP ${res.status}`)
  return body.access_token
}

async function call(
  stack: DemoStack,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the story reads engine JSON freely
): Promise<{ status: number; json: any }> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } }
  if (body instanceof FormData) init.body = body
  else if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers = { ...init.headers, 'content-type': 'application/json' }
  }
  const res = await fetch(`${stack.gateway.url}/engine-rest${path}`, init)
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    check(Date.now() < end, `timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function story(stack: DemoStack): Promise<void> {
  console.log('c7auth demo — two tenants share one Camunda 7 engine behind the gateway\n')
  console.log(`  IdP (oidc-provider)   ${stack.idp.issuer}`)
  console.log(
    `  engine (${stack.engine.name})`.padEnd(24) +
      `${stack.engine.url}   Basic auth on, tenant check on`,
  )
  console.log(`  gateway (bridge mode) ${stack.gateway.url}/engine-rest`)
  console.log(
    `  billing API           ${stack.billing.url}   verifies app tokens for ${BILLING_AUDIENCE}\n`,
  )

  const acme = await appToken(stack, ACME.app, ACME.secret)
  const globex = await appToken(stack, GLOBEX.app, GLOBEX.secret)
  step(
    'acme, globex apps',
    'client_credentials grant at the IdP',
    'JWT access tokens (azp=acme / azp=globex)',
  )

  for (const [tenant, token] of [
    [ACME.id, acme],
    [GLOBEX.id, globex],
  ] as const) {
    const form = new FormData()
    form.append('deployment-name', 'order-approval')
    form.append('tenant-id', tenant)
    form.append('data', new Blob([bpmn], { type: 'application/xml' }), 'order-approval.bpmn')
    const res = await call(stack, token, 'POST', '/deployment/create', form)
    check(res.status === 200 && res.json.tenantId === tenant, `deploy for ${tenant}: ${res.status}`)
    step(
      `${tenant} app`,
      'POST /deployment/create  (order-approval.bpmn)',
      `200, deployment in tenant "${res.json.tenantId}"`,
    )
  }

  const started: Record<string, string> = {}
  for (const [tenant, token] of [
    [ACME.id, acme],
    [GLOBEX.id, globex],
  ] as const) {
    const res = await call(stack, token, 'POST', '/process-definition/key/orderApproval/start', {
      businessKey: `${tenant}-order-1`,
      variables: { amount: { value: tenant === 'acme' ? 42 : 7, type: 'Integer' } },
    })
    check(res.status === 200 && res.json.tenantId === tenant, `start for ${tenant}: ${res.status}`)
    started[tenant] = res.json.id
    step(
      `${tenant} app`,
      'POST /process-definition/key/orderApproval/start',
      `200, instance ${short(res.json.id)} in tenant "${tenant}" (gateway pinned the key to the tenant)`,
    )
  }
  const creators = await Promise.all(
    Object.values(started).map(
      async (id) =>
        (await stack.engine.read<{ startUserId: string }>(`/history/process-instance/${id}`))
          .startUserId,
    ),
  )
  step(
    'engine',
    'who started the instances?',
    `Basic-authenticated users ${creators.map((u) => `"${u}"`).join(', ')}`,
  )

  const alice = await stack.idp.issueUserToken({
    sub: 'alice',
    clientId: ACME.tasklist,
    claims: { preferred_username: 'alice', email: 'alice@acme.example' },
  })
  const tasks = await call(stack, alice, 'GET', '/task?processDefinitionKey=orderApproval')
  check(tasks.status === 200 && tasks.json.length === 1, `alice sees ${tasks.json?.length} tasks`)
  const task = tasks.json[0]
  check(task.tenantId === ACME.id, 'alice sees a task of another tenant')
  step(
    'alice (acme user)',
    'GET /task?processDefinitionKey=orderApproval',
    `1 task: "${task.name}" in tenant "${task.tenantId}" (globex's is invisible)`,
  )

  const foreign = await call(stack, globex, 'GET', `/task/${task.id}`)
  check(foreign.status === 404, `globex read acme's task: ${foreign.status}`)
  step(
    'globex app',
    `GET /task/${short(task.id)}  (acme's task)`,
    `404 "${foreign.json.message}" — refused, same answer as a missing task`,
  )

  const foreignInstance = await call(stack, globex, 'DELETE', `/process-instance/${started.acme}`)
  check(foreignInstance.status === 404, `globex deleted acme's instance: ${foreignInstance.status}`)
  step(
    'globex app',
    `DELETE /process-instance/${short(started.acme as string)}`,
    "404 — acme's instance is untouched",
  )

  const identity = await call(stack, globex, 'PUT', `/group/camunda-admin/members/globex`)
  check(identity.status === 403, `globex joined camunda-admin: ${identity.status}`)
  step(
    'globex app',
    'PUT /group/camunda-admin/members/globex',
    `403 ${identity.json.code} — identity resources are admin only`,
  )

  // Users have engine ids namespaced by issuer (never the same account as an app of that name).
  const aliceEngineId = userEngineId(stack.idp.issuer, 'alice')
  const claim = await call(stack, alice, 'POST', `/task/${task.id}/claim`, {
    userId: aliceEngineId,
  })
  check(claim.status === 204, `claim: ${claim.status}`)
  const done = await call(stack, alice, 'POST', `/task/${task.id}/complete`, {
    variables: { approved: { value: true, type: 'Boolean' } },
  })
  check(done.status === 204, `complete: ${done.status}`)
  step(
    'alice (acme user)',
    'claim + complete "Approve order"',
    '204, 204 — the gateway records alice as the acting user',
  )

  const charges = () => stack.billing.calls.filter((c) => c.path === '/charges')
  const charged = await until('the acme worker to charge', () => charges()[0])
  check(
    charged.tenant === ACME.id &&
      charged.actingUser === aliceEngineId &&
      charged.caller === ACME.app,
    'billing context',
  )
  step(
    'acme worker',
    'fetchAndLock "charge-customer" → ctx.fetch(billing)',
    `billing API saw app "${charged.caller}" (token for ${charged.audience}), tenant "${charged.tenant}", acting user "${charged.actingUser}"`,
  )
  await until(
    'the acme instance to end',
    async () => (await instanceState(stack, started.acme as string)) === 'COMPLETED' || undefined,
  )
  const statement = await until('the acme worker to send the statement as alice', () =>
    stack.billing.calls.find((c) => c.path === '/statements'),
  )
  check(
    statement.subject === 'alice' && statement.actor === ACME.app,
    `statement sent as ${statement.subject} by ${statement.actor ?? 'nobody'}`,
  )
  step(
    'acme worker',
    "ctx.fetch(billing/statements, { onBehalfOf: 'actingUser' })",
    `billing API saw sub "${statement.subject}" with act "${statement.actor}": alice's grant from the vault, exchanged by the acme app (nothing of it in the engine)`,
  )
  step('engine', `process instance ${short(started.acme as string)}`, 'COMPLETED')
  const acmeInstance = started.acme as string
  const grantGone = async () => {
    for (let i = 0; i < 300; i++) {
      if (
        (await stack.vault.list({ tenant: ACME.id, processInstanceId: acmeInstance })).length === 0
      )
        return true
      await new Promise((r) => setTimeout(r, 50))
    }
    return false
  }
  check(await grantGone(), "alice's grant outlived the instance")
  step(
    'gateway',
    `vault after instance ${short(acmeInstance)} ended`,
    "alice's delegation grant deleted (the worker's last completion ended the instance)",
  )

  const globexTasks = await stack.engine.read<unknown[]>(`/external-task?tenantIdIn=${GLOBEX.id}`)
  check(
    charges().length === 1 && globexTasks.length === 0,
    'globex should have no external task yet',
  )
  step(
    'globex worker',
    'polling the same topic',
    "nothing: its tenant has no external task, and acme's was never offered",
  )

  const log = (
    await stack.engine.read<{ entityType: string; userId: string; operationType: string }[]>(
      '/history/user-operation?sortBy=timestamp&sortOrder=asc',
    )
  )
    .filter((e) => e.entityType === 'Task' || e.entityType === 'ProcessInstance')
    .map((e) => `${e.userId}:${e.operationType}`)
  check(
    log.includes(`${aliceEngineId}:Complete`) && log.includes('acme:Create'),
    `operation log: ${log.join(', ')}`,
  )
  step('engine', 'user operation log', [...new Set(log)].join(', '))

  console.log(
    '\nDemo finished: every call authenticated with a real OAuth token, every tenant kept apart.',
  )
}

async function instanceState(stack: DemoStack, id: string): Promise<string> {
  return (await stack.engine.read<{ state: string }>(`/history/process-instance/${id}`)).state
}

function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id
}

/** Charges the demo's own workers made or are making: the rest came from another worker. */
const own = { charged: 0, charging: 0 }

/**
 * While serving: says when a worker other than the demo's own takes tasks of {@link DEMO_TOPIC}
 * (an example worker started from the printed command competes with the demo's workers). Two
 * signals, checked twice a second: a task locked by a foreign worker id (names it, when the lock
 * is seen), and billing charges the demo's workers did not make (every completed task charges).
 */
function watchCompetingWorkers(stack: DemoStack): NodeJS.Timeout {
  // The gateway namespaces worker ids by tenant (`acme:<id>`): compare what the engine stores.
  const ownIds = new Set([...stack.workers.workerIds].map(([tenant, id]) => `${tenant}:${id}`))
  const named = new Set<string>()
  let reported = 0
  const say = (text: string) => console.log(`\n${text}`)
  const timer = setInterval(async () => {
    const locked = await stack.engine
      .read<{ topicName: string; workerId: string | null; tenantId: string | null }[]>(
        `/external-task?topicName=${DEMO_TOPIC}&locked=true`,
      )
      .catch(() => [])
    for (const task of locked) {
      const id = task.workerId
      if (task.topicName !== DEMO_TOPIC || id === null || ownIds.has(id) || named.has(id)) continue
      named.add(id)
      say(
        `Worker ${id} (tenant ${task.tenantId ?? '-'}) took a "${DEMO_TOPIC}" task: it competes with the demo's own workers; each task goes to whichever fetches it first.`,
      )
    }
    const foreign =
      stack.billing.calls.filter((c) => c.path === '/charges').length - own.charged - own.charging
    if (foreign > reported) {
      reported = foreign
      say(
        `${foreign} charge(s) so far came from a worker other than the demo's own: it competes with them for "${DEMO_TOPIC}" tasks.`,
      )
    }
  }, 500)
  timer.unref()
  return timer
}

/** The running engine named by `DEMO_ENGINE_*`, or none (the demo starts the simulator). */
function externalEngine(): ExternalEngine | undefined {
  const url = process.env.DEMO_ENGINE_URL
  if (!url) return undefined
  const id = process.env.DEMO_ENGINE_ADMIN_USER
  const password = process.env.DEMO_ENGINE_ADMIN_PASSWORD
  if (!id || !password) {
    console.error('DEMO_ENGINE_URL needs DEMO_ENGINE_ADMIN_USER and DEMO_ENGINE_ADMIN_PASSWORD')
    process.exit(2)
  }
  const adminGroup = process.env.DEMO_ENGINE_ADMIN_GROUP
  return {
    url,
    admin: { id, password },
    name: new URL(url).host,
    ...(adminGroup ? { adminGroup } : {}),
  }
}

const external = externalEngine()
const stack = await startDemoStack(external ? { engine: external } : {})
stack.workers.subscribe(DEMO_TOPIC, { lockDuration: 10_000 }, async (ctx) => {
  own.charging++
  const res = await ctx
    .fetch(`${stack.billing.url}/charges`, {
      method: 'POST',
      audience: BILLING_AUDIENCE,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: ctx.task.variables.get('amount') }),
    })
    .finally(() => own.charging--)
  if (res.status === 201) own.charged++
  if (res.status !== 201) throw new Error(`billing answered ${res.status}`)
  if (ctx.tenant === 'acme') {
    // The statement goes out as the approver: alice's grant, never the app's token instead.
    const statement = await ctx.fetch(`${stack.billing.url}/statements`, {
      method: 'POST',
      onBehalfOf: 'actingUser',
      audience: BILLING_AUDIENCE,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: ctx.task.variables.get('amount') }),
    })
    if (statement.status !== 201) throw new Error(`billing answered ${statement.status}`)
  }
  await ctx.taskService.complete(ctx.task)
})

try {
  await story(stack)
} catch (err) {
  process.exitCode = 1
  if (!(err instanceof Error && err.message && process.exitCode === 1)) console.error(err)
}

if (serve && process.exitCode !== 1) {
  const t = TENANTS[0]
  console.log(`
The stack keeps running (Ctrl-C to stop).

  gateway   ${stack.gateway.url}/engine-rest     metrics ${stack.gateway.url}/metrics
  IdP       ${stack.idp.issuer}

Get an app token (tenant ${t.id}) and call the engine through the gateway:

  TOKEN=$(curl -s -u ${t.app}:${t.secret} -d grant_type=client_credentials -d 'scope=engine:read engine:write' \\
    ${stack.idp.tokenEndpoint} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s -H "Authorization: Bearer $TOKEN" ${stack.gateway.url}/engine-rest/process-definition
  curl -s -H "Authorization: Bearer $TOKEN" ${stack.gateway.url}/engine-rest/task
  curl -s -i ${stack.gateway.url}/engine-rest/task          # no token: 401 + WWW-Authenticate

A user token for alice (tenant ${t.id}):

  curl -s -d client_id=${t.tasklist} -d grant_type=urn:c7auth:testkit:user -d sub=alice \\
    --data-urlencode 'claims={"preferred_username":"alice"}' -d 'scope=engine:read engine:write' ${stack.idp.tokenEndpoint}
`)
  const workerEnv = [
    `C7AUTH_TENANTS=${t.id}`,
    `C7AUTH_WORKER_GATEWAY_URL=${stack.gateway.url}/engine-rest`,
    `C7AUTH_TENANT_${t.id.toUpperCase()}_ISSUER=${stack.idp.issuer}`,
    `C7AUTH_TENANT_${t.id.toUpperCase()}_CLIENT_ID=${t.app}`,
    `C7AUTH_TENANT_${t.id.toUpperCase()}_CLIENT_SECRET=${t.secret}`,
    `C7AUTH_TENANT_${t.id.toUpperCase()}_TOKEN_SCOPE='engine:read engine:write'`,
    `BILLING_URL=${stack.billing.url}/charges`,
    `BILLING_AUDIENCE=${BILLING_AUDIENCE}`,
  ]
  const gatewayEnv = Object.entries({
    ...stack.gatewayEnv,
    C7AUTH_LOG_LEVEL: 'info',
    C7AUTH_GATEWAY_PORT: '8090',
  }).map(([k, v]) => `${k}=${v}`)
  console.log(`Run the examples against this stack (from the repository root):

  # a worker of tenant ${t.id} (examples/worker)
  env ${workerEnv.join(' \\\n      ')} \\
    pnpm --filter @c7auth/example-worker start

  Note: the demo's own workers keep polling topic "${DEMO_TOPIC}" for every tenant, and the
  example worker subscribes to the same topic by default: the two compete, and each task goes
  to whichever fetches it first (the demo's worker logs it here, the example's in its terminal).
  To watch only the example worker, give it its own topic (WORKER_TOPIC=…) and start instances
  of a process whose external task uses that topic.

  # your own Express gateway in front of the same engine (examples/express-gateway)
  env ${gatewayEnv.join(' \\\n      ')} \\
    pnpm --filter @c7auth/example-express-gateway start
`)
  const watch = watchCompetingWorkers(stack)
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
  clearInterval(watch)
}
await stack.close()

/**
 * The small engine-rest client the parity probes use: plain `fetch` with HTTP Basic, the same on
 * the simulator and on real engines.
 */
import { randomBytes } from 'node:crypto'

/** What a parity probe needs of an engine: its URL and an admin account. */
export interface ParityEngine {
  /** `simulator`, `camunda7`, `operaton`, … (for messages only). */
  readonly name: string
  /** `http://127.0.0.1:<port>/engine-rest` */
  readonly url: string
  /** Member of the admin group, with every authorization. */
  readonly admin: { readonly id: string; readonly password: string }
}

/** An engine user (id and password). */
export interface EngineUser {
  readonly id: string
  readonly password: string
}

/** One engine answer, read in full. */
export interface ProbeAnswer {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
  readonly json: unknown
}

/** Basic credentials for `user`. */
export function basic(user: EngineUser): string {
  return 'Basic ' + Buffer.from(`${user.id}:${user.password}`).toString('base64')
}

/** A fresh alphanumeric id (valid under the engines' default id pattern). */
export function freshId(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`
}

/** Calls engine-rest as `user` (default the admin); JSON bodies are sent as JSON. */
export async function call(
  engine: ParityEngine,
  method: string,
  path: string,
  body?: unknown,
  user: EngineUser | null = engine.admin,
  init: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<ProbeAnswer> {
  const headers: Record<string, string> = { ...init.headers }
  if (user !== null) headers.authorization = basic(user)
  let payload: string | FormData | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  const res = await fetch(`${engine.url}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
    ...(init.signal ? { signal: init.signal } : {}),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, json }
}

/** Like {@link call}, but throws unless the answer is 2xx; returns the JSON. */
export async function ok<T = unknown>(
  engine: ParityEngine,
  method: string,
  path: string,
  body?: unknown,
  user: EngineUser | null = engine.admin,
): Promise<T> {
  const r = await call(engine, method, path, body, user)
  if (r.status < 200 || r.status > 299) {
    throw new Error(
      `${engine.name}: ${method} ${path} answered ${r.status}: ${r.text.slice(0, 300)}`,
    )
  }
  return r.json as T
}

/** Deploys one BPMN resource as the admin (multipart), optionally for a tenant. */
export async function deploy(
  engine: ParityEngine,
  xml: string,
  tenantId: string | null = null,
): Promise<{ id: string; definitionId: string; tenantId: string | null }> {
  const form = new FormData()
  form.append('deployment-name', 'parity')
  if (tenantId !== null) form.append('tenant-id', tenantId)
  form.append('process.bpmn', new Blob([xml], { type: 'application/octet-stream' }), 'process.bpmn')
  const dep = await ok<{
    id: string
    tenantId: string | null
    deployedProcessDefinitions: Record<string, unknown>
  }>(engine, 'POST', '/deployment/create', form)
  const definitionId = Object.keys(dep.deployedProcessDefinitions ?? {})[0]
  if (definitionId === undefined) throw new Error(`${engine.name}: nothing deployed`)
  return { id: dep.id, definitionId, tenantId: dep.tenantId }
}

/** Creates a tenant (admin). */
export async function createTenant(engine: ParityEngine, id: string): Promise<void> {
  await ok(engine, 'POST', '/tenant/create', { id, name: id })
}

/** A password that satisfies the engines' default password policy. */
export const STRONG_PASSWORD = 'Parity-Passw0rd!'

/** Creates a user with {@link STRONG_PASSWORD}, optionally member of tenants/groups. */
export async function createUser(
  engine: ParityEngine,
  id: string,
  memberOf: { tenants?: readonly string[]; groups?: readonly string[] } = {},
): Promise<EngineUser> {
  await ok(engine, 'POST', '/user/create', {
    profile: { id, firstName: 'Probe', lastName: 'User', email: `${id}@parity.example` },
    credentials: { password: STRONG_PASSWORD },
  })
  for (const t of memberOf.tenants ?? []) {
    await ok(engine, 'PUT', `/tenant/${t}/user-members/${id}`)
  }
  for (const g of memberOf.groups ?? []) {
    await ok(engine, 'PUT', `/group/${g}/members/${id}`)
  }
  return { id, password: STRONG_PASSWORD }
}

/** Grants `permissions` on `resourceType`/`resourceId` to a user (admin). */
export async function grant(
  engine: ParityEngine,
  userId: string,
  resourceType: number,
  resourceId: string,
  permissions: readonly string[],
): Promise<void> {
  await ok(engine, 'POST', '/authorization/create', {
    type: 1,
    permissions,
    userId,
    groupId: null,
    resourceType,
    resourceId,
  })
}

/** Starts `key` (latest shared or tenant definition) as the admin; returns the instance. */
export async function start(
  engine: ParityEngine,
  key: string,
  tenantId: string | null = null,
  variables: Record<string, { value: unknown; type: string }> = {},
): Promise<{ id: string; tenantId: string | null }> {
  const path =
    tenantId === null
      ? `/process-definition/key/${key}/start`
      : `/process-definition/key/${key}/tenant-id/${tenantId}/start`
  return ok(engine, 'POST', path, { variables })
}

/** `{ type, message }` of an engine error body, with `ids` replaced by `<id>`. */
export function errorShape(
  answer: ProbeAnswer,
  ids: readonly string[] = [],
): { status: number; contentType: string | null; body: unknown } {
  let body: unknown = answer.json ?? answer.text
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>
    body = Object.fromEntries(
      Object.keys(b)
        .sort()
        .map((k) => [k, typeof b[k] === 'string' ? scrub(b[k], ids) : b[k]]),
    )
  } else if (typeof body === 'string') body = scrub(body, ids)
  return { status: answer.status, contentType: answer.contentType, body }
}

function scrub(text: string, ids: readonly string[]): string {
  let out = text
  for (const id of ids) out = out.split(id).join('<id>')
  return out
}

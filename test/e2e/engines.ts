/**
 * Which engines the e2e suites run against, and one place that starts them.
 *
 * `C7AUTH_TEST_ENGINES` (comma list of `simulator`, `camunda7`, `operaton`) selects them. Default:
 * all three when `java` runs and the jars from `pnpm engines:build` exist, else `simulator` only,
 * with one console line saying which engine suites are skipped and why.
 * `C7AUTH_REQUIRE_ENGINES=1` (CI) turns a missing Java or jar into a failure instead.
 * `C7AUTH_TEST_ENGINE_DATABASE` (`postgres` default, or `h2`) and `C7AUTH_TEST_POSTGRES_URL`
 * choose the real engines' database.
 *
 * @example
 * ```ts
 * describeEngines('not-found parity', (ctx) => {
 *   it('answers 404', async () => {
 *     const res = await adminFetch(ctx.engine, 'GET', '/task/nope')
 *     expect(res.status).toBe(404)
 *   })
 * })
 * ```
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe } from 'vitest'
import { defaultEngineJar, startCamundaEngine, startEngineSimulator } from '@c7auth/testkit'
import type {
  CamundaEngine,
  EngineFlavor,
  EngineSimulator,
  EngineSimulatorOptions,
} from '@c7auth/testkit'

export type EngineName = 'simulator' | EngineFlavor

/** The engine admin's password: valid under the engines' password policy. */
export const ENGINE_ADMIN = { id: 'admin', password: 'Adm1n-Passw0rd!' } as const

/** One running engine, whatever its kind. */
export interface TestEngine {
  readonly name: EngineName
  /** `http://127.0.0.1:<port>/engine-rest` */
  readonly url: string
  readonly origin: string
  /** Member of {@link adminGroup} with every authorization. */
  readonly admin: { readonly id: string; readonly password: string }
  /** `camunda-admin` (simulator, Camunda 7) or `operaton-admin`. */
  readonly adminGroup: string
  /** Direct seeding, inspection, faults and request log: the simulator only (`null` on real engines). */
  readonly simulator: EngineSimulator | null
  /** The JVM's log file (real engines), for failure messages. */
  readonly logFile: string | null
  close(): Promise<void>
}

/** Options for {@link startTestEngine}; the simulator part is ignored by real engines. */
export interface TestEngineOptions {
  /** Simulator options; defaults: password policy and authorization on, admin {@link ENGINE_ADMIN}. */
  readonly simulator?: EngineSimulatorOptions
  /** Extra JVM environment (e.g. `C7AUTH_TEST_ENGINE_AUTH_PROVIDER`). */
  readonly env?: Readonly<Record<string, string>>
  /** Extra jars for the engine's class path (`-Dloader.path`). */
  readonly classpath?: readonly string[]
}

const ALL: readonly EngineName[] = ['simulator', 'camunda7', 'operaton']
/** A real engine's start, including a fresh PostgreSQL schema, on 2 busy cores. */
export const ENGINE_START_TIMEOUT_MS = 240_000

function javaVersion(): string | null {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 20_000 })
  if (r.status !== 0) return null
  return (r.stderr || r.stdout).split('\n')[0] ?? 'java'
}

let selection: readonly EngineName[] | null = null

/** The engines selected for this run (see the module comment); logs skipped ones once. */
export function selectedEngines(): readonly EngineName[] {
  if (selection !== null) return selection
  const require = process.env.C7AUTH_REQUIRE_ENGINES === '1'
  const raw = process.env.C7AUTH_TEST_ENGINES?.trim()
  const explicit = raw !== undefined && raw !== ''
  const wanted = explicit
    ? raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...ALL]
  for (const name of wanted) {
    if (!(ALL as readonly string[]).includes(name)) {
      throw new Error(`C7AUTH_TEST_ENGINES: unknown engine "${name}" (known: ${ALL.join(', ')})`)
    }
  }
  const real = wanted.filter((n): n is EngineFlavor => n !== 'simulator')
  const missing: string[] = []
  if (real.length > 0) {
    if (javaVersion() === null) missing.push('no `java` on the PATH')
    for (const flavor of real) {
      if (!existsSync(defaultEngineJar(flavor)))
        missing.push(`no ${flavor} jar (run \`pnpm engines:build\`)`)
    }
  }
  if (missing.length > 0) {
    const reason = `real engine suites (${real.join(', ')}) cannot run: ${missing.join('; ')}`
    if (require || explicit)
      throw new Error(`${reason}. C7AUTH_TEST_ENGINES/C7AUTH_REQUIRE_ENGINES ask for them.`)
    console.warn(`[c7auth] SKIPPED ${reason}; running the simulator only.`)
    selection = wanted.filter((n) => n === 'simulator') as EngineName[]
  } else {
    selection = wanted as EngineName[]
  }
  return selection
}

/** Starts one engine by name (the caller closes it). */
export async function startTestEngine(
  name: EngineName,
  options: TestEngineOptions = {},
): Promise<TestEngine> {
  if (name === 'simulator') {
    const sim = await startEngineSimulator({
      passwordPolicy: true,
      authorizationChecks: true,
      adminUser: { ...ENGINE_ADMIN },
      ...options.simulator,
    })
    return {
      name,
      url: sim.url,
      origin: sim.origin,
      admin: { ...ENGINE_ADMIN },
      adminGroup: options.simulator?.adminGroup ?? 'camunda-admin',
      simulator: sim,
      logFile: null,
      close: () => sim.close(),
    }
  }
  const database = process.env.C7AUTH_TEST_ENGINE_DATABASE === 'h2' ? 'h2' : 'postgres'
  const postgresUrl = process.env.C7AUTH_TEST_POSTGRES_URL
  const engine: CamundaEngine = await startCamundaEngine({
    flavor: name,
    database,
    adminUser: { ...ENGINE_ADMIN },
    startupTimeoutMs: ENGINE_START_TIMEOUT_MS - 10_000,
    ...(postgresUrl ? { postgresUrl } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.classpath ? { classpath: options.classpath } : {}),
  })
  return {
    name,
    url: engine.url,
    origin: engine.origin,
    admin: engine.adminUser,
    adminGroup: engine.adminGroup,
    simulator: null,
    logFile: engine.logFile,
    close: () => engine.close(),
  }
}

/** What a suite body gets: the engine is there from the first `beforeAll` on. */
export interface EngineContext {
  readonly name: EngineName
  /** The running engine (throws before the suite's first `beforeAll`). */
  readonly engine: TestEngine
  /** `true` on the simulator: simulator-only checks (request log, faults, clock) may run. */
  readonly isSimulator: boolean
}

/**
 * Runs `body` once per selected engine, as `describe("<title> [<engine>]")`. The engine starts
 * once per describe block (`beforeAll`, long timeout) before any `beforeAll` of `body`, and stops
 * in `afterAll` even when tests fail. `only` narrows to engines the suite supports.
 */
export function describeEngines(
  title: string,
  body: (ctx: EngineContext) => void,
  options: TestEngineOptions & { only?: readonly EngineName[] } = {},
): void {
  for (const name of selectedEngines()) {
    if (options.only !== undefined && !options.only.includes(name)) continue
    describe(`${title} [${name}]`, () => {
      let engine: TestEngine | undefined
      const ctx: EngineContext = {
        name,
        isSimulator: name === 'simulator',
        get engine(): TestEngine {
          if (engine === undefined)
            throw new Error(`${name} engine is not started (used outside a hook or test?)`)
          return engine
        },
      }
      beforeAll(async () => {
        engine = await startTestEngine(name, options)
      }, ENGINE_START_TIMEOUT_MS)
      afterAll(async () => {
        await engine?.close()
      }, 60_000)
      body(ctx)
    })
  }
}

/** Basic credentials header for an engine user. */
export function basicAuth(user: { readonly id: string; readonly password: string }): string {
  return 'Basic ' + Buffer.from(`${user.id}:${user.password}`).toString('base64')
}

/** An engine answer read in full. */
export interface EngineAnswer {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
  readonly json: unknown
}

/**
 * Calls the engine directly (not through the gateway) as `user` (default: the admin). The way to
 * set up or inspect state that works on every engine; JSON bodies are sent as JSON.
 */
export async function engineFetch(
  engine: TestEngine,
  method: string,
  path: string,
  body?: unknown,
  user: { readonly id: string; readonly password: string } = engine.admin,
): Promise<EngineAnswer> {
  const headers: Record<string, string> = { authorization: basicAuth(user) }
  let payload: string | undefined
  if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  const res = await fetch(`${engine.url}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
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

/** Like {@link engineFetch} but throws unless the status is 2xx; returns the parsed JSON. */
export async function engineAdmin<T = unknown>(
  engine: TestEngine,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await engineFetch(engine, method, path, body)
  if (r.status < 200 || r.status > 299) {
    throw new Error(
      `${engine.name}: ${method} ${path} answered ${r.status}: ${r.text.slice(0, 300)}`,
    )
  }
  return r.json as T
}

/**
 * Deploys one BPMN (or, with `resourceName: 'x.dmn'`, DMN) resource directly as the admin (multipart, like the engine's own clients); the
 * engine-agnostic stand-in for the simulator's `deploy()`. Returns the engine's deployment DTO.
 */
export async function engineDeploy(
  engine: TestEngine,
  xml: string,
  options: { name?: string; tenantId?: string | null; resourceName?: string } = {},
): Promise<{
  id: string
  deployedProcessDefinitions: Record<string, { id: string; key: string }>
}> {
  const name = options.name ?? 'process'
  const form = new FormData()
  form.append('deployment-name', name)
  if (options.tenantId) form.append('tenant-id', options.tenantId)
  const resource = options.resourceName ?? `${name}.bpmn`
  form.append(resource, new Blob([xml], { type: 'application/octet-stream' }), resource)
  const res = await fetch(`${engine.url}/deployment/create`, {
    method: 'POST',
    headers: { authorization: basicAuth(engine.admin) },
    body: form,
  })
  const text = await res.text()
  if (res.status !== 200)
    throw new Error(`${engine.name}: deployment answered ${res.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text) as {
    id: string
    deployedProcessDefinitions: Record<string, { id: string; key: string }>
  }
}

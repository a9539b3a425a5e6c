import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { findRepoRoot } from '../openapi/repo-root.js'

/** Which engine distribution a test engine jar is built from (see `test/engines/`). */
export type EngineFlavor = 'camunda7' | 'operaton'

/** Options of {@link startCamundaEngine}. Nothing here is read from the environment. */
export interface CamundaEngineOptions {
  readonly flavor: EngineFlavor
  /** `postgres` (default): a fresh database per start, dropped on close. `h2`: in memory. */
  readonly database?: 'postgres' | 'h2'
  /**
   * Connection URL of a PostgreSQL role allowed to create databases
   * (default `postgres://postgres@127.0.0.1:5432/test`). The engine gets a new database on the
   * same server.
   */
  readonly postgresUrl?: string
  /** The engine jar (default `<repo>/test/engines/<flavor>/target/c7auth-test-engine-<flavor>.jar`). */
  readonly jar?: string
  /** Java executable (default `java` on the PATH). */
  readonly java?: string
  /** Jars or directories added at start (`-Dloader.path`), e.g. an authentication provider. */
  readonly classpath?: readonly string[]
  /**
   * Extra environment of the JVM, e.g. `C7AUTH_TEST_ENGINE_AUTH_PROVIDER` (the filter's provider
   * class). The harness's own `C7AUTH_TEST_ENGINE_*` settings win over these.
   */
  readonly env?: Readonly<Record<string, string>>
  /** Created at startup with all authorizations; must satisfy the engine's password policy. */
  readonly adminUser?: { readonly id: string; readonly password: string }
  /** Extra JVM flags, after the fast-start defaults. */
  readonly jvmArgs?: readonly string[]
  /** Give up (and kill the JVM) after this long (default 180 000 ms). */
  readonly startupTimeoutMs?: number
  /** Where the JVM's stdout/stderr log goes (default the OS temp directory). */
  readonly logDir?: string
}

/**
 * A running real engine. Same core shape as {@link EngineSimulator} (`url`, `origin`, `close()`);
 * what only the simulator can offer (request recording, fault injection, clock, direct seeding) is
 * absent, and typed as absent so a test cannot call it by mistake.
 */
export interface CamundaEngine {
  readonly flavor: EngineFlavor
  /** Base URL, e.g. `http://127.0.0.1:41234/engine-rest`. */
  readonly url: string
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  /** The user created at startup, member of {@link adminGroup}. */
  readonly adminUser: { readonly id: string; readonly password: string }
  /** `camunda-admin` or `operaton-admin`: the group the starter creates with all authorizations. */
  readonly adminGroup: string
  /** As answered by `GET /engine-rest/version`, e.g. `7.24.0`. */
  readonly version: string
  /** The JVM's stdout and stderr. */
  readonly logFile: string
  /** The PostgreSQL database name, or `null` on H2. */
  readonly databaseName: string | null
  readonly requests?: never
  readonly setFault?: never
  readonly seed?: never
  readonly clock?: never
  /** Stops the JVM (TERM, then KILL after 10 s) and drops its database. Idempotent. */
  close(): Promise<void>
}

const DEFAULT_ADMIN = { id: 'admin', password: 'Adm1n-Pass-Word!' } as const
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
const DATABASE_PREFIX = 'c7auth_engine_'
/** Startup cost is paid once per test file; these flags halve it on 2 shared cores. */
const FAST_START_FLAGS = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xss512k',
  '-Xms64m',
  '-Xmx512m',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
]

/** Engine JVMs alive in this process, killed on exit or on a terminating signal. */
const live = new Set<ChildProcess>()
let exitHooksInstalled = false

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  live.clear()
}

function installExitHooks(): void {
  if (exitHooksInstalled) return
  exitHooksInstalled = true
  process.on('exit', killAllSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllSync()
      process.removeListener(signal, onSignal)
      // keep the default meaning of the signal when nobody else handles it
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

/** The jar built by `pnpm engines:build` for `flavor`. */
export function defaultEngineJar(flavor: EngineFlavor, repoRoot: string = findRepoRoot()): string {
  return join(repoRoot, 'test', 'engines', flavor, 'target', `c7auth-test-engine-${flavor}.jar`)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Creates a fresh database; first drops those left by test processes that no longer exist. */
async function createDatabase(adminUrl: string, flavor: EngineFlavor): Promise<string> {
  const name = `${DATABASE_PREFIX}${flavor}_${process.pid}_${randomBytes(4).toString('hex')}`
  await withClient(adminUrl, async (client) => {
    const old = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${DATABASE_PREFIX}%`],
    )
    for (const { datname } of old.rows) {
      const pid = Number(/_(\d+)_[0-9a-f]+$/.exec(datname)?.[1])
      if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) {
        await client
          .query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`)
          .catch(() => {})
      }
    }
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`)
  })
  return name
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  )
}

function readPort(file: string): number | null {
  if (!existsSync(file)) return null
  const port = Number(readFileSync(file, 'utf8').trim())
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : null
}

function basic(user: { id: string; password: string }): string {
  return 'Basic ' + Buffer.from(`${user.id}:${user.password}`).toString('base64')
}

/**
 * Starts a real Camunda 7 or Operaton engine (a jar from `test/engines/`, built by
 * `pnpm engines:build`) on a free port, on a fresh PostgreSQL database (or H2), with the
 * engine's own HTTP Basic filter on every `/engine-rest` path, authorization checks on, history
 * `full` and the password policy on. Resolves once an admin-authenticated `GET /engine-rest/version`
 * answers. The JVM never outlives the caller: it is killed on `close()`, on a failed start, on
 * process exit or a terminating signal, and by itself when the caller's process is gone (it
 * watches its stdin). On a failed start the error names the JVM's log file.
 *
 * @example
 * ```ts
 * const engine = await startCamundaEngine({ flavor: 'camunda7' })
 * const res = await fetch(`${engine.url}/version`, {
 *   headers: { authorization: 'Basic ' + Buffer.from(`${engine.adminUser.id}:${engine.adminUser.password}`).toString('base64') },
 * })
 * await engine.close()
 * ```
 */
export async function startCamundaEngine(options: CamundaEngineOptions): Promise<CamundaEngine> {
  const { flavor } = options
  const jar = options.jar ?? defaultEngineJar(flavor)
  if (!existsSync(jar)) {
    throw new Error(`No ${flavor} engine jar at ${jar}: build it with \`pnpm engines:build\``)
  }
  const adminUser = options.adminUser ?? DEFAULT_ADMIN
  const adminGroup = flavor === 'camunda7' ? 'camunda-admin' : 'operaton-admin'
  const database = options.database ?? 'postgres'
  const postgresUrl = options.postgresUrl ?? DEFAULT_POSTGRES_URL
  const timeoutMs = options.startupTimeoutMs ?? 180_000

  const workDir = mkdtempSync(join(tmpdir(), `c7auth-engine-${flavor}-`))
  const portFile = join(workDir, 'port')
  const logFile = join(
    options.logDir ?? tmpdir(),
    `c7auth-engine-${flavor}-${process.pid}-${randomBytes(3).toString('hex')}.log`,
  )

  const databaseName = database === 'postgres' ? await createDatabase(postgresUrl, flavor) : null
  const env: Record<string, string> = { ...process.env, ...options.env } as Record<string, string>
  // never let the caller's environment point this JVM at another database or port
  for (const key of Object.keys(env)) {
    if (key.startsWith('C7AUTH_TEST_ENGINE_') && !(options.env && key in options.env))
      delete env[key]
  }
  Object.assign(env, {
    C7AUTH_TEST_ENGINE_PORT: '0',
    C7AUTH_TEST_ENGINE_ADDRESS: '127.0.0.1',
    C7AUTH_TEST_ENGINE_PORT_FILE: portFile,
    C7AUTH_TEST_ENGINE_EXIT_ON_STDIN_EOF: '1',
    C7AUTH_TEST_ENGINE_ADMIN_USER: adminUser.id,
    C7AUTH_TEST_ENGINE_ADMIN_PASSWORD: adminUser.password,
  })
  if (databaseName !== null) {
    const pgUrl = new URL(postgresUrl)
    env.C7AUTH_TEST_ENGINE_JDBC_URL = `jdbc:postgresql://${pgUrl.hostname}:${pgUrl.port || '5432'}/${databaseName}`
    env.C7AUTH_TEST_ENGINE_JDBC_USER = decodeURIComponent(pgUrl.username || 'postgres')
    env.C7AUTH_TEST_ENGINE_JDBC_PASSWORD = decodeURIComponent(pgUrl.password)
  } else {
    env.C7AUTH_TEST_ENGINE_JDBC_URL = `jdbc:h2:mem:c7auth-${randomBytes(4).toString('hex')};DB_CLOSE_DELAY=-1;DB_CLOSE_ON_EXIT=FALSE`
    env.C7AUTH_TEST_ENGINE_JDBC_USER = 'sa'
    env.C7AUTH_TEST_ENGINE_JDBC_PASSWORD = ''
  }

  const args = [...FAST_START_FLAGS, ...(options.jvmArgs ?? [])]
  if (options.classpath !== undefined && options.classpath.length > 0) {
    args.push(`-Dloader.path=${options.classpath.join(',')}`)
  }
  args.push('-jar', jar)

  const logFd = openSync(logFile, 'a')
  installExitHooks()
  let child: ChildProcess
  try {
    child = spawn(options.java ?? 'java', args, { env, stdio: ['pipe', logFd, logFd] })
  } finally {
    closeSync(logFd)
  }
  live.add(child)
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null
  let spawnError: Error | null = null
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal }
      live.delete(child)
      resolve()
    })
    child.once('error', (error) => {
      spawnError = error
      live.delete(child)
      resolve()
    })
  })
  // a pipe error after the JVM died must not crash the test process
  child.stdin?.on('error', () => {})

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (exited === null && spawnError === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exitPromise
        clearTimeout(timer)
      }
      child.stdin?.destroy()
      rmSync(workDir, { recursive: true, force: true })
      if (databaseName !== null) await dropDatabase(postgresUrl, databaseName)
    })()
    return closing
  }

  const fail = async (reason: string): Promise<never> => {
    await close().catch(() => {})
    const message = `${flavor} engine did not start: ${reason}. JVM log: ${logFile}`
    console.error(message)
    throw new Error(message)
  }

  const deadline = Date.now() + timeoutMs
  let port: number | null = null
  let version: string | null = null
  let lastProblem = 'no port yet'
  for (let attempt = 0; Date.now() < deadline; attempt += 1) {
    if (spawnError !== null)
      return fail(`cannot run ${options.java ?? 'java'} (${String(spawnError)})`)
    if (exited !== null) {
      const { code, signal } = exited as { code: number | null; signal: NodeJS.Signals | null }
      return fail(`the JVM exited during startup (code ${code}, signal ${signal})`)
    }
    port ??= readPort(portFile)
    if (port !== null) {
      try {
        // any HTTP answer (401 included) shows the app is up; then the admin must get through
        const anonymous = await fetch(`http://127.0.0.1:${port}/engine-rest/version`, {
          signal: AbortSignal.timeout(5_000),
        })
        await anonymous.arrayBuffer()
        const res = await fetch(`http://127.0.0.1:${port}/engine-rest/version`, {
          headers: { authorization: basic(adminUser) },
          signal: AbortSignal.timeout(5_000),
        })
        const text = await res.text()
        if (res.status === 200) {
          version = (JSON.parse(text) as { version: string }).version
          break
        }
        lastProblem = `GET /engine-rest/version as ${adminUser.id} answered ${res.status}`
        // the app answers but refuses the admin: waiting will not help
        if (res.status === 401 || res.status === 403) return fail(lastProblem)
      } catch (error) {
        lastProblem = `GET /engine-rest/version failed: ${String(error)}`
      }
    }
    await sleep(Math.min(100 * (attempt + 1), 500))
  }
  if (version === null || port === null)
    return fail(`timed out after ${timeoutMs} ms (${lastProblem})`)

  const origin = `http://127.0.0.1:${port}`
  return {
    flavor,
    url: `${origin}/engine-rest`,
    origin,
    adminUser: { ...adminUser },
    adminGroup,
    version,
    logFile,
    databaseName,
    close,
  }
}

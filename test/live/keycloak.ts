/**
 * A real Keycloak for the live suite and `pnpm stack:real`: the server distribution from the Maven
 * registry (`org.keycloak:keycloak-quarkus-dist`, tar.gz), unpacked once into a cache folder,
 * started in dev mode on a free loopback port with an in-memory database and one realm imported.
 * Nothing here reads the environment: callers pass what they want.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

/** The Keycloak release the suite is pinned to (26.x serves Java 17). */
export const KEYCLOAK_VERSION = '26.4.0'

/** Options of {@link startKeycloak}. */
export interface KeycloakOptions {
  /** Realm export to import (e.g. `examples/real-camunda/keycloak/c7auth-realm.json`). */
  readonly realmFile: string
  /** Realm name in that file (waited for). */
  readonly realm: string
  readonly version?: string
  /** Where distributions are unpacked (default `~/.cache/c7auth/keycloak`). */
  readonly cacheDir?: string
  /** `JAVA_HOME` for Keycloak (default: the `java` on the PATH). */
  readonly javaHome?: string
  /** Port (default: a free one). */
  readonly port?: number
  /** Give up after this long (default 240 000 ms: the first start also builds the server). */
  readonly startupTimeoutMs?: number
}

/** A running Keycloak. */
export interface RunningKeycloak {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `http://127.0.0.1:<port>/realms/<realm>`: the `iss` of its tokens. */
  readonly issuer: string
  readonly tokenEndpoint: string
  readonly jwksUri: string
  readonly logFile: string
  close(): Promise<void>
}

const live = new Set<ChildProcess>()
let hooks = false

function killAll(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  live.clear()
}

/** Whether Keycloak can run here at all: `java` and `mvn` (or an unpacked distribution). */
export function keycloakAvailable(options: { version?: string; cacheDir?: string } = {}): {
  ok: boolean
  reason?: string
} {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 20_000 })
  if (java.status !== 0) return { ok: false, reason: 'no `java` on the PATH' }
  if (existsSync(distributionHome(options))) return { ok: true }
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8', timeout: 60_000 })
  if (mvn.status !== 0) return { ok: false, reason: 'no `mvn` to fetch the Keycloak distribution' }
  return { ok: true }
}

function cacheOf(options: { cacheDir?: string }): string {
  return options.cacheDir ?? join(homedir(), '.cache', 'c7auth', 'keycloak')
}

function distributionHome(options: { version?: string; cacheDir?: string }): string {
  return join(cacheOf(options), `keycloak-${options.version ?? KEYCLOAK_VERSION}`)
}

/**
 * The unpacked distribution, fetched with Maven (`dependency:copy`, so `~/.m2` caches it) and
 * unpacked on first use. Returns its home folder.
 */
export function keycloakDistribution(
  options: { version?: string; cacheDir?: string } = {},
): string {
  const version = options.version ?? KEYCLOAK_VERSION
  const home = distributionHome(options)
  if (existsSync(join(home, 'bin', 'kc.sh'))) return home
  const cache = cacheOf(options)
  mkdirSync(cache, { recursive: true })
  const archive = join(cache, `keycloak-quarkus-dist-${version}.tar.gz`)
  if (!existsSync(archive)) {
    const mvn = spawnSync(
      'mvn',
      [
        '-q',
        'dependency:copy',
        `-Dartifact=org.keycloak:keycloak-quarkus-dist:${version}:tar.gz`,
        `-DoutputDirectory=${cache}`,
      ],
      { encoding: 'utf8', timeout: 600_000, cwd: cache },
    )
    if (mvn.status !== 0 || !existsSync(archive)) {
      throw new Error(
        `Keycloak ${version} could not be fetched with Maven: ${mvn.stdout}${mvn.stderr}`,
      )
    }
  }
  const tar = spawnSync('tar', ['xzf', archive, '-C', cache], {
    encoding: 'utf8',
    timeout: 300_000,
  })
  if (tar.status !== 0) throw new Error(`cannot unpack ${archive}: ${tar.stderr}`)
  return home
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Starts Keycloak in dev mode (`start-dev`, in-memory database, plain HTTP on 127.0.0.1) with the
 * realm imported, and resolves once the realm's discovery document answers. The JVM is killed on
 * `close()`, on a failed start and when this process exits.
 *
 * @example
 * ```ts
 * const kc = await startKeycloak({ realmFile: 'examples/real-camunda/keycloak/c7auth-realm.json', realm: 'c7auth' })
 * console.log(kc.tokenEndpoint)
 * await kc.close()
 * ```
 */
export async function startKeycloak(options: KeycloakOptions): Promise<RunningKeycloak> {
  const home = keycloakDistribution(options)
  // `--import-realm` reads data/import; every start imports the same file under its own name
  const importDir = join(home, 'data', 'import')
  mkdirSync(importDir, { recursive: true })
  copyFileSync(options.realmFile, join(importDir, `${options.realm}-realm.json`))

  const port = options.port ?? (await freePort())
  const logFile = join(
    tmpdir(),
    `c7auth-keycloak-${process.pid}-${randomBytes(3).toString('hex')}.log`,
  )
  const fd = openSync(logFile, 'a')
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
    KC_BOOTSTRAP_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
  }
  if (options.javaHome !== undefined) env.JAVA_HOME = options.javaHome
  if (!hooks) {
    hooks = true
    process.on('exit', killAll)
  }
  let child: ChildProcess
  try {
    child = spawn(
      join(home, 'bin', 'kc.sh'),
      [
        'start-dev',
        '--import-realm',
        '--db=dev-mem',
        '--http-host=127.0.0.1',
        `--http-port=${port}`,
        '--hostname-strict=false',
      ],
      { env, stdio: ['ignore', fd, fd], detached: true },
    )
  } finally {
    closeSync(fd)
  }
  live.add(child)
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      live.delete(child)
      resolve()
    })
  })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (exited || child.pid === undefined) return
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        return
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), 'SIGKILL')
        } catch {
          // gone
        }
      }, 15_000)
      await exit
      clearTimeout(timer)
    })()
    return closing
  }

  const url = `http://127.0.0.1:${port}`
  const issuer = `${url}/realms/${options.realm}`
  const deadline = Date.now() + (options.startupTimeoutMs ?? 240_000)
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Keycloak exited during startup; log: ${logFile}`)
    try {
      const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5_000),
      })
      await res.arrayBuffer()
      if (res.status === 200) {
        return {
          url,
          issuer,
          tokenEndpoint: `${issuer}/protocol/openid-connect/token`,
          jwksUri: `${issuer}/protocol/openid-connect/certs`,
          logFile,
          close,
        }
      }
    } catch {
      // not listening yet
    }
    await sleep(500)
  }
  await close()
  throw new Error(`Keycloak did not start in time; log: ${logFile}`)
}

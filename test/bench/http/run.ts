/**
 * `pnpm bench:http`: the gateway side by side with the stacks a user would write instead, under
 * real HTTP load. One backend ("engine" answering `GET /engine-rest/task`), one JWKS/discovery
 * server, six proxies started as their own processes, and `wrk` (autocannon when wrk is missing)
 * at two concurrency levels with one token and with ≥ 20,000 distinct tokens (more than the
 * verified-token cache holds, so every request verifies a signature). Rounds are interleaved and
 * the table shows the median of each figure. Proxies are pinned to CPU 0, load, backend and JWKS
 * to the other CPUs, where `taskset` exists.
 *
 * Figures: req/s and p50/p99 from the load generator; CPU µs per request from the proxy's
 * `/proc/<pid>/stat` (utime+stime) over the run; RSS from `/proc/<pid>/status` after the run;
 * allocation per request as the sum of V8's own `allocated=` counter over the run's garbage
 * collections (`--trace-gc-nvp`), divided by the requests (a scavenge reports what was allocated
 * since the previous GC, so the bytes still in the young generation at the end are not counted:
 * the figure is exact to within one semi-space over the whole run).
 *
 * Flags: `--smoke` (CI: 1 round, short runs, fewer tokens; exit 0 unless something failed to
 * run), `--rounds N`, `--duration S`, `--tokens N`, `--memory` (the c7auth bin alone under
 * 1,000,000 distinct tokens, RSS sampled every 100,000 requests; `--total N` for a shorter
 * curve), `--tracing` (adds the bin with OpenTelemetry on), `--no-write` (print only); for
 * profiling one path: `--only S`, `--scenario single|many`, `--connections N`, `--node-arg X`;
 * before/after in one interleaved run: `--baseline DIR` (adds the bin from another build's
 * `packages/gateway/dist`, copied inside this checkout so its imports resolve).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(HERE, '../../..')
const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback
}
const SMOKE = flag('--smoke')
const MEMORY = flag('--memory')
const ROUNDS = option('--rounds', SMOKE ? 1 : 3)
const DURATION = option('--duration', SMOKE ? 2 : 8)
const MANY = option('--tokens', SMOKE ? 2_000 : 20_000)
/** `--connections N` (repeatable): only these concurrency levels (profiling); default c32 and c128. */
const ONLY_C = args.flatMap((a, i) => (a === '--connections' ? [Number(args[i + 1])] : []))
const CONCURRENCY = ONLY_C.length > 0 ? ONLY_C : [32, 128]
/** `--tracing`: also the bin with OpenTelemetry on (every request traced, OTLP to a local sink). */
const TRACING = flag('--tracing')
/** `--scenario single|many`: only one token set (profiling one path); default both. */
const SCENARIO = flag('--scenario') ? args[args.indexOf('--scenario') + 1] : undefined
/** `--node-arg X` (repeatable): extra Node flags for the proxies, e.g. `--cpu-prof`. */
const EXTRA_NODE_ARGS = args.flatMap((a, i) => (a === '--node-arg' ? [args[i + 1] as string] : []))
/** `--only S` (repeatable): only the stacks whose name contains S (the bare proxy always runs). */
const ONLY = args.flatMap((a, i) => (a === '--only' ? [args[i + 1] as string] : []))
/** `--baseline DIR`: also the bin built into DIR (another commit's gateway `dist`), same env. */
const BASELINE = flag('--baseline') ? args[args.indexOf('--baseline') + 1] : undefined
const AUDIENCE = 'engine-rest'

const cpus = availableParallelism()
const hasTaskset = spawnSync('taskset', ['-V']).status === 0
/** `--autocannon` forces the fallback load generator (it is what runs where wrk is missing). */
const hasWrk = !flag('--autocannon') && spawnSync('wrk', ['-v']).error === undefined
/** Proxies on CPU 0; everything else (load, backend, JWKS) on the rest. */
const PROXY_CPU = '0'
const LOAD_CPUS = cpus > 1 ? `1-${cpus - 1}` : '0'

function pinned(cpu: string, cmd: string, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', cpu, cmd, ...argv]] : [cmd, argv]
}

// ---- keys, JWKS and tokens

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const b64u = (v: Buffer | string) => Buffer.from(v).toString('base64url')

function jwk(key: KeyObject, kid: string, alg: string) {
  return { ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' }
}

const jwksServer = createServer((req, res) => {
  const body =
    req.url === '/.well-known/openid-configuration'
      ? { issuer, jwks_uri: `${issuer}/jwks` }
      : { keys: [jwk(publicKey, 'rs', 'RS256'), jwk(ec.publicKey, 'ec', 'ES256')] }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
})
await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r))
const issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`

function token(i: number, alg: 'RS256' | 'ES256' = 'RS256'): string {
  const now = Math.floor(Date.now() / 1000)
  const header = b64u(JSON.stringify({ alg, typ: 'JWT', kid: alg === 'RS256' ? 'rs' : 'ec' }))
  const payload = b64u(
    JSON.stringify({
      iss: issuer,
      aud: AUDIENCE,
      sub: 'acme-service',
      azp: 'acme',
      client_id: 'acme',
      iat: now,
      exp: now + 3600,
      jti: `${i}-${randomUUID()}`,
    }),
  )
  const input = `${header}.${payload}`
  const sig =
    alg === 'RS256'
      ? sign('sha256', Buffer.from(input), privateKey)
      : sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64u(sig)}`
}

const work = mkdtempSync(join(tmpdir(), 'c7auth-bench-'))
function tokenFile(name: string, count: number, alg: 'RS256' | 'ES256' = 'RS256'): string {
  const lines: string[] = []
  for (let i = 0; i < count; i++) lines.push(token(i, alg))
  const file = join(work, name)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

// ---- processes

interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly url: string
  /** Sum of V8's `allocated=` over the GCs seen so far. */
  allocated: number
  gcs: number
  /** Longest GC pause (ms) since the last {@link measure} began. */
  maxPause: number
}

const children: ChildProcess[] = []
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  jwksServer.close()
  rmSync(work, { recursive: true, force: true })
}
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))

function start(
  name: string,
  script: string,
  env: Record<string, string>,
  opts: { cpu: string; gc: boolean; hooks: boolean },
): Promise<Proc> {
  const nodeArgs = [
    ...EXTRA_NODE_ARGS,
    ...(opts.hooks ? ['--import', join(HERE, 'dist-hooks.mjs')] : []),
    ...(opts.gc ? ['--trace-gc-nvp'] : []),
    script,
  ]
  const [cmd, argv] = pinned(opts.cpu, process.execPath, nodeArgs)
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let log = ''
  return new Promise((resolve, reject) => {
    let proc: Proc | undefined
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${log}`)), 30_000)
    const onLine = (line: string) => {
      if (proc) {
        const m = / allocated=(\d+)/.exec(line)
        if (m) {
          proc.allocated += Number(m[1])
          proc.gcs++
          const pause = Number(/(?:^|\s)pause=([\d.]+)/.exec(line)?.[1] ?? 0)
          if (pause > proc.maxPause) proc.maxPause = pause
        }
        return
      }
      if (log.length < 20_000 && !line.includes(' gc=')) log += line + '\n'
      const url =
        /^LISTENING (\S+)/.exec(line)?.[1] ??
        /"url":"([^"]+)".*c7auth gateway listening/.exec(line)?.[1]
      if (url) {
        clearTimeout(timer)
        proc = { name, child, url, allocated: 0, gcs: 0, maxPause: 0 }
        resolve(proc)
      }
    }
    for (const stream of [child.stdout, child.stderr]) {
      let buf = ''
      stream?.setEncoding('utf8')
      stream?.on('data', (d: string) => {
        buf += d
        let i
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i))
          buf = buf.slice(i + 1)
        }
      })
    }
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (!proc) reject(new Error(`${name} exited ${code}:\n${log}`))
    })
  })
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100)
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime, stime
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

// ---- load

interface Load {
  rps: number
  p50: number
  p99: number
  requests: number
  /** Non-2xx answers plus socket errors (a slow stack may time out under c128). */
  errors: number
  /** Non-2xx answers only: a stack that refuses the benchmark's requests is misconfigured. */
  non2xx: number
}

function fmt(n: number, d = 0): string {
  return Number.isFinite(n) ? n.toFixed(d) : '–'
}

function ms(v: string, unit: string): number {
  const n = Number(v)
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n
}

async function load(url: string, tokens: string, connections: number, seconds: number) {
  const target = `${url}/engine-rest/task`
  if (hasWrk) {
    const argv = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s']
    argv.push(join(HERE, 'rotate.lua'), target, '--', tokens, '/engine-rest/task')
    const [cmd, a] = pinned(LOAD_CPUS, 'wrk', argv)
    const out = await run(cmd, a)
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
    const p = (q: string) => {
      const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out)
      return m ? ms(m[1] as string, m[2] as string) : NaN
    }
    const requests = Number(/(\d+) requests in/.exec(out)?.[1])
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
    const errors = non2xx + (socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0)
    if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${out}`)
    return { rps, p50: p('50'), p99: p('99'), requests, errors, non2xx }
  }
  const script = join(HERE, 'autocannon-load.mjs')
  const [cmd, a] = pinned(LOAD_CPUS, process.execPath, [
    script,
    target,
    tokens,
    String(connections),
    String(seconds),
  ])
  return JSON.parse(await run(cmd, a)) as Load
}

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (out += d.toString()))
    c.once('error', reject)
    c.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`)),
    )
  })
}

/**
 * Waits until the proxy has worked off what the load generator left queued (a slow stack at c128
 * still verifies its backlog after wrk is gone), so the next run does not share its core with it.
 */
async function settled(pid: number): Promise<void> {
  for (let i = 0, last = cpuTicks(pid); i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100))
    const now = cpuTicks(pid)
    if (now - last <= 1) return
    last = now
  }
}

/**
 * Runs `work` with every other proxy stopped (SIGSTOP), so the one under load has CPU 0 to itself.
 * An idle proxy still works now and then (timers, deferred garbage collection, the end of a slow
 * stack's backlog); all proxies share CPU 0, so that work landed in the next stack's run and in
 * its p99 (the bin's c128 p99 was 11.7x the bare proxy's in a full run, 1.45-2.7x alone).
 */
async function alone<T>(p: Proc, all: readonly Proc[], work: () => Promise<T>): Promise<T> {
  const others = all.filter((o) => o !== p && o.child.exitCode === null)
  for (const o of others) o.child.kill('SIGSTOP')
  try {
    return await work()
  } finally {
    for (const o of others) o.child.kill('SIGCONT')
  }
}

/**
 * A run against one proxy: load figures plus its CPU, RSS and allocation over the run. A short
 * unmeasured run at the same concurrency and tokens comes first, so every stack is measured warm
 * (pools grown, caches filled) and not in the first second after it was stopped.
 */
async function measure(p: Proc, tokens: string, connections: number, seconds: number) {
  await load(p.url, tokens, connections, 1)
  await settled(p.child.pid as number)
  const pid = p.child.pid as number
  const cpu0 = cpuTicks(pid)
  const alloc0 = p.allocated
  p.maxPause = 0
  const l = await load(p.url, tokens, connections, seconds)
  // The last GC lines of the run may still be in the pipe.
  await new Promise((r) => setTimeout(r, 100))
  const cpuUs = ((cpuTicks(pid) - cpu0) * TICK_US) / Math.max(1, l.requests)
  await settled(pid)
  const allocB = (p.allocated - alloc0) / Math.max(1, l.requests)
  return { ...l, cpuUs, allocB, gcPause: p.maxPause, rss: rssMb(pid) }
}

// ---- the stacks

const backend = await start(
  'backend',
  join(HERE, 'servers/backend.mjs'),
  {},
  {
    cpu: LOAD_CPUS,
    gc: false,
    hooks: false,
  },
)
const upstream = backend.url
const c7env: Record<string, string> = {
  C7AUTH_TENANTS: 'acme',
  C7AUTH_LOG_LEVEL: 'warn',
  C7AUTH_ENGINE_URL: `${upstream}/engine-rest`,
  C7AUTH_ENGINE_AUTH: 'service',
  C7AUTH_ENGINE_SERVICE_USER: 'svc',
  C7AUTH_ENGINE_SERVICE_PASSWORD: 'svc-password-for-the-benchmark',
  C7AUTH_GATEWAY_HOST: '127.0.0.1',
  C7AUTH_GATEWAY_PORT: '0',
  C7AUTH_TENANT_ACME_ISSUER: issuer,
  C7AUTH_TENANT_ACME_AUDIENCE: AUDIENCE,
  C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
  // the bare proxy's pool size (servers/bare-forward.mjs): one upstream connection per client one
  C7AUTH_ENGINE_CONNECTIONS: '128',
}
const common = { BENCH_UPSTREAM: upstream, BENCH_ISSUER: issuer, BENCH_AUDIENCE: AUDIENCE }
const gatewayDist = join(ROOT, 'packages/gateway/dist/server/main.js')

/** An OTLP/HTTP endpoint that accepts and drops spans, for the `--tracing` row. */
async function otlpSink(): Promise<string> {
  const sink = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r))
  sink.unref()
  return `http://127.0.0.1:${(sink.address() as AddressInfo).port}`
}
const tracingEnv: Record<string, string> = TRACING
  ? { OTEL_EXPORTER_OTLP_ENDPOINT: await otlpSink(), OTEL_SERVICE_NAME: 'c7auth-bench' }
  : {}

const STACKS = [
  { name: 'bare node:http + undici Pool (no auth)', script: 'servers/bare.mjs', env: common },
  {
    name: 'express + passport-jwt + jwks-rsa + http-proxy-middleware',
    script: 'servers/passport.mjs',
    env: common,
  },
  {
    name: 'express + express-oauth2-jwt-bearer + http-proxy-middleware (keep-alive)',
    script: 'servers/auth0.mjs',
    env: common,
  },
  {
    name: 'c7auth standalone bin (service mode)',
    script: gatewayDist,
    // `info` for the one "listening" line that carries the port; GETs log nothing at info.
    env: { ...c7env, C7AUTH_LOG_LEVEL: 'info' },
  },
  ...(BASELINE === undefined
    ? []
    : [
        {
          name: 'c7auth standalone bin, baseline build',
          script: resolve(BASELINE, 'server/main.js'),
          env: { ...c7env, C7AUTH_LOG_LEVEL: 'info' },
        },
      ]),
  { name: 'c7auth in Express', script: 'servers/c7auth-express.mjs', env: c7env },
  {
    name: 'bare proxy in Express (no auth: the framework floor)',
    script: 'servers/bare-express.mjs',
    env: common,
  },
  { name: 'c7auth in Koa', script: 'servers/c7auth-koa.mjs', env: c7env },
  {
    name: 'bare proxy in Koa (no auth: the framework floor)',
    script: 'servers/bare-koa.mjs',
    env: common,
  },
  ...(TRACING
    ? [
        {
          name: 'c7auth standalone bin, tracing on (OTLP to a local sink)',
          script: gatewayDist,
          env: { ...c7env, ...tracingEnv, C7AUTH_LOG_LEVEL: 'info' },
        },
      ]
    : []),
] as const

if (MEMORY) {
  await memoryCurve()
  process.exit(0)
}

console.log(
  `load: ${hasWrk ? 'wrk' : 'autocannon'}; taskset: ${hasTaskset ? `proxy on CPU ${PROXY_CPU}, load on ${LOAD_CPUS}` : 'no'}; ` +
    `${ROUNDS} round(s) × ${DURATION}s; tokens: 1 and ${MANY} distinct RS256`,
)
const single = tokenFile('single.txt', 1)
const many = tokenFile('many.txt', MANY)
const procs: Proc[] = []
for (const s of STACKS) {
  if (ONLY.length > 0 && s !== STACKS[0] && !ONLY.some((o) => s.name.includes(o))) continue
  procs.push(
    await start(s.name, s.script.startsWith('/') ? s.script : join(HERE, s.script), s.env, {
      cpu: PROXY_CPU,
      gc: true,
      hooks: true,
    }),
  )
}

type Result = Awaited<ReturnType<typeof measure>>
const scenarios = CONCURRENCY.flatMap((c) => [
  ...(SCENARIO === 'many' ? [] : [{ c, tokens: single, label: `c${c}, 1 token` }]),
  ...(SCENARIO === 'single' ? [] : [{ c, tokens: many, label: `c${c}, ${MANY} tokens` }]),
])
const results = new Map<string, Result[]>()
let failures = 0
// Warm-up: JIT, JWKS, connection pools.
for (const p of procs) {
  try {
    await alone(p, procs, () => load(p.url, many, 32, SMOKE ? 1 : 3))
  } catch (err) {
    failures++
    console.error(`warm-up failed for ${p.name}: ${(err as Error).message}`)
  }
}
for (let round = 0; round < ROUNDS; round++) {
  for (const sc of scenarios) {
    // Interleaved: every stack runs each scenario once per round, in a rotating order.
    const order = procs.map((_, i) => procs[(i + round) % procs.length] as Proc)
    for (const p of order) {
      try {
        const r = await alone(p, procs, () => measure(p, sc.tokens, sc.c, DURATION))
        if (r.non2xx > 0) {
          failures++
          console.error(`${p.name} / ${sc.label}: ${r.non2xx} non-2xx answers`)
        }
        const key = `${p.name}|${sc.label}`
        results.set(key, [...(results.get(key) ?? []), r])
      } catch (err) {
        failures++
        console.error(`${p.name} / ${sc.label}: ${(err as Error).message}`)
      }
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const lines: string[] = []
for (const sc of scenarios) {
  lines.push(`\n### ${sc.label}\n`)
  lines.push(
    '| configuration | req/s | ×bare | p50 ms | p99 ms | p99 ×bare | CPU µs/req | CPU ×bare | alloc B/req | GC max ms | RSS MB | errors |',
  )
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  const med = (name: string, f: (r: Result) => number) =>
    median((results.get(`${name}|${sc.label}`) ?? []).map(f))
  const bare = procs[0]?.name ?? ''
  for (const p of procs) {
    const rps = med(p.name, (r) => r.rps)
    const p99 = med(p.name, (r) => r.p99)
    const cpu = med(p.name, (r) => r.cpuUs)
    lines.push(
      `| ${p.name} | ${fmt(rps)} | ${fmt(rps / med(bare, (r) => r.rps), 2)} | ${fmt(
        med(p.name, (r) => r.p50),
        2,
      )} | ` +
        `${fmt(p99, 2)} | ${fmt(p99 / med(bare, (r) => r.p99), 2)} | ${fmt(cpu)} | ` +
        // CPU ratio as "bare's CPU per request / this one's": ≥ 0.7 means within the target.
        `${fmt(med(bare, (r) => r.cpuUs) / cpu, 2)} | ${fmt(med(p.name, (r) => r.allocB))} | ` +
        `${fmt(
          med(p.name, (r) => r.gcPause),
          1,
        )} | ` +
        `${fmt(med(p.name, (r) => r.rss))} | ${med(p.name, (r) => r.errors)} |`,
    )
  }
}
const table = lines.join('\n')
console.log(table)

if (!SMOKE && !flag('--no-write')) {
  const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus} CPUs, Node ${process.version}, ${ROUNDS} rounds × ${DURATION}s, ${hasWrk ? 'wrk' : 'autocannon'}.`
  writeSection('http', `${stamp}\n${table}`)
}
if (failures > 0) {
  console.error(`\n${failures} run(s) failed or answered non-2xx`)
  process.exitCode = 1
}
await stopAll()
process.exit()

/** SIGTERM first (the bin drains and exits, writing a `--cpu-prof` profile), then the exit hook kills. */
async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve()
          const t = setTimeout(resolve, 3000)
          c.once('exit', () => {
            clearTimeout(t)
            resolve()
          })
          c.kill('SIGTERM')
        }),
    ),
  )
}

/** The c7auth bin alone under 1,000,000 distinct ES256 tokens, in 10 chunks; RSS after each. */
async function memoryCurve(): Promise<void> {
  const total = option('--total', 1_000_000)
  const chunk = Math.min(100_000, total)
  const bin = STACKS[3]
  const p = await start(bin.name, bin.script, bin.env, { cpu: PROXY_CPU, gc: false, hooks: true })
  const rows = ['| requests (distinct tokens) | RSS MB |', '|---:|---:|']
  const row = (n: number) => {
    rows.push(`| ${n} | ${fmt(rssMb(p.child.pid as number))} |`)
    console.log(rows[rows.length - 1])
  }
  console.log(rows.join('\n'))
  row(0)
  let done = 0
  for (let i = 0; done < total; i++) {
    const file = tokenFile(`mem-${i}.txt`, chunk, 'ES256')
    // Each token once: a run long enough for the chunk at ~the measured rate, then stop.
    const l = await loadCount(p.url, file, chunk)
    done += l
    rmSync(file)
    row(done)
  }
  if (!flag('--no-write')) {
    const stamp = `Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.`
    writeSection('memory', `${stamp}\n\n${rows.join('\n')}`)
  }
}

/** Replaces the text between `<!-- bench:<name>:begin -->` and its end marker in the doc. */
function writeSection(name: string, text: string): void {
  const path = join(ROOT, 'docs/benchmarks.md')
  const doc = readFileSync(path, 'utf8')
  const begin = `<!-- bench:${name}:begin -->`
  const end = `<!-- bench:${name}:end -->`
  const a = doc.indexOf(begin)
  const b = doc.indexOf(end)
  if (a < 0 || b < a) throw new Error(`docs/benchmarks.md has no ${begin} … ${end}`)
  writeFileSync(path, `${doc.slice(0, a + begin.length)}\n\n${text}\n\n${doc.slice(b)}`)
  console.log(`\nwritten to docs/benchmarks.md (${name})`)
}

/** Sends each token of the file once (autocannon-free: a small undici loop). */
async function loadCount(url: string, file: string, count: number): Promise<number> {
  const { Pool } = await import('undici')
  const pool = new Pool(url, { connections: 32 })
  const tokens = readFileSync(file, 'utf8').split('\n').filter(Boolean)
  let next = 0
  let ok = 0
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < Math.min(count, tokens.length)) {
        const t = tokens[next++] as string
        const r = await pool.request({
          path: '/engine-rest/task',
          method: 'GET',
          headers: { authorization: `Bearer ${t}` },
        })
        await r.body.dump()
        if (r.statusCode === 200) ok++
      }
    }),
  )
  await pool.close()
  if (ok !== count) throw new Error(`${count - ok} of ${count} requests failed`)
  return ok
}

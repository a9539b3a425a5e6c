#!/usr/bin/env node
/**
 * `pnpm test:stress [--runs N] [--no-load] [-- <vitest args>]`: runs the test suite N times in a
 * row (default 3) while every core is kept busy, and reports per run the passed and failed tests
 * and the time, then the flaky tests (failed in one run, passed in another).
 *
 * Load: `stress-ng --cpu 0` (one busy worker per core) when it is on the PATH (Debian package
 * `stress-ng`), else one busy-looping Node worker thread per core. Engines: the simulator only
 * unless `C7AUTH_TEST_ENGINES` says otherwise. The isolation fuzz runs 500 cases per mode of its
 * fixed seed unless `C7AUTH_FUZZ_RUNS`/`C7AUTH_FUZZ_SEED` say otherwise (its full 5,000 take
 * about ten minutes per mode on two loaded cores; `pnpm test:fuzz` is the place for depth).
 * Exit code 1 when any run had a failure.
 * The JSON report of each run goes to `stress-results/run-<n>.json` (ignored by git).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const OUT = join(ROOT, 'stress-results')

function parseArgs(argv) {
  const options = { runs: 3, load: true, vitest: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      options.vitest = argv.slice(i + 1)
      break
    } else if (arg === '--runs') {
      options.runs = Number(argv[++i])
    } else if (arg.startsWith('--runs=')) {
      options.runs = Number(arg.slice('--runs='.length))
    } else if (arg === '--no-load') {
      options.load = false
    } else {
      throw new Error(`unknown argument ${arg} (use --runs N, --no-load, -- <vitest args>)`)
    }
  }
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs needs N >= 1')
  return options
}

/** Starts the load; returns how it was made and a function that stops it. */
function startLoad() {
  const cores = availableParallelism()
  if (spawnSync('stress-ng', ['--version'], { stdio: 'ignore' }).status === 0) {
    const child = spawn('stress-ng', ['--cpu', '0', '--quiet'], { stdio: 'ignore' })
    return {
      how: `stress-ng --cpu 0 (${cores} busy workers)`,
      stop: () =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGTERM')
        }),
    }
  }
  const busy =
    'const { parentPort } = require("node:worker_threads"); for (;;) Math.sqrt(Math.random())'
  const workers = Array.from({ length: cores }, () => new Worker(busy, { eval: true }))
  return {
    how: `${cores} busy Node worker threads (no stress-ng on the PATH)`,
    stop: () => Promise.all(workers.map((w) => w.terminate())),
  }
}

/** One `vitest run` with a JSON report; resolves with the report and the wall time. */
function runSuite(n, vitestArgs) {
  const outputFile = join(OUT, `run-${n}.json`)
  rmSync(outputFile, { force: true }) // never read an earlier run's report
  const started = Date.now()
  const child = spawn(
    process.platform === 'win32' ? 'pnpm.cmd' : 'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--reporter=dot',
      '--reporter=json',
      `--outputFile.json=${outputFile}`,
      ...vitestArgs,
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: process.env },
  )
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      const seconds = (Date.now() - started) / 1000
      let report = null
      try {
        report = JSON.parse(readFileSync(outputFile, 'utf8'))
      } catch {
        // no report: vitest itself failed (counted as a failed run below)
      }
      resolve({ code, seconds, report })
    })
  })
}

/** Test names by outcome; a file that failed outside any test counts as a failed entry. */
function outcomes(report) {
  const passed = new Set()
  const failed = new Set()
  let skipped = 0
  for (const file of report?.testResults ?? []) {
    const rel = file.name.startsWith(ROOT) ? file.name.slice(ROOT.length + 1) : file.name
    for (const t of file.assertionResults ?? []) {
      const name = `${rel} > ${t.fullName}`
      if (t.status === 'passed') passed.add(name)
      else if (t.status === 'failed') failed.add(name)
      else skipped++
    }
    if (
      file.status === 'failed' &&
      !(file.assertionResults ?? []).some((t) => t.status === 'failed')
    )
      failed.add(`${rel} (file: ${String(file.message ?? 'failed').split('\n')[0]})`)
  }
  return { passed, failed, skipped }
}

const options = parseArgs(process.argv.slice(2))
process.env.C7AUTH_TEST_ENGINES ??= 'simulator'
process.env.C7AUTH_FUZZ_RUNS ??= '500'
process.env.C7AUTH_FUZZ_SEED ??= '20261205'
mkdirSync(OUT, { recursive: true })
const load = options.load ? startLoad() : { how: 'none (--no-load)', stop: async () => {} }
const stopAndExit = async (code) => {
  await load.stop()
  process.exit(code)
}
process.once('SIGINT', () => void stopAndExit(130))
console.log(
  `[stress] ${options.runs} run(s), engines ${process.env.C7AUTH_TEST_ENGINES}, fuzz ${process.env.C7AUTH_FUZZ_RUNS} cases/mode (seed ${process.env.C7AUTH_FUZZ_SEED}), load: ${load.how}`,
)

const runs = []
try {
  for (let n = 1; n <= options.runs; n++) {
    const { code, seconds, report } = await runSuite(n, options.vitest)
    const o = outcomes(report)
    if (report === null) o.failed.add(`(run ${n}: vitest exited ${code} without a report)`)
    else if (code !== 0 && o.failed.size === 0) o.failed.add(`(run ${n}: vitest exited ${code})`)
    runs.push({ n, seconds, ...o })
    console.log(
      `[stress] run ${n}: ${o.passed.size} passed, ${o.failed.size} failed, ${o.skipped} skipped, ${seconds.toFixed(0)} s`,
    )
    for (const name of o.failed) console.log(`[stress]   FAILED ${name}`)
  }
} finally {
  await load.stop()
}

const everFailed = new Set(runs.flatMap((r) => [...r.failed]))
const flaky = [...everFailed].filter((name) => runs.some((r) => r.passed.has(name)))
const broken = [...everFailed].filter((name) => !flaky.includes(name))
console.log('\n[stress] summary')
for (const r of runs) {
  console.log(
    `  run ${r.n}: ${r.passed.size} passed, ${r.failed.size} failed, ${r.skipped} skipped, ${r.seconds.toFixed(0)} s`,
  )
}
console.log(`  flaky (failed in some runs, passed in others): ${flaky.length}`)
for (const name of flaky) console.log(`    ${name}`)
console.log(`  failed in every run it ran: ${broken.length}`)
for (const name of broken) console.log(`    ${name}`)
process.exitCode = everFailed.size > 0 ? 1 : 0

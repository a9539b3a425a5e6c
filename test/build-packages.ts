import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Vitest global setup: builds the packages' `dist/` (incremental, about half a second when
 * current) so tests that spawn the bins run today's code, from a fresh clone too. Runs once in
 * the main process, so parallel test files never race on the output.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url))
  const run = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  })
  if (run.status !== 0) {
    throw new Error(`building the packages failed:\n${run.stdout}${run.stderr}`)
  }
}

/**
 * `pnpm bench`: runs every `*.bench.ts` in this folder, one process each, so one benchmark's JIT and
 * heap state never colours another's. Figures go to stdout; nothing here is a pass/fail test.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

let failed = 0
for (const file of files) {
  console.log(`\n## ${file}\n`)
  const run = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${file}`], {
    stdio: 'inherit',
  })
  if (run.status !== 0) failed += 1
}
process.exitCode = failed === 0 ? 0 : 1

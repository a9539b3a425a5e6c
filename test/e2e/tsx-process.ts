/**
 * A TypeScript program of the repository (an example, the demo) as its own process, the way users
 * start it: `node --import tsx <file>` from the repository root, configured only by `env` (plus
 * `PATH`), stdout and stderr collected together.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface TsxProcess {
  readonly child: ChildProcess
  /** Everything printed so far. */
  output(): string
  /** How the process ended. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>
  /** SIGKILL unless it has ended (for `finally`). */
  kill(): void
}

export function spawnTsx(file: string, env: Record<string, string>): TsxProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return {
    child,
    output: () => output,
    exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

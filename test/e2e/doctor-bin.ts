import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BIN_NODE_ARGS } from './built-bin.js'

/** Runs the `c7auth-doctor` bin as an operator would: its own process, only the given env. */

const BIN = fileURLToPath(new URL('../../packages/gateway/bin/c7auth-doctor.js', import.meta.url))

export interface DoctorLine {
  id: string
  status: 'ok' | 'warn' | 'fail'
  detail: string
  fix?: string
}

export interface DoctorRun {
  code: number | null
  stdout: string
  lines: DoctorLine[]
}

export function runDoctor(
  env: Record<string, string>,
  args: string[] = ['--json'],
): Promise<DoctorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...BIN_NODE_ARGS, BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => {
      let lines: DoctorLine[] = []
      if (args.includes('--json')) {
        try {
          lines = JSON.parse(stdout) as DoctorLine[]
        } catch {
          reject(new Error(`not JSON: ${stdout}\n${stderr}`))
          return
        }
      }
      resolve({ code, stdout, lines })
    })
  })
}

/** The status of one check line, `undefined` when the doctor printed none. */
export const statusOf = (run: DoctorRun, id: string): string | undefined =>
  run.lines.find((l) => l.id === id)?.status

import { ConfigError, loadConfigFromEnv } from '@c7auth/core'
import { formatDoctorReport, runDoctor } from './doctor.js'

// The one place of the doctor that reads process.env: the bin.
const json = process.argv.includes('--json')
let config
try {
  config = loadConfigFromEnv(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    const line = { id: 'config', status: 'fail', detail: err.message }
    process.stdout.write(json ? `${JSON.stringify([line])}\n` : `fail config  ${err.message}\n`)
    process.exit(1)
  }
  throw err
}
const results = await runDoctor(config)
process.stdout.write(json ? `${JSON.stringify(results)}\n` : `${formatDoctorReport(results)}\n`)
process.exit(results.some((r) => r.status === 'fail') ? 1 : 0)

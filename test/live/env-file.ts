import { readFileSync } from 'node:fs'

/**
 * Parses a compose-style `KEY=value` env file: blank lines and `#` comments ignored, values taken
 * literally (no quotes, no interpolation), as `env_file` does for these simple values.
 */
export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const eq = trimmed.indexOf('=')
    if (eq <= 0) throw new Error(`${path}: not KEY=value: ${trimmed}`)
    env[trimmed.slice(0, eq)] = trimmed.slice(eq + 1)
  }
  return env
}

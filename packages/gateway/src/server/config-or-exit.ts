import { ConfigError, loadConfigFromEnv } from '@c7auth/core'
import type { C7AuthConfig } from '@c7auth/core'

/**
 * The bins' one way to read their configuration: `env` through the loader; a configuration error
 * is printed (every bad key, never a value) and the process exits 2. Only bins call this.
 */
export function configOrExit(bin: string, env: NodeJS.ProcessEnv): C7AuthConfig {
  try {
    return loadConfigFromEnv(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${bin}: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

import { createOnBehalfOfVaultFromConfig } from '@c7auth/core'
import { runVaultCli } from './vault-cli.js'
import { configOrExit } from '../server/config-or-exit.js'

// The one place of the vault CLI that reads process.env: the bin. It needs the gateway's
// environment (the vault lives on C7AUTH_TOKEN_STORE with its key ring).
const config = configOrExit('c7auth-vault', process.env)
if (config.tokenStore === undefined || config.tokenStore.kind === 'memory') {
  process.stderr.write(
    'c7auth-vault: C7AUTH_TOKEN_STORE is memory; the vault lives in each gateway process\n',
  )
  process.exit(2)
}
const vault = await createOnBehalfOfVaultFromConfig(config.tokenStore)
try {
  const result = await runVaultCli(process.argv.slice(2), vault)
  process.stdout.write(result.stdout)
  process.stderr.write(result.stderr)
  process.exitCode = result.code
} finally {
  await vault.close()
}

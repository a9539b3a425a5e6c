import type { OnBehalfOfVault, VaultEntryInfo, VaultFilter } from '@c7auth/core'

/** What one run of `c7auth-vault` printed and its exit code. */
export interface VaultCliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const VAULT_CLI_USAGE = `usage: c7auth-vault list [--tenant <id>] [--user <id>] [--instance <id>] [--json]
       c7auth-vault purge (--tenant <id> | --user <id>) [--instance <id>]
Lists (metadata only: tenant, process instance, user, process definition key, times) or deletes
on-behalf-of grants in the vault of C7AUTH_TOKEN_STORE. Never prints a grant.`

/**
 * The `c7auth-vault` admin command on an open vault. `list` prints one line (or JSON object) per
 * entry; `purge` needs a tenant or a user, so a typo cannot empty the whole vault.
 *
 * @example
 * ```ts
 * const result = await runVaultCli(['purge', '--user', 'alice'], vault)
 * ```
 */
export async function runVaultCli(
  args: readonly string[],
  vault: OnBehalfOfVault,
): Promise<VaultCliResult> {
  const [command, ...rest] = args
  const parsed = parseFlags(rest)
  if (parsed === undefined || (command !== 'list' && command !== 'purge')) {
    return { code: 2, stdout: '', stderr: `${VAULT_CLI_USAGE}\n` }
  }
  const { filter, json } = parsed
  if (command === 'purge') {
    if (filter.tenant === undefined && filter.user === undefined) {
      return { code: 2, stdout: '', stderr: 'c7auth-vault purge: name --tenant or --user\n' }
    }
    const deleted = await vault.purge(filter)
    return {
      code: 0,
      stdout: json ? `${JSON.stringify({ deleted })}\n` : `deleted ${deleted}\n`,
      stderr: '',
    }
  }
  const entries = await vault.list(filter)
  const stdout = json ? `${JSON.stringify(entries)}\n` : entries.map((e) => `${line(e)}\n`).join('')
  return { code: 0, stdout, stderr: '' }
}

function line(e: VaultEntryInfo): string {
  return [
    e.tenant,
    e.processInstanceId,
    e.user,
    e.processDefinitionKey ?? '-',
    new Date(e.storedAt).toISOString(),
    new Date(e.expiresAt).toISOString(),
  ].join('\t')
}

const FLAGS = { '--tenant': 'tenant', '--user': 'user', '--instance': 'processInstanceId' } as const

function parseFlags(args: readonly string[]): { filter: VaultFilter; json: boolean } | undefined {
  const filter: { -readonly [K in keyof VaultFilter]: VaultFilter[K] } = {}
  let json = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--json') {
      json = true
      continue
    }
    const field = FLAGS[arg as keyof typeof FLAGS] as keyof VaultFilter | undefined
    const value = args[i + 1]
    if (field === undefined || value === undefined || value.startsWith('--')) return undefined
    filter[field] = value
    i++
  }
  return { filter, json }
}

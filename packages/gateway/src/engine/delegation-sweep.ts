import type { OnBehalfOfVault } from '@c7auth/core'

/** Options of {@link sweepDelegations}. */
export interface DelegationSweepOptions {
  readonly vault: OnBehalfOfVault
  /** Tenants whose entries are swept (the opted-in ones). */
  readonly tenantIds: readonly string[]
  /**
   * True when the engine's history shows the instance ended (or no longer knows it); false while it
   * runs; throws when the engine cannot tell (the entry is then kept).
   */
  readonly instanceEnded: (tenantId: string, processInstanceId: string) => Promise<boolean>
}

/**
 * Deletes the vault entries of instances that ended without the gateway seeing it (ended by a
 * timer, a message, another gateway replica's missed event, or a direct engine call). Expired
 * entries the store drops by itself. Returns how many entries were deleted.
 */
export async function sweepDelegations(options: DelegationSweepOptions): Promise<number> {
  let deleted = 0
  for (const tenant of options.tenantIds) {
    const instances = new Set(
      (await options.vault.list({ tenant })).map((e) => e.processInstanceId),
    )
    for (const processInstanceId of instances) {
      const ended = await options.instanceEnded(tenant, processInstanceId).catch(() => false)
      if (ended) deleted += await options.vault.purge({ tenant, processInstanceId })
    }
  }
  return deleted
}

/** History states of an instance that no longer runs. */
const ENDED = new Set(['COMPLETED', 'EXTERNALLY_TERMINATED', 'INTERNALLY_TERMINATED'])

/**
 * Reads `GET /history/process-instance/{id}`'s answer: ended when its state is final, or when the
 * engine knows no such instance (deleted with its history).
 */
export function endedFromHistory(status: number, body: unknown): boolean {
  if (status === 404) return true
  if (status !== 200) throw new Error(`history lookup answered HTTP ${status}`)
  const state = (body as { state?: unknown } | undefined)?.state
  return typeof state === 'string' && ENDED.has(state)
}

/**
 * What the on-behalf-of vault needs from its database: opaque values under opaque ids, with a TTL
 * and opaque tags to find them by (tenant, user, process instance — each an HMAC, see `KeyRing`).
 * A backend never sees a grant, a tenant, a user or a process instance id.
 */
export interface VaultBackend {
  put(id: string, value: string, ttlMs: number, tags: readonly string[]): Promise<void>
  /** The values of these ids, in order; undefined where absent or expired. */
  get(ids: readonly string[]): Promise<(string | undefined)[]>
  delete(ids: readonly string[]): Promise<void>
  /** Unexpired entries carrying any of `tags`; every unexpired entry when `tags` is undefined. */
  find(tags: readonly string[] | undefined): Promise<VaultRow[]>
  close(): Promise<void>
}

/** One stored entry as the backend holds it. */
export interface VaultRow {
  readonly id: string
  readonly value: string
}

/** A vault in this process's memory: for one-process setups and tests. */
export function createMemoryVaultBackend(now: () => number = Date.now): VaultBackend {
  const rows = new Map<string, { value: string; expiresAt: number; tags: readonly string[] }>()
  const live = () => {
    const t = now()
    for (const [id, row] of rows) if (row.expiresAt <= t) rows.delete(id)
    return rows
  }
  return {
    put(id, value, ttlMs, tags) {
      rows.set(id, { value, expiresAt: now() + ttlMs, tags })
      return Promise.resolve()
    },
    get(ids) {
      const current = live()
      return Promise.resolve(ids.map((id) => current.get(id)?.value))
    },
    delete(ids) {
      for (const id of ids) rows.delete(id)
      return Promise.resolve()
    },
    find(tags) {
      const found: VaultRow[] = []
      for (const [id, row] of live()) {
        if (tags === undefined || row.tags.some((t) => tags.includes(t))) {
          found.push({ id, value: row.value })
        }
      }
      return Promise.resolve(found)
    },
    close() {
      rows.clear()
      return Promise.resolve()
    },
  }
}

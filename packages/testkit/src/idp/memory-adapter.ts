import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider'

interface Entry {
  payload: AdapterPayload
  expiresAt: number | undefined
}

/**
 * An in-memory oidc-provider adapter whose storage outlives a provider instance, so refresh tokens
 * and grants survive key rotation (which rebuilds the provider) and stop/restart.
 */
export function createMemoryAdapter(): AdapterFactory {
  const store = new Map<string, Entry>()
  const byGrant = new Map<string, Set<string>>()
  const byUid = new Map<string, string>()
  const byUserCode = new Map<string, string>()

  const get = (key: string): AdapterPayload | undefined => {
    const entry = store.get(key)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key)
      return undefined
    }
    return entry.payload
  }

  return (name: string): Adapter => {
    const key = (id: string): string => `${name}:${id}`
    return {
      async upsert(id, payload, expiresIn) {
        const k = key(id)
        store.set(k, {
          payload,
          expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
        })
        if (payload.grantId) {
          const set = byGrant.get(payload.grantId) ?? new Set<string>()
          set.add(k)
          byGrant.set(payload.grantId, set)
        }
        if (payload.uid) byUid.set(payload.uid, id)
        if (payload.userCode) byUserCode.set(payload.userCode, id)
      },
      async find(id) {
        return get(key(id))
      },
      async findByUid(uid) {
        const id = byUid.get(uid)
        return id === undefined ? undefined : get(key(id))
      },
      async findByUserCode(userCode) {
        const id = byUserCode.get(userCode)
        return id === undefined ? undefined : get(key(id))
      },
      async consume(id) {
        const entry = store.get(key(id))
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000)
      },
      async destroy(id) {
        store.delete(key(id))
      },
      async revokeByGrantId(grantId) {
        for (const k of byGrant.get(grantId) ?? []) store.delete(k)
        byGrant.delete(grantId)
      },
    }
  }
}

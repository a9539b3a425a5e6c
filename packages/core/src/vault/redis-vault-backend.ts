import type { BackendOptions } from '../token/store/backend.js'
import { closeRedis, openRedis } from '../token/store/redis-backend.js'
import type { VaultBackend, VaultRow } from './vault-backend.js'

/**
 * Redis backend of the vault, on the token store's connection code: entries under
 * `<namespace>:vault:<id>` with their TTL, and per tag a set of entry ids
 * (`<namespace>:vtag:<tag>`) that lives as long as its longest entry. Ids of expired entries are
 * dropped from the sets when a lookup meets them.
 */
export async function connectRedisVault(options: BackendOptions): Promise<VaultBackend> {
  const redis = await openRedis(options)
  const entry = (id: string) => `${options.namespace}:vault:${id}`
  const tagSet = (tag: string) => `${options.namespace}:vtag:${tag}`
  const rowsOf = async (ids: readonly string[]): Promise<VaultRow[]> => {
    if (ids.length === 0) return []
    const values = await redis.mget(...ids.map(entry))
    const rows: VaultRow[] = []
    ids.forEach((id, i) => {
      const value = values[i]
      if (value !== null && value !== undefined) rows.push({ id, value })
    })
    return rows
  }
  return {
    async put(id, value, ttlMs, tags) {
      const ttl = Math.max(1, Math.ceil(ttlMs))
      const tx = redis.multi().set(entry(id), value, 'PX', ttl)
      for (const tag of tags) {
        // NX sets the first expiry, GT only ever extends it: a set outlives all its entries.
        tx.sadd(tagSet(tag), id).pexpire(tagSet(tag), ttl, 'NX').pexpire(tagSet(tag), ttl, 'GT')
      }
      await tx.exec()
    },
    async get(ids) {
      if (ids.length === 0) return []
      const values = await redis.mget(...ids.map(entry))
      return values.map((v) => v ?? undefined)
    },
    async delete(ids) {
      if (ids.length > 0) await redis.del(...ids.map(entry))
    },
    async find(tags) {
      if (tags !== undefined) {
        if (tags.length === 0) return []
        const ids = await redis.sunion(...tags.map(tagSet))
        const rows = await rowsOf(ids)
        const present = new Set(rows.map((r) => r.id))
        const gone = ids.filter((id) => !present.has(id))
        if (gone.length > 0) await Promise.all(tags.map((t) => redis.srem(tagSet(t), ...gone)))
        return rows
      }
      const prefix = entry('')
      const ids: string[] = []
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        for (const k of keys) ids.push(k.slice(prefix.length))
        cursor = next
      } while (cursor !== '0')
      return rowsOf(ids)
    },
    close: () => closeRedis(redis),
  }
}

import type { BackendOptions } from '../token/store/backend.js'
import { openPostgres } from '../token/store/postgres-backend.js'
import type { VaultBackend } from './vault-backend.js'

/** How often expired rows are deleted (on a write, at most this often per process). */
const SWEEP_EVERY_MS = 60_000

/**
 * PostgreSQL backend of the vault, on the token store's connection code: table `vault_entry` in
 * the namespace's schema (created on first connect), tags in an indexed array column. Expiry uses
 * the database clock.
 */
export async function connectPostgresVault(options: BackendOptions): Promise<VaultBackend> {
  const table = `"${options.namespace}".vault_entry`
  const pool = await openPostgres(options, () => [
    `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, value text NOT NULL, tags text[] NOT NULL, expires_at timestamptz NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS vault_entry_tags ON ${table} USING gin (tags)`,
  ])
  let lastSweep = 0
  const sweep = () => {
    const now = Date.now()
    if (now - lastSweep < SWEEP_EVERY_MS) return
    lastSweep = now
    void pool.query(`DELETE FROM ${table} WHERE expires_at <= now()`).catch(() => undefined)
  }
  return {
    async put(id, value, ttlMs, tags) {
      await pool.query(
        `INSERT INTO ${table} (id, value, tags, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET value = excluded.value, tags = excluded.tags, expires_at = excluded.expires_at`,
        [id, value, tags, Math.max(1, Math.ceil(ttlMs))],
      )
      sweep()
    },
    async get(ids) {
      if (ids.length === 0) return []
      const res = await pool.query<{ id: string; value: string }>(
        `SELECT id, value FROM ${table} WHERE id = ANY($1) AND expires_at > now()`,
        [ids],
      )
      const byId = new Map(res.rows.map((r) => [r.id, r.value]))
      return ids.map((id) => byId.get(id))
    },
    async delete(ids) {
      if (ids.length > 0) await pool.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [ids])
    },
    async find(tags) {
      if (tags !== undefined && tags.length === 0) return []
      const res =
        tags === undefined
          ? await pool.query<{ id: string; value: string }>(
              `SELECT id, value FROM ${table} WHERE expires_at > now()`,
            )
          : await pool.query<{ id: string; value: string }>(
              `SELECT id, value FROM ${table} WHERE tags && $1 AND expires_at > now()`,
              [tags],
            )
      return res.rows
    },
    async close() {
      await pool.end()
    },
  }
}

import { randomBytes } from 'node:crypto'
import { createTokenStoreFromConfig } from '@c7auth/core'
import type { C7AuthConfig, TokenStoreEvent } from '@c7auth/core'
import { errorText } from './check.js'
import type { CheckResult } from './check.js'

/**
 * Writes, reads back and deletes a probe entry (a random value, never a token) through the real
 * store: reachability, permissions (PostgreSQL creates its schema) and the key ring together.
 */
export async function checkTokenStore(config: C7AuthConfig): Promise<CheckResult> {
  const id = 'token-store'
  const events: TokenStoreEvent[] = []
  const fix =
    'check C7AUTH_TOKEN_STORE (host, port, credentials) and that this host can reach it; until then each replica keeps its own token cache'
  let shared
  try {
    shared = createTokenStoreFromConfig(config.tokenStore, { onEvent: (e) => events.push(e) })
  } catch (err) {
    return { id, status: 'fail', detail: errorText(err), fix }
  }
  if (shared === undefined) return { id, status: 'ok', detail: 'memory' }
  const store = shared.forTenant('c7auth-doctor')
  const key = `doctor|${randomBytes(8).toString('hex')}`
  const now = Date.now()
  const probe = randomBytes(16).toString('base64url')
  try {
    await store.set(
      key,
      { accessToken: probe, tokenType: 'probe', obtainedAt: now, expiresAt: now + 30_000 },
      30_000,
    )
    const back = await store.get(key)
    await store.delete(key)
    const down = events.find((e) => e.type === 'down')
    if (down !== undefined || !shared.shared) {
      return {
        id,
        status: 'fail',
        detail: `${down?.backend ?? 'store'} unreachable (${down?.reason ?? 'error'})`,
        fix,
      }
    }
    if (back?.accessToken !== probe) {
      return {
        id,
        status: 'fail',
        detail: 'the probe entry did not read back',
        fix: 'check C7AUTH_TOKEN_STORE_KEYS',
      }
    }
    return {
      id,
      status: 'ok',
      detail: `${config.tokenStore?.kind} store reachable, entries encrypted and read back`,
    }
  } catch (err) {
    return { id, status: 'fail', detail: errorText(err), fix }
  } finally {
    await shared.close()
  }
}

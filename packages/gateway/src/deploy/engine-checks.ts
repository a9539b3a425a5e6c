import { UpstreamError } from '@c7auth/core'
import type { C7AuthConfig, EngineAuthMode } from '@c7auth/core'
import { engineJson } from '../engine/engine-client.js'
import type { AdminClient, EngineEndpoint } from '../engine/engine-client.js'
import type { TenantSafetySettings } from './grants.js'

/** The policy's per-tenant settings from the loaded configuration (`C7AUTH_TENANT_<ENVID>_*`). */
export function tenantSafetySettingsOf(config: C7AuthConfig): Record<string, TenantSafetySettings> {
  const out: Record<string, TenantSafetySettings> = {}
  for (const t of config.tenants) {
    out[t.id] = {
      deployers: t.deployers,
      deployProfile: t.deployProfile,
      objectTypes: t.objectTypes,
    }
  }
  return out
}

/** The engine query behind {@link createSharedSignalProbe}. */
export const SHARED_SIGNAL_QUERY = '/event-subscription/count?eventType=signal&withoutTenantId=true'

/**
 * Asks the engine whether signal subscriptions without a tenant exist (signal start events of
 * shared definitions, shared instances waiting for a signal): `GET /event-subscription/count`
 * with `eventType=signal&withoutTenantId=true`. Runs as the engine admin when one is configured,
 * unauthenticated in `none` mode, as the technical user in `service` mode (which must be allowed
 * to read event subscriptions); otherwise, and whenever the engine does not answer a count, it
 * rejects and the caller refuses (fail closed).
 */
export function createSharedSignalProbe(options: {
  readonly endpoint: EngineEndpoint
  readonly admin: AdminClient | undefined
  readonly mode: EngineAuthMode
  readonly probeHeaders: () => Record<string, string> | Promise<Record<string, string>>
  readonly timeoutMs: number
}): () => Promise<boolean> {
  return async () => {
    let result
    if (options.admin) result = await options.admin.call('GET', SHARED_SIGNAL_QUERY)
    else if (options.mode === 'none' || options.mode === 'service') {
      result = await engineJson(options.endpoint, 'GET', SHARED_SIGNAL_QUERY, {
        headers: await options.probeHeaders(),
        timeoutMs: options.timeoutMs,
      })
    } else {
      throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
        detail: 'no account can query shared signal subscriptions',
      })
    }
    const count = (result.body as { count?: unknown } | undefined)?.count
    if (result.status !== 200 || typeof count !== 'number') {
      throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
        detail: `shared signal subscription query answered ${result.status}`,
      })
    }
    return count > 0
  }
}

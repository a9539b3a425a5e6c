import type { EngineAuthMode, Principal } from '@c7auth/core'
import { basicAuth } from './engine-client.js'
import type { IdentityBridge } from './identity-bridge.js'
import type { AssertionSigner } from './assertion-signer.js'

/** Adds the configured mode's upstream credentials for a principal. */
export interface UpstreamAuth {
  readonly mode: EngineAuthMode
  /** Headers to add to a forwarded request (after every client identity header was stripped). */
  headersFor(principal: Principal): Promise<Record<string, string>>
  /** Headers for the gateway's own non-admin probes (readiness). */
  probeHeaders(): Record<string, string> | Promise<Record<string, string>>
  /** Lower-cased header names that carry identity upstream; always stripped from client input. */
  readonly identityHeaders: ReadonlySet<string>
}

/** Options of {@link createUpstreamAuth}. */
export interface UpstreamAuthOptions {
  readonly mode: EngineAuthMode
  readonly bridge?: IdentityBridge | undefined
  readonly serviceUser?: string | undefined
  readonly servicePassword?: string | undefined
  /** `header` mode: the header the engine trusts (CIB seven: `Context-User-ID`). */
  readonly userHeader: string
  /** `assertion` mode: signs the per-principal assertion the engine plugin verifies. */
  readonly assertion?: AssertionSigner | undefined
}

/** The principal of the gateway's readiness probe in `assertion` mode: no groups, no tenants. */
const PROBE_PRINCIPAL: Principal = {
  kind: 'app',
  userId: 'c7authprobe',
  groupIds: [],
  tenantIds: [],
  clientId: undefined,
  issuer: 'c7auth',
  subject: 'c7authprobe',
  scopes: [],
  expiresAt: Number.MAX_SAFE_INTEGER,
  admin: false,
}

/**
 * The five upstream identity modes: `bridge` (Basic as the principal's own engine user), `service`
 * (one technical Basic account), `none` (no credentials), `header` (the engine trusts a user header),
 * `assertion` (a short-lived JWS the c7auth engine plugin verifies: user, groups and tenants).
 */
export function createUpstreamAuth(options: UpstreamAuthOptions): UpstreamAuth {
  const userHeader = options.userHeader.toLowerCase()
  const identityHeaders = new Set([userHeader])
  switch (options.mode) {
    case 'bridge': {
      const bridge = options.bridge
      if (!bridge) throw new Error('bridge mode needs an identity bridge')
      return {
        mode: 'bridge',
        identityHeaders,
        headersFor: async (p) => ({ authorization: (await bridge.ensure(p)).authorization }),
        probeHeaders: () => ({ authorization: bridge.canaryAuthorization() }),
      }
    }
    case 'service': {
      if (!options.serviceUser || options.servicePassword === undefined) {
        throw new Error('service mode needs serviceUser and servicePassword')
      }
      const header = { authorization: basicAuth(options.serviceUser, options.servicePassword) }
      return {
        mode: 'service',
        identityHeaders,
        headersFor: async () => header,
        probeHeaders: () => header,
      }
    }
    case 'none':
      return {
        mode: 'none',
        identityHeaders,
        headersFor: async () => ({}),
        probeHeaders: () => ({}),
      }
    case 'header':
      return {
        mode: 'header',
        identityHeaders,
        headersFor: async (p) => ({ [userHeader]: p.userId }),
        probeHeaders: () => ({}),
      }
    case 'assertion': {
      const signer = options.assertion
      if (!signer) throw new Error('assertion mode needs an assertion signer')
      // A fresh object per call: the proxy adds x-request-id to what it gets.
      const bearer = async (p: Principal) => ({
        authorization: `Bearer ${await signer.assertionFor(p)}`,
      })
      return {
        mode: 'assertion',
        identityHeaders,
        headersFor: bearer,
        probeHeaders: () => bearer(PROBE_PRINCIPAL),
      }
    }
  }
}

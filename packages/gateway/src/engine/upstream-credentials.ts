import { C7AuthError, ConfigError, UpstreamError } from '@c7auth/core'
import type { EngineAuthMode, Principal } from '@c7auth/core'
import { basicAuth } from './engine-client.js'
import type { IdentityBridge } from './identity-bridge.js'
import type { AssertionSigner } from './assertion-signer.js'

/**
 * How the gateway identifies itself (or the caller) to the engine, and how it recovers when the
 * engine refuses that identity. One implementation per `C7AUTH_ENGINE_AUTH` mode; the proxy, the
 * policy's owner lookups and the readiness probe know only this interface.
 */
export interface UpstreamCredentials {
  readonly mode: EngineAuthMode
  /**
   * Headers to add to a forwarded request (after every client identity header was stripped). A
   * mode that never waits (`service`, `none`, `header`) answers synchronously: the proxy's hot
   * path then has no promise and no async frame for it. The answer may be an object shared
   * across requests: callers copy it before adding to it.
   */
  headersFor(principal: Principal): Record<string, string> | Promise<Record<string, string>>
  /** Headers for the gateway's own non-admin probes (readiness). */
  probeHeaders(): Record<string, string> | Promise<Record<string, string>>
  /** Lower-cased header names that carry identity upstream; always stripped from client input. */
  readonly identityHeaders: ReadonlySet<string>
  /**
   * True when the engine sees the caller's tenants and applies its own tenant check (`bridge`,
   * `assertion`); the policy then lets the engine resolve what only it can scope (T29 forms).
   */
  readonly engineChecksTenants: boolean
  /**
   * The engine answered 401 to {@link headersFor}`(principal)`: `attempt` is 1 for the first 401
   * of a request, 2 for the 401 of its retry. Resolves when a retry may succeed now (`replayable`
   * says whether the request can be sent again); throws the refusal otherwise. The engine's own
   * Basic challenge never reaches the client.
   */
  recover(principal: Principal, attempt: number, replayable: boolean): Promise<void>
}

/** Options of {@link createUpstreamCredentials}. */
export interface UpstreamCredentialsOptions {
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
 * The gateway's own credentials (or none) were refused: nothing the caller could fix, and
 * retrying with the same credentials cannot help.
 */
async function refuseGatewayCredentials(): Promise<void> {
  throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
    detail: 'engine answered 401 to the gateway credentials',
  })
}

type Implementation = (
  options: UpstreamCredentialsOptions,
  identityHeaders: ReadonlySet<string>,
) => UpstreamCredentials

/** `bridge`: Basic as the principal's own engine user; a 401 repairs that user once. */
const bridgeCredentials: Implementation = (options, identityHeaders) => {
  const bridge = options.bridge
  if (!bridge) throw new ConfigError(['C7AUTH_ENGINE_AUTH=bridge needs an identity bridge'])
  return {
    mode: 'bridge',
    identityHeaders,
    engineChecksTenants: true,
    headersFor: async (p) => ({ authorization: (await bridge.ensure(p)).authorization }),
    probeHeaders: () => ({ authorization: bridge.canaryAuthorization() }),
    async recover(principal, attempt, replayable) {
      if (attempt > 1) {
        throw new C7AuthError('C7AUTH_BRIDGE_FAILED', { detail: 'engine 401 after repair' })
      }
      if (!(await bridge.repair(principal.userId))) {
        throw new C7AuthError('C7AUTH_BRIDGE_FAILED', { detail: 'engine 401; repair rate-limited' })
      }
      if (!replayable) {
        throw new C7AuthError('C7AUTH_BRIDGE_FAILED', {
          message: 'The caller\u2019s engine credentials were repaired; retry the request.',
          detail: 'engine 401 on a streamed body',
        })
      }
    },
  }
}

/** `service`: one technical Basic account for every caller. */
const serviceCredentials: Implementation = (options, identityHeaders) => {
  if (!options.serviceUser || options.servicePassword === undefined) {
    throw new ConfigError([
      'C7AUTH_ENGINE_AUTH=service needs C7AUTH_ENGINE_SERVICE_USER and C7AUTH_ENGINE_SERVICE_PASSWORD',
    ])
  }
  const header = { authorization: basicAuth(options.serviceUser, options.servicePassword) }
  return {
    mode: 'service',
    identityHeaders,
    engineChecksTenants: false,
    // one shared object: the proxy copies what it gets before adding to it
    headersFor: () => header,
    probeHeaders: () => header,
    recover: refuseGatewayCredentials,
  }
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

/** `none`: no credentials (an engine without authentication). */
const noCredentials: Implementation = (_options, identityHeaders) => ({
  mode: 'none',
  identityHeaders,
  engineChecksTenants: false,
  headersFor: () => NO_HEADERS,
  probeHeaders: () => ({}),
  recover: refuseGatewayCredentials,
})

/** `header`: the engine trusts a user header (CIB seven's `Context-User-ID`). */
const headerCredentials: Implementation = (options, identityHeaders) => {
  const userHeader = options.userHeader.toLowerCase()
  return {
    mode: 'header',
    identityHeaders,
    engineChecksTenants: false,
    headersFor: (p) => ({ [userHeader]: p.userId }),
    probeHeaders: () => ({}),
    recover: refuseGatewayCredentials,
  }
}

/**
 * `assertion`: a short-lived JWS per principal (user, groups, tenants) that the c7auth engine
 * plugin verifies against the gateway's JWKS. The engine then checks tenants itself.
 */
const assertionCredentials: Implementation = (options, identityHeaders) => {
  const signer = options.assertion
  if (!signer) throw new ConfigError(['C7AUTH_ENGINE_AUTH=assertion needs an assertion signer'])
  // A fresh object per call: the proxy adds x-request-id to what it gets.
  const bearer = async (p: Principal) => ({
    authorization: `Bearer ${await signer.assertionFor(p)}`,
  })
  return {
    mode: 'assertion',
    identityHeaders,
    engineChecksTenants: true,
    headersFor: bearer,
    probeHeaders: () => bearer(PROBE_PRINCIPAL),
    // a refused assertion is a key or plugin mismatch: signing again cannot help
    recover: refuseGatewayCredentials,
  }
}

/** One implementation per mode: a mode added to `ENGINE_AUTH_MODES` does not compile without one. */
const IMPLEMENTATIONS: { readonly [M in EngineAuthMode]: Implementation } = {
  bridge: bridgeCredentials,
  service: serviceCredentials,
  none: noCredentials,
  header: headerCredentials,
  assertion: assertionCredentials,
}

/**
 * The upstream credentials of the configured mode: `bridge` (Basic as the principal's own engine
 * user), `service` (one technical Basic account), `none` (no credentials), `header` (the engine
 * trusts a user header), `assertion` (a short-lived JWS the c7auth engine plugin verifies).
 *
 * @example
 * ```ts
 * const credentials = createUpstreamCredentials({ mode: 'service', serviceUser: 'svc',
 *   servicePassword: 'pw', userHeader: 'Context-User-ID' })
 * ```
 */
export function createUpstreamCredentials(
  options: UpstreamCredentialsOptions,
): UpstreamCredentials {
  // the user header is stripped from client input in every mode, not only in `header` mode
  const identityHeaders = new Set([options.userHeader.toLowerCase()])
  return IMPLEMENTATIONS[options.mode](options, identityHeaders)
}

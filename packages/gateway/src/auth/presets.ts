import type { IdpPreset } from '@c7auth/core'
import type { Claims, ClaimMappingOptions } from './options.js'

/** A complete claim mapping: a preset with its overrides applied. */
export interface ClaimMapping {
  readonly clientIdClaims: readonly string[]
  readonly userIdClaims: readonly string[]
  readonly appIdClaim: string | undefined
  readonly groupClaims: readonly string[]
  /** Claim paths whose groups may make a gateway admin; never a `{clientId}`/`{audience}` path. */
  readonly adminGroupClaims: readonly string[]
  readonly groupPrefix: string | undefined
  readonly stripGroupPrefix: boolean
  readonly groupPattern: RegExp | undefined
  readonly scopeClaims: readonly string[]
  readonly kind: (claims: Claims, clientId: string | undefined) => 'app' | 'user'
}

const CLIENT_ID_CLAIMS = ['azp', 'client_id', 'appid', 'cid'] as const

/**
 * App signals every IdP may send: Auth0 `gty: client-credentials` and `sub` ending in `@clients`,
 * Keycloak `service-account-` usernames, Entra `idtyp: app`.
 */
function commonAppSignals(c: Claims): boolean {
  return (
    c.gty === 'client-credentials' ||
    (typeof c.sub === 'string' && c.sub.endsWith('@clients')) ||
    (typeof c.preferred_username === 'string' &&
      c.preferred_username.startsWith('service-account-')) ||
    c.idtyp === 'app'
  )
}

type PresetDefinition = Omit<
  ClaimMapping,
  'groupPrefix' | 'stripGroupPrefix' | 'groupPattern' | 'appIdClaim' | 'adminGroupClaims'
>

/**
 * Whether a claim path names something the token's client (or audience) controls, e.g. Keycloak
 * `resource_access.{clientId}.roles`: roles a tenant can create on its own client.
 */
export function isClientScopedClaimPath(path: string): boolean {
  return path.includes('{clientId}') || path.includes('{audience}')
}

/** The presets. Each is a starting point; every field can be overridden. */
export const PRESETS: Readonly<Record<IdpPreset, PresetDefinition>> = {
  keycloak: {
    clientIdClaims: CLIENT_ID_CLAIMS,
    userIdClaims: ['preferred_username', 'sub'],
    groupClaims: ['groups', 'realm_access.roles', 'resource_access.{clientId}.roles'],
    scopeClaims: ['scope'],
    kind: (c) => (commonAppSignals(c) ? 'app' : 'user'),
  },
  auth0: {
    clientIdClaims: CLIENT_ID_CLAIMS,
    userIdClaims: ['sub'],
    groupClaims: ['groups', 'roles', 'permissions'],
    scopeClaims: ['scope'],
    kind: (c) => (commonAppSignals(c) ? 'app' : 'user'),
  },
  entra: {
    // v2 tokens name the client in `azp`, v1 tokens in `appid`.
    clientIdClaims: CLIENT_ID_CLAIMS,
    userIdClaims: ['oid', 'sub'],
    groupClaims: ['groups', 'roles'],
    scopeClaims: ['scp', 'scope'],
    // Without `idtyp`, an app-only token has no delegated scopes and its `sub` is the app's `oid`.
    kind: (c) =>
      commonAppSignals(c) || (c.scp === undefined && c.oid !== undefined && c.oid === c.sub)
        ? 'app'
        : 'user',
  },
  okta: {
    clientIdClaims: CLIENT_ID_CLAIMS,
    userIdClaims: ['sub'],
    groupClaims: ['groups'],
    scopeClaims: ['scp', 'scope'],
    // Okta client-credentials tokens have `sub` = `cid` and no `uid`.
    kind: (c) =>
      commonAppSignals(c) || (c.cid !== undefined && c.sub === c.cid && c.uid === undefined)
        ? 'app'
        : 'user',
  },
  generic: {
    clientIdClaims: CLIENT_ID_CLAIMS,
    userIdClaims: ['sub'],
    groupClaims: ['groups', 'roles'],
    scopeClaims: ['scope', 'scp'],
    kind: (c, clientId) =>
      commonAppSignals(c) || c.sub === undefined || (clientId !== undefined && c.sub === clientId)
        ? 'app'
        : 'user',
  },
}

/** Applies overrides to a preset. */
export function resolveClaimMapping(
  preset: IdpPreset,
  overrides: ClaimMappingOptions = {},
): ClaimMapping {
  const base = PRESETS[preset]
  const pattern = overrides.groupPattern
  const groupClaims = overrides.groupClaims ?? base.groupClaims
  return {
    clientIdClaims: overrides.clientIdClaims ?? base.clientIdClaims,
    userIdClaims: overrides.userIdClaims ?? base.userIdClaims,
    appIdClaim: overrides.appIdClaim,
    groupClaims,
    // Admin status never comes from client-scoped roles: whoever manages a client can name a role
    // after an admin group.
    adminGroupClaims:
      overrides.adminGroupClaims ?? groupClaims.filter((p) => !isClientScopedClaimPath(p)),
    groupPrefix: overrides.groupPrefix,
    stripGroupPrefix: overrides.stripGroupPrefix ?? false,
    groupPattern:
      pattern === undefined
        ? undefined
        : new RegExp(`^(?:${typeof pattern === 'string' ? pattern : pattern.source})$`),
    scopeClaims: overrides.scopeClaims ?? base.scopeClaims,
    kind: overrides.kind ?? base.kind,
  }
}

/** Reads a dot path through own properties only. */
export function claimAt(claims: Claims, path: readonly string[]): unknown {
  let cur: unknown = claims
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined
    cur = (cur as Record<string, unknown>)[seg]
  }
  return cur
}

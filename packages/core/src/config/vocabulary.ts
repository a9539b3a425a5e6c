/**
 * The closed sets of the configuration, each in one place: the config schema validates against
 * these arrays, and the types in `types.ts` are derived from them, so a new value is added once.
 */

/** How an OAuth client authenticates at the token endpoint. */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'tls_client_auth',
  'none',
] as const

/** Claim-mapping presets for the common IdPs. */
export const IDP_PRESETS = ['keycloak', 'auth0', 'entra', 'okta', 'generic'] as const

/** How a verified token is mapped to tenants. */
export const TENANT_MODES = ['app', 'claim', 'fixed'] as const

/** How the gateway authenticates to engine-rest. */
export const ENGINE_AUTH_MODES = ['bridge', 'service', 'none', 'header', 'assertion'] as const

/** Which engine authorizations the gateway bootstrap grants to the default groups. */
export const ENGINE_AUTHORIZATIONS_MODES = ['none', 'apps', 'apps+users'] as const

/** Deployment profiles of a tenant. */
export const DEPLOY_PROFILES = ['strict', 'trusted'] as const

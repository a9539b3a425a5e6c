/**
 * The asymmetric JWS algorithms (RFC 7518, RFC 8037) c7auth accepts by default. Shared by the
 * config loader (which refuses anything else in `ALGORITHMS`) and the gateway's verifier.
 */
export const ASYMMETRIC_JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const

/** One of {@link ASYMMETRIC_JWS_ALGORITHMS}. */
export type AsymmetricJwsAlgorithm = (typeof ASYMMETRIC_JWS_ALGORITHMS)[number]

/** Helpers for the test IdP's own tests (not exported from the package). */
import { createRemoteJWKSet, jwtVerify } from 'jose'
import type { TestIdp } from './index.js'

/** Verifies an access token the IdP issued: its signature at the JWKS, issuer, audience, `at+jwt`. */
export function verifyAccessToken(
  idp: TestIdp,
  token: string,
  audience = 'urn:c7auth:engine-rest',
  algorithms?: string[],
) {
  return jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), {
    issuer: idp.issuer,
    audience,
    typ: 'at+jwt',
    ...(algorithms !== undefined ? { algorithms } : {}),
  })
}

import type { Principal } from '@c7auth/core'
import { createAuthenticator } from './authenticator.js'
import type { Authenticator, VerifiedToken } from './authenticator.js'
import type { AuthenticatorOptions, Claims, IssuerOptions } from './options.js'

/**
 * A plain JWT check in one object: one issuer's settings (`issuer`, `audience`, optional
 * `jwksUri`, `preset`, …) plus the authenticator's (`realm`, `clockToleranceSeconds`, …).
 * `tenants` is optional: without it no tenant is mapped or required.
 *
 * @example
 * ```ts
 * app.use(authenticate({ issuer: 'https://idp.example.com/', audience: 'orders-api' }))
 * ```
 */
export type JwtCheckOptions = IssuerOptions & Omit<AuthenticatorOptions, 'issuers'>

/** What the adapters accept: a ready {@link Authenticator}, or the options of a plain JWT check. */
export type AuthSource = Authenticator | JwtCheckOptions

/**
 * What `req.auth` (Express), `req.user` (passport) and the Koa state key hold: the mapped
 * {@link Principal} plus the token's verified `claims`.
 */
export interface RequestAuth extends Principal {
  /** The verified JWT claims (frozen). Never log them: they may carry personal data. */
  readonly claims: Claims
}

/**
 * The authenticator behind an adapter. Options build one at once, without network: keys load on
 * the first request (discovery, then the JWKS), so an app starts while its IdP is still down.
 */
export function toAuthenticator(source: AuthSource): Authenticator {
  if (isAuthenticator(source)) return withLookup(source)
  return createAuthenticator({ ...source, issuers: [source] })
}

/** One `RequestAuth` per verified token: a cached token's callers share it (frozen throughout). */
const requestAuths = new WeakMap<VerifiedToken, RequestAuth>()

/**
 * The value an adapter stores for the request (`req.auth`, `ctx.state.auth`): the principal and
 * the verified claims, frozen down to their nested arrays and objects (every request of a cached
 * token shares it, so one handler's `push` would reach the next). Made once per verified token,
 * so a cache hit allocates nothing here.
 */
export function toRequestAuth(verified: VerifiedToken): RequestAuth {
  let auth = requestAuths.get(verified)
  if (auth === undefined) {
    const p = verified.principal
    // the principal's arrays are copied, not frozen in place: they may be shared with whoever
    // made the principal; the claims are the verification's own parsed payload
    auth = deepFreeze({
      ...p,
      groupIds: [...p.groupIds],
      tenantIds: [...p.tenantIds],
      scopes: [...p.scopes],
      claims: verified.claims,
    })
    requestAuths.set(verified, auth)
  }
  return auth
}

/**
 * Freezes `value` and every plain object and array it reaches (an already frozen object's
 * children too: claims arrive frozen only at the top). Other objects (a `Date`, a buffer) are left.
 */
function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value !== 'object' || value === null || seen.has(value)) return value
  const proto = Object.getPrototypeOf(value) as unknown
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value
  seen.add(value)
  for (const child of Object.values(value)) deepFreeze(child, seen)
  return Object.freeze(value)
}

function isAuthenticator(source: AuthSource): source is Authenticator {
  return typeof (source as Partial<Authenticator>).authenticateRequest === 'function'
}

/**
 * An authenticator of one's own (or from an older build) may lack `lookup`: it then answers
 * through `authenticateRequest`, one promise per request.
 */
export function withLookup(a: Authenticator): Authenticator {
  if (typeof (a as Partial<Authenticator>).lookup === 'function') return a
  return Object.assign(Object.create(a) as Authenticator, {
    lookup: (req: Parameters<Authenticator['lookup']>[0]) => a.authenticateRequest(req),
  })
}

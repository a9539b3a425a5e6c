import { createHash, createPrivateKey, createPublicKey, randomUUID } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { C7AuthError, ConfigError, splitPublicKeyPems } from '@c7auth/core'
import type { Principal } from '@c7auth/core'

/** The JWS `typ` of every assertion; the engine plugin refuses any other (no JWT confusion). */
export const ASSERTION_TYPE = 'c7auth-assertion+jwt'

/** Assertions live this long; the engine plugin refuses anything longer. */
export const ASSERTION_LIFETIME_SECONDS = 60

/** A public key as the gateway publishes it. */
export interface AssertionJwk {
  readonly kty: string
  readonly kid: string
  readonly use: 'sig'
  readonly alg: string
  readonly [member: string]: string
}

/** The JWKS document (`{ keys: [...] }`). */
export interface AssertionJwks {
  readonly keys: readonly AssertionJwk[]
}

/** Options of {@link createAssertionSigner}. */
export interface AssertionSignerOptions {
  readonly issuer: string
  readonly audience: string
  /** PEM private key: RSA (≥ 2048 bits) or EC P-256. */
  readonly privateKeyPem: string
  /** Default: RFC 7638 thumbprint of the public key. */
  readonly keyId?: string | undefined
  /** Default: `RS256` for RSA, `ES256` for EC. */
  readonly algorithm?: 'RS256' | 'PS256' | 'ES256' | undefined
  /** PEM public keys published but never used to sign (rotation overlap). */
  readonly extraPublicKeysPem?: string | undefined
  /** The groups the engine should see for a principal. */
  readonly groupsOf: (p: Principal) => readonly string[]
  /** Reuse a signed assertion this long, seconds. Default 45 (of its 60 s lifetime). */
  readonly reuseSeconds?: number
  /** Most cached assertions. Default 10 000. */
  readonly maxCached?: number
  /** Clock, epoch ms (tests). */
  readonly now?: () => number
}

/** Signs engine assertions and describes its public keys. */
export interface AssertionSigner {
  /** A compact JWS for the principal, from the cache while it is young enough. */
  assertionFor(p: Principal): Promise<string>
  /** The public keys to publish: the signing key first, then the extra ones. */
  jwks(): AssertionJwks
  /** The signing key's `kid`. */
  readonly keyId: string
}

const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA or EC public JWK. */
function thumbprint(jwk: JsonWebKey): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)] ?? []
  const canonical = `{${members.map((m) => `"${m}":${JSON.stringify(jwk[m])}`).join(',')}}`
  return createHash('sha256').update(canonical).digest('base64url')
}

function describe(key: KeyObject, where: string, alg?: string): { jwk: JsonWebKey; alg: string } {
  const type = key.asymmetricKeyType
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < 2048) throw new ConfigError([`${where}: RSA keys need at least 2048 bits`])
    if (alg === 'ES256') throw new ConfigError([`${where}: ES256 needs an EC P-256 key`])
    return { jwk: key.export({ format: 'jwk' }), alg: alg ?? 'RS256' }
  }
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    if (alg !== undefined && alg !== 'ES256') {
      throw new ConfigError([`${where}: an EC P-256 key signs ES256 only`])
    }
    return { jwk: key.export({ format: 'jwk' }), alg: 'ES256' }
  }
  throw new ConfigError([`${where}: only RSA (≥ 2048 bits) and EC P-256 keys are supported`])
}

function publicJwk(jwk: JsonWebKey, kid: string, alg: string): AssertionJwk {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)] ?? []
  const out: Record<string, string> = { kid, use: 'sig', alg }
  for (const m of members) out[m] = String(jwk[m])
  return out as unknown as AssertionJwk
}

/**
 * The `assertion` mode's signer: one short-lived JWS per principal (user id, engine groups, tenant
 * ids), signed with a key imported once and reused for up to 45 s, so signing is not on every
 * request. The engine plugin verifies it against {@link AssertionSigner.jwks}.
 *
 * @example
 * ```ts
 * const signer = createAssertionSigner({ issuer: 'https://gw', audience: 'engine', privateKeyPem,
 *   groupsOf: (p) => p.groupIds })
 * const jws = await signer.assertionFor(principal)
 * ```
 */
export function createAssertionSigner(options: AssertionSignerOptions): AssertionSigner {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(options.privateKeyPem)
  } catch {
    throw new ConfigError(['engine assertion key: not a PEM private key'])
  }
  const signing = describe(createPublicKey(privateKey), 'engine assertion key', options.algorithm)
  const keyId = options.keyId ?? thumbprint(signing.jwk)
  const keys: AssertionJwk[] = [publicJwk(signing.jwk, keyId, signing.alg)]
  if (options.extraPublicKeysPem !== undefined) {
    const blocks = splitPublicKeyPems(options.extraPublicKeysPem)
    if (blocks === undefined)
      throw new ConfigError(['engine assertion extra keys: not PEM public keys'])
    for (const block of blocks) {
      const extra = describe(createPublicKey(block), 'engine assertion extra key')
      const kid = thumbprint(extra.jwk)
      if (keys.some((k) => k.kid === kid)) continue
      keys.push(publicJwk(extra.jwk, kid, extra.alg))
    }
  }
  const jwks: AssertionJwks = { keys }
  const now = options.now ?? Date.now
  const reuseMs = Math.min(options.reuseSeconds ?? 45, ASSERTION_LIFETIME_SECONDS - 5) * 1000
  const maxCached = options.maxCached ?? 10_000
  const cache = new Map<string, { token: string; reuseUntil: number }>()
  // The authenticator hands out the same Principal object for a cached token: a hit costs one
  // WeakMap lookup, no key building. The Map above still shares assertions across tokens.
  const byPrincipal = new WeakMap<Principal, { token: string; reuseUntil: number }>()
  const inflight = new Map<string, Promise<string>>()

  async function sign(userId: string, groups: readonly string[], tenants: readonly string[]) {
    const iat = Math.floor(now() / 1000)
    return new SignJWT({ groups: [...groups], tenants: [...tenants] })
      .setProtectedHeader({ alg: signing.alg, kid: keyId, typ: ASSERTION_TYPE })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setSubject(userId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(privateKey)
  }

  return {
    keyId,
    jwks: () => jwks,
    async assertionFor(p) {
      const t = now()
      const seen = byPrincipal.get(p)
      if (seen && seen.reuseUntil > t) return seen.token
      const groups = [...options.groupsOf(p)]
      const tenants = [...p.tenantIds].sort()
      // The cache key is the whole claim content: the same user with other tenants gets another one.
      const key = JSON.stringify([p.userId, groups, tenants])
      const hit = cache.get(key)
      if (hit && hit.reuseUntil > t) {
        byPrincipal.set(p, hit)
        return hit.token
      }
      const pending = inflight.get(key)
      if (pending) return pending
      const promise = sign(p.userId, groups, tenants).then(
        (token) => {
          inflight.delete(key)
          cache.delete(key)
          if (cache.size >= maxCached) {
            // Oldest first (Map keeps insertion order): drop a tenth rather than one per miss.
            let drop = Math.max(1, Math.floor(maxCached / 10))
            for (const k of cache.keys()) {
              if (drop-- <= 0) break
              cache.delete(k)
            }
          }
          const entry = { token, reuseUntil: t + reuseMs }
          cache.set(key, entry)
          byPrincipal.set(p, entry)
          return token
        },
        (err: unknown) => {
          inflight.delete(key)
          throw err
        },
      )
      inflight.set(key, promise)
      return promise
    },
  }
}

/** The refusal of a JWKS request when the gateway signs no assertions (any mode but `assertion`). */
export function noAssertionKeys(): C7AuthError {
  return new C7AuthError('C7AUTH_NOT_FOUND', { message: 'No assertion keys.' })
}

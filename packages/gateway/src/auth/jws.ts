import { constants, createHmac, timingSafeEqual, verify as cryptoVerify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ASYMMETRIC_JWS_ALGORITHMS } from '@c7auth/core'
import type { AsymmetricJwsAlgorithm } from '@c7auth/core'

/** JWS algorithms the verifier understands. `none` is never accepted. */
export type JwsAlgorithm = AsymmetricJwsAlgorithm | 'HS256' | 'HS384' | 'HS512'

/** Default allowlist: every asymmetric algorithm. HS* needs an explicitly configured secret. */
export const DEFAULT_ALGORITHMS: readonly JwsAlgorithm[] = ASYMMETRIC_JWS_ALGORITHMS

interface AlgInfo {
  readonly family: 'rsa' | 'pss' | 'ec' | 'okp' | 'hmac'
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null
  /** EC: the named curve as node:crypto reports it; EC signature length in bytes. */
  readonly curve?: string
  readonly sigLength?: number
}

const ALGS: Readonly<Record<JwsAlgorithm, AlgInfo>> = {
  RS256: { family: 'rsa', hash: 'sha256' },
  RS384: { family: 'rsa', hash: 'sha384' },
  RS512: { family: 'rsa', hash: 'sha512' },
  PS256: { family: 'pss', hash: 'sha256' },
  PS384: { family: 'pss', hash: 'sha384' },
  PS512: { family: 'pss', hash: 'sha512' },
  ES256: { family: 'ec', hash: 'sha256', curve: 'prime256v1', sigLength: 64 },
  ES384: { family: 'ec', hash: 'sha384', curve: 'secp384r1', sigLength: 96 },
  ES512: { family: 'ec', hash: 'sha512', curve: 'secp521r1', sigLength: 132 },
  EdDSA: { family: 'okp', hash: null },
  Ed25519: { family: 'okp', hash: null, curve: 'ed25519' },
  HS256: { family: 'hmac', hash: 'sha256' },
  HS384: { family: 'hmac', hash: 'sha384' },
  HS512: { family: 'hmac', hash: 'sha512' },
}

/** True for a name in {@link JwsAlgorithm}. */
export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && Object.prototype.hasOwnProperty.call(ALGS, alg)
}

/** True for `HS256`/`HS384`/`HS512`. */
export function isHmacAlgorithm(alg: JwsAlgorithm): boolean {
  return ALGS[alg].family === 'hmac'
}

/** A decoded, not yet verified compact JWS. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
  /** `base64url(header) + '.' + base64url(payload)`, the signing input. */
  readonly signingInput: string
  readonly signature: Buffer
}

const B64URL = /^[A-Za-z0-9_-]+$/

/** Decodes a compact JWS; `undefined` when it is not one (wrong shape, bad base64url or JSON). */
export function decodeJws(token: string): DecodedJws | undefined {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return undefined
  const h = token.slice(0, first)
  const p = token.slice(first + 1, second)
  const s = token.slice(second + 1)
  if (!isB64url(h) || !isB64url(p) || !isB64url(s)) return undefined
  const header = parseObject(h)
  const payload = header && parseObject(p)
  if (!header || !payload) return undefined
  return {
    header,
    payload,
    signingInput: token.slice(0, second),
    signature: Buffer.from(s, 'base64url'),
  }
}

/**
 * Checks a JWS signature with a pre-imported key. The key's type must fit the algorithm family
 * (no HMAC with a public key, no RS with an EC key), so algorithm confusion cannot get through.
 */
export function verifySignature(
  alg: JwsAlgorithm,
  key: KeyObject,
  signingInput: string,
  signature: Buffer,
): boolean {
  const info = ALGS[alg]
  const data = Buffer.from(signingInput, 'latin1')
  if (info.family === 'hmac') {
    if (key.type !== 'secret' || info.hash === null) return false
    const mac = createHmac(info.hash, key).update(data).digest()
    return mac.length === signature.length && timingSafeEqual(mac, signature)
  }
  if (key.type !== 'public') return false
  const type = key.asymmetricKeyType
  switch (info.family) {
    case 'rsa':
      return type === 'rsa' && cryptoVerify(info.hash, data, key, signature)
    case 'pss':
      return (
        (type === 'rsa' || type === 'rsa-pss') &&
        cryptoVerify(
          info.hash,
          data,
          {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          },
          signature,
        )
      )
    case 'ec':
      return (
        type === 'ec' &&
        key.asymmetricKeyDetails?.namedCurve === info.curve &&
        signature.length === info.sigLength &&
        cryptoVerify(info.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      )
    case 'okp':
      return (
        (type === 'ed25519' || (type === 'ed448' && info.curve === undefined)) &&
        cryptoVerify(null, data, key, signature)
      )
  }
}

/** Whether a key could verify this algorithm at all (used to pick candidates without a `kid`). */
export function keyFitsAlgorithm(alg: JwsAlgorithm, key: KeyObject): boolean {
  const info = ALGS[alg]
  const type = key.asymmetricKeyType
  switch (info.family) {
    case 'hmac':
      return key.type === 'secret'
    case 'rsa':
      return type === 'rsa'
    case 'pss':
      return type === 'rsa' || type === 'rsa-pss'
    case 'ec':
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === info.curve
    case 'okp':
      return type === 'ed25519' || (type === 'ed448' && info.curve === undefined)
  }
}

function isB64url(s: string): boolean {
  return s.length % 4 !== 1 && B64URL.test(s)
}

function parseObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

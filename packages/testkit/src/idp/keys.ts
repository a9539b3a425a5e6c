import { constants, createHmac, generateKeyPair, randomBytes, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import type { JWK } from 'jose'
import type { TestIdpSigningAlg } from './types.js'

const generateKeyPairAsync = promisify(generateKeyPair)

/** One signing key of the IdP. */
export interface SigningKey {
  kid: string
  alg: TestIdpSigningAlg
  privateKey: KeyObject
  /** Private JWK (with `kid`, `alg`, `use`) as oidc-provider wants it. */
  privateJwk: JWK
  /** Public JWK as served at the JWKS endpoint. */
  publicJwk: JWK
}

let counter = 0

/** Generates a fresh signing key for `alg`. */
export async function generateSigningKey(alg: TestIdpSigningAlg): Promise<SigningKey> {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? await generateKeyPairAsync('ec', { namedCurve: 'P-256' })
      : await generateKeyPairAsync('rsa', { modulusLength: 2048 })
  counter += 1
  const kid = `k${counter}-${randomBytes(4).toString('hex')}`
  const meta = { kid, alg, use: 'sig' }
  return {
    kid,
    alg,
    privateKey,
    privateJwk: { ...(privateKey.export({ format: 'jwk' }) as JWK), ...meta },
    publicJwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), ...meta },
  }
}

const spare = new Map<TestIdpSigningAlg, Promise<SigningKey>>()

/**
 * Hands out a signing key, keeping one spare per algorithm generated in the background: RSA key
 * generation takes 50–500 ms, and tests start IdPs and rotate keys often.
 */
export function takeSigningKey(alg: TestIdpSigningAlg): Promise<SigningKey> {
  const key = spare.get(alg) ?? generateSigningKey(alg)
  const next = generateSigningKey(alg)
  next.catch(() => spare.delete(alg))
  spare.set(alg, next)
  return key
}

const b64u = (input: Buffer | string): string => Buffer.from(input).toString('base64url')

/**
 * Signs `header.payload` without any validation of the header, so hostile tokens (`crit`, `none`,
 * algorithm confusion, missing claims) can be produced.
 */
export function signCompact(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  alg: string,
  key: KeyObject,
  hmacKey?: string | Uint8Array,
): string {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  const input = `${b64u(JSON.stringify(header))}.${b64u(body)}`
  const bits = /^(?:RS|PS|ES|HS)(256|384|512)$/.exec(alg)?.[1]
  if (alg === 'none') return `${input}.`
  if (!bits) throw new Error(`signToken: unsupported alg ${alg}`)
  const hash = `sha${bits}`
  let signature: Buffer
  if (alg.startsWith('HS')) {
    if (hmacKey === undefined) throw new Error('signToken: HS* needs options.hmacKey')
    signature = createHmac(hash, hmacKey).update(input).digest()
  } else if (alg.startsWith('PS')) {
    signature = sign(hash, Buffer.from(input), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: Number(bits) / 8,
    })
  } else if (alg.startsWith('ES')) {
    signature = sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  } else {
    signature = sign(hash, Buffer.from(input), key)
  }
  return `${input}.${b64u(signature)}`
}

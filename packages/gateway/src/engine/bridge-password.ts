import { createHmac } from 'node:crypto'
import { C7AuthError } from '@c7auth/core'

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ'
const LOWER = 'abcdefghijkmnopqrstuvwxyz'
const DIGIT = '23456789'
// ASCII specials from Camunda's policy list, minus ':' (Basic splits on it) and quotes/backslash.
const SPECIAL = '!#%*+-.=?@_~'

/** The built-in Camunda password policy (DefaultPasswordPolicyImpl + user-data rule). */
export function passesDefaultPasswordPolicy(password: string, userId: string): boolean {
  return (
    password.length >= 10 &&
    /[a-z]/.test(password) &&
    /[A-Z]/.test(password) &&
    /[0-9]/.test(password) &&
    /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/.test(password) &&
    !password.toLowerCase().includes(userId.toLowerCase())
  )
}

function candidate(secret: string | Buffer, userId: string, counter: number): string {
  const mac = createHmac('sha256', secret).update(`c7auth:v1:${userId}${counter}`).digest()
  const body = mac.subarray(0, 24).toString('base64url') // 32 chars
  const pick = (alphabet: string, byte: number) => alphabet[byte % alphabet.length]
  // four class characters from the MAC's tail, spliced at MAC-chosen positions
  const classes = [
    pick(UPPER, mac[24]!),
    pick(LOWER, mac[25]!),
    pick(DIGIT, mac[26]!),
    pick(SPECIAL, mac[27]!),
  ]
  let out = body
  for (let i = 0; i < classes.length; i++) {
    const at = mac[28 + i]! % (out.length + 1)
    out = out.slice(0, at) + classes[i] + out.slice(at)
  }
  return out
}

/**
 * The bridged user's engine password: `HMAC-SHA256(secret, "c7auth:v1:" + userId + counter)`,
 * base64url plus one character of each class, for the first counter whose candidate passes
 * Camunda's password policy (which rejects passwords containing the user id). Deterministic:
 * every replica with the same secret derives the same password; never stored.
 *
 * @example
 * ```ts
 * const pw = deriveBridgePassword(secret, 'app1') // 36 ASCII chars, policy-valid
 * ```
 */
export function deriveBridgePassword(secret: string | Buffer, userId: string): string {
  for (let counter = 0; counter < 10_000; counter++) {
    const pw = candidate(secret, userId, counter)
    if (passesDefaultPasswordPolicy(pw, userId)) return pw
  }
  // Only reachable for pathological ids (e.g. a single character contained in every candidate).
  throw new C7AuthError('C7AUTH_BRIDGE_FAILED', {
    message: 'No policy-valid bridge password could be derived for this user id.',
  })
}

import { createHash } from 'node:crypto'
import { ConfigError } from '@c7auth/core'

/** The engine's default whitelist pattern for user, group and tenant ids. */
export const DEFAULT_ENGINE_ID_PATTERN = '[a-zA-Z0-9]+'

/** Ids up to this length that already match the pattern are kept as they are. */
export const MAX_KEPT_ID_LENGTH = 32
const PREFIX_LENGTH = 24
const HASH_LENGTH = 33
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** Maps a raw claim value to an engine id. */
export type EngineIdMapper = (raw: string) => string

/**
 * Maps a raw id (a Keycloak UUID, an Auth0 `auth0|123`, an e-mail) into the engine's id pattern,
 * deterministically and collision-resistantly.
 *
 * - A raw id that fully matches `pattern` and has at most 32 characters is kept unchanged.
 * - Any other id becomes `<prefix><hash>`: up to 24 of its ASCII letters and digits (for
 *   readability), then 33 base32 characters (165 bits) of its SHA-256. That form is always
 *   longer than 32 characters, so it can never equal a kept id, and two different raw ids only
 *   share it through a SHA-256 collision. Its length is at most 57, within the engine's 64.
 *
 * @example
 * ```ts
 * toEngineId('alice') // 'alice'
 * toEngineId('auth0|5f7c8ec7c33c6c004bbafe82') // 'auth05f7c8ec7c33c6c004bb' + 33 base32 chars
 * ```
 */
export function toEngineId(
  raw: string,
  pattern: string | RegExp = DEFAULT_ENGINE_ID_PATTERN,
): string {
  const re = fullMatch(pattern)
  if (raw.length > 0 && raw.length <= MAX_KEPT_ID_LENGTH && re.test(raw)) return raw
  return hashedId(raw)
}

/**
 * Builds a mapper for one pattern, checking once that the hashed form fits it (a pattern that
 * rejects lower-case letters or digits cannot hold hashed ids).
 *
 * @example
 * ```ts
 * const map = createEngineIdMapper('[a-zA-Z0-9]+')
 * map('f47ac10b-58cc-4372-a567-0e02b2c3d479')
 * ```
 */
export function createEngineIdMapper(
  pattern: string | RegExp = DEFAULT_ENGINE_ID_PATTERN,
): EngineIdMapper {
  const re = fullMatch(pattern)
  if (!re.test(hashedId('c7auth:probe'))) {
    throw new ConfigError([
      'idPattern (C7AUTH_ENGINE_ID_PATTERN) must accept lower-case letters and digits',
    ])
  }
  const memo = new Map<string, string>()
  return (raw) => {
    let id = memo.get(raw)
    if (id === undefined) {
      id = raw.length > 0 && raw.length <= MAX_KEPT_ID_LENGTH && re.test(raw) ? raw : hashedId(raw)
      // A small bounded memo: ids repeat across requests, hashing them each time is waste.
      if (memo.size >= 10_000) memo.clear()
      memo.set(raw, id)
    }
    return id
  }
}

function hashedId(raw: string, hashInput: string = raw): string {
  const prefix = raw.replace(/[^a-zA-Z0-9]/g, '').slice(0, PREFIX_LENGTH)
  return (
    prefix + base32(createHash('sha256').update(hashInput, 'utf8').digest()).slice(0, HASH_LENGTH)
  )
}

/**
 * Domain tag of user ids. App ids are hashed from their raw id alone; a raw app id holding a NUL
 * character is refused (see {@link isMappableAppId}), so no app id can hash the same input as a
 * user id.
 */
const USER_DOMAIN = '\u0000c7auth-user\u0000'

/** Maps `(issuer, raw user id)` to an engine user id. */
export type UserIdMapper = (issuer: string, raw: string) => string

/**
 * The engine id of a human user: always the hashed form (`<up to 24 letters and digits of the raw
 * id><33 base32 characters>`), computed over the issuer and the raw id with a user-only domain
 * tag. Users therefore live in their own id namespace: never equal to an app's id (an app's kept
 * id has at most 32 characters; its hashed form hashes a different input), and two issuers'
 * users with the same `sub` get different ids. See docs/identity-namespaces.md.
 *
 * @example
 * ```ts
 * userEngineId('https://idp.example.com/realms/shared', 'globex') // 'globex' + 33 base32 chars
 * ```
 */
export function userEngineId(issuer: string, raw: string): string {
  return hashedId(raw, `${USER_DOMAIN}${issuer}\u0000${raw}`)
}

/** Builds a memoizing {@link UserIdMapper} (a pattern check happened in {@link createEngineIdMapper}). */
export function createUserIdMapper(): UserIdMapper {
  const memo = new Map<string, string>()
  return (issuer, raw) => {
    const key = `${issuer}\u0000${raw}`
    let id = memo.get(key)
    if (id === undefined) {
      id = userEngineId(issuer, raw)
      if (memo.size >= 10_000) memo.clear()
      memo.set(key, id)
    }
    return id
  }
}

/** False for a raw app id the gateway refuses to map: empty or holding a NUL character. */
export function isMappableAppId(raw: string): boolean {
  return raw.length > 0 && !raw.includes('\u0000')
}

function base32(bytes: Buffer): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

function fullMatch(pattern: string | RegExp): RegExp {
  const source = typeof pattern === 'string' ? pattern : pattern.source
  return new RegExp(`^(?:${source})$`)
}

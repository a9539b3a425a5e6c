import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { ConfigError } from '../../errors.js'
import type { TokenStoreKey } from '../../config/types.js'

/** Format tag of an encrypted entry; a new format gets a new tag, old ones stay readable. */
const FORMAT = 'v1'
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/
const KEY_BYTES = 32
const IV_BYTES = 12

interface DerivedKey {
  readonly id: string
  /** AES-256-GCM key of the entries. */
  readonly enc: Buffer
  /** HMAC-SHA-256 key of the store ids. */
  readonly mac: Buffer
}

/**
 * The keys of a shared token store. The first key encrypts new entries and names their ids; every
 * key decrypts and is tried on lookup, so a rotation (add the new key second, roll out, move it
 * first, roll out, drop the old one once its entries have expired) drops no entry. Two subkeys per
 * ring key (HKDF-SHA-256), so the id hash and the cipher never share a key.
 */
export class KeyRing {
  readonly #keys: readonly DerivedKey[]

  constructor(keys: readonly TokenStoreKey[]) {
    const issues = keyRingIssues(keys)
    if (issues.length > 0) throw new ConfigError(issues)
    this.#keys = keys.map((k) => ({
      id: k.id,
      enc: derive(k.secret, 'c7auth token-store entry'),
      mac: derive(k.secret, 'c7auth token-store id'),
    }))
  }

  /**
   * The store ids under which an entry of (`tenant`, `key`) may live, current key first. An id is
   * an HMAC: the store learns neither the tenant nor the cache key, and cannot compute ids itself.
   */
  ids(tenant: string, key: string): string[] {
    const input = bound(tenant, key)
    return this.#keys.map((k) => createHmac('sha256', k.mac).update(input).digest('base64url'))
  }

  /** Encrypts with the current key; tenant and cache key are the associated data. */
  seal(tenant: string, key: string, plaintext: string): string {
    const k = this.#keys[0]!
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', k.enc, iv)
    cipher.setAAD(bound(tenant, key))
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [
      FORMAT,
      k.id,
      iv.toString('base64url'),
      ct.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.')
  }

  /**
   * Decrypts an entry sealed for exactly (`tenant`, `key`); undefined when it was sealed for
   * another tenant or key (moved), altered, or sealed with a key no longer in the ring.
   */
  open(tenant: string, key: string, sealed: string): string | undefined {
    const parts = sealed.split('.')
    if (parts.length !== 5 || parts[0] !== FORMAT) return undefined
    const k = this.#keys.find((candidate) => candidate.id === parts[1])
    if (k === undefined) return undefined
    try {
      const decipher = createDecipheriv('aes-256-gcm', k.enc, Buffer.from(parts[2]!, 'base64url'))
      decipher.setAAD(bound(tenant, key))
      decipher.setAuthTag(Buffer.from(parts[4]!, 'base64url'))
      return Buffer.concat([
        decipher.update(Buffer.from(parts[3]!, 'base64url')),
        decipher.final(),
      ]).toString('utf8')
    } catch {
      return undefined
    }
  }
}

/** Problems of a key ring, each naming the entry by position, never by value. */
export function keyRingIssues(keys: readonly TokenStoreKey[], name = 'keys'): string[] {
  const issues: string[] = []
  if (keys.length === 0) issues.push(`${name}: at least one key is required`)
  const seen = new Set<string>()
  keys.forEach((k, i) => {
    if (!KEY_ID.test(k.id)) issues.push(`${name}: entry #${i + 1} needs a key id of [A-Za-z0-9._-]`)
    else if (seen.has(k.id)) issues.push(`${name}: entry #${i + 1} repeats key id ${k.id}`)
    seen.add(k.id)
    if (k.secret.length !== KEY_BYTES) {
      issues.push(`${name}: entry #${i + 1} must be ${KEY_BYTES} random bytes (base64)`)
    }
  })
  return issues
}

/**
 * Parses `<id>:<base64 of 32 bytes>` entries separated by commas or whitespace (so a file may hold
 * one key per line). Returns undefined when an entry is not of that shape.
 */
export function parseKeyRing(value: string): TokenStoreKey[] | undefined {
  const entries = value.split(/[\s,]+/).filter((s) => s !== '')
  const keys: TokenStoreKey[] = []
  for (const entry of entries) {
    const colon = entry.indexOf(':')
    if (colon <= 0) return undefined
    const b64 = entry.slice(colon + 1)
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) return undefined
    keys.push({ id: entry.slice(0, colon), secret: new Uint8Array(Buffer.from(b64, 'base64')) })
  }
  return keys
}

function derive(secret: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), info, KEY_BYTES))
}

/** Length-prefixed, so no (tenant, key) pair can be confused with another. */
function bound(tenant: string, key: string): Buffer {
  const t = Buffer.from(tenant, 'utf8')
  const k = Buffer.from(key, 'utf8')
  const len = Buffer.alloc(4)
  len.writeUInt32BE(t.length)
  return Buffer.concat([Buffer.from(`c7auth-token-store/${FORMAT}\0`), len, t, k])
}

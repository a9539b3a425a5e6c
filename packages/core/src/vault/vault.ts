import { randomBytes } from 'node:crypto'
import { ConfigError } from '../errors.js'
import type { TokenStoreConfig, TokenStoreKey } from '../config/types.js'
import { NAMESPACE_PATTERN } from '../token/store/backend.js'
import type { BackendOptions } from '../token/store/backend.js'
import { backendKindOf } from '../token/store/backend-kind.js'
import { KeyRing } from '../token/store/key-ring.js'
import { connectPostgresVault } from './postgres-vault-backend.js'
import { connectRedisVault } from './redis-vault-backend.js'
import { createMemoryVaultBackend } from './vault-backend.js'
import type { VaultBackend, VaultRow } from './vault-backend.js'

/** RFC 8693 token type of a refresh token: the usual shape of a delegation grant. */
export const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token'

/** Whom a vault entry belongs to: one user, in one process instance of one tenant. */
export interface VaultBinding {
  readonly tenant: string
  readonly processInstanceId: string
  /** The acting user's id, as the gateway stamps it on the instance. */
  readonly user: string
}

/** A user's delegation grant: what a worker exchanges later for a token that acts as the user. */
export interface DelegationGrant {
  readonly token: string
  /** RFC 8693 token type, usually {@link REFRESH_TOKEN_TYPE}. */
  readonly tokenType: string
}

/** What {@link OnBehalfOfVault.list} shows of an entry: never the grant. */
export interface VaultEntryInfo extends VaultBinding {
  readonly processDefinitionKey?: string
  /** Epoch ms. */
  readonly storedAt: number
  /** Epoch ms; the store deletes the entry then. */
  readonly expiresAt: number
}

/** Which entries {@link OnBehalfOfVault.list} and {@link OnBehalfOfVault.purge} touch. */
export interface VaultFilter {
  readonly tenant?: string
  readonly user?: string
  readonly processInstanceId?: string
}

/** Options of {@link OnBehalfOfVault.put}. */
export interface VaultPutOptions {
  /** The entry is deleted after this long (the tenant's maximum lifetime). */
  readonly maxLifetimeMs: number
  /** The grant's own end (epoch ms), when the IdP says; the entry never outlives it. */
  readonly grantExpiresAt?: number
  readonly processDefinitionKey?: string
}

/**
 * Users' delegation grants for on-behalf-of calls, bound to (tenant, process instance, user) and
 * encrypted with the token store's key ring: the binding is the associated data, so an entry
 * moved to another binding does not decrypt, and the ids and tags the store sees are HMACs.
 */
export interface OnBehalfOfVault {
  put(binding: VaultBinding, grant: DelegationGrant, options: VaultPutOptions): Promise<void>
  /** The grant of exactly this binding, or undefined (none, expired, or not decryptable). */
  get(binding: VaultBinding): Promise<DelegationGrant | undefined>
  /** Deletes the grant of this binding; true if there was one. */
  delete(binding: VaultBinding): Promise<boolean>
  /** Metadata of the entries matching `filter` (every entry when empty). */
  list(filter?: VaultFilter): Promise<VaultEntryInfo[]>
  /** Deletes the entries matching `filter` (which must name a tenant, a user or both); their count. */
  purge(filter: VaultFilter): Promise<number>
  close(): Promise<void>
}

/** Options of {@link createOnBehalfOfVault}. */
export interface OnBehalfOfVaultOptions {
  /** `memory` (this process only), or the shared token store's `redis://…` / `postgres://…` URL. */
  readonly url: string
  /** The token store's key ring; a memory vault without one gets a random key. */
  readonly keys?: readonly TokenStoreKey[]
  /** Redis key prefix / PostgreSQL schema. Default: `c7auth`. */
  readonly namespace?: string
  /** Connect and per-operation timeout. Default: 1000. */
  readonly timeoutMs?: number
}

/**
 * Opens a vault. A shared one (`redis://`, `postgres://`) is reachable from the gateway that
 * stores and the workers that use grants; a memory vault only within one process.
 *
 * @example
 * ```ts
 * const vault = await createOnBehalfOfVault({ url: 'redis://127.0.0.1:6379', keys })
 * await vault.put({ tenant: 'acme', processInstanceId, user: 'alice' }, grant, { maxLifetimeMs: 3_600_000 })
 * ```
 */
export async function createOnBehalfOfVault(
  options: OnBehalfOfVaultOptions,
): Promise<OnBehalfOfVault> {
  const keys = options.keys ?? []
  if (options.url === 'memory') {
    const ring = new KeyRing(
      keys.length > 0 ? keys : [{ id: 'memory', secret: new Uint8Array(randomBytes(32)) }],
    )
    return new Vault(createMemoryVaultBackend(), ring)
  }
  const kind = backendKindOf(options.url)
  const namespace = options.namespace ?? 'c7auth'
  if (kind === undefined) {
    throw new ConfigError(['vault: url must be memory, redis://…, or postgres://…'])
  }
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new ConfigError(['vault: namespace must match [a-z_][a-z0-9_]*'])
  }
  const ring = new KeyRing(keys)
  const backendOptions: BackendOptions = {
    url: options.url,
    namespace,
    timeoutMs: options.timeoutMs ?? 1000,
  }
  const backend =
    kind === 'redis'
      ? await connectRedisVault(backendOptions)
      : await connectPostgresVault(backendOptions)
  return new Vault(backend, ring)
}

/**
 * The vault on the store `C7AUTH_TOKEN_STORE` names (same URL, key ring and namespace; its own
 * keyspace), or a memory vault.
 */
export function createOnBehalfOfVaultFromConfig(
  config: TokenStoreConfig | undefined,
): Promise<OnBehalfOfVault> {
  if (config === undefined || config.kind === 'memory') {
    return createOnBehalfOfVault({ url: 'memory' })
  }
  return createOnBehalfOfVault({
    url: config.url,
    keys: config.keys,
    namespace: config.namespace,
    timeoutMs: config.timeoutMs,
  })
}

/** Separates the stored metadata from the stored grant (neither encoding uses it). */
const SEPARATOR = '~'

interface Meta extends VaultEntryInfo {
  readonly tokenType: string
}

class Vault implements OnBehalfOfVault {
  readonly #backend: VaultBackend
  readonly #ring: KeyRing

  constructor(backend: VaultBackend, ring: KeyRing) {
    this.#backend = backend
    this.#ring = ring
  }

  async put(binding: VaultBinding, grant: DelegationGrant, options: VaultPutOptions) {
    const now = Date.now()
    const expiresAt = Math.min(now + options.maxLifetimeMs, options.grantExpiresAt ?? Infinity)
    if (expiresAt <= now) return
    const [id, ...olderIds] = this.#ring.ids(binding.tenant, entryKey(binding))
    const meta: Meta = {
      tenant: binding.tenant,
      processInstanceId: binding.processInstanceId,
      user: binding.user,
      ...(options.processDefinitionKey !== undefined
        ? { processDefinitionKey: options.processDefinitionKey }
        : {}),
      storedAt: now,
      expiresAt,
      tokenType: grant.tokenType,
    }
    const value = [
      this.#ring.seal('', metaKey(id!), JSON.stringify(meta)),
      this.#ring.seal(binding.tenant, entryKey(binding), grant.token),
    ].join(SEPARATOR)
    const tags = [
      this.#tags.tenant(binding.tenant)[0]!,
      this.#tags.user(binding.user)[0]!,
      this.#tags.instance(binding.tenant, binding.processInstanceId)[0]!,
    ]
    await this.#backend.put(id!, value, expiresAt - now, tags)
    // An entry of the same binding under a retired key would otherwise shadow nothing but linger.
    if (olderIds.length > 0) await this.#backend.delete(olderIds)
  }

  async get(binding: VaultBinding): Promise<DelegationGrant | undefined> {
    const ids = this.#ring.ids(binding.tenant, entryKey(binding))
    const values = await this.#backend.get(ids)
    for (const [i, value] of values.entries()) {
      if (value === undefined) continue
      const meta = this.#meta({ id: ids[i]!, value })
      const sealedGrant = value.split(SEPARATOR)[1]
      const token =
        sealedGrant === undefined
          ? undefined
          : this.#ring.open(binding.tenant, entryKey(binding), sealedGrant)
      if (meta !== undefined && token !== undefined) return { token, tokenType: meta.tokenType }
    }
    return undefined
  }

  async delete(binding: VaultBinding): Promise<boolean> {
    const ids = this.#ring.ids(binding.tenant, entryKey(binding))
    const present = (await this.#backend.get(ids)).some((v) => v !== undefined)
    await this.#backend.delete(ids)
    return present
  }

  async list(filter: VaultFilter = {}): Promise<VaultEntryInfo[]> {
    return (await this.#find(filter)).map(({ info }) => info)
  }

  async purge(filter: VaultFilter): Promise<number> {
    if (filter.tenant === undefined && filter.user === undefined) {
      throw new TypeError('purge needs a tenant, a user or both')
    }
    const found = await this.#find(filter)
    await this.#backend.delete(found.map((f) => f.id))
    return found.length
  }

  close(): Promise<void> {
    return this.#backend.close()
  }

  /** Entries matching `filter`, found by the narrowest tag and checked against their metadata. */
  async #find(filter: VaultFilter): Promise<{ id: string; info: VaultEntryInfo }[]> {
    const tags =
      filter.processInstanceId !== undefined && filter.tenant !== undefined
        ? this.#tags.instance(filter.tenant, filter.processInstanceId)
        : filter.user !== undefined
          ? this.#tags.user(filter.user)
          : filter.tenant !== undefined
            ? this.#tags.tenant(filter.tenant)
            : undefined
    const found: { id: string; info: VaultEntryInfo }[] = []
    for (const row of await this.#backend.find(tags)) {
      const meta = this.#meta(row)
      if (meta === undefined) continue
      if (filter.tenant !== undefined && meta.tenant !== filter.tenant) continue
      if (filter.user !== undefined && meta.user !== filter.user) continue
      if (
        filter.processInstanceId !== undefined &&
        meta.processInstanceId !== filter.processInstanceId
      ) {
        continue
      }
      const { tokenType: _tokenType, ...info } = meta
      found.push({ id: row.id, info })
    }
    return found
  }

  /** The metadata of a row, if it decrypts for the row's own id (a moved row does not). */
  #meta(row: VaultRow): Meta | undefined {
    const sealed = row.value.split(SEPARATOR)[0]
    const json = sealed === undefined ? undefined : this.#ring.open('', metaKey(row.id), sealed)
    if (json === undefined) return undefined
    try {
      return JSON.parse(json) as Meta
    } catch {
      return undefined
    }
  }

  readonly #tags = {
    tenant: (tenant: string) => this.#ring.ids(tenant, 'vault-tag/tenant'),
    user: (user: string) => this.#ring.ids('', `vault-tag/user\0${user}`),
    instance: (tenant: string, processInstanceId: string) =>
      this.#ring.ids(tenant, `vault-tag/instance\0${processInstanceId}`),
  }
}

/** The key ring's cache key of a binding's grant: also its associated data. */
function entryKey(binding: VaultBinding): string {
  return `vault/entry\0${binding.processInstanceId}\0${binding.user}`
}

function metaKey(id: string): string {
  return `vault/meta\0${id}`
}

/**
 * The on-behalf-of vault on the real Redis and PostgreSQL (and in memory): grants encrypted and
 * bound to (tenant, process instance, user), tenant isolation even when a caller names another
 * tenant's process instance id, metadata-only listing, purges, maximum lifetime, key rotation.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { REFRESH_TOKEN_TYPE, createOnBehalfOfVault } from '@c7auth/core'
import type { OnBehalfOfVault, TokenStoreBackendKind, VaultBinding } from '@c7auth/core'
import { BACKENDS, freshNamespace, randomKey, rawStore, storeUrl } from './token-store-harness.js'

const K1 = randomKey('k1')
const K2 = randomKey('k2')
const HOUR = 3_600_000

const grant = (token: string) => ({ token, tokenType: REFRESH_TOKEN_TYPE })
const aliceInA: VaultBinding = { tenant: 'tenant-a', processInstanceId: 'pi-1', user: 'alice' }

const opened: OnBehalfOfVault[] = []
afterEach(async () => {
  for (const v of opened.splice(0)) await v.close()
})

describe.each([...BACKENDS, 'memory' as const])(
  'on-behalf-of vault on %s',
  (kind: TokenStoreBackendKind | 'memory') => {
    const namespace = freshNamespace()
    const raw = kind === 'memory' ? undefined : rawStore(kind, namespace, 'vault')
    afterAll(() => raw?.drop())

    async function open(keys = [K1]): Promise<OnBehalfOfVault> {
      const vault = await createOnBehalfOfVault({
        url: kind === 'memory' ? 'memory' : storeUrl(kind),
        keys,
        namespace,
        timeoutMs: 5000,
      })
      opened.push(vault)
      return vault
    }

    it('returns a grant only for its exact binding, and stores nothing readable', async () => {
      const vault = await open()
      await vault.put(aliceInA, grant('grant-secret-1'), { maxLifetimeMs: HOUR })
      expect(await vault.get(aliceInA)).toEqual(grant('grant-secret-1'))
      expect(await vault.get({ ...aliceInA, user: 'bob' })).toBeUndefined()
      expect(await vault.get({ ...aliceInA, processInstanceId: 'pi-2' })).toBeUndefined()
      if (raw === undefined) return
      const stored = [...(await raw.entries()).entries()].join(' ')
      expect(stored).not.toBe('')
      for (const plain of ['grant-secret-1', 'tenant-a', 'pi-1', 'alice']) {
        expect(stored).not.toContain(plain)
      }
    })

    it("never gives tenant B tenant A's entry, even naming A's process instance id", async () => {
      const vault = await open()
      const binding = { ...aliceInA, processInstanceId: 'pi-iso' }
      await vault.put(binding, grant('grant-of-a'), { maxLifetimeMs: HOUR })
      expect(await vault.get({ ...binding, tenant: 'tenant-b' })).toBeUndefined()
      expect(await vault.list({ tenant: 'tenant-b' })).toEqual([])
      expect(await vault.purge({ tenant: 'tenant-b', processInstanceId: 'pi-iso' })).toBe(0)
      expect(await vault.get(binding)).toEqual(grant('grant-of-a'))
    })

    it.skipIf(kind === 'memory')(
      'does not decrypt an entry moved to another binding in the database',
      async () => {
        const vault = await open()
        const a = { ...aliceInA, processInstanceId: 'pi-move' }
        const b = { tenant: 'tenant-b', processInstanceId: 'pi-move', user: 'alice' }
        const before = new Set((await raw!.entries()).keys())
        await vault.put(a, grant('grant-a'), { maxLifetimeMs: HOUR })
        const [idA] = [...(await raw!.entries()).keys()].filter((id) => !before.has(id))
        await vault.put(b, grant('grant-b'), { maxLifetimeMs: HOUR })
        const entries = await raw!.entries()
        const idB = [...entries.keys()].find((id) => !before.has(id) && id !== idA)
        expect(idA).toBeDefined()
        expect(idB).toBeDefined()
        // The attacker with the database copies A's entry over B's row.
        await raw!.put(idB!, entries.get(idA!)!)
        expect(await vault.get(b)).toBeUndefined()
        const listed = await vault.list({ tenant: 'tenant-b' })
        expect(listed.filter((e) => e.processInstanceId === 'pi-move')).toEqual([])
      },
    )

    it('lists metadata only, and purges per tenant, per user and per instance', async () => {
      const vault = await open()
      const t = `t-${Math.random().toString(36).slice(2, 8)}`
      const entries: VaultBinding[] = [
        { tenant: t, processInstanceId: 'p1', user: 'alice' },
        { tenant: t, processInstanceId: 'p1', user: 'bob' },
        { tenant: t, processInstanceId: 'p2', user: 'alice' },
        { tenant: `${t}-other`, processInstanceId: 'p3', user: 'alice' },
      ]
      for (const [i, b] of entries.entries()) {
        await vault.put(b, grant(`secret-${i}`), {
          maxLifetimeMs: HOUR,
          processDefinitionKey: 'invoice',
        })
      }
      const listed = await vault.list({ tenant: t })
      expect(listed.map((e) => `${e.processInstanceId}/${e.user}`).sort()).toEqual([
        'p1/alice',
        'p1/bob',
        'p2/alice',
      ])
      expect(JSON.stringify(listed)).not.toContain('secret-')
      expect(listed[0]).toMatchObject({ tenant: t, processDefinitionKey: 'invoice' })
      expect(listed[0]!.expiresAt - listed[0]!.storedAt).toBe(HOUR)

      expect(await vault.purge({ tenant: t, processInstanceId: 'p1' })).toBe(2)
      expect(await vault.get(entries[0]!)).toBeUndefined()
      expect(await vault.get(entries[2]!)).toEqual(grant('secret-2'))
      expect(await vault.purge({ tenant: t, user: 'alice' })).toBe(1)
      expect(await vault.get(entries[3]!)).toEqual(grant('secret-3'))
      expect(await vault.delete(entries[3]!)).toBe(true)
      expect(await vault.delete(entries[3]!)).toBe(false)
      expect(await vault.list({ tenant: t })).toEqual([])
    })

    it('purges every tenant’s entries of a user', async () => {
      const vault = await open()
      const user = `u-${Math.random().toString(36).slice(2, 8)}`
      await vault.put({ tenant: 'x1', processInstanceId: 'p', user }, grant('g1'), {
        maxLifetimeMs: HOUR,
      })
      await vault.put({ tenant: 'x2', processInstanceId: 'p', user }, grant('g2'), {
        maxLifetimeMs: HOUR,
      })
      expect((await vault.list({ user })).map((e) => e.tenant).sort()).toEqual(['x1', 'x2'])
      expect(await vault.purge({ user })).toBe(2)
      expect(await vault.list({ user })).toEqual([])
    })

    it('drops an entry at its maximum lifetime, or earlier when the grant ends', async () => {
      const vault = await open()
      const short = { ...aliceInA, processInstanceId: 'pi-short' }
      await vault.put(short, grant('short-lived'), { maxLifetimeMs: 400 })
      const capped = { ...aliceInA, processInstanceId: 'pi-capped' }
      // seconds, not milliseconds: the entry must still be there when it is listed below, also
      // on a loaded machine
      await vault.put(capped, grant('capped'), {
        maxLifetimeMs: HOUR,
        grantExpiresAt: Date.now() + 3_000,
      })
      const listed = await vault.list({ tenant: 'tenant-a', processInstanceId: 'pi-capped' })
      expect(listed).toHaveLength(1)
      expect(listed[0]!.expiresAt - listed[0]!.storedAt).toBeLessThanOrEqual(3_000)
      await expect.poll(() => vault.get(short), { timeout: 10_000, interval: 100 }).toBeUndefined()
      await expect.poll(() => vault.get(capped), { timeout: 10_000, interval: 100 }).toBeUndefined()
    })

    it.skipIf(kind === 'memory')('reads entries of an older key after a rotation', async () => {
      const before = await open([K1])
      const binding = { ...aliceInA, processInstanceId: 'pi-rotate' }
      await before.put(binding, grant('under-k1'), { maxLifetimeMs: HOUR })
      const after = await open([K2, K1])
      expect(await after.get(binding)).toEqual(grant('under-k1'))
      expect(await after.list({ tenant: 'tenant-a', processInstanceId: 'pi-rotate' })).toHaveLength(
        1,
      )
      const stranger = await open([K2])
      expect(await stranger.get(binding)).toBeUndefined()
    })
  },
)

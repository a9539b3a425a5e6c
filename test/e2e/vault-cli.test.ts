/**
 * The `c7auth-vault` admin bin as an operator runs it (its own process, only the given env) on a
 * real Redis vault: lists metadata only, purges per tenant or user, refuses a purge of everything.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REFRESH_TOKEN_TYPE, createOnBehalfOfVault } from '@c7auth/core'
import type { OnBehalfOfVault, VaultEntryInfo } from '@c7auth/core'
import { BIN_NODE_ARGS } from './built-bin.js'
import { freshNamespace, keyEnv, randomKey, rawStore, storeUrl } from './token-store-harness.js'

const BIN = fileURLToPath(new URL('../../packages/gateway/bin/c7auth-vault.js', import.meta.url))
const KEY = randomKey('k1')
const namespace = freshNamespace()
const raw = rawStore('redis', namespace, 'vault')
const ENV = {
  C7AUTH_TENANTS: 'acme,globex',
  C7AUTH_ENGINE_URL: 'http://127.0.0.1:1/engine-rest',
  C7AUTH_ENGINE_AUTH: 'none',
  C7AUTH_TENANT_ACME_ISSUER: 'http://127.0.0.1:1/acme',
  C7AUTH_TENANT_GLOBEX_ISSUER: 'http://127.0.0.1:1/globex',
  C7AUTH_TOKEN_STORE: storeUrl('redis'),
  C7AUTH_TOKEN_STORE_KEYS: keyEnv([KEY]),
  C7AUTH_TOKEN_STORE_NAMESPACE: namespace,
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...BIN_NODE_ARGS, BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...ENV },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

let vault: OnBehalfOfVault
beforeAll(async () => {
  vault = await createOnBehalfOfVault({ url: storeUrl('redis'), keys: [KEY], namespace })
  const put = (tenant: string, processInstanceId: string, user: string) =>
    vault.put(
      { tenant, processInstanceId, user },
      { token: `grant-of-${user}-${processInstanceId}`, tokenType: REFRESH_TOKEN_TYPE },
      { maxLifetimeMs: 3_600_000, processDefinitionKey: 'invoice' },
    )
  await put('acme', 'p1', 'alice')
  await put('acme', 'p2', 'bob')
  await put('globex', 'p3', 'alice')
  await put('globex', 'p4', 'carol')
})
afterAll(async () => {
  await vault?.close()
  await raw.drop()
})

const listed = async (args: string[]): Promise<string[]> => {
  const result = await run(['list', '--json', ...args])
  expect(result.code).toBe(0)
  expect(result.stdout).not.toContain('grant-of-')
  return (JSON.parse(result.stdout) as VaultEntryInfo[])
    .map((e) => `${e.tenant}/${e.processInstanceId}/${e.user}`)
    .sort()
}

describe('c7auth-vault', () => {
  it('lists metadata, filtered by tenant, user or instance', async () => {
    expect(await listed([])).toEqual([
      'acme/p1/alice',
      'acme/p2/bob',
      'globex/p3/alice',
      'globex/p4/carol',
    ])
    expect(await listed(['--tenant', 'acme'])).toEqual(['acme/p1/alice', 'acme/p2/bob'])
    expect(await listed(['--user', 'alice'])).toEqual(['acme/p1/alice', 'globex/p3/alice'])
    const text = await run(['list', '--tenant', 'globex', '--instance', 'p4'])
    expect(text.stdout.split('\t').slice(0, 4)).toEqual(['globex', 'p4', 'carol', 'invoice'])
  })

  it('purges per user and per tenant, never everything at once', async () => {
    const all = await run(['purge'])
    expect(all.code).toBe(2)
    expect(all.stderr).toContain('--tenant or --user')
    expect(await listed([])).toHaveLength(4)
    expect((await run(['list', '--bogus', 'x'])).code).toBe(2)

    const byUser = await run(['purge', '--user', 'alice', '--json'])
    expect(byUser).toMatchObject({ code: 0, stdout: '{"deleted":2}\n' })
    expect(await listed([])).toEqual(['acme/p2/bob', 'globex/p4/carol'])
    expect((await run(['purge', '--tenant', 'globex'])).stdout).toBe('deleted 1\n')
    expect(await listed([])).toEqual(['acme/p2/bob'])
  })
})

import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { loadConfigFromEnv } from './load-config.js'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const KEY = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const PUB = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()
const NEXT = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString()

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    C7AUTH_TENANTS: 'acme',
    C7AUTH_ENGINE_URL: 'http://camunda:8080/engine-rest',
    C7AUTH_ENGINE_AUTH: 'assertion',
    C7AUTH_TENANT_ACME_ISSUER: 'https://idp.example/realms/acme',
    C7AUTH_ENGINE_ASSERTION_ISSUER: 'https://gateway.example',
    C7AUTH_ENGINE_ASSERTION_AUDIENCE: 'engine-prod',
    C7AUTH_ENGINE_ASSERTION_KEY: KEY,
    ...extra,
  }
}

function issues(e: Record<string, string>, readFile?: (p: string) => string): string[] {
  try {
    loadConfigFromEnv(e, readFile ? { readFile } : {})
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return [...(err as ConfigError).issues]
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfigFromEnv: assertion mode', () => {
  it('reads the signing settings with defaults; no bridge or service credentials needed', () => {
    const config = loadConfigFromEnv(env())
    expect(config.engine.auth).toBe('assertion')
    expect(config.engine.assertion).toEqual({
      issuer: 'https://gateway.example',
      audience: 'engine-prod',
      privateKeyPem: KEY,
      jwksPath: '/.well-known/jwks.json',
    })
  })

  it('takes the key from a file, the rotation keys, kid, algorithm and path', () => {
    const files: Record<string, string> = { '/run/key.pem': KEY, '/run/extra.pem': PUB + NEXT }
    const { C7AUTH_ENGINE_ASSERTION_KEY: _, ...rest } = env()
    const config = loadConfigFromEnv(
      {
        ...rest,
        C7AUTH_ENGINE_ASSERTION_KEY_FILE: '/run/key.pem',
        C7AUTH_ENGINE_ASSERTION_EXTRA_KEYS_FILE: '/run/extra.pem',
        C7AUTH_ENGINE_ASSERTION_KEY_ID: 'gw-2026-12',
        C7AUTH_ENGINE_ASSERTION_ALGORITHM: 'PS256',
        C7AUTH_ENGINE_ASSERTION_JWKS_PATH: '/keys/engine.json',
      },
      { readFile: (p) => files[p] ?? '' },
    )
    expect(config.engine.assertion).toMatchObject({
      privateKeyPem: KEY,
      extraPublicKeysPem: PUB + NEXT,
      keyId: 'gw-2026-12',
      algorithm: 'PS256',
      jwksPath: '/keys/engine.json',
    })
  })

  it('fails closed on missing or wrong settings, naming keys only', () => {
    const missing = issues({
      ...env(),
      C7AUTH_ENGINE_ASSERTION_ISSUER: '',
      C7AUTH_ENGINE_ASSERTION_AUDIENCE: '',
      C7AUTH_ENGINE_ASSERTION_KEY: '',
    })
    expect(missing.join('\n')).toMatch(/C7AUTH_ENGINE_ASSERTION_ISSUER/)
    expect(missing.join('\n')).toMatch(/C7AUTH_ENGINE_ASSERTION_AUDIENCE/)
    expect(missing.join('\n')).toMatch(/C7AUTH_ENGINE_ASSERTION_KEY/)
    const wrong = issues(
      env({
        C7AUTH_ENGINE_ASSERTION_KEY: PUB,
        C7AUTH_ENGINE_ASSERTION_EXTRA_KEYS: KEY,
        C7AUTH_ENGINE_ASSERTION_ALGORITHM: 'HS256',
        C7AUTH_ENGINE_ASSERTION_JWKS_PATH: 'jwks.json',
      }),
    )
    expect(wrong).toHaveLength(4)
    // A private key put where public keys belong is refused, and never echoed.
    expect(wrong.join('\n')).not.toContain('PRIVATE KEY')
  })

  it('the worker role ignores the signing settings', () => {
    const { C7AUTH_ENGINE_ASSERTION_KEY: _, ...rest } = env()
    expect(
      loadConfigFromEnv(
        {
          ...rest,
          C7AUTH_WORKER_GATEWAY_URL: 'http://127.0.0.1:8080/engine-rest',
          C7AUTH_TENANT_ACME_CLIENT_ID: 'w',
          C7AUTH_TENANT_ACME_CLIENT_SECRET: 's',
        },
        { role: 'worker' },
      ).engine.assertion,
    ).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { CLIENT_AUTH_METHODS } from './vocabulary.js'
import {
  CLIENT_AUTH_CREDENTIALS,
  impliedClientAuthMethod,
  missingCredentials,
} from './client-auth.js'
import { isLoopbackUrl, refusesPlainHttp } from './url-safety.js'

describe('refusesPlainHttp', () => {
  it.each([
    ['http://idp.example/realms/a', false, true],
    ['http://idp.example/realms/a', true, false],
    ['https://idp.example/realms/a', false, false],
    ['http://127.0.0.1:8080/', false, false],
    ['http://[::1]:8080/', false, false],
    ['http://localhost/', false, false],
    ['http://localhost.example/', false, true],
  ])('%s (allowInsecureHttp %s) → %s', (url, allow, refused) => {
    expect(refusesPlainHttp(url, allow)).toBe(refused)
    expect(refusesPlainHttp(new URL(url), allow)).toBe(refused)
  })
  it('a non-URL is no loopback URL', () => {
    expect(isLoopbackUrl('not a url')).toBe(false)
  })
})

describe('client authentication defaults', () => {
  it('names the credentials of every method', () => {
    expect(Object.keys(CLIENT_AUTH_CREDENTIALS).sort()).toEqual([...CLIENT_AUTH_METHODS].sort())
  })
  it('follows the credential present: secret, then private key, then certificate', () => {
    const with_ = (...fields: string[]) => impliedClientAuthMethod((f) => fields.includes(f))
    expect(with_('clientSecret', 'privateKeyPem')).toBe('client_secret_basic')
    expect(with_('privateKeyPem', 'tlsCertPem')).toBe('private_key_jwt')
    expect(with_('tlsCertPem')).toBe('tls_client_auth')
    expect(with_()).toBeUndefined()
  })
  it('lists what a method lacks', () => {
    expect(missingCredentials('tls_client_auth', { tlsCertPem: 'x' })).toEqual(['tlsKeyPem'])
    expect(missingCredentials('client_secret_post', { clientSecret: '' })).toEqual(['clientSecret'])
    expect(missingCredentials('none', {})).toEqual([])
  })
})

import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestToken, startTestIdp } from './index.js'
import type { TestIdp } from './index.js'

const basic = { clientId: 'app', clientSecret: 's' }

describe('test IdP: opaque access tokens per audience', () => {
  let idp: TestIdp

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [{ clientId: 'app', clientSecret: 's', tenant: 'tenant-a' }],
      audiences: [
        {
          audience: 'urn:opaque',
          scopes: ['opaque:read'],
          accessTokenFormat: 'opaque',
          accessTokenTtlSeconds: 42,
        },
      ],
    })
  })
  afterAll(() => idp.close())

  const introspect = async (token: string) => {
    const res = await requestToken(idp.introspectionEndpoint, { token }, { basic })
    expect(res.status).toBe(200)
    return res.body
  }

  it('issues a non-JWT token with expires_in for an opaque audience', async () => {
    const res = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', resource: 'urn:opaque', scope: 'opaque:read' },
      { basic },
    )
    expect(res.status).toBe(200)
    const token = res.body['access_token'] as string
    expect(typeof token).toBe('string')
    expect(token.split('.')).toHaveLength(1)
    expect(() => decodeJwt(token)).toThrow()
    expect(res.body['token_type']).toBe('Bearer')
    expect(res.body['expires_in']).toBe(42)
    expect(res.body['scope']).toBe('opaque:read')

    const info = await introspect(token)
    expect(info).toMatchObject({
      active: true,
      client_id: 'app',
      aud: 'urn:opaque',
      scope: 'opaque:read',
      token_type: 'Bearer',
    })
    expect((info['exp'] as number) - (info['iat'] as number)).toBe(42)
  })

  it('works with the Auth0 audience parameter and keeps other audiences JWT', async () => {
    const opaque = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', audience: 'urn:opaque' },
      { basic },
    )
    expect(opaque.status).toBe(200)
    expect(() => decodeJwt(opaque.body['access_token'] as string)).toThrow()

    const jwt = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', scope: 'engine:read' },
      { basic },
    )
    expect(jwt.status).toBe(200)
    expect(decodeJwt(jwt.body['access_token'] as string)).toMatchObject({
      aud: idp.defaultAudience,
      tenant: 'tenant-a',
    })
  })

  it('reports an unknown opaque token as inactive', async () => {
    expect(await introspect('not-a-token-the-idp-issued')).toEqual({ active: false })
  })
})

import { generateKeyPair, exportJWK, decodeProtectedHeader } from 'jose'
import type { CryptoKey } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAuth, clientAssertion, requestToken, startTestIdp } from './index.js'
import type { TestIdp, TokenRequestOptions } from './index.js'
import { verifyAccessToken } from './test-support.js'

const ODD_ID = 'app:1+2%x@y'
const ODD_SECRET = 'p@ss:w+rd%20 !~'

describe('test IdP: client credentials and client authentication', () => {
  let idp: TestIdp
  let clientKey: CryptoKey

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true })
    clientKey = pair.privateKey
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'ck1', alg: 'RS256', use: 'sig' }
    idp = await startTestIdp({
      clients: [
        { clientId: 'worker-a', clientSecret: 'secret-a', tenant: 'tenant-a' },
        { clientId: ODD_ID, clientSecret: ODD_SECRET },
        { clientId: 'post-app', clientSecret: 'post-secret', authMethod: 'client_secret_post' },
        { clientId: 'jwt-app', jwks: { keys: [publicJwk] }, extraClaims: { region: 'eu' } },
        { clientId: 'narrow', clientSecret: 'n', scope: 'engine:read' },
      ],
      audiences: [{ audience: 'urn:billing', scopes: ['billing:read'], accessTokenTtlSeconds: 60 }],
    })
  })
  afterAll(() => idp.close())

  const verify = (token: string, audience?: string) =>
    verifyAccessToken(idp, token, audience, ['RS256'])
  const clientCredentials = (auth: TokenRequestOptions, params: Record<string, string> = {}) =>
    requestToken(idp.tokenEndpoint, { grant_type: 'client_credentials', ...params }, auth)

  it('serves discovery that points at the real endpoints', async () => {
    const res = await fetch(idp.discoveryUrl)
    const doc = (await res.json()) as Record<string, unknown>
    expect(doc['issuer']).toBe(idp.issuer)
    expect(doc['token_endpoint']).toBe(idp.tokenEndpoint)
    expect(doc['jwks_uri']).toBe(idp.jwksUri)
    expect(doc['grant_types_supported']).toEqual(
      expect.arrayContaining([
        'client_credentials',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:c7auth:testkit:user',
      ]),
    )
  })

  it('issues an at+jwt with azp, client_id, sub, aud, scope, exp/iat/jti, tenant and kid (scope only → default audience)', async () => {
    const res = await clientCredentials(
      { basic: { clientId: 'worker-a', clientSecret: 'secret-a' } },
      { scope: 'engine:read engine:write' },
    )
    expect(res.status).toBe(200)
    expect(res.body['token_type']).toBe('Bearer')
    expect(res.body['expires_in']).toBe(300)
    const token = res.body['access_token'] as string
    const { payload, protectedHeader } = await verify(token)
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: idp.currentKid })
    expect(payload).toMatchObject({
      iss: idp.issuer,
      aud: 'urn:c7auth:engine-rest',
      sub: 'worker-a',
      azp: 'worker-a',
      client_id: 'worker-a',
      scope: 'engine:read engine:write',
      tenant: 'tenant-a',
    })
    expect(typeof payload.jti).toBe('string')
    expect(payload.exp! - payload.iat!).toBe(300)
  })

  it('honours resource= (RFC 8707) with the audience’s own scopes and TTL', async () => {
    const res = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: 'client_credentials',
        resource: 'urn:billing',
        scope: 'billing:read engine:read',
      },
      { basic: { clientId: 'worker-a', clientSecret: 'secret-a' } },
    )
    expect(res.status).toBe(200)
    const { payload } = await verify(res.body['access_token'] as string, 'urn:billing')
    expect(payload['scope']).toBe('billing:read')
    expect(payload.exp! - payload.iat!).toBe(60)
  })

  it('honours the Auth0-style audience= parameter', async () => {
    const res = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials', audience: 'urn:billing', scope: 'billing:read' },
      { basic: { clientId: 'worker-a', clientSecret: 'secret-a' } },
    )
    expect(res.status).toBe(200)
    const { payload } = await verify(res.body['access_token'] as string, 'urn:billing')
    expect(payload['scope']).toBe('billing:read')
  })

  it('rejects an unknown resource or audience with invalid_target', async () => {
    for (const param of ['resource', 'audience']) {
      const res = await requestToken(
        idp.tokenEndpoint,
        { grant_type: 'client_credentials', [param]: 'urn:nope' },
        { basic: { clientId: 'worker-a', clientSecret: 'secret-a' } },
      )
      expect(res.status).toBe(400)
      expect(res.body['error']).toBe('invalid_target')
    }
  })

  it('client_secret_basic form-decodes ids and secrets with : + % @ and spaces', async () => {
    const res = await clientCredentials({ basic: { clientId: ODD_ID, clientSecret: ODD_SECRET } })
    expect(res.status).toBe(200)
    const { payload } = await verify(res.body['access_token'] as string)
    expect(payload['client_id']).toBe(ODD_ID)
    // Without form-encoding the same credentials are refused.
    const raw = `Basic ${Buffer.from(`${ODD_ID}:${ODD_SECRET}`).toString('base64')}`
    expect(raw).not.toBe(basicAuth(ODD_ID, ODD_SECRET))
    const bad = await clientCredentials({ headers: { authorization: raw } })
    // `%x@` is not a valid percent-escape once the id is decoded as form data.
    expect(bad.status).toBe(400)
    expect(bad.body['error']).toBe('invalid_request')
  })

  it('rejects a wrong secret with 401 invalid_client', async () => {
    const res = await clientCredentials({ basic: { clientId: 'worker-a', clientSecret: 'wrong' } })
    expect(res.status).toBe(401)
    expect(res.body['error']).toBe('invalid_client')
    expect(res.text).not.toContain('secret-a')
  })

  it('client_secret_post works and the registered method is enforced', async () => {
    const ok = await requestToken(idp.tokenEndpoint, {
      grant_type: 'client_credentials',
      client_id: 'post-app',
      client_secret: 'post-secret',
    })
    expect(ok.status).toBe(200)
    expect((await verify(ok.body['access_token'] as string)).payload['azp']).toBe('post-app')
    const viaBasic = await clientCredentials({
      basic: { clientId: 'post-app', clientSecret: 'post-secret' },
    })
    expect(viaBasic.status).toBe(401)
    expect(viaBasic.body['error']).toBe('invalid_client')
    const postToBasicClient = await requestToken(idp.tokenEndpoint, {
      grant_type: 'client_credentials',
      client_id: 'worker-a',
      client_secret: 'secret-a',
    })
    expect(postToBasicClient.status).toBe(401)
  })

  it('private_key_jwt (RFC 7523) authenticates with the registered public key', async () => {
    const assertion = await clientAssertion({
      clientId: 'jwt-app',
      audience: idp.tokenEndpoint,
      key: clientKey,
      kid: 'ck1',
    })
    const res = await requestToken(idp.tokenEndpoint, {
      grant_type: 'client_credentials',
      client_id: 'jwt-app',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    })
    expect(res.status).toBe(200)
    const { payload } = await verify(res.body['access_token'] as string)
    expect(payload).toMatchObject({ client_id: 'jwt-app', region: 'eu' })

    const stranger = await generateKeyPair('RS256')
    const forged = await clientAssertion({
      clientId: 'jwt-app',
      audience: idp.tokenEndpoint,
      key: stranger.privateKey,
      kid: 'ck1',
    })
    const bad = await requestToken(idp.tokenEndpoint, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: forged,
    })
    expect(bad.status).toBe(401)
    expect(bad.body['error']).toBe('invalid_client')
  })

  it('enforces a client’s allowed scopes', async () => {
    const res = await clientCredentials(
      { basic: { clientId: 'narrow', clientSecret: 'n' } },
      { scope: 'engine:write' },
    )
    expect(res.status).toBe(400)
    expect(res.body['error']).toBe('invalid_scope')
  })

  it('publishes only public keys and the kid used in headers', async () => {
    const res = await fetch(idp.jwksUri)
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys.map((k) => k['kid'])).toEqual([idp.currentKid])
    expect(jwks.keys[0]).not.toHaveProperty('d')
    expect(idp.publicJwks().keys[0]).not.toHaveProperty('d')
    const token = await idp.issueUserToken({ sub: 'u', clientId: 'worker-a' })
    expect(decodeProtectedHeader(token).kid).toBe(idp.currentKid)
  })
})

import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ACCESS_TOKEN_TYPE,
  REFRESH_TOKEN_TYPE,
  TESTKIT_USER_GRANT,
  TOKEN_EXCHANGE_GRANT,
  requestToken,
  startTestIdp,
} from './index.js'
import type { TestIdp } from './index.js'
import { verifyAccessToken } from './test-support.js'

const USER_CLAIMS = {
  preferred_username: 'alice',
  email: 'alice@example.test',
  groups: ['approvers'],
  realm_access: { roles: ['camunda-user'] },
  tenant: 'tenant-a',
}
/** Alice's user token as the `cli` client gets it. */
const ALICE_AT_CLI = { sub: 'alice', clientId: 'cli', claims: USER_CLAIMS }

describe('test IdP: user tokens, refresh and token exchange', () => {
  let idp: TestIdp
  const cli = { clientId: 'cli', clientSecret: 'cli-secret' }
  const gateway = { clientId: 'gateway', clientSecret: 'gw-secret' }

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [cli, { ...gateway, tenant: 'ops' }, { clientId: 'spa', authMethod: 'none' }],
      audiences: [
        { audience: 'urn:billing', scopes: ['billing:read'], accessTokenTtlSeconds: 120 },
      ],
    })
  })
  afterAll(() => idp.close())

  const verify = (token: string, audience?: string) => verifyAccessToken(idp, token, audience)

  it('issueUserToken signs a user token with the current key, verifiable at the JWKS', async () => {
    const token = await idp.issueUserToken({
      ...ALICE_AT_CLI,
      scope: 'engine:read',
      ttlSeconds: 90,
    })
    const { payload, protectedHeader } = await verify(token)
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: idp.currentKid })
    expect(payload).toMatchObject({
      ...USER_CLAIMS,
      sub: 'alice',
      azp: 'cli',
      client_id: 'cli',
      scope: 'engine:read',
    })
    expect(payload.exp! - payload.iat!).toBe(90)
  })

  it('the testkit user grant issues a user token and a refresh token over HTTP', async () => {
    const res = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: TESTKIT_USER_GRANT,
        sub: 'alice',
        claims: JSON.stringify(USER_CLAIMS),
        scope: 'engine:read offline_access',
      },
      { basic: cli },
    )
    expect(res.status).toBe(200)
    expect(typeof res.body['refresh_token']).toBe('string')
    const { payload } = await verify(res.body['access_token'] as string)
    expect(payload).toMatchObject({
      ...USER_CLAIMS,
      sub: 'alice',
      azp: 'cli',
      scope: 'engine:read',
    })

    const refreshed = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'refresh_token', refresh_token: res.body['refresh_token'] as string },
      { basic: cli },
    )
    expect(refreshed.status).toBe(200)
    expect(refreshed.body['access_token']).not.toBe(res.body['access_token'])
    const again = await verify(refreshed.body['access_token'] as string)
    expect(again.payload).toMatchObject({ ...USER_CLAIMS, sub: 'alice', scope: 'engine:read' })
    expect(again.payload.jti).not.toBe(payload.jti)
  })

  it('refresh tokens are bound to their client and a garbage one is invalid_grant', async () => {
    const res = await requestToken(
      idp.tokenEndpoint,
      { grant_type: TESTKIT_USER_GRANT, sub: 'bob', scope: 'offline_access' },
      { basic: cli },
    )
    const stolen = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'refresh_token', refresh_token: res.body['refresh_token'] as string },
      { basic: gateway },
    )
    expect(stolen.status).toBe(400)
    expect(stolen.body['error']).toBe('invalid_grant')
    const garbage = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'refresh_token', refresh_token: 'nope' },
      { basic: cli },
    )
    expect(garbage.body['error']).toBe('invalid_grant')
  })

  it('a public client gets user tokens and refreshes without a secret', async () => {
    const res = await requestToken(idp.tokenEndpoint, {
      grant_type: TESTKIT_USER_GRANT,
      client_id: 'spa',
      sub: 'carol',
      scope: 'offline_access engine:read',
    })
    expect(res.status).toBe(200)
    const refreshed = await requestToken(idp.tokenEndpoint, {
      grant_type: 'refresh_token',
      client_id: 'spa',
      refresh_token: res.body['refresh_token'] as string,
    })
    expect(refreshed.status).toBe(200)
    expect((await verify(refreshed.body['access_token'] as string)).payload.sub).toBe('carol')
  })

  it('the user grant honours audience, its scopes and its TTL, and rejects unknown targets', async () => {
    const res = await requestToken(
      idp.tokenEndpoint,
      { grant_type: TESTKIT_USER_GRANT, sub: 'alice', audience: 'urn:billing' },
      { basic: cli },
    )
    expect(res.status).toBe(200)
    expect(res.body['expires_in']).toBe(120)
    const { payload } = await verify(res.body['access_token'] as string, 'urn:billing')
    expect(payload['scope']).toBe('billing:read')
    const bad = await requestToken(
      idp.tokenEndpoint,
      { grant_type: TESTKIT_USER_GRANT, sub: 'alice', resource: 'urn:unknown' },
      { basic: cli },
    )
    expect(bad.body['error']).toBe('invalid_target')
    const noSub = await requestToken(
      idp.tokenEndpoint,
      { grant_type: TESTKIT_USER_GRANT },
      { basic: cli },
    )
    expect(noSub.body['error']).toBe('invalid_request')
  })

  it('token exchange keeps sub and tenant, targets the audience and sets act from the actor', async () => {
    const subjectToken = await idp.issueUserToken({
      ...ALICE_AT_CLI,
      scope: 'engine:read engine:write',
    })
    const gwToken = await requestToken(
      idp.tokenEndpoint,
      { grant_type: 'client_credentials' },
      { basic: gateway },
    )
    const res = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: gwToken.body['access_token'] as string,
        actor_token_type: ACCESS_TOKEN_TYPE,
        audience: 'urn:billing',
        scope: 'billing:read',
        requested_token_type: ACCESS_TOKEN_TYPE,
      },
      { basic: gateway },
    )
    expect(res.status).toBe(200)
    expect(res.body['issued_token_type']).toBe(ACCESS_TOKEN_TYPE)
    const { payload } = await verify(res.body['access_token'] as string, 'urn:billing')
    expect(payload).toMatchObject({
      sub: 'alice',
      tenant: 'tenant-a',
      preferred_username: 'alice',
      client_id: 'gateway',
      azp: 'gateway',
      scope: 'billing:read',
      act: { sub: 'gateway', client_id: 'gateway' },
    })
    expect(payload.exp! - payload.iat!).toBe(120)
  })

  it('a delegation grant: exchanged later for a downstream token acting for the user, revocable', async () => {
    const userToken = await idp.issueUserToken({
      sub: 'alice',
      clientId: 'spa',
      claims: USER_CLAIMS,
      scope: 'engine:read',
    })
    const grantRes = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: userToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        requested_token_type: REFRESH_TOKEN_TYPE,
      },
      { basic: cli },
    )
    expect(grantRes.status).toBe(200)
    expect(grantRes.body).toMatchObject({
      issued_token_type: REFRESH_TOKEN_TYPE,
      token_type: 'N_A',
    })
    expect(grantRes.body['expires_in']).toBeGreaterThan(0)
    const delegation = grantRes.body['access_token'] as string
    // Opaque: nothing of the user can be read from it.
    expect(delegation).not.toContain('.')

    const useGrant = (client: { clientId: string; clientSecret: string }) =>
      requestToken(
        idp.tokenEndpoint,
        {
          grant_type: TOKEN_EXCHANGE_GRANT,
          subject_token: delegation,
          subject_token_type: REFRESH_TOKEN_TYPE,
          audience: 'urn:billing',
          scope: 'billing:read',
        },
        { basic: client },
      )
    const downstream = await useGrant(cli)
    expect(downstream.status).toBe(200)
    const { payload } = await verify(downstream.body['access_token'] as string, 'urn:billing')
    expect(payload).toMatchObject({
      sub: 'alice',
      tenant: 'tenant-a',
      client_id: 'cli',
      act: { sub: 'cli', client_id: 'cli' },
      scope: 'billing:read',
    })
    // Only the client the grant was issued to may use it.
    expect((await useGrant(gateway)).body['error']).toBe('invalid_grant')

    const revoked = await fetch(idp.revocationEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('cli:cli-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: delegation, token_type_hint: 'refresh_token' }),
    })
    expect(revoked.status).toBe(200)
    const refused = await useGrant(cli)
    expect(refused.status).toBe(400)
    expect(refused.body['error']).toBe('invalid_grant')
  })

  it('token exchange without an actor and without a target goes to the default audience', async () => {
    const subjectToken = await idp.issueUserToken({
      sub: 'dave',
      clientId: 'cli',
      scope: 'engine:read',
    })
    const res = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
      },
      { basic: gateway },
    )
    expect(res.status).toBe(200)
    const payload = decodeJwt(res.body['access_token'] as string)
    expect(payload).toMatchObject({ sub: 'dave', aud: idp.defaultAudience, scope: 'engine:read' })
    expect(payload).not.toHaveProperty('act')
    // The exchanging client's own tenant claim appears when the subject has none.
    expect(payload['tenant']).toBe('ops')
  })

  it('token exchange rejects forged, foreign and malformed requests', async () => {
    const forged = await idp.signToken({}, { sub: 'mallory', iss: 'http://evil' }, { alg: 'RS256' })
    const cases: [Record<string, string>, string][] = [
      [{ subject_token: forged, subject_token_type: ACCESS_TOKEN_TYPE }, 'invalid_grant'],
      [{ subject_token: 'a.b.c', subject_token_type: ACCESS_TOKEN_TYPE }, 'invalid_grant'],
      [{ subject_token_type: ACCESS_TOKEN_TYPE }, 'invalid_request'],
      [{ subject_token: forged, subject_token_type: 'urn:x' }, 'invalid_request'],
    ]
    for (const [params, error] of cases) {
      const res = await requestToken(
        idp.tokenEndpoint,
        { grant_type: TOKEN_EXCHANGE_GRANT, ...params },
        { basic: gateway },
      )
      expect(res.status).toBe(400)
      expect(res.body['error']).toBe(error)
    }
    const valid = await idp.issueUserToken({ sub: 'erin', clientId: 'cli' })
    const unknownTarget = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: valid,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: 'urn:unknown',
      },
      { basic: gateway },
    )
    expect(unknownTarget.body['error']).toBe('invalid_target')
  })

  it('with rotateRefreshToken a used refresh token is consumed and its reuse revokes the grant', async () => {
    const rotating = await startTestIdp({ clients: [cli], rotateRefreshToken: true })
    try {
      const first = await requestToken(
        rotating.tokenEndpoint,
        { grant_type: TESTKIT_USER_GRANT, sub: 'rita', scope: 'offline_access engine:read' },
        { basic: cli },
      )
      const rt1 = first.body['refresh_token'] as string
      const second = await requestToken(
        rotating.tokenEndpoint,
        { grant_type: 'refresh_token', refresh_token: rt1 },
        { basic: cli },
      )
      expect(second.status).toBe(200)
      const rt2 = second.body['refresh_token'] as string
      expect(rt2).not.toBe(rt1)
      const reuse = await requestToken(
        rotating.tokenEndpoint,
        { grant_type: 'refresh_token', refresh_token: rt1 },
        { basic: cli },
      )
      expect(reuse.body['error']).toBe('invalid_grant')
      const afterRevocation = await requestToken(
        rotating.tokenEndpoint,
        { grant_type: 'refresh_token', refresh_token: rt2 },
        { basic: cli },
      )
      expect(afterRevocation.body['error']).toBe('invalid_grant')
    } finally {
      await rotating.close()
    }
  })

  it('refuses configurations it cannot serve', async () => {
    await expect(startTestIdp({ audiences: [{ audience: 'not a uri' }] })).rejects.toThrow(
      /absolute URI/,
    )
    await expect(
      startTestIdp({ clients: [{ clientId: 't', authMethod: 'tls_client_auth' }] }),
    ).rejects.toThrow(/mtls/)
  })
})

/**
 * The core token client against the real test IdP (oidc-provider over HTTP): every grant, every
 * client authentication method, the IdP dialects' request parameters and per-parameter caching.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt, exportJWK } from 'jose'
import {
  createTokenClient,
  isC7AuthError,
  loadConfigFromEnv,
  TokenEndpointError,
} from '@c7auth/core'
import type { TokenClient, TokenEvent } from '@c7auth/core'
import { startTestIdp, requestToken, TESTKIT_USER_GRANT } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'

// Every character RFC 6749 §2.3.1 form-encoding changes: a client that skips it fails here.
const TRICKY_SECRET = "p:ss+w%rd&x=y z/'!(*)~-_."
const BILLING = 'urn:billing'

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ecPem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const rsaPkcs1Pem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()

let idp: TestIdp
const clients: TokenClient[] = []
function track(client: TokenClient): TokenClient {
  clients.push(client)
  return client
}

beforeAll(async () => {
  idp = await startTestIdp({
    mtls: true,
    rotateRefreshToken: true,
    clients: [
      { clientId: 'basic-app', clientSecret: TRICKY_SECRET, tenant: 'acme' },
      { clientId: 'post-app', clientSecret: 'post-secret', authMethod: 'client_secret_post' },
      {
        clientId: 'jwt-ec',
        jwks: { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256' }] },
      },
      {
        clientId: 'jwt-rsa',
        jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256' }] },
      },
      { clientId: 'mtls-app', authMethod: 'tls_client_auth' },
      { clientId: 'spa', authMethod: 'none' },
    ],
    audiences: [{ audience: BILLING, scopes: ['billing:read'] }],
  })
})

afterAll(async () => {
  for (const c of clients) c.close()
  await idp?.close()
})

describe('client authentication methods', () => {
  it('client_secret_basic form-encodes id and secret (RFC 6749 §2.3.1) via discovery', async () => {
    const client = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'basic-app', clientSecret: TRICKY_SECRET }),
    )
    const claims = decodeJwt(await client.getToken())
    expect(claims).toMatchObject({ iss: idp.issuer, client_id: 'basic-app', tenant: 'acme' })
  })

  it('client_secret_post with an explicit token endpoint (no discovery request)', async () => {
    idp.resetCounts()
    const client = track(
      createTokenClient({
        tokenEndpoint: idp.tokenEndpoint,
        issuer: idp.issuer,
        clientId: 'post-app',
        clientSecret: 'post-secret',
        authMethod: 'client_secret_post',
      }),
    )
    expect(decodeJwt(await client.getToken()).client_id).toBe('post-app')
    expect(idp.counts.discovery).toBe(0)
    expect(idp.counts.token).toBe(1)
  })

  it('the IdP enforces the registered method: basic for a post client is invalid_client', async () => {
    const client = track(
      createTokenClient({
        tokenEndpoint: idp.tokenEndpoint,
        clientId: 'post-app',
        clientSecret: 'post-secret',
        authMethod: 'client_secret_basic',
      }),
    )
    const err = await client.getToken().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenEndpointError)
    expect(err).toMatchObject({
      oauthError: 'invalid_client',
      permanent: true,
      responseStatus: 401,
    })
  })

  it('private_key_jwt with an EC key and kid (RFC 7523)', async () => {
    const client = track(
      createTokenClient({
        issuer: idp.issuer,
        clientId: 'jwt-ec',
        privateKeyPem: ecPem,
        privateKeyId: 'ec-1',
      }),
    )
    expect(decodeJwt(await client.getToken()).client_id).toBe('jwt-ec')
    // Auth0 style: the issuer as the assertion's audience.
    const auth0Style = track(
      createTokenClient({
        issuer: idp.issuer,
        clientId: 'jwt-ec',
        privateKeyPem: ecPem,
        privateKeyId: 'ec-1',
        assertionAudience: 'issuer',
      }),
    )
    expect(decodeJwt(await auth0Style.getToken()).client_id).toBe('jwt-ec')
  })

  it('private_key_jwt with a PKCS#1 RSA key and only a token endpoint (aud = token endpoint)', async () => {
    const client = track(
      createTokenClient({
        tokenEndpoint: idp.tokenEndpoint,
        clientId: 'jwt-rsa',
        authMethod: 'private_key_jwt',
        privateKeyPem: rsaPkcs1Pem,
      }),
    )
    expect(decodeJwt(await client.getToken()).client_id).toBe('jwt-rsa')
  })

  it('tls_client_auth presents the client certificate at the mTLS endpoint alias', async () => {
    const mtls = idp.mtls!
    const cert = await mtls.issueClientCertificate('mtls-app')
    const client = track(
      createTokenClient({
        issuer: idp.issuer,
        clientId: 'mtls-app',
        authMethod: 'tls_client_auth',
        tlsCertPem: cert.certPem,
        tlsKeyPem: cert.keyPem,
        caPem: mtls.caPem,
      }),
    )
    expect(decodeJwt(await client.getToken()).client_id).toBe('mtls-app')
    const wrong = await mtls.issueClientCertificate('someone-else')
    const impostor = track(
      createTokenClient({
        tokenEndpoint: mtls.tokenEndpoint,
        issuer: idp.issuer,
        clientId: 'mtls-app',
        tlsCertPem: wrong.certPem,
        tlsKeyPem: wrong.keyPem,
        caPem: mtls.caPem,
      }),
    )
    await expect(impostor.getToken()).rejects.toMatchObject({
      oauthError: 'invalid_client',
      permanent: true,
    })
  })

  it('refuses plain http on a non-loopback host unless allowed', () => {
    expect(() =>
      createTokenClient({ issuer: 'http://idp.example', clientId: 'x', clientSecret: 's' }),
    ).toThrow(/issuer: must use https/)
    expect(() =>
      createTokenClient({
        issuer: 'https://idp.example',
        clientId: 'x',
        authMethod: 'private_key_jwt',
      }),
    ).toThrow(/privateKeyPem: required/)
  })
})

describe('IdP dialects and per-parameter caching', () => {
  let client: TokenClient
  const events: TokenEvent[] = []
  beforeAll(() => {
    client = track(
      createTokenClient({
        issuer: idp.issuer,
        clientId: 'basic-app',
        clientSecret: TRICKY_SECRET,
        params: { scope: 'engine:read' },
        onEvent: (e) => events.push(e),
      }),
    )
  })

  it('Keycloak/Okta style: default scope parameter', async () => {
    const claims = decodeJwt(await client.getToken())
    expect(claims.aud).toBe(idp.defaultAudience)
    expect(claims.scope).toBe('engine:read')
  })

  it('Auth0 style: audience parameter selects the API', async () => {
    const claims = decodeJwt(await client.getToken({ audience: BILLING, scope: 'billing:read' }))
    expect(claims.aud).toBe(BILLING)
    expect(claims.scope).toBe('billing:read')
  })

  it('RFC 8707 resource indicator selects the API', async () => {
    const claims = decodeJwt(await client.getToken({ resource: BILLING }))
    expect(claims.aud).toBe(BILLING)
  })

  it('caches per parameter set: repeated calls of each set make no new request', async () => {
    idp.resetCounts()
    const a = await client.getToken()
    const b = await client.getToken({ audience: BILLING, scope: 'billing:read' })
    const c = await client.getToken({ resource: BILLING })
    const b2 = await client.getToken({ scope: 'billing:read', audience: BILLING })
    expect(new Set([a, b, c]).size).toBe(3)
    expect(b2).toBe(b)
    expect(idp.counts.token).toBe(0)
    expect(events.filter((e) => e.type === 'fetched')).toHaveLength(3)
    expect(JSON.stringify(events)).not.toContain(a)
  })

  it('an unknown target is a permanent invalid_target error', async () => {
    const err = await client.getToken({ resource: 'urn:nope' }).catch((e: unknown) => e)
    expect(isC7AuthError(err)).toBe(true)
    expect(err).toMatchObject({
      code: 'C7AUTH_TOKEN_ENDPOINT_FAILED',
      oauthError: 'invalid_target',
      permanent: true,
    })
  })
})

describe('refresh_token grant', () => {
  async function userTokens(): Promise<{ access: string; refresh: string }> {
    const res = await requestToken(
      idp.tokenEndpoint,
      { grant_type: TESTKIT_USER_GRANT, sub: 'alice', scope: 'engine:read offline_access' },
      { basic: { clientId: 'basic-app', clientSecret: TRICKY_SECRET } },
    )
    expect(res.status).toBe(200)
    return { access: String(res.body.access_token), refresh: String(res.body.refresh_token) }
  }

  it('refreshes, keeps user claims, and single-flights concurrent refreshes of one token', async () => {
    const { refresh } = await userTokens()
    const client = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'basic-app', clientSecret: TRICKY_SECRET }),
    )
    idp.resetCounts()
    // Rotating refresh tokens: two separate refreshes with the same token would kill the family.
    const results = await Promise.all(Array.from({ length: 20 }, () => client.refresh(refresh)))
    expect(idp.counts.tokenByGrant.refresh_token).toBe(1)
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1)
    const first = results[0]!
    expect(decodeJwt(first.accessToken).sub).toBe('alice')
    expect(first.refreshToken).toBeDefined()
    expect(first.refreshToken).not.toBe(refresh)
    expect(first.expiresAt).toBeGreaterThan(Date.now())
    // The rotated token works in turn.
    const second = await client.refresh(first.refreshToken!)
    expect(second.accessToken).not.toBe(first.accessToken)
    expect(idp.counts.tokenByGrant.refresh_token).toBe(2)
  })

  it('a public client (auth method none) refreshes with only its client_id', async () => {
    const res = await requestToken(idp.tokenEndpoint, {
      grant_type: TESTKIT_USER_GRANT,
      client_id: 'spa',
      sub: 'dave',
      scope: 'engine:read offline_access',
    })
    expect(res.status).toBe(200)
    const client = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'spa', authMethod: 'none' }),
    )
    const refreshed = await client.refresh(String(res.body.refresh_token))
    expect(decodeJwt(refreshed.accessToken)).toMatchObject({ sub: 'dave', client_id: 'spa' })
  })

  it('a used-up refresh token is a permanent invalid_grant error', async () => {
    const { refresh } = await userTokens()
    const a = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'basic-app', clientSecret: TRICKY_SECRET }),
    )
    const b = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'basic-app', clientSecret: TRICKY_SECRET }),
    )
    await a.refresh(refresh)
    await expect(b.refresh(refresh)).rejects.toMatchObject({
      oauthError: 'invalid_grant',
      permanent: true,
    })
  })
})

describe('token exchange (RFC 8693)', () => {
  it('exchanges a user token for a downstream audience, with an actor token, cached per subject', async () => {
    const client = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'basic-app', clientSecret: TRICKY_SECRET }),
    )
    const subject = await idp.issueUserToken({
      sub: 'bob',
      clientId: 'post-app',
      claims: { tenant: 'acme' },
    })
    const actor = await client.getToken()
    idp.resetCounts()
    const exchanged = await client.exchangeToken({
      subjectToken: subject,
      actorToken: actor,
      audience: BILLING,
      scope: 'billing:read',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
    })
    const claims = decodeJwt(exchanged.accessToken)
    expect(claims).toMatchObject({
      sub: 'bob',
      aud: BILLING,
      client_id: 'basic-app',
      tenant: 'acme',
    })
    expect(claims.act).toMatchObject({ client_id: 'basic-app' })
    expect(exchanged.issuedTokenType).toBe('urn:ietf:params:oauth:token-type:access_token')

    const again = await client.exchangeToken({
      subjectToken: subject,
      actorToken: actor,
      audience: BILLING,
      scope: 'billing:read',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
    })
    expect(again.accessToken).toBe(exchanged.accessToken)
    const other = await idp.issueUserToken({ sub: 'carol', clientId: 'post-app' })
    const otherExchanged = await client.exchangeToken({ subjectToken: other, resource: BILLING })
    expect(decodeJwt(otherExchanged.accessToken).sub).toBe('carol')
    expect(idp.counts.tokenByGrant['urn:ietf:params:oauth:grant-type:token-exchange']).toBe(2)
  })

  it('a foreign subject token is refused with a typed error', async () => {
    const client = track(
      createTokenClient({ issuer: idp.issuer, clientId: 'basic-app', clientSecret: TRICKY_SECRET }),
    )
    const err = await client
      .exchangeToken({ subjectToken: 'not-a-token', audience: BILLING })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenEndpointError)
    expect((err as TokenEndpointError).permanent).toBe(true)
    expect((err as TokenEndpointError).message).not.toContain('not-a-token')
  })
})

describe('from configuration alone', () => {
  it('builds clients for two tenants from env (secret file + Auth0 audience, key + RFC 8707 resource)', async () => {
    const files: Record<string, string> = {
      '/run/secrets/acme': `${TRICKY_SECRET}\n`,
      '/run/secrets/globex.pem': ecPem,
    }
    const config = loadConfigFromEnv(
      {
        C7AUTH_TENANTS: 'acme,globex',
        C7AUTH_WORKER_GATEWAY_URL: 'http://127.0.0.1:9/engine-rest',
        C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
        C7AUTH_TENANT_ACME_CLIENT_ID: 'basic-app',
        C7AUTH_TENANT_ACME_CLIENT_SECRET_FILE: '/run/secrets/acme',
        C7AUTH_TENANT_ACME_TOKEN_AUDIENCE: BILLING,
        C7AUTH_TENANT_ACME_TOKEN_SCOPE: 'billing:read',
        C7AUTH_TENANT_GLOBEX_ISSUER: idp.issuer,
        C7AUTH_TENANT_GLOBEX_CLIENT_ID: 'jwt-ec',
        C7AUTH_TENANT_GLOBEX_PRIVATE_KEY_FILE: '/run/secrets/globex.pem',
        C7AUTH_TENANT_GLOBEX_PRIVATE_KEY_ID: 'ec-1',
        C7AUTH_TENANT_GLOBEX_TOKEN_RESOURCE: BILLING,
      },
      { role: 'worker', readFile: (path) => files[path] ?? '' },
    )
    const [acme, globex] = config.tenants.map((t) => track(createTokenClient(t.client!)))
    expect(decodeJwt(await acme!.getToken())).toMatchObject({
      aud: BILLING,
      scope: 'billing:read',
      client_id: 'basic-app',
    })
    expect(decodeJwt(await globex!.getToken())).toMatchObject({ aud: BILLING, client_id: 'jwt-ec' })
  })
})

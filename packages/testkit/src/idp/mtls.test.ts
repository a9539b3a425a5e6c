import { request } from 'node:https'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestIdp } from './index.js'
import type { TestIdp } from './index.js'
import { createTestCa } from './test-ca.js'

interface Tls {
  ca: string
  cert?: string
  key?: string
}

function post(url: string, form: Record<string, string>, tls: Tls) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const body = new URLSearchParams(form).toString()
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        agent: false,
        ...tls,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('test IdP: tls_client_auth (RFC 8705) on the mTLS listener', () => {
  let idp: TestIdp
  let mtls: NonNullable<TestIdp['mtls']>

  beforeAll(async () => {
    idp = await startTestIdp({
      mtls: true,
      clients: [
        { clientId: 'tls-app', authMethod: 'tls_client_auth', tenant: 'tenant-t' },
        { clientId: 'secret-app', clientSecret: 's' },
      ],
    })
    mtls = idp.mtls!
  })
  afterAll(() => idp.close())

  it('advertises the mTLS token endpoint alias in discovery', async () => {
    const doc = (await (await fetch(idp.discoveryUrl)).json()) as Record<string, unknown>
    expect(doc['mtls_endpoint_aliases']).toEqual({ token_endpoint: mtls.tokenEndpoint })
    expect(doc['token_endpoint_auth_methods_supported']).toContain('tls_client_auth')
  })

  it('authenticates a client by its CA-issued certificate subject', async () => {
    const { certPem, keyPem } = await mtls.issueClientCertificate('tls-app')
    const res = await post(
      mtls.tokenEndpoint,
      { grant_type: 'client_credentials', client_id: 'tls-app' },
      { ca: mtls.caPem, cert: certPem, key: keyPem },
    )
    expect(res.status).toBe(200)
    const { payload } = await jwtVerify(
      res.body['access_token'] as string,
      createRemoteJWKSet(new URL(idp.jwksUri)),
      { issuer: idp.issuer, audience: idp.defaultAudience, typ: 'at+jwt' },
    )
    expect(payload).toMatchObject({ sub: 'tls-app', client_id: 'tls-app', tenant: 'tenant-t' })
  })

  it('refuses a wrong subject, a missing certificate and a foreign CA', async () => {
    const other = await mtls.issueClientCertificate('someone-else')
    const foreignCa = await createTestCa()
    const foreign = await foreignCa.issue('tls-app', 'client')
    const attempts: Tls[] = [
      { ca: mtls.caPem, cert: other.certPem, key: other.keyPem },
      { ca: mtls.caPem },
      { ca: mtls.caPem, cert: foreign.certPem, key: foreign.keyPem },
    ]
    for (const tls of attempts) {
      const res = await post(
        mtls.tokenEndpoint,
        { grant_type: 'client_credentials', client_id: 'tls-app' },
        tls,
      )
      expect(res.status).toBe(401)
      expect(res.body['error']).toBe('invalid_client')
    }
  })

  it('the plain http endpoint cannot be used for tls_client_auth, other methods work on both', async () => {
    const { certPem, keyPem } = await mtls.issueClientCertificate('tls-app')
    const plain = await fetch(idp.tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'tls-app' }),
    })
    expect(plain.status).toBe(401)
    await plain.arrayBuffer()
    const viaTls = await post(
      mtls.tokenEndpoint,
      { grant_type: 'client_credentials', client_id: 'secret-app', client_secret: 's' },
      { ca: mtls.caPem, cert: certPem, key: keyPem },
    )
    // secret-app is registered for client_secret_basic, so a body secret is refused even over TLS.
    expect(viaTls.status).toBe(401)
  })
})

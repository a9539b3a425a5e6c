/**
 * A token endpoint's answer never ends up in a TokenEndpointError (util.inspect, JSON): the answers
 * come from the real test IdP through its own fault API, not from a stand-in server.
 */
import { inspect } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTokenClient, TokenEndpointError } from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'
import type { IdpFault, TestIdp } from '@c7auth/testkit'

const ACCESS = 'AT-eyJhbGciOi-sekret-access-0123456789'
const REFRESH = 'RT-sekret-refresh-0123456789'
const SECRET = 'client-s3cr3t-value'
const DESCRIPTION = 'the client secret client-s3cr3t-value is wrong'

let idp: TestIdp

beforeAll(async () => {
  idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: SECRET }] })
})
afterEach(() => idp.setFault(null))
afterAll(async () => {
  await idp?.close()
})

/** The error of a cold getToken while the IdP's token endpoint answers `fault` once. */
async function failure(fault: IdpFault): Promise<TokenEndpointError> {
  const client = createTokenClient({ issuer: idp.issuer, clientId: 'acme', clientSecret: SECRET })
  const before = idp.faultedRequests
  idp.setFault(fault, { paths: ['token'], times: 1 })
  try {
    await client.getToken()
  } catch (err) {
    // the answer really came from the injected fault
    expect(idp.faultedRequests).toBe(before + 1)
    expect(err).toBeInstanceOf(TokenEndpointError)
    return err as TokenEndpointError
  } finally {
    client.close()
  }
  throw new Error('expected a TokenEndpointError')
}

function expectClean(err: unknown): string {
  const printed = `${inspect(err, { depth: 10, showHidden: true })}\n${JSON.stringify(err)}`
  for (const leak of [ACCESS, REFRESH, SECRET, DESCRIPTION, 'token_type', 'expires_in']) {
    expect(printed).not.toContain(leak)
  }
  expect(printed).not.toContain('error_description')
  expect(printed).not.toMatch(/Response \{|"body"|body:/)
  return printed
}

describe('TokenEndpointError never carries the token endpoint’s response', () => {
  it('a 200 with an unusable token_type: no access or refresh token in the error', async () => {
    const err = await failure({
      kind: 'status',
      status: 200,
      body: { access_token: ACCESS, refresh_token: REFRESH, token_type: 'weird', expires_in: 60 },
    })
    const printed = expectClean(err)
    // The cause keeps what helps diagnosis: the original's name and code.
    expect(err.cause).toMatchObject({ name: 'ClientError', code: 'OAUTH_UNSUPPORTED_OPERATION' })
    expect(printed).toContain('OAUTH_UNSUPPORTED_OPERATION')
  })

  it('an OAuth error response: no error_description, no body', async () => {
    const err = await failure({
      kind: 'status',
      status: 401,
      body: { error: 'invalid_client', error_description: DESCRIPTION },
    })
    expect(err).toMatchObject({ oauthError: 'invalid_client', responseStatus: 401 })
    expectClean(err)
    expect(err.cause).toBeInstanceOf(Error)
  })
})

import { inspect } from 'node:util'
import { ClientError, ResponseBodyError } from 'openid-client'
import { describe, expect, it } from 'vitest'
import { classifyTokenError } from './endpoint-error.js'

const ACCESS = 'AT-eyJhbGciOi-sekret-access-0123456789'
const REFRESH = 'RT-sekret-refresh-0123456789'
const SECRET = 'client-s3cr3t-value'
const DESCRIPTION = 'the client secret client-s3cr3t-value is wrong'

function expectClean(err: unknown): string {
  const printed = `${inspect(err, { depth: 10, showHidden: true })}\n${JSON.stringify(err)}`
  for (const leak of [ACCESS, REFRESH, SECRET, DESCRIPTION, 'token_type', 'expires_in']) {
    expect(printed).not.toContain(leak)
  }
  expect(printed).not.toContain('error_description')
  expect(printed).not.toMatch(/Response \{|"body"|body:/)
  return printed
}

// The same property over HTTP (a 200 with an unusable token_type, an OAuth error with a secret in
// error_description) runs against the testkit IdP's fault API in test/e2e/token-endpoint-error.test.ts.
describe('TokenEndpointError never carries the response (util.inspect)', () => {
  it('keeps only name and code along a chain of Error causes', async () => {
    const deep = new ClientError(`request for ${ACCESS} failed`, {
      cause: Object.assign(new Error(`fetch failed: ${SECRET}`, { cause: { body: ACCESS } }), {
        code: 'ECONNRESET',
      }),
    })
    deep.code = 'OAUTH_PARSE_ERROR'
    const { error } = await classifyTokenError(deep, 'client_credentials')
    expectClean(error)
    expect(error.cause).toMatchObject({
      name: 'ClientError',
      code: 'OAUTH_PARSE_ERROR',
      cause: { name: 'Error', code: 'ECONNRESET' },
    })
    const body = new ResponseBodyError('x', {
      cause: { error: 'invalid_grant', error_description: DESCRIPTION, refresh_token: REFRESH },
      response: new Response(JSON.stringify({ refresh_token: REFRESH }), { status: 400 }),
    })
    const classified = await classifyTokenError(body, 'refresh_token')
    expect(classified.error.oauthError).toBe('invalid_grant')
    expectClean(classified.error)
  })
})

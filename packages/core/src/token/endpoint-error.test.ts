import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { ClientError, ResponseBodyError } from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TokenEndpointError } from '../errors.js'
import { classifyTokenError } from './endpoint-error.js'
import { createTokenClient } from './token-client.js'

const ACCESS = 'AT-eyJhbGciOi-sekret-access-0123456789'
const REFRESH = 'RT-sekret-refresh-0123456789'
const SECRET = 'client-s3cr3t-value'
const DESCRIPTION = 'the client secret client-s3cr3t-value is wrong'

/** A token endpoint on 127.0.0.1:0 whose answer each test chooses. */
let answer: { status: number; body: object }
let server: ReturnType<typeof createServer>
let tokenEndpoint: string

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  tokenEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

async function failure(): Promise<TokenEndpointError> {
  const client = createTokenClient({ tokenEndpoint, clientId: 'acme', clientSecret: SECRET })
  try {
    await client.getToken()
  } catch (err) {
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

describe('TokenEndpointError never carries the response (util.inspect)', () => {
  it('a 200 with an unusable token_type: no access or refresh token in the error', async () => {
    answer = {
      status: 200,
      body: { access_token: ACCESS, refresh_token: REFRESH, token_type: 'weird', expires_in: 60 },
    }
    const err = await failure()
    const printed = expectClean(err)
    // The cause keeps what helps diagnosis: the original's name and code.
    expect(err.cause).toMatchObject({ name: 'ClientError', code: 'OAUTH_UNSUPPORTED_OPERATION' })
    expect(printed).toContain('OAUTH_UNSUPPORTED_OPERATION')
  })

  it('an OAuth error response: no error_description, no body', async () => {
    answer = { status: 401, body: { error: 'invalid_client', error_description: DESCRIPTION } }
    const err = await failure()
    expect(err).toMatchObject({ oauthError: 'invalid_client', responseStatus: 401 })
    expectClean(err)
    expect(err.cause).toBeInstanceOf(Error)
  })

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

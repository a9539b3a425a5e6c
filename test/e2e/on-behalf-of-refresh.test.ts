/**
 * The worker's refresh-then-exchange path for IdPs that take only access tokens as a
 * `subject_token` (Keycloak 26's standard token exchange): the testkit IdP refuses a refresh-token
 * subject with `invalid_request` (`refreshTokenSubjects: false`), a real task context detects it,
 * refreshes the stored grant and exchanges the fresh access token; the downstream API (a real
 * HTTP server) sees the user as `sub` and the app as `azp`. Every failure stays closed.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { jwtVerify, createRemoteJWKSet } from 'jose'
import type { JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, Variables } from 'camunda-external-task-client-js'
import type { Task } from 'camunda-external-task-client-js'
import {
  ACCESS_TOKEN_TYPE,
  REFRESH_TOKEN_TYPE,
  createOnBehalfOfVault,
  createTokenClient,
  isC7AuthError,
} from '@c7auth/core'
import type { OnBehalfOfVault, TokenClient, TokenEvent } from '@c7auth/core'
import { createTaskContext } from '@c7auth/worker'
import type { DelegationStrategy } from '@c7auth/worker'
import { TOKEN_EXCHANGE_GRANT, requestToken, startTestIdp } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'

const APP = { clientId: 'acme-worker', clientSecret: 'acme-secret' }
const BILLING = 'urn:billing'
const PID = 'instance-1'

describe('on-behalf-of: refresh-then-exchange (an IdP that takes access tokens only)', () => {
  let idp: TestIdp
  let vault: OnBehalfOfVault
  let server: ReturnType<typeof createServer>
  let downstreamUrl = ''
  const seen: (string | undefined)[] = []
  const { taskService } = new Client({ baseUrl: 'http://127.0.0.1:1/engine-rest', autoPoll: false })

  beforeAll(async () => {
    idp = await startTestIdp({
      clients: [APP, { clientId: 'portal', authMethod: 'none' }],
      audiences: [{ audience: BILLING, scopes: ['billing:write'] }],
      refreshTokenSubjects: false,
    })
    vault = await createOnBehalfOfVault({ url: 'memory' })
    server = createServer((req, res) => {
      seen.push(req.headers.authorization)
      res.writeHead(200).end('{}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    downstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/statements`
  })
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
    await vault?.close()
    await idp?.close()
  })

  /** What the gateway does at a start: the user's token → a refresh token of the app, vaulted. */
  async function captureGrant(user: string): Promise<string> {
    const userToken = await idp.issueUserToken({
      sub: user,
      clientId: 'portal',
      claims: { preferred_username: user },
      scope: 'engine:read',
    })
    const res = await requestToken(
      idp.tokenEndpoint,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: userToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        requested_token_type: REFRESH_TOKEN_TYPE,
      },
      { basic: APP },
    )
    expect(res.status).toBe(200)
    const token = res.body['access_token'] as string
    await vault.put(
      { tenant: 'acme', processInstanceId: PID, user },
      { token, tokenType: REFRESH_TOKEN_TYPE },
      { maxLifetimeMs: 60_000 },
    )
    return token
  }

  function contextFor(user: string, app: TokenClient, strategy?: DelegationStrategy) {
    const variables = new Variables({
      c7authActingUser: {
        type: 'String',
        value: JSON.stringify({ userId: user, kind: 'user', clientId: 'portal' }),
      },
    })
    const task = { id: 't', tenantId: 'acme', processInstanceId: PID, variables } as unknown as Task
    return createTaskContext({
      task,
      taskService,
      tenant: 'acme',
      tokenSource: app,
      onBehalfOf: { vault, exchanger: app, ...(strategy === undefined ? {} : { strategy }) },
    })
  }

  const callAs = (user: string, app: TokenClient, strategy?: DelegationStrategy) =>
    contextFor(user, app, strategy).fetch(downstreamUrl, {
      method: 'POST',
      onBehalfOf: 'actingUser',
      audience: BILLING,
    })

  async function lastClaims(): Promise<JWTPayload> {
    const header = seen.at(-1)
    expect(header).toMatch(/^Bearer /)
    const jwks = createRemoteJWKSet(new URL(idp.jwksUri))
    const { payload } = await jwtVerify(header!.slice(7), jwks, {
      issuer: idp.issuer,
      audience: BILLING,
    })
    return payload
  }

  async function codeOf(call: Promise<unknown>): Promise<string | undefined> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isC7AuthError(error)).toBe(true)
    return (error as { code: string }).code
  }

  it('auto: detects the refusal, refreshes the grant, exchanges the fresh token', async () => {
    await captureGrant('alice')
    const grants: string[] = []
    const app = createTokenClient({
      ...APP,
      issuer: idp.issuer,
      onEvent: (e: TokenEvent) => {
        if (e.type === 'fetched' || e.type === 'failed') grants.push(`${e.type}:${e.grant}`)
      },
    })
    try {
      const res = await callAs('alice', app)
      expect(res.status).toBe(200)
      expect(await lastClaims()).toMatchObject({ sub: 'alice', azp: APP.clientId })
      // the refused direct exchange, then refresh and exchange
      expect(grants).toEqual([
        'failed:token_exchange',
        'fetched:refresh_token',
        'fetched:token_exchange',
      ])

      // learned: the next user's grant is refreshed first, without a refused attempt
      await captureGrant('bob')
      const before = idp.counts.tokenByGrant[TOKEN_EXCHANGE_GRANT] ?? 0
      expect((await callAs('bob', app)).status).toBe(200)
      expect(await lastClaims()).toMatchObject({ sub: 'bob', azp: APP.clientId })
      expect(idp.counts.tokenByGrant[TOKEN_EXCHANGE_GRANT]).toBe(before + 1)
      expect(grants.slice(3)).toEqual(['fetched:refresh_token', 'fetched:token_exchange'])
    } finally {
      app.close()
    }
  })

  it('exchange only: the refusal is a failure, never another token', async () => {
    await captureGrant('carol')
    const app = createTokenClient({ ...APP, issuer: idp.issuer })
    const calls = seen.length
    try {
      expect(await codeOf(callAs('carol', app, 'exchange'))).toBe('C7AUTH_DELEGATION_FAILED')
      // the grant itself is fine: refresh-then-exchange, chosen explicitly, works
      expect((await callAs('carol', app, 'refresh-then-exchange')).status).toBe(200)
      expect(await lastClaims()).toMatchObject({ sub: 'carol' })
    } finally {
      app.close()
    }
    expect(seen.length).toBe(calls + 1)
  })

  it('a revoked grant fails closed at the refresh and leaves the vault', async () => {
    const grant = await captureGrant('dave')
    const revoked = await fetch(idp.revocationEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${APP.clientId}:${APP.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: grant, token_type_hint: 'refresh_token' }),
    })
    expect(revoked.status).toBe(200)
    const app = createTokenClient({ ...APP, issuer: idp.issuer })
    const calls = seen.length
    try {
      expect(await codeOf(callAs('dave', app, 'refresh-then-exchange'))).toBe(
        'C7AUTH_DELEGATION_REVOKED',
      )
      expect(await vault.get({ tenant: 'acme', processInstanceId: PID, user: 'dave' })).toBe(
        undefined,
      )
    } finally {
      app.close()
    }
    expect(seen.length).toBe(calls)
  })

  it('a refreshed token the IdP will not exchange for the audience fails closed', async () => {
    await captureGrant('erin')
    const app = createTokenClient({ ...APP, issuer: idp.issuer })
    const calls = seen.length
    try {
      const ctx = contextFor('erin', app, 'refresh-then-exchange')
      const error = await ctx
        .fetch(downstreamUrl, { onBehalfOf: 'actingUser', audience: 'urn:unknown' })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect((error as { code?: string }).code).toBe('C7AUTH_DELEGATION_FAILED')
      // still in the vault: the grant was not what failed
      expect(
        await vault.get({ tenant: 'acme', processInstanceId: PID, user: 'erin' }),
      ).toBeDefined()
    } finally {
      app.close()
    }
    expect(seen.length).toBe(calls)
  })
})

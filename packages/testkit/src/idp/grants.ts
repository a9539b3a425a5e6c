import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, jwtVerify } from 'jose'
import type { JWK, JWTPayload } from 'jose'
import type {
  AccessToken,
  Provider,
  ResourceServer,
  TokenEndpointGrantContext,
  errors as OidcErrors,
} from 'oidc-provider'
import {
  ACCESS_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
  REFRESH_TOKEN_TYPE,
  TESTKIT_USER_GRANT,
  TOKEN_EXCHANGE_GRANT,
} from './types.js'

/** Scopes that are not API scopes (they never reach an access token's `scope` for an API). */
export const OIDC_SCOPES: readonly string[] = ['openid', 'offline_access', 'profile', 'email']

/** Claims a grant must not copy from a subject token: they describe the token, not the subject. */
const PROTOCOL_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'scope',
  'client_id',
  'azp',
  'act',
  'cnf',
  'auth_time',
  'acr',
  'amr',
  'sid',
])

/** An audience as the grants see it. */
export interface ResolvedAudience {
  audience: string
  scopes: readonly string[]
  ttlSeconds: number
  format: 'jwt' | 'opaque'
}

/** What the custom grants need from the running IdP. */
export interface GrantContext {
  issuer(): string
  defaultAudience: string
  audiences: ReadonlyMap<string, ResolvedAudience>
  resourceServerInfo(audience: string): ResourceServer
  /** Public keys currently served (current and retained old ones). */
  publicKeys(): JWK[]
  /** Allowed scopes of a client (undefined = any configured scope). */
  clientScopes(clientId: string): ReadonlySet<string> | undefined
  /** User claims by grant id, read back when a refresh token is used. */
  userClaims: Map<string, Record<string, unknown>>
  /** Whether a refresh token may be a `subject_token` (see `TestIdpOptions`). */
  refreshTokenSubjects: boolean
  errors: typeof OidcErrors
}

type Ctx = TokenEndpointGrantContext<Record<string, string | string[] | undefined>>

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

const single = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value

function resolveTarget(g: GrantContext, ctx: Ctx): ResolvedAudience {
  const { params } = ctx.oidc
  const targets = [...new Set([...list(params['resource']), ...list(params['audience'])])]
  if (targets.length > 1) {
    throw new g.errors.InvalidTarget('only a single audience/resource value is supported')
  }
  const target = targets[0] ?? g.defaultAudience
  const audience = g.audiences.get(target)
  if (!audience) throw new g.errors.InvalidTarget()
  return audience
}

function checkClientScopes(g: GrantContext, ctx: Ctx, requested: string[]): void {
  const allowed = g.clientScopes(ctx.oidc.client.clientId)
  const denied = allowed ? requested.filter((s) => !allowed.has(s)) : []
  if (denied.length > 0)
    throw new g.errors.InvalidScope('requested scope is not allowed', denied[0])
}

async function verifyOwnToken(g: GrantContext, token: string, what: string): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: g.publicKeys() }), {
      issuer: g.issuer(),
    })
    return payload
  } catch {
    throw new g.errors.InvalidGrant(`${what} is invalid`)
  }
}

function newAccessToken(
  ctx: Ctx,
  fields: {
    accountId: string
    gty: string
    grantId: string
    scope: string | undefined
    resource: string
    info: ResourceServer
    expiresIn?: number
  },
): AccessToken {
  const provider: Provider = ctx.oidc.provider
  return new provider.AccessToken({
    client: ctx.oidc.client,
    accountId: fields.accountId,
    gty: fields.gty,
    grantId: fields.grantId,
    ...(fields.scope ? { scope: fields.scope } : {}),
    ...(fields.expiresIn ? { expiresIn: fields.expiresIn } : {}),
    resourceServer: new provider.ResourceServer(fields.resource, fields.info),
  })
}

/**
 * RFC 8693 token exchange for tokens this IdP issued, plus delegation grants:
 * `requested_token_type=…:refresh_token` turns a user's access token into a refresh token of the
 * calling client (a grant for later use, revocable per RFC 7009), and a refresh token as
 * `subject_token` is exchanged by that client for an access token with `sub` = the user and
 * `act` = the client.
 */
export function tokenExchangeHandler(g: GrantContext) {
  return async (ctx: Ctx): Promise<void> => {
    const { params } = ctx.oidc
    const subjectToken = single(params['subject_token'])
    const subjectTokenType = single(params['subject_token_type'])
    if (!subjectToken) throw new g.errors.InvalidRequest('missing required parameter subject_token')
    if (!subjectTokenType) {
      throw new g.errors.InvalidRequest('missing required parameter subject_token_type')
    }
    const tokenTypes = [ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE]
    if (![...tokenTypes, REFRESH_TOKEN_TYPE].includes(subjectTokenType)) {
      throw new g.errors.InvalidRequest('unsupported subject_token_type')
    }
    const requestedType = single(params['requested_token_type']) ?? ACCESS_TOKEN_TYPE
    if (![...tokenTypes, REFRESH_TOKEN_TYPE].includes(requestedType)) {
      throw new g.errors.InvalidRequest('unsupported requested_token_type')
    }
    if (subjectTokenType === REFRESH_TOKEN_TYPE) {
      if (!g.refreshTokenSubjects) {
        throw new g.errors.InvalidRequest('subject_token_type must be an access token')
      }
      if (requestedType === REFRESH_TOKEN_TYPE) {
        throw new g.errors.InvalidRequest('a delegation grant is exchanged for access tokens only')
      }
      return exchangeDelegationGrant(g, ctx, subjectToken, requestedType)
    }
    const subject = await verifyOwnToken(g, subjectToken, 'subject_token')
    if (typeof subject.sub !== 'string') throw new g.errors.InvalidGrant('subject_token has no sub')
    if (requestedType === REFRESH_TOKEN_TYPE) {
      return issueDelegationGrant(g, ctx, subject)
    }

    let act: Record<string, unknown> | undefined
    const actorToken = single(params['actor_token'])
    if (actorToken !== undefined) {
      const actorType = single(params['actor_token_type'])
      if (!actorType || !tokenTypes.includes(actorType)) {
        throw new g.errors.InvalidRequest('actor_token_type missing or unsupported')
      }
      const actor = await verifyOwnToken(g, actorToken, 'actor_token')
      act = {
        sub: actor.sub,
        ...(typeof actor['client_id'] === 'string' ? { client_id: actor['client_id'] } : {}),
        ...(subject['act'] ? { act: subject['act'] } : {}),
      }
    } else if (params['actor_token_type'] !== undefined) {
      throw new g.errors.InvalidRequest('actor_token_type without actor_token')
    }
    const scopes = exchangeScopes(g, ctx, subject)
    await issueExchangedToken(
      g,
      ctx,
      subject.sub,
      carriedClaims(subject),
      scopes,
      requestedType,
      act,
    )
  }
}

/** The claims of a subject token that describe the subject (copied to exchanged tokens). */
function carriedClaims(subject: JWTPayload): Record<string, unknown> {
  const carried: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(subject)) {
    if (!PROTOCOL_CLAIMS.has(name)) carried[name] = value
  }
  return carried
}

/** The scopes of an exchanged token: the requested ones, or the subject's that fit the target. */
function exchangeScopes(
  g: GrantContext,
  ctx: Ctx,
  subject: { readonly [claim: string]: unknown },
): { target: ResolvedAudience; scopes: string[] } {
  const target = resolveTarget(g, ctx)
  const requestedScope = single(ctx.oidc.params['scope'])
  if (requestedScope !== undefined) {
    const scopes = requestedScope.split(' ').filter(Boolean)
    checkClientScopes(g, ctx, scopes)
    const foreign = scopes.filter((s) => !target.scopes.includes(s))
    if (foreign.length > 0) {
      throw new g.errors.InvalidScope('scope not valid for the audience', foreign[0])
    }
    return { target, scopes }
  }
  const subjectScope = subject['scope']
  const fromSubject = typeof subjectScope === 'string' ? subjectScope.split(' ') : []
  return { target, scopes: fromSubject.filter((s) => target.scopes.includes(s)) }
}

async function issueExchangedToken(
  g: GrantContext,
  ctx: Ctx,
  sub: string,
  carried: Record<string, unknown>,
  { target, scopes }: { target: ResolvedAudience; scopes: string[] },
  requestedType: string,
  act: Record<string, unknown> | undefined,
): Promise<void> {
  const at = newAccessToken(ctx, {
    accountId: sub,
    gty: 'token-exchange',
    grantId: randomUUID(),
    scope: scopes.join(' ') || undefined,
    resource: target.audience,
    info: g.resourceServerInfo(target.audience),
  })
  at.extra = { ...carried, ...(act ? { act } : {}) }
  ctx.oidc.entity('AccessToken', at)
  const value = await at.save()
  ctx.body = {
    access_token: value,
    issued_token_type: requestedType,
    token_type: 'Bearer',
    expires_in: at.expiration,
    ...(at.scope ? { scope: at.scope } : {}),
  }
}

/**
 * A user's access token → a refresh token of the calling client (RFC 8693 §2.2.1: the issued
 * token is in `access_token`, `token_type` is `N_A`). The user's claims stay with the grant.
 */
async function issueDelegationGrant(g: GrantContext, ctx: Ctx, subject: JWTPayload) {
  const provider: Provider = ctx.oidc.provider
  const clientId = ctx.oidc.client.clientId
  const accountId = subject.sub!
  const grant = new provider.Grant({ clientId, accountId })
  grant.addOIDCScope('offline_access')
  const scope = typeof subject['scope'] === 'string' ? subject['scope'] : ''
  // Refreshing the grant (the refresh-then-exchange path) yields a user token of the default
  // audience with the user's scopes, as an IdP's refresh gives back what the grant covers.
  grant.addResourceScope(g.defaultAudience, scope)
  const grantId = await grant.save()
  g.userClaims.set(grantId, carriedClaims(subject))
  const rt = new provider.RefreshToken({
    client: ctx.oidc.client,
    accountId,
    grantId,
    gty: 'token-exchange',
    scope: ['offline_access', ...scope.split(' ').filter(Boolean)].join(' '),
    resource: g.defaultAudience,
  })
  ctx.oidc.entity('RefreshToken', rt)
  const value = await rt.save()
  ctx.body = {
    access_token: value,
    issued_token_type: REFRESH_TOKEN_TYPE,
    token_type: 'N_A',
    expires_in: rt.expiration,
  }
}

/**
 * A delegation grant → an access token for the requested audience, `sub` = the user, `act` = the
 * client that holds the grant. Only that client may use it; a revoked or expired grant is
 * `invalid_grant`.
 */
async function exchangeDelegationGrant(
  g: GrantContext,
  ctx: Ctx,
  subjectToken: string,
  requestedType: string,
): Promise<void> {
  const provider: Provider = ctx.oidc.provider
  const clientId = ctx.oidc.client.clientId
  const rt = await provider.RefreshToken.find(subjectToken)
  if (!rt || !rt.isValid || rt.clientId !== clientId || !rt.accountId || !rt.grantId) {
    throw new g.errors.InvalidGrant('subject_token is invalid')
  }
  const grant = await provider.Grant.find(rt.grantId)
  if (!grant || grant.clientId !== clientId) {
    throw new g.errors.InvalidGrant('subject_token is invalid')
  }
  if (single(ctx.oidc.params['actor_token']) !== undefined) {
    throw new g.errors.InvalidRequest('the holder of a delegation grant is its actor')
  }
  const scope = (rt.scope ?? '').split(' ').filter((s) => !OIDC_SCOPES.includes(s))
  await issueExchangedToken(
    g,
    ctx,
    rt.accountId,
    g.userClaims.get(rt.grantId) ?? {},
    exchangeScopes(g, ctx, { scope: scope.join(' ') }),
    requestedType,
    { sub: clientId, client_id: clientId },
  )
}

/** Parameters of the token-exchange grant (others are stripped by oidc-provider). */
export const TOKEN_EXCHANGE_PARAMS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
]

/** Parameters of the testkit user grant. */
export const TESTKIT_USER_PARAMS = ['sub', 'claims', 'scope', 'audience', 'resource', 'expires_in']

/**
 * The testkit-only user grant: issues `{ sub, claims }`'s access token to the authenticated client,
 * plus a real refresh token (usable at the standard `refresh_token` grant) for `offline_access`.
 */
export function testkitUserHandler(g: GrantContext) {
  return async (ctx: Ctx): Promise<void> => {
    const { params } = ctx.oidc
    const provider: Provider = ctx.oidc.provider
    const sub = single(params['sub'])
    if (!sub) throw new g.errors.InvalidRequest('missing required parameter sub')
    let claims: Record<string, unknown> = {}
    const rawClaims = single(params['claims'])
    if (rawClaims !== undefined) {
      try {
        const parsed: unknown = JSON.parse(rawClaims)
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error()
        claims = parsed as Record<string, unknown>
      } catch {
        throw new g.errors.InvalidRequest('claims must be a JSON object')
      }
    }
    const rawTtl = single(params['expires_in'])
    const expiresIn = rawTtl === undefined ? undefined : Number(rawTtl)
    if (expiresIn !== undefined && !(Number.isSafeInteger(expiresIn) && expiresIn > 0)) {
      throw new g.errors.InvalidRequest('expires_in must be a positive integer')
    }

    const target = resolveTarget(g, ctx)
    const requested = single(params['scope'])?.split(' ').filter(Boolean)
    const allowed = g.clientScopes(ctx.oidc.client.clientId)
    let apiScopes: string[]
    let offline = false
    if (requested) {
      checkClientScopes(g, ctx, requested)
      const unknown = requested.filter(
        (s) => !OIDC_SCOPES.includes(s) && !target.scopes.includes(s),
      )
      if (unknown.length > 0) {
        throw new g.errors.InvalidScope('scope not valid for the audience', unknown[0])
      }
      offline = requested.includes('offline_access')
      apiScopes = requested.filter((s) => target.scopes.includes(s))
      if (apiScopes.length === 0 && requested.every((s) => OIDC_SCOPES.includes(s))) {
        apiScopes = target.scopes.filter((s) => !allowed || allowed.has(s))
      }
    } else {
      apiScopes = target.scopes.filter((s) => !allowed || allowed.has(s))
    }
    const scope = apiScopes.join(' ')

    let grantId: string = randomUUID()
    let refreshToken: string | undefined
    if (offline) {
      const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: sub })
      grant.addOIDCScope('offline_access')
      grant.addResourceScope(target.audience, scope)
      grantId = await grant.save()
      g.userClaims.set(grantId, claims)
      const rt = new provider.RefreshToken({
        client: ctx.oidc.client,
        accountId: sub,
        grantId,
        gty: TESTKIT_USER_GRANT,
        scope: ['offline_access', ...apiScopes].join(' '),
        resource: target.audience,
      })
      refreshToken = await rt.save()
    }

    const at = newAccessToken(ctx, {
      accountId: sub,
      gty: TESTKIT_USER_GRANT,
      grantId,
      scope: scope || undefined,
      resource: target.audience,
      info: g.resourceServerInfo(target.audience),
      ...(expiresIn ? { expiresIn } : {}),
    })
    at.extra = claims
    ctx.oidc.entity('AccessToken', at)
    const value = await at.save()
    ctx.body = {
      access_token: value,
      token_type: 'Bearer',
      expires_in: at.expiration,
      ...(at.scope ? { scope: at.scope } : {}),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    }
  }
}

export { TESTKIT_USER_GRANT, TOKEN_EXCHANGE_GRANT }

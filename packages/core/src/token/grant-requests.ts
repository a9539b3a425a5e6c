import { createHash } from 'node:crypto'
import { clientCredentialsGrant, genericGrantRequest, refreshTokenGrant } from 'openid-client'
import type { Configuration, TokenEndpointResponse } from 'openid-client'
import type { TokenRequestParams } from '../config/types.js'
import type { TokenExchangeRequest, TokenGrant } from './types.js'

/** RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 token type of an access token (the default subject/actor token type). */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/**
 * One token request: its cache key (what makes two requests interchangeable) and how to send it.
 * Keys hold hashes of subject, actor and refresh tokens, never the tokens themselves.
 */
export interface GrantRequest {
  readonly key: string
  readonly grant: TokenGrant
  readonly send: (config: Configuration) => Promise<TokenEndpointResponse>
  /** The refresh token sent (kept when the answer has none, RFC 6749 §6). */
  readonly refreshToken?: string
}

/** The client-credentials grant for `params` (scope and resource order do not matter). */
export function clientCredentialsRequest(prefix: string, params: TokenRequestParams): GrantRequest {
  const scope = normaliseScope(params.scope)
  const resource = normaliseResource(params.resource)
  return {
    key: `${prefix}|cc|${params.audience ?? ''}|${scope ?? ''}|${resource.join(' ')}`,
    grant: 'client_credentials',
    send: (config) => clientCredentialsGrant(config, targetBody(params.audience, scope, resource)),
  }
}

/** The RFC 8693 token exchange for `request`. */
export function tokenExchangeRequest(prefix: string, request: TokenExchangeRequest): GrantRequest {
  const subjectType = request.subjectTokenType ?? ACCESS_TOKEN_TYPE
  const actorType =
    request.actorToken !== undefined ? (request.actorTokenType ?? ACCESS_TOKEN_TYPE) : undefined
  const scope = normaliseScope(request.scope)
  const resource = normaliseResource(request.resource)
  const key = [
    prefix,
    'te',
    hash(request.subjectToken),
    subjectType,
    request.actorToken !== undefined ? hash(request.actorToken) : '',
    actorType ?? '',
    request.audience ?? '',
    scope ?? '',
    resource.join(' '),
    request.requestedTokenType ?? '',
  ].join('|')
  return {
    key,
    grant: 'token_exchange',
    send: (config) => {
      const body = new URLSearchParams()
      body.set('subject_token', request.subjectToken)
      body.set('subject_token_type', subjectType)
      if (request.actorToken !== undefined && actorType !== undefined) {
        body.set('actor_token', request.actorToken)
        body.set('actor_token_type', actorType)
      }
      if (request.audience !== undefined) body.set('audience', request.audience)
      for (const r of resource) body.append('resource', r)
      if (scope !== undefined) body.set('scope', scope)
      if (request.requestedTokenType !== undefined) {
        body.set('requested_token_type', request.requestedTokenType)
      }
      return genericGrantRequest(config, TOKEN_EXCHANGE_GRANT_TYPE, body)
    },
  }
}

/** The refresh-token grant for `refreshToken` with `params`. */
export function refreshRequest(
  prefix: string,
  refreshToken: string,
  params: TokenRequestParams,
): GrantRequest {
  const scope = normaliseScope(params.scope)
  const resource = normaliseResource(params.resource)
  const key = [
    prefix,
    'rt',
    hash(refreshToken),
    params.audience ?? '',
    scope ?? '',
    resource.join(' '),
  ].join('|')
  return {
    key,
    grant: 'refresh_token',
    refreshToken,
    send: (config) =>
      refreshTokenGrant(config, refreshToken, targetBody(params.audience, scope, resource)),
  }
}

/** The grant a cache key was built for. */
export function grantOfKey(key: string): TokenGrant {
  const tag = key.split('|')[1]
  return tag === 'te' ? 'token_exchange' : tag === 'rt' ? 'refresh_token' : 'client_credentials'
}

/** True when `params` names anything (else the client's configured defaults apply). */
export function hasAnyParam(p: TokenRequestParams): boolean {
  return p.audience !== undefined || p.scope !== undefined || p.resource !== undefined
}

/** Base64url SHA-256 of `value`: cache keys and event ids never carry a token or a secret. */
export function hash(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

function targetBody(
  audience: string | undefined,
  scope: string | undefined,
  resource: readonly string[],
): URLSearchParams {
  const body = new URLSearchParams()
  if (scope !== undefined) body.set('scope', scope)
  if (audience !== undefined) body.set('audience', audience)
  for (const r of resource) body.append('resource', r)
  return body
}

function normaliseScope(scope: string | undefined): string | undefined {
  if (scope === undefined) return undefined
  const parts = scope.split(/\s+/).filter(Boolean)
  return parts.length === 0 ? undefined : [...new Set(parts)].sort().join(' ')
}

function normaliseResource(resource: string | string[] | undefined): string[] {
  if (resource === undefined) return []
  return [...new Set(Array.isArray(resource) ? resource : [resource])].sort()
}

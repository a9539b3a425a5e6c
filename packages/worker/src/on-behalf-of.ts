import { C7AuthError, REFRESH_TOKEN_TYPE, isC7AuthError } from '@c7auth/core'
import type {
  ActingUser,
  DelegationGrant,
  OnBehalfOfVault,
  TokenClient,
  TokenRequestParams,
  VaultBinding,
} from '@c7auth/core'

/**
 * How a stored grant becomes a downstream token.
 * - `exchange`: the grant is the `subject_token` of an RFC 8693 exchange (the testkit IdP).
 * - `refresh-then-exchange`: the grant is refreshed (`refresh_token` grant) and the fresh access
 *   token is exchanged, for IdPs that take only access tokens as subjects (Keycloak 26's standard
 *   token exchange).
 * - `auto` (default): `exchange`; when the IdP refuses a refresh token as `subject_token`
 *   (`invalid_request` or `unsupported_token_type`; `invalid_grant` means revoked and is never
 *   retried) `refresh-then-exchange`, and once that worked, only that for this token client.
 */
export type DelegationStrategy = 'exchange' | 'refresh-then-exchange' | 'auto'

/** What `ctx.fetch(url, { onBehalfOf })` needs: the vault and the tenant app's token exchange. */
export interface OnBehalfOfSource {
  /** The vault the gateway stores grants in (the same Redis/PostgreSQL store and key ring). */
  readonly vault: OnBehalfOfVault
  /** The tenant app's token client: the grant was issued to this app, which becomes the actor. */
  readonly exchanger: Pick<TokenClient, 'exchangeToken' | 'refresh'>
  /** Default: `auto`. */
  readonly strategy?: DelegationStrategy
}

/** Errors by which an IdP refuses the token type of a subject (not the subject itself). */
const SUBJECT_TYPE_REFUSED = new Set(['invalid_request', 'unsupported_token_type'])

/** Token clients whose IdP refused a refresh token as subject: they refresh first from then on. */
const refreshesFirst = new WeakSet<object>()

/**
 * A downstream token that acts for the task's acting user: the user's delegation grant for this
 * process instance, exchanged (RFC 8693) by the tenant app for `params`' audience — directly, or
 * refreshed first (see {@link DelegationStrategy}). Fails closed: `C7AUTH_DELEGATION_MISSING`
 * without a grant, `C7AUTH_DELEGATION_REVOKED` when the IdP refuses the grant itself (the entry is
 * deleted), `C7AUTH_DELEGATION_FAILED` otherwise. Never an app token instead.
 */
export async function delegatedToken(
  source: OnBehalfOfSource | undefined,
  binding: { tenant: string; processInstanceId: string | undefined },
  actingUser: ActingUser | undefined,
  params: TokenRequestParams | undefined,
): Promise<string> {
  if (source === undefined) {
    throw new C7AuthError('C7AUTH_DELEGATION_MISSING', { detail: 'no vault configured' })
  }
  if (actingUser?.kind !== 'user' || binding.processInstanceId === undefined) {
    throw new C7AuthError('C7AUTH_DELEGATION_MISSING', {
      detail: 'the task has no acting user or process instance',
    })
  }
  const key: VaultBinding = {
    tenant: binding.tenant,
    processInstanceId: binding.processInstanceId,
    user: actingUser.userId,
  }
  let grant
  try {
    grant = await source.vault.get(key)
  } catch (cause) {
    throw new C7AuthError('C7AUTH_DELEGATION_FAILED', { cause, detail: 'vault unavailable' })
  }
  if (grant === undefined) throw new C7AuthError('C7AUTH_DELEGATION_MISSING')
  try {
    return await redeem(source, grant, params)
  } catch (cause) {
    if (oauthErrorOf(cause) === 'invalid_grant') {
      await source.vault.delete(key).catch(() => undefined)
      throw new C7AuthError('C7AUTH_DELEGATION_REVOKED', { cause })
    }
    if (isC7AuthError(cause) && cause.code === 'C7AUTH_DELEGATION_FAILED') throw cause
    throw new C7AuthError('C7AUTH_DELEGATION_FAILED', {
      cause,
      detail: isC7AuthError(cause) ? cause.code : 'token exchange failed',
    })
  }
}

/**
 * The grant → a downstream access token, by the source's strategy. An `invalid_grant` thrown
 * here always concerns the grant: the fresh access token of a refresh is the IdP's own and new,
 * so its exchange failing is reported as the refused exchange it is, not as a revoked grant.
 */
async function redeem(
  source: OnBehalfOfSource,
  grant: DelegationGrant,
  params: TokenRequestParams | undefined,
): Promise<string> {
  const { exchanger } = source
  const strategy = source.strategy ?? 'auto'
  const isRefreshToken = grant.tokenType === REFRESH_TOKEN_TYPE
  const refreshFirst =
    isRefreshToken &&
    (strategy === 'refresh-then-exchange' || (strategy === 'auto' && refreshesFirst.has(exchanger)))
  // learnt only once refresh-then-exchange worked: another `invalid_request` (a bad audience)
  // must not switch an IdP that does issue `act` claims to the path that cannot
  let learnt = false
  if (!refreshFirst) {
    try {
      const issued = await exchanger.exchangeToken({
        subjectToken: grant.token,
        subjectTokenType: grant.tokenType,
        ...params,
      })
      return issued.accessToken
    } catch (cause) {
      const refused =
        isRefreshToken && strategy === 'auto' && SUBJECT_TYPE_REFUSED.has(oauthErrorOf(cause) ?? '')
      if (!refused) throw cause
      learnt = true
    }
  }
  const fresh = await exchanger.refresh(grant.token)
  try {
    const issued = await exchanger.exchangeToken({ subjectToken: fresh.accessToken, ...params })
    if (learnt) refreshesFirst.add(exchanger)
    return issued.accessToken
  } catch (cause) {
    throw new C7AuthError('C7AUTH_DELEGATION_FAILED', {
      cause,
      detail: 'the exchange of the refreshed grant was refused',
    })
  }
}

function oauthErrorOf(cause: unknown): string | undefined {
  const value = (cause as { oauthError?: unknown } | undefined)?.oauthError
  return typeof value === 'string' ? value : undefined
}

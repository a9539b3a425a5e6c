import { C7AuthError, isC7AuthError } from '@c7auth/core'
import type {
  ActingUser,
  OnBehalfOfVault,
  TokenClient,
  TokenRequestParams,
  VaultBinding,
} from '@c7auth/core'

/** What `ctx.fetch(url, { onBehalfOf })` needs: the vault and the tenant app's token exchange. */
export interface OnBehalfOfSource {
  /** The vault the gateway stores grants in (the same Redis/PostgreSQL store and key ring). */
  readonly vault: OnBehalfOfVault
  /** The tenant app's token client: the grant was issued to this app, which becomes the actor. */
  readonly exchanger: Pick<TokenClient, 'exchangeToken'>
}

/**
 * A downstream token that acts for the task's acting user: the user's delegation grant for this
 * process instance, exchanged (RFC 8693) by the tenant app for `params`' audience. Fails closed:
 * `C7AUTH_DELEGATION_MISSING` without a grant, `C7AUTH_DELEGATION_REVOKED` when the IdP refuses
 * it (the entry is deleted), `C7AUTH_DELEGATION_FAILED` otherwise. Never an app token instead.
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
    const issued = await source.exchanger.exchangeToken({
      subjectToken: grant.token,
      subjectTokenType: grant.tokenType,
      ...params,
    })
    return issued.accessToken
  } catch (cause) {
    if ((cause as { oauthError?: unknown } | undefined)?.oauthError === 'invalid_grant') {
      await source.vault.delete(key).catch(() => undefined)
      throw new C7AuthError('C7AUTH_DELEGATION_REVOKED', { cause })
    }
    throw new C7AuthError('C7AUTH_DELEGATION_FAILED', {
      cause,
      detail: isC7AuthError(cause) ? cause.code : 'token exchange failed',
    })
  }
}

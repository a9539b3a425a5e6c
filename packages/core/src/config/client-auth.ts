import type { ClientAuthMethod, OAuthClientConfig } from './types.js'

/** The credential fields of an OAuth client. */
export type ClientCredentialField = 'clientSecret' | 'privateKeyPem' | 'tlsCertPem' | 'tlsKeyPem'

/**
 * What each client authentication method needs: the config loader and the token client both
 * check a client against this table.
 */
export const CLIENT_AUTH_CREDENTIALS: Readonly<
  Record<ClientAuthMethod, readonly ClientCredentialField[]>
> = {
  client_secret_basic: ['clientSecret'],
  client_secret_post: ['clientSecret'],
  private_key_jwt: ['privateKeyPem'],
  tls_client_auth: ['tlsCertPem', 'tlsKeyPem'],
  none: [],
}

/**
 * The method a client uses when none is named: it follows the credential present (a secret, then
 * a private key, then a client certificate). `undefined` when there is no credential; the token
 * client then uses `none`, the config loader asks for a credential or an explicit `none`.
 */
export function impliedClientAuthMethod(
  present: (field: ClientCredentialField) => boolean,
): Exclude<ClientAuthMethod, 'none' | 'client_secret_post'> | undefined {
  if (present('clientSecret')) return 'client_secret_basic'
  if (present('privateKeyPem')) return 'private_key_jwt'
  if (present('tlsCertPem')) return 'tls_client_auth'
  return undefined
}

/** The credential fields `method` needs that `client` lacks. */
export function missingCredentials(
  method: ClientAuthMethod,
  client: Pick<OAuthClientConfig, ClientCredentialField>,
): ClientCredentialField[] {
  return CLIENT_AUTH_CREDENTIALS[method].filter((field) => !client[field])
}

import { createPrivateKey } from 'node:crypto'
import {
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  None,
  PrivateKeyJwt,
  TlsClientAuth,
  allowInsecureRequests,
  customFetch,
  discovery,
  modifyAssertion,
} from 'openid-client'
import type { ClientAuth, ClientMetadata, CustomFetch } from 'openid-client'
import { importPKCS8 } from 'jose'
import { ConfigError } from '../errors.js'
import type { ResolvedTokenClientOptions } from './client-options.js'
import { createTlsFetch } from './tls-fetch.js'
import type { TokenClientOptions } from './types.js'

/**
 * The openid-client side of a token client: the TLS agent (client certificate, extra CA), the
 * client authentication, and the server configuration (discovered once, or from an explicit token
 * endpoint). A failed discovery is not cached: the next call discovers again.
 */
export class IdpConfiguration {
  readonly #o: TokenClientOptions
  readonly #resolved: ResolvedTokenClientOptions
  readonly #tls: { fetch: CustomFetch; close(): void } | undefined
  #config: Promise<Configuration> | undefined
  /** The token endpoint in use (explicit or discovered), for the client assertion's `aud`. */
  #tokenEndpoint: string | undefined

  constructor(options: TokenClientOptions, resolved: ResolvedTokenClientOptions) {
    this.#o = options
    this.#resolved = resolved
    const mtls = resolved.authMethod === 'tls_client_auth'
    this.#tls =
      mtls || options.caPem !== undefined
        ? createTlsFetch({
            ...(mtls && options.tlsCertPem !== undefined ? { certPem: options.tlsCertPem } : {}),
            ...(mtls && options.tlsKeyPem !== undefined ? { keyPem: options.tlsKeyPem } : {}),
            ...(options.caPem !== undefined ? { caPem: options.caPem } : {}),
          })
        : undefined
  }

  /** The configuration for grant requests. */
  get(): Promise<Configuration> {
    if (this.#config) return this.#config
    const promise = this.#create()
    this.#config = promise
    promise.catch(() => {
      if (this.#config === promise) this.#config = undefined
    })
    return promise
  }

  /** Closes the TLS agent's sockets. */
  close(): void {
    this.#tls?.close()
  }

  async #create(): Promise<Configuration> {
    const o = this.#o
    const insecure = this.#resolved.insecure
    const auth = await this.#clientAuth()
    const metadata: Partial<ClientMetadata> = {}
    if (this.#resolved.authMethod === 'tls_client_auth') metadata.use_mtls_endpoint_aliases = true
    const fetchImpl = this.#tls?.fetch ?? o.fetch
    const timeout = Math.max(1, Math.ceil(this.#resolved.timeoutMs / 1000))
    let config: Configuration
    if (o.tokenEndpoint !== undefined) {
      const issuer = o.issuer ?? new URL(o.tokenEndpoint).origin
      config = new Configuration(
        { issuer, token_endpoint: o.tokenEndpoint },
        o.clientId,
        metadata,
        auth,
      )
      if (insecure) allowInsecureRequests(config)
    } else {
      config = await discovery(new URL(o.issuer!), o.clientId, metadata, auth, {
        execute: insecure ? [allowInsecureRequests] : [],
        timeout,
        ...(fetchImpl !== undefined ? { [customFetch]: fetchImpl } : {}),
      })
    }
    config.timeout = timeout
    if (fetchImpl !== undefined) config[customFetch] = fetchImpl
    this.#tokenEndpoint = config.serverMetadata().token_endpoint
    return config
  }

  async #clientAuth(): Promise<ClientAuth> {
    const o = this.#o
    switch (this.#resolved.authMethod) {
      case 'client_secret_basic':
        return ClientSecretBasic(o.clientSecret!)
      case 'client_secret_post':
        return ClientSecretPost(o.clientSecret!)
      case 'private_key_jwt': {
        const keyObject = createPrivateKey(o.privateKeyPem!)
        const alg = o.privateKeyAlg ?? assertionAlg(keyObject)
        const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'pem' }).toString()
        const key = await importPKCS8(pkcs8, alg)
        const useIssuer = o.assertionAudience === 'issuer' && o.issuer !== undefined
        return PrivateKeyJwt(o.privateKeyId !== undefined ? { key, kid: o.privateKeyId } : key, {
          [modifyAssertion]: (_header, payload) => {
            // RFC 7523 §3: the token endpoint URL identifies the authorization server as audience.
            if (!useIssuer && this.#tokenEndpoint !== undefined) payload.aud = this.#tokenEndpoint
          },
        })
      }
      case 'tls_client_auth':
        return TlsClientAuth()
      case 'none':
        return None()
    }
  }
}

/** The JWS algorithm of a client assertion signed with `key`. */
function assertionAlg(key: ReturnType<typeof createPrivateKey>): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256'
    case 'rsa-pss':
      return 'PS256'
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (curve === 'secp384r1') return 'ES384'
      if (curve === 'secp521r1') return 'ES512'
      return 'ES256'
    }
    case 'ed25519':
      return 'Ed25519'
    default:
      throw new ConfigError(['privateKeyPem: unsupported key type for private_key_jwt'])
  }
}

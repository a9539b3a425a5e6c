import { randomUUID } from 'node:crypto'
import type { X509Certificate } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { JWK } from 'jose'
import type {
  ClientMetadata,
  Configuration,
  KoaContextWithOIDC,
  Provider,
  ResourceServer,
} from 'oidc-provider'
import { FaultGate } from './fault-gate.js'
import {
  OIDC_SCOPES,
  TESTKIT_USER_PARAMS,
  TOKEN_EXCHANGE_PARAMS,
  testkitUserHandler,
  tokenExchangeHandler,
} from './grants.js'
import type { GrantContext, ResolvedAudience } from './grants.js'
import { signCompact, takeSigningKey } from './keys.js'
import type { SigningKey } from './keys.js'
import { loadOidcProvider } from './load-provider.js'
import { createMemoryAdapter } from './memory-adapter.js'
import { createTestCa } from './test-ca.js'
import {
  DEFAULT_API_SCOPES,
  DEFAULT_AUDIENCE,
  TESTKIT_USER_GRANT,
  TOKEN_EXCHANGE_GRANT,
} from './types.js'
import type {
  FaultPath,
  TestClientAuthMethod,
  IdpCounts,
  TestIdp,
  TestIdpClientOptions,
  TestIdpMtls,
  TestIdpOptions,
} from './types.js'

const HOST = '127.0.0.1'

const emptyCounts = (): IdpCounts => ({ token: 0, tokenByGrant: {}, jwks: 0, discovery: 0 })

function listen(server: Server | HttpsServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, HOST, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

async function shutdown(server: Server | HttpsServer): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeAllConnections()
  await closed
  // libuv releases closed handles in the close phase, after this turn's immediates; wait one more
  // turn so callers that count handles see none.
  await new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
}

function defaultAuthMethod(client: TestIdpClientOptions): TestClientAuthMethod {
  if (client.authMethod) return client.authMethod
  if (client.clientSecret !== undefined) return 'client_secret_basic'
  if (client.jwks) return 'private_key_jwt'
  return 'none'
}

function clientMetadata(client: TestIdpClientOptions): ClientMetadata {
  const method = defaultAuthMethod(client)
  const grantTypes =
    client.grantTypes ??
    (method === 'none'
      ? [TESTKIT_USER_GRANT, 'refresh_token', TOKEN_EXCHANGE_GRANT]
      : ['client_credentials', 'refresh_token', TOKEN_EXCHANGE_GRANT, TESTKIT_USER_GRANT])
  return {
    client_id: client.clientId,
    ...(client.clientSecret !== undefined ? { client_secret: client.clientSecret } : {}),
    token_endpoint_auth_method: method,
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(method === 'tls_client_auth'
      ? { tls_client_auth_subject_dn: client.tlsSubjectDn ?? `CN=${client.clientId}` }
      : {}),
    ...(client.scope !== undefined ? { scope: client.scope } : {}),
    grant_types: grantTypes,
    redirect_uris: [],
    response_types: [],
  }
}

/**
 * Starts a real oidc-provider IdP on `127.0.0.1:<random port>` for tests: JWT access tokens
 * (`typ: at+jwt`) via client credentials (with `resource=`, Auth0 `audience=` or only `scope`),
 * RFC 8693 token exchange, a testkit user grant with real refresh tokens, fault injection, key
 * rotation and request counters.
 *
 * @example
 * ```ts
 * const idp = await startTestIdp({
 *   clients: [{ clientId: 'worker-a', clientSecret: 's3cret', tenant: 'tenant-a' }],
 *   audiences: [{ audience: 'urn:billing', scopes: ['billing:read'] }],
 * })
 * const res = await fetch(idp.tokenEndpoint, {
 *   method: 'POST',
 *   headers: { authorization: basicAuth('worker-a', 's3cret') },
 *   body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'engine:read' }),
 * })
 * const user = await idp.issueUserToken({ sub: 'alice', clientId: 'worker-a' })
 * await idp.close()
 * ```
 */
export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const oidc = await loadOidcProvider()
  const signingAlg = options.signingAlg ?? 'RS256'
  const defaultTtl = options.accessTokenTtlSeconds ?? 300
  const refreshTtl = options.refreshTokenTtlSeconds ?? 3600
  const defaultAudience = options.defaultAudience ?? DEFAULT_AUDIENCE
  const apiScopes = options.scopes ?? [...DEFAULT_API_SCOPES]
  const issuerPath = (options.issuerPath ?? '').replace(/\/+$/, '')
  if (issuerPath && !issuerPath.startsWith('/')) throw new Error('issuerPath must start with /')

  const audiences = new Map<string, ResolvedAudience>()
  for (const a of options.audiences ?? []) {
    // oidc-provider refuses resource indicators that are not absolute URIs (RFC 8707 §2).
    if (!URL.canParse(a.audience)) throw new Error(`audience ${a.audience} is not an absolute URI`)
    audiences.set(a.audience, {
      audience: a.audience,
      scopes: a.scopes ?? [],
      ttlSeconds: a.accessTokenTtlSeconds ?? defaultTtl,
      format: a.accessTokenFormat ?? 'jwt',
    })
  }
  if (!audiences.has(defaultAudience)) {
    audiences.set(defaultAudience, {
      audience: defaultAudience,
      scopes: apiScopes,
      ttlSeconds: defaultTtl,
      format: 'jwt',
    })
  }
  const allScopes = new Set<string>([...OIDC_SCOPES, ...apiScopes])
  for (const a of audiences.values()) for (const s of a.scopes) allScopes.add(s)

  const clients = new Map<string, TestIdpClientOptions>()
  for (const c of options.clients ?? []) {
    if (clients.has(c.clientId)) throw new Error(`duplicate client ${c.clientId}`)
    if (c.authMethod === 'tls_client_auth' && !options.mtls) {
      throw new Error(`client ${c.clientId}: tls_client_auth needs startTestIdp({ mtls: true })`)
    }
    clients.set(c.clientId, c)
  }
  const clientScopeSets = new Map<string, ReadonlySet<string>>()
  for (const c of clients.values()) {
    if (c.scope !== undefined) clientScopeSets.set(c.clientId, new Set(c.scope.split(' ')))
  }

  let keys: SigningKey[] = [await takeSigningKey(signingAlg)]
  const current = (): SigningKey => keys[0] as SigningKey
  const adapter = createMemoryAdapter()
  const userClaims = new Map<string, Record<string, unknown>>()
  let counts = emptyCounts()
  const gate = new FaultGate()
  const dropTimers = new Set<NodeJS.Timeout>()

  let issuer = ''
  let callback: (req: IncomingMessage, res: ServerResponse) => unknown

  const resourceServerInfo = (audience: string): ResourceServer => {
    const a = audiences.get(audience)
    if (!a) throw new oidc.errors.InvalidTarget()
    const base = { audience, scope: a.scopes.join(' '), accessTokenTTL: a.ttlSeconds }
    if (a.format === 'opaque') return { ...base, accessTokenFormat: 'opaque' }
    return {
      ...base,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: current().alg, kid: current().kid } },
    }
  }

  const baseClaims = (clientId: string | undefined): Record<string, unknown> => {
    const client = clientId === undefined ? undefined : clients.get(clientId)
    return {
      ...(clientId !== undefined ? { azp: clientId } : {}),
      ...(client?.tenant !== undefined ? { tenant: client.tenant } : {}),
      ...client?.extraClaims,
    }
  }

  const grantContext: GrantContext = {
    issuer: () => issuer,
    defaultAudience,
    audiences,
    resourceServerInfo,
    publicKeys: () => keys.map((k) => k.publicJwk),
    clientScopes: (clientId) => clientScopeSets.get(clientId),
    userClaims,
    refreshTokenSubjects: options.refreshTokenSubjects ?? true,
    errors: oidc.errors,
  }

  // --- listeners -------------------------------------------------------------------------------
  const classify = (pathname: string): FaultPath | undefined => {
    if (pathname === '/token') return 'token'
    if (pathname === '/jwks') return 'jwks'
    if (
      pathname === '/.well-known/openid-configuration' ||
      pathname === '/.well-known/oauth-authorization-server'
    ) {
      return 'discovery'
    }
    return undefined
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    let pathname = q === -1 ? url : url.slice(0, q)
    const query = q === -1 ? '' : url.slice(q)
    if (issuerPath) {
      // RFC 8414 §3: /.well-known/oauth-authorization-server/<issuer path>
      if (pathname === `/.well-known/oauth-authorization-server${issuerPath}`) {
        pathname = '/.well-known/oauth-authorization-server'
      } else if (pathname === issuerPath || pathname.startsWith(`${issuerPath}/`)) {
        pathname = pathname.slice(issuerPath.length) || '/'
      } else {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end('{"error":"not_found"}')
        return
      }
      req.url = pathname + query
      // Express-style mount info: oidc-provider derives its URLs' path prefix from it.
      ;(req as IncomingMessage & { originalUrl?: string }).originalUrl = issuerPath + req.url
    }
    const kind = classify(pathname)
    const pass = (): void => {
      if (kind === 'token') counts.token += 1
      else if (kind === 'jwks') counts.jwks += 1
      else if (kind === 'discovery') counts.discovery += 1
      void callback(req, res)
    }
    if (!gate.intercept(kind, req, res, pass)) pass()
  }

  // Certificates first: nothing is listening yet if openssl is missing.
  const ca = options.mtls ? await createTestCa() : undefined
  const serverCert = ca ? await ca.issue('localhost', 'server') : undefined

  const server = createServer({ keepAliveTimeout: 1000 }, onRequest)
  const mtlsServer =
    ca && serverCert
      ? createHttpsServer(
          {
            key: serverCert.keyPem,
            cert: serverCert.certPem,
            ca: ca.caPem,
            requestCert: true,
            rejectUnauthorized: false,
            keepAliveTimeout: 1000,
          },
          onRequest,
        )
      : undefined
  let port: number
  let mtlsPort = 0
  try {
    port = await listen(server, 0)
    if (mtlsServer) mtlsPort = await listen(mtlsServer, 0)
  } catch (err) {
    await Promise.all([shutdown(server), mtlsServer ? shutdown(mtlsServer) : undefined])
    throw err
  }
  issuer = `http://${HOST}:${port}${issuerPath}`
  const mtls: TestIdpMtls | undefined = ca && {
    tokenEndpoint: `https://${HOST}:${mtlsPort}${issuerPath}/token`,
    caPem: ca.caPem,
    issueClientCertificate: (commonName) => ca.issue(commonName, 'client'),
  }

  // --- provider --------------------------------------------------------------------------------
  const peerCertificate = (ctx: KoaContextWithOIDC): X509Certificate | undefined => {
    const socket = ctx.req.socket as Partial<TLSSocket>
    if (typeof socket.getPeerX509Certificate !== 'function') return undefined
    return socket.getPeerX509Certificate() ?? undefined
  }

  const buildProvider = (): Provider => {
    const configuration: Configuration = {
      adapter,
      clients: [...clients.values()].map(clientMetadata),
      jwks: { keys: keys.map((k) => k.privateJwk) } as Configuration['jwks'],
      scopes: [...allScopes],
      ttl: {
        // A number here would override the resource server's own accessTokenTTL.
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? defaultTtl,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? defaultTtl,
        RefreshToken: refreshTtl,
        Grant: refreshTtl,
        AuthorizationCode: 60,
        BackchannelAuthenticationRequest: 60,
        DeviceCode: 60,
        IdToken: defaultTtl,
        Interaction: 60,
        Session: refreshTtl,
      },
      clientDefaults: {
        grant_types: ['client_credentials'],
        id_token_signed_response_alg: signingAlg,
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      clientAuthMethods: [
        'client_secret_basic',
        'client_secret_post',
        'client_secret_jwt',
        'private_key_jwt',
        'none',
        ...(mtls ? (['tls_client_auth'] as const) : []),
      ],
      findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
      rotateRefreshToken: options.rotateRefreshToken ?? false,
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // RFC 7009 §2.1: a client revokes only tokens issued to it.
        revocation: {
          enabled: true,
          allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
        },
        // Any authenticated client may introspect: this is a test IdP (and it silences the notice).
        introspection: { enabled: true, allowedPolicy: () => true },
        resourceIndicators: {
          enabled: true,
          defaultResource: (ctx, _client, oneOf) => {
            // Auth0 dialect: `audience=` names the API. The built-in grant strips the parameter,
            // but the parsed body still holds it.
            const audience = ctx.oidc.body?.['audience']
            if (typeof audience === 'string' || Array.isArray(audience)) {
              return audience as string | string[]
            }
            return oneOf ?? defaultAudience
          },
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => resourceServerInfo(resource),
        },
        ...(mtls
          ? {
              mTLS: {
                enabled: true,
                tlsClientAuth: true,
                getCertificate: peerCertificate,
                certificateAuthorized: (ctx: KoaContextWithOIDC) =>
                  (ctx.req.socket as Partial<TLSSocket>).authorized === true,
                certificateSubjectMatches: (
                  ctx: KoaContextWithOIDC,
                  property: string,
                  expected: string,
                ) =>
                  property === 'tls_client_auth_subject_dn' &&
                  peerCertificate(ctx)?.subject.split('\n').join(',') === expected,
              },
            }
          : {}),
      },
      ...(mtls
        ? {
            discovery: {
              mtls_endpoint_aliases: { token_endpoint: mtls.tokenEndpoint },
            },
          }
        : {}),
      extraTokenClaims: (_ctx, token) => {
        const grantId = 'grantId' in token ? (token.grantId as string | undefined) : undefined
        return {
          ...baseClaims(token.clientId),
          ...(grantId ? userClaims.get(grantId) : undefined),
          ...(token as { extra?: Record<string, unknown> }).extra,
        }
      },
    }
    const p = new oidc.default(issuer, configuration)
    p.registerGrantType(
      TOKEN_EXCHANGE_GRANT,
      tokenExchangeHandler(grantContext),
      TOKEN_EXCHANGE_PARAMS,
      ['resource', 'audience'],
    )
    p.registerGrantType(TESTKIT_USER_GRANT, testkitUserHandler(grantContext), TESTKIT_USER_PARAMS, [
      'resource',
      'audience',
    ])
    p.use(async (ctx, next) => {
      await next()
      if (ctx.oidc?.route !== 'token') return
      const raw = ctx.oidc.params?.['grant_type'] ?? ctx.oidc.body?.['grant_type']
      const grant = typeof raw === 'string' ? raw : 'unknown'
      counts.tokenByGrant[grant] = (counts.tokenByGrant[grant] ?? 0) + 1
      enforceSecretMethod(ctx as unknown as KoaContextWithOIDC)
    })
    p.on('server_error', (_ctx, err) => {
      console.error(`[test-idp] server_error: ${err.message}`)
    })
    return p
  }

  // oidc-provider treats client_secret_basic and client_secret_post as interchangeable; a real
  // IdP (and the token client's tests) need the registered one enforced.
  const enforceSecretMethod = (ctx: KoaContextWithOIDC): void => {
    if (ctx.status !== 200 || !ctx.oidc.client) return
    const registered = ctx.oidc.client.clientAuthMethod
    const usedBasic = ctx.headers.authorization !== undefined && !ctx.oidc.body?.['client_secret']
    if (
      (registered === 'client_secret_basic' && !usedBasic) ||
      (registered === 'client_secret_post' && usedBasic)
    ) {
      ctx.status = 401
      ctx.set('www-authenticate', 'Basic realm="test-idp"')
      ctx.body = {
        error: 'invalid_client',
        error_description: `client must authenticate with ${registered}`,
      }
    }
  }

  const install = (): void => {
    callback = buildProvider().callback()
  }
  try {
    install()
  } catch (err) {
    await Promise.all([shutdown(server), mtlsServer ? shutdown(mtlsServer) : undefined])
    throw err
  }

  // --- public surface --------------------------------------------------------------------------
  let closed = false
  const idp: TestIdp = {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    revocationEndpoint: `${issuer}/token/revocation`,
    port,
    defaultAudience,
    mtls,
    get counts() {
      return { ...counts, tokenByGrant: { ...counts.tokenByGrant } }
    },
    get currentKid() {
      return current().kid
    },
    resetCounts() {
      counts = emptyCounts()
    },
    userTokenClaims(o) {
      const auds = o.audience === undefined ? [defaultAudience] : [o.audience].flat()
      const known = audiences.get(auds[0] as string)
      const allowed = clientScopeSets.get(o.clientId)
      const scope =
        o.scope ?? (known?.scopes ?? []).filter((s) => !allowed || allowed.has(s)).join(' ')
      const now = Math.floor(Date.now() / 1000)
      return {
        ...baseClaims(o.clientId),
        ...o.claims,
        jti: randomUUID(),
        sub: o.sub,
        iat: now,
        exp: now + (o.ttlSeconds ?? known?.ttlSeconds ?? defaultTtl),
        ...(scope ? { scope } : {}),
        client_id: o.clientId,
        iss: issuer,
        aud: auds.length === 1 ? auds[0] : auds,
      }
    },
    async issueUserToken(o) {
      const key = current()
      return signCompact(
        { alg: key.alg, typ: 'at+jwt', kid: key.kid },
        idp.userTokenClaims(o),
        key.alg,
        key.privateKey,
      )
    },
    async signToken(header, payload, opts = {}) {
      const key = opts.signWithKid ? keys.find((k) => k.kid === opts.signWithKid) : current()
      if (!key) throw new Error(`signToken: no key ${opts.signWithKid}`)
      const merged: Record<string, unknown> = {
        alg: key.alg,
        typ: 'at+jwt',
        kid: key.kid,
        ...header,
      }
      for (const name of Object.keys(merged)) if (merged[name] === undefined) delete merged[name]
      const alg = opts.alg ?? (typeof merged['alg'] === 'string' ? merged['alg'] : key.alg)
      return signCompact(merged, payload, alg, key.privateKey, opts.hmacKey)
    },
    publicJwks() {
      return { keys: keys.map((k) => ({ ...k.publicJwk }) as JWK) }
    },
    setFault(fault, faultOptions) {
      gate.set(fault, faultOptions)
    },
    get faultedRequests() {
      return gate.served
    },
    async rotateKeys(rotate = {}) {
      const next = await takeSigningKey(signingAlg)
      keys = rotate.dropOld ? [next] : [next, ...keys]
      install()
      if (rotate.overlapMs !== undefined && !rotate.dropOld) {
        const timer = setTimeout(() => {
          dropTimers.delete(timer)
          const at = keys.indexOf(next)
          if (at !== -1 && !closed) {
            keys = keys.slice(0, at + 1)
            install()
          }
        }, rotate.overlapMs)
        timer.unref()
        dropTimers.add(timer)
      }
      return next.kid
    },
    async stop() {
      gate.clearTimers()
      await Promise.all([shutdown(server), mtlsServer ? shutdown(mtlsServer) : undefined])
    },
    async restart() {
      await idp.stop()
      if (closed) throw new Error('test IdP is closed')
      await listen(server, port)
      if (mtlsServer) await listen(mtlsServer, mtlsPort)
    },
    async close() {
      closed = true
      for (const timer of dropTimers) clearTimeout(timer)
      dropTimers.clear()
      await idp.stop()
    },
  }
  return idp
}

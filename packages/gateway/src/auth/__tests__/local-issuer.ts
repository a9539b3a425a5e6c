import { KeyObject, sign as cryptoSign } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import type { JWK } from 'jose'

/** What the local JWKS endpoint answers. */
export type JwksMode = 'ok' | 'error' | 'garbage' | 'empty' | 'hang'

interface SigningKey {
  kid: string
  alg: string
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
  publicJwk: JWK
}

/**
 * A tiny issuer for unit tests: keys minted per run with jose, a real node:http server on
 * 127.0.0.1:0 serving discovery and JWKS, and switchable failure modes.
 */
export async function startLocalIssuer(
  options: { alg?: 'RS256' | 'ES256' | 'PS256'; path?: string } = {},
) {
  const alg = options.alg ?? 'RS256'
  const keys: SigningKey[] = []
  let mode: JwksMode = 'ok'
  const counts = { jwks: 0, discovery: 0 }
  let kidSeq = 0

  async function addKey(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const kid = `k${++kidSeq}-${Math.random().toString(36).slice(2, 8)}`
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
    const k = { kid, alg, privateKey, publicJwk }
    keys.push(k)
    return k
  }
  await addKey()

  const server = createServer((req, res) => {
    if (
      req.url === '/.well-known/openid-configuration' ||
      req.url?.endsWith('/.well-known/openid-configuration')
    ) {
      counts.discovery++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ issuer, jwks_uri: jwksUri }))
      return
    }
    if (req.url?.endsWith('/jwks')) {
      counts.jwks++
      if (mode === 'hang') return
      if (mode === 'error') {
        res.statusCode = 503
        res.end('down')
        return
      }
      res.setHeader('content-type', 'application/json')
      if (mode === 'garbage') {
        res.end('<html>not json')
        return
      }
      if (mode === 'empty') {
        res.end(JSON.stringify({ keys: [] }))
        return
      }
      res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }))
      return
    }
    res.statusCode = 404
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const issuer = `http://127.0.0.1:${port}${options.path ?? ''}`
  const jwksUri = `${issuer}/jwks`

  return {
    issuer,
    jwksUri,
    counts,
    get currentKid(): string {
      return keys[keys.length - 1]!.kid
    },
    publicJwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    setMode(m: JwksMode) {
      mode = m
    },
    /** Adds a key that signs from now on; `dropOld` removes the previous ones. */
    async rotate(dropOld = false): Promise<string> {
      const k = await addKey()
      if (dropOld) keys.splice(0, keys.length - 1)
      return k.kid
    },
    /** Signs claims (defaults: iss, aud, iat, exp +300 s) with the current key. */
    async sign(
      claims: Record<string, unknown>,
      header: Record<string, unknown> = {},
      opts: { noExp?: boolean; kid?: string } = {},
    ): Promise<string> {
      const k =
        opts.kid === undefined ? keys[keys.length - 1]! : keys.find((x) => x.kid === opts.kid)!
      const now = Math.floor(Date.now() / 1000)
      const payload: Record<string, unknown> = { iss: issuer, aud: 'engine', iat: now, ...claims }
      if (!opts.noExp && payload.exp === undefined) payload.exp = now + 300
      return new SignJWT(payload)
        .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt', ...header })
        .sign(k.privateKey)
    },
    /** Hand-signs any header and payload (RS256/PS256/ES256 with the current key), no checks. */
    signRaw(header: Record<string, unknown>, payload: Record<string, unknown> | string): string {
      const k = keys[keys.length - 1]!
      const enc = (v: unknown) =>
        Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
      const input = `${enc({ alg: k.alg, kid: k.kid, ...header })}.${enc(payload)}`
      const key = KeyObject.from(k.privateKey)
      const sig =
        k.alg === 'ES256'
          ? cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
          : k.alg === 'PS256'
            ? cryptoSign('sha256', Buffer.from(input), { key, padding: 6, saltLength: 32 })
            : cryptoSign('sha256', Buffer.from(input), key)
      return `${input}.${sig.toString('base64url')}`
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type LocalIssuer = Awaited<ReturnType<typeof startLocalIssuer>>

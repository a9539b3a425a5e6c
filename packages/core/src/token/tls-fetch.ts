import { Agent, request } from 'node:https'
import type { CustomFetch } from 'openid-client'

/** TLS material for requests to the IdP. */
export interface TlsFetchOptions {
  /** Client certificate + key (RFC 8705 `tls_client_auth`). */
  certPem?: string
  keyPem?: string
  /** Extra trust anchors. */
  caPem?: string
}

/**
 * A fetch for openid-client that presents a client certificate and/or trusts an extra CA,
 * built on `node:https` with one keep-alive agent (core depends on no HTTP client library).
 * Non-https URLs go to the global fetch.
 */
export function createTlsFetch(options: TlsFetchOptions): { fetch: CustomFetch; close(): void } {
  const agent = new Agent({
    keepAlive: true,
    ...(options.certPem !== undefined ? { cert: options.certPem } : {}),
    ...(options.keyPem !== undefined ? { key: options.keyPem } : {}),
    ...(options.caPem !== undefined ? { ca: options.caPem } : {}),
  })
  const fetchImpl: CustomFetch = (url, init) => {
    const target = new URL(url)
    if (target.protocol !== 'https:') {
      return fetch(url, init as RequestInit)
    }
    return new Promise<Response>((resolve, reject) => {
      const body = init.body === undefined || init.body === null ? undefined : toBuffer(init.body)
      const headers: Record<string, string> = { ...init.headers }
      if (body !== undefined) headers['content-length'] = String(body.length)
      const req = request(
        target,
        { method: init.method, headers, agent, ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const h = new Headers()
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) v.forEach((x) => h.append(k, x))
              else if (v !== undefined) h.set(k, v)
            }
            const status = res.statusCode ?? 502
            const noBody = status === 204 || status === 304
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: h }))
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }
  return { fetch: fetchImpl, close: () => agent.destroy() }
}

function toBuffer(body: NonNullable<Parameters<CustomFetch>[1]['body']>): Buffer {
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof URLSearchParams) return Buffer.from(body.toString())
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  if (body instanceof Uint8Array) return Buffer.from(body)
  throw new TypeError('streaming request bodies are not supported')
}

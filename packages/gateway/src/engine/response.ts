import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { UpstreamError } from '@c7auth/core'
import { downstreamResponseHeaders } from './http-headers.js'
import { rewriteLinks } from './links.js'
import { readCapped } from './request-body.js'

/** How the response step rewrites `links[].href` (only for rows with `links`). */
export interface LinkRewrite {
  /** The engine's base path, e.g. `/engine-rest`. */
  readonly enginePath: string
  /** Where the proxy is mounted, e.g. `/engine-rest`. */
  readonly mountPath: string
  /** Public base URL of the gateway (origin and optional prefix), if configured. */
  readonly publicUrl: string | undefined
  /** Cap for the buffered answer. */
  readonly maxJsonBytes: number
}

/** The gateway's public URL of the mount: configured, else from the request's `Host`. */
export function publicBaseOf(
  req: IncomingMessage,
  mountPath: string,
  publicUrl: string | undefined,
): string {
  const mount = mountPath.replace(/\/+$/, '')
  if (publicUrl) {
    const base = publicUrl.replace(/\/+$/, '')
    return base.endsWith(mount) ? base : base + mount
  }
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true
  return `${tls ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}${mount}`
}

/**
 * Step 3 of forwarding (for answers not relayed): the engine's answer to the client. A 2xx JSON
 * answer of a row with `links` is buffered (capped) and its `links[].href` rewritten to the
 * gateway's public URL; every other answer streams through.
 */
export async function writeResponse(
  upstream: Dispatcher.ResponseData,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  links: LinkRewrite | undefined,
): Promise<void> {
  const out = downstreamResponseHeaders(upstream.headers)
  out['x-request-id'] = requestId
  const ct = upstream.headers['content-type']
  if (
    links === undefined ||
    upstream.statusCode < 200 ||
    upstream.statusCode >= 300 ||
    typeof ct !== 'string' ||
    !/^application\/json\b/i.test(ct)
  ) {
    res.writeHead(upstream.statusCode, out)
    await pipeToResponse(upstream.body, res)
    return
  }
  const buf = await readCapped(
    upstream.body,
    links.maxJsonBytes,
    () =>
      new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
        detail: 'engine JSON response too large to rewrite',
      }),
  )
  let payload = buf
  if (buf.includes('"links"')) {
    try {
      const rewritten = rewriteLinks(
        JSON.parse(buf.toString('utf8')),
        links.enginePath,
        publicBaseOf(req, links.mountPath, links.publicUrl),
      )
      if (rewritten !== undefined) payload = Buffer.from(JSON.stringify(rewritten), 'utf8')
    } catch {
      // not JSON after all: pass the bytes on unchanged
    }
  }
  out['content-length'] = String(payload.length)
  res.writeHead(upstream.statusCode, out)
  res.end(payload)
}

/**
 * `src.pipe(res)` resolved on finish. Not `stream.pipeline`: it allocates an AbortController per
 * call and aborts it (building a DOMException) on every successful finish — a third of the proxy's
 * CPU time in the benchmark.
 */
function pipeToResponse(src: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      src.off('error', onError)
      res.off('finish', onFinish)
      res.off('close', onClose)
    }
    const onError = (err: Error) => {
      cleanup()
      reject(err)
    }
    const onFinish = () => {
      cleanup()
      resolve()
    }
    const onClose = () => {
      cleanup()
      if (res.writableFinished) resolve()
      else {
        src.destroy()
        reject(new Error('client closed the connection'))
      }
    }
    src.on('error', onError)
    res.on('finish', onFinish)
    res.on('close', onClose)
    src.pipe(res)
  })
}

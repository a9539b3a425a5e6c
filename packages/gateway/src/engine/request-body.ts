import type { IncomingMessage } from 'node:http'
import { Transform } from 'node:stream'
import type { Readable, TransformCallback } from 'node:stream'
import { C7AuthError } from '@c7auth/core'
import type { ForwardDecision } from '../policy/index.js'
import { createDeploymentInspection } from '../deploy/inspection.js'
import { assertJsonDepth, assertValueDepth } from './json-limits.js'
import {
  MultipartTenantStamper,
  multipartBoundary,
  multipartContentType,
} from './multipart-tenant.js'

/** The limits the body step enforces. */
export interface BodyLimits {
  /** Cap for JSON bodies the gateway reads. */
  readonly maxJsonBytes: number
  /** Cap for streamed request bodies (deployments). */
  readonly maxStreamBytes: number
  /** Cap for a long poll's `asyncResponseTimeout`, ms. */
  readonly maxLongPollMs: number
  /** Upstream timeout, ms (a long poll's headers timeout is this plus its capped wait). */
  readonly timeoutMs: number
  /** See `EngineProxyOptions.sharedSignalSubscriptions`. */
  readonly sharedSignalSubscriptions?: (() => Promise<boolean>) | undefined
}

/** What the body step settled: answer now, or send this body upstream. */
export type PlannedBody =
  /** The policy's JSON rewrite answered (an empty scoped query, a foreign id in the body). */
  | { readonly kind: 'respond'; readonly status: number; readonly json: unknown }
  | {
      readonly kind: 'send'
      /** `null` (no body), the bytes to send (replayable), or a body streamed as it arrives. */
      readonly body: Buffer | StreamedBody | null
      /** Upstream headers timeout, ms, when not the upstream timeout (a long poll's is longer). */
      readonly headersTimeout?: number
    }

class ByteLimit extends Transform {
  private seen = 0
  constructor(private readonly limit: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.limit) cb(new C7AuthError('C7AUTH_BODY_TOO_LARGE'))
    else cb(null, chunk)
  }
}

/**
 * A request body streamed upstream as it arrives (size-capped, multipart rebuilt). Every stream of
 * its chain has an error listener the moment it exists: a refusal may come while nobody reads the
 * body yet (bridge provisioning, a busy pool), and an unhandled `'error'` would end the process.
 * The first error of the chain is kept, every stream destroyed, and {@link failed} rejects.
 */
export class StreamedBody {
  /** What to send upstream. */
  readonly stream: Readable
  /** The first error of the body (the client's stream or a transform), once one happened. */
  error: Error | undefined
  /** Rejects with {@link error}; never resolves. */
  readonly failed: Promise<never>
  /** Called once with the first error (the send step aborts the upstream request with it). */
  onFail: ((err: Error) => void) | undefined
  #reject!: (err: Error) => void
  readonly #chain: Readable[] = []

  constructor(req: IncomingMessage, limit: number, transform?: Transform) {
    this.failed = new Promise<never>((_resolve, reject) => {
      this.#reject = reject
    })
    this.failed.catch(() => undefined)
    const fail = (err: Error) => this.fail(err)
    const limited = new ByteLimit(limit)
    this.#chain.push(limited)
    req.on('error', fail)
    limited.on('error', fail)
    let stream: Readable = limited
    if (transform !== undefined) {
      transform.on('error', fail)
      this.#chain.push(transform)
      stream = limited.pipe(transform)
    }
    req.pipe(limited)
    this.stream = stream
  }

  fail(err: Error): void {
    if (this.error) return
    this.error = err
    for (const s of this.#chain) if (!s.destroyed) s.destroy(err)
    this.#reject(err)
    this.onFail?.(err)
  }
}

/** True when the request announces a body (chunked, or a non-zero `Content-Length`). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const len = declaredLength(req)
  return len !== undefined && len > 0
}

function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length']
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined
  return Number(v)
}

/**
 * A body the gateway parses and rebuilds must arrive unencoded: it cannot be read while
 * compressed, and the rebuilt bytes are plain, so the client's `Content-Encoding` never applies
 * to them (forwarding it would label plain JSON as gzip).
 */
function refuseContentEncoding(req: IncomingMessage): void {
  const ce = req.headers['content-encoding']
  if (ce === undefined) return
  if (ce.split(',').every((t) => /^\s*(identity)?\s*$/i.test(t))) return
  throw new C7AuthError('C7AUTH_BODY_INVALID', {
    message: 'Content-Encoding is not accepted on this request; send the body uncompressed.',
  })
}

/** Reads a stream into one buffer; `onTooLarge()` is thrown past `limit` bytes. */
export async function readCapped(
  stream: Readable,
  limit: number,
  onTooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += (chunk as Buffer).length
    if (size > limit) throw onTooLarge()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** The JSON body: `undefined` when empty; what a body parser before us read is taken as it is. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const len = declaredLength(req)
  if (len !== undefined && len > limit) throw new C7AuthError('C7AUTH_BODY_TOO_LARGE')
  const pre = (req as { body?: unknown }).body
  if (req.readableEnded && pre !== undefined) {
    assertValueDepth(pre)
    return pre
  }
  refuseContentEncoding(req)
  const buf = await readCapped(req, limit, () => new C7AuthError('C7AUTH_BODY_TOO_LARGE'))
  if (buf.length === 0) return undefined
  const text = buf.toString('utf8')
  assertJsonDepth(text)
  try {
    return JSON.parse(text)
  } catch {
    throw new C7AuthError('C7AUTH_BODY_INVALID', { message: 'The request body is not valid JSON.' })
  }
}

/**
 * A long poll's wait, capped: the JSON to send (`asyncResponseTimeout` lowered to the cap) and
 * the headers timeout that covers the wait.
 */
function capLongPoll(json: unknown, limits: BodyLimits): { json: unknown; headersTimeout: number } {
  if (typeof json !== 'object' || json === null) return { json, headersTimeout: limits.timeoutMs }
  const f = json as { asyncResponseTimeout?: unknown }
  const asked = f.asyncResponseTimeout
  // Jackson coerces "60000" (and other non-numbers) to a long: only a number is capped
  if (asked !== undefined && (typeof asked !== 'number' || !Number.isFinite(asked)))
    throw new C7AuthError('C7AUTH_BODY_INVALID', {
      message: 'asyncResponseTimeout must be a number.',
    })
  const capped = Math.max(0, Math.min(asked ?? 0, limits.maxLongPollMs))
  return {
    json: asked === undefined ? json : { ...f, asyncResponseTimeout: capped },
    headersTimeout: capped + limits.timeoutMs,
  }
}

/** JSON body: read, rewritten by the policy, capped for a long poll, re-serialised. */
async function planJson(
  req: IncomingMessage,
  decision: ForwardDecision,
  headers: Record<string, string | string[] | undefined>,
  limits: BodyLimits,
): Promise<PlannedBody> {
  let json = await readJson(req, limits.maxJsonBytes)
  if (decision.body.kind === 'json') {
    const r = await decision.body.rewrite(json)
    if (r.kind === 'respond') return { kind: 'respond', status: r.status, json: r.json }
    // fail closed: an owner check is the policy's to settle, never forwarded unchecked
    if (r.ownerCheck !== undefined) {
      throw new C7AuthError('C7AUTH_INTERNAL', { detail: 'unsettled owner check in a JSON body' })
    }
    json = r.json
  }
  let headersTimeout: number | undefined
  if (decision.route.longPoll === true) ({ json, headersTimeout } = capLongPoll(json, limits))
  if (json === undefined) {
    delete headers['content-type']
    return headersTimeout === undefined ? NO_BODY : { kind: 'send', body: null, headersTimeout }
  }
  const body = Buffer.from(JSON.stringify(json), 'utf8')
  headers['content-type'] = 'application/json'
  headers['content-length'] = String(body.length)
  return headersTimeout === undefined
    ? { kind: 'send', body }
    : { kind: 'send', body, headersTimeout }
}

/** Streamed body: size-capped; a multipart body is parsed strictly and rebuilt on the way. */
function planStream(
  req: IncomingMessage,
  decision: ForwardDecision,
  headers: Record<string, string | string[] | undefined>,
  limits: BodyLimits,
): PlannedBody {
  const len = declaredLength(req)
  if (len !== undefined && len > limits.maxStreamBytes)
    throw new C7AuthError('C7AUTH_BODY_TOO_LARGE')
  if (req.readableEnded)
    throw new C7AuthError('C7AUTH_INTERNAL', {
      detail: 'request body was already consumed by a body parser',
    })
  const plan = decision.body
  if (plan.kind !== 'multipart') {
    if (len !== undefined) headers['content-length'] = String(len)
    return { kind: 'send', body: new StreamedBody(req, limits.maxStreamBytes) }
  }
  refuseContentEncoding(req)
  delete headers['content-encoding']
  // Parsed strictly and rebuilt: the engine must never see a header it could read differently
  // (e.g. a second `boundary` parameter, last one wins there).
  const boundary = multipartBoundary(req.headers['content-type'])
  headers['content-type'] = multipartContentType(boundary)
  const inspection = plan.profileOf
    ? createDeploymentInspection({
        profileOf: plan.profileOf,
        sharedSignalSubscriptions: limits.sharedSignalSubscriptions,
      })
    : undefined
  const stamper = new MultipartTenantStamper(boundary, plan.resolveTenant, inspection, {
    field: plan.field,
    scanReferences: plan.scanReferences ?? true,
  })
  return { kind: 'send', body: new StreamedBody(req, limits.maxStreamBytes, stamper) }
}

/** Sent with no body (the request's own, if any, is drained). */
const NO_BODY: PlannedBody = Object.freeze({ kind: 'send', body: null })

/**
 * Step 1 of forwarding: the request body as the decision plans it. `headers` (the upstream
 * request's own object) gets the body's `Content-Type`/`Content-Length`; a body the gateway
 * rebuilds loses the client's `Content-Encoding`. Throws (or rejects) with a `C7AuthError` to
 * refuse the body. Synchronous unless a body must be read first (no promise on a `GET`).
 */
export function planBody(
  req: IncomingMessage,
  decision: ForwardDecision,
  headers: Record<string, string | string[] | undefined>,
  limits: BodyLimits,
): PlannedBody | Promise<PlannedBody> {
  const kind = decision.body.kind
  // a long poll's body is always read: its wait is capped whatever the policy planned
  if (kind === 'json' || decision.route.longPoll === true) {
    delete headers['content-encoding']
    return planJson(req, decision, headers, limits)
  }
  if (kind === 'multipart') return planStream(req, decision, headers, limits)
  if (hasBody(req)) return planStream(req, decision, headers, limits)
  delete headers['content-encoding']
  delete headers['content-type']
  req.resume()
  return NO_BODY
}

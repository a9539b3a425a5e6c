import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform } from 'node:stream'
import type { Readable, TransformCallback } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { Logger } from 'pino'
import { context as otelContext } from '@opentelemetry/api'
import type { Tracer } from '@opentelemetry/api'
import { C7AuthError, isC7AuthError, UpstreamError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { AuditLog } from './audit.js'
import { engineJson, upstreamFailure } from './engine-client.js'
import type { EngineEndpoint } from './engine-client.js'
import { downstreamResponseHeaders, upstreamRequestHeaders } from './http-headers.js'
import type { IdentityBridge } from './identity-bridge.js'
import { rewriteLinks } from './links.js'
import { Relay } from './relay.js'
import {
  MultipartTenantStamper,
  multipartBoundary,
  multipartContentType,
} from './multipart-tenant.js'
import { createDeploymentInspection } from '../deploy/inspection.js'
import { sendError, toC7AuthError } from '../auth/http-error.js'
import { sendJson } from './render-error.js'
import { requestIdOf } from '../auth/request-id.js'
import {
  annotateRequest,
  endUpstreamSpan,
  startRequestSpan,
  startUpstreamSpan,
} from '../observability/tracing.js'
import { assertJsonDepth, assertValueDepth } from './json-limits.js'
import type {
  AuditOutcome,
  EngineLookup,
  GatewayHooks,
  ProxyDecision,
  ProxyPolicy,
} from './types.js'
import type { UpstreamAuth } from './upstream-auth.js'

/** Options of {@link createEngineProxy}. */
export interface EngineProxyOptions {
  readonly endpoint: EngineEndpoint
  readonly upstreamAuth: UpstreamAuth
  readonly bridge?: IdentityBridge | undefined
  readonly policy: ProxyPolicy
  /** Upstream timeout (headers, and between body chunks), ms. */
  readonly timeoutMs: number
  /** Cap for fetchAndLock's `asyncResponseTimeout`, ms. */
  readonly maxLongPollMs: number
  /** Cap for JSON bodies the gateway reads (request rewrite, response link rewrite). */
  readonly maxJsonBytes: number
  /** Cap for streamed request bodies (deployments). */
  readonly maxStreamBytes: number
  /** Public base URL of the gateway (origin and optional prefix) for `links[].href`. */
  readonly publicUrl?: string | undefined
  /**
   * True when the engine holds signal subscriptions without a tenant; a `trusted` deployment
   * with a signal throw is refused then (and when this is absent or fails).
   */
  readonly sharedSignalSubscriptions?: (() => Promise<boolean>) | undefined
  readonly audit?: AuditLog | undefined
  readonly logger?: Logger | undefined
  readonly hooks?: GatewayHooks | undefined
  /** Traces each request (server span, upstream client span, `traceparent` to the engine). */
  readonly tracer?: Tracer | undefined
}

/** Per-request options of {@link EngineProxy.handle}. */
export interface HandleOptions {
  /** Where the proxy is mounted, e.g. `/engine-rest` (for public links). */
  readonly mountPath: string
  /** Engine-relative path and query (default: `req.url` without `mountPath`). */
  readonly url?: string
  /** Request id (default: a valid incoming `x-request-id`, else a new UUID). */
  readonly requestId?: string
}

/** The engine proxy: policy → upstream credentials → undici → response passed back. */
export interface EngineProxy {
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    options: HandleOptions,
  ): Promise<void>
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * POST operations whose 2xx JSON DTO carries `links` (Camunda 7.23 OpenAPI; a unit test derives
 * the set from the document). Only their answers are buffered for the link rewrite: every other
 * response (large POST queries such as `/task` or `/history/...`) streams through untouched.
 */
export const LINKED_POST_OPERATIONS: ReadonlySet<string> = new Set([
  'addAttachment',
  'createComment',
  'createDeployment',
  'redeploy',
  'startProcessInstance',
  'startProcessInstanceByKey',
  'startProcessInstanceByKeyAndTenantId',
  'submitForm',
  'submitFormByKey',
  'submitFormByKeyAndTenantId',
])

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

function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const len = declaredLength(req)
  return len !== undefined && len > 0
}

/**
 * Answering before the request body was read: close the connection instead of letting Node drain
 * (possibly many megabytes of) an upload nobody will use.
 */
function closeIfUnread(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent && hasBody(req) && !req.readableEnded) res.setHeader('connection', 'close')
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

function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length']
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined
  return Number(v)
}

async function readCapped(
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

function findCause(err: unknown): C7AuthError | undefined {
  let e: unknown = err
  for (let i = 0; i < 5 && e; i++) {
    if (isC7AuthError(e)) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

function publicBaseOf(req: IncomingMessage, mountPath: string, publicUrl: string | undefined) {
  const mount = mountPath.replace(/\/+$/, '')
  if (publicUrl) {
    const base = publicUrl.replace(/\/+$/, '')
    return base.endsWith(mount) ? base : base + mount
  }
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true
  return `${tls ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}${mount}`
}

/**
 * Creates the engine proxy. Framework-neutral: give it Node's `req`/`res` and a verified principal.
 *
 * @example
 * ```ts
 * const proxy = createEngineProxy({ endpoint, upstreamAuth, policy, timeoutMs: 30_000,
 *   maxLongPollMs: 60_000, maxJsonBytes: 1 << 20, maxStreamBytes: 100 << 20 })
 * await proxy.handle(req, res, principal, { mountPath: '/engine-rest' })
 * ```
 */
export function createEngineProxy(options: EngineProxyOptions): EngineProxy {
  const { endpoint, upstreamAuth, policy, hooks, tracer } = options

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    opts: HandleOptions,
  ): Promise<void> {
    const started = performance.now()
    const method = (req.method ?? 'GET').toUpperCase()
    const requestId = opts.requestId ?? requestIdOf(req)
    res.setHeader('x-request-id', requestId)
    const raw = opts.url ?? stripMount(req.url ?? '/', opts.mountPath)
    const q = raw.indexOf('?')
    const path = q < 0 ? raw : raw.slice(0, q)
    const query = q < 0 ? '' : raw.slice(q + 1)

    let decision: ProxyDecision | undefined
    let outcome: AuditOutcome = 'success'
    let code: string | undefined
    const finish = () => {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000
      const status = res.statusCode
      const operationId = decision?.operationId
      hooks?.onRequest?.({
        operationId,
        method,
        status,
        durationMs,
        outcome,
        code,
        tenantId: decision?.tenantId,
      })
      if (tracer !== undefined)
        annotateRequest(req, {
          'c7auth.operation': operationId ?? 'unmatched',
          'c7auth.outcome': code ?? outcome,
          ...(decision?.tenantId === undefined ? {} : { 'c7auth.tenant': decision.tenantId }),
        })
      const mutating = decision ? decision.mutating : !SAFE.has(method)
      if (options.audit && (mutating || outcome === 'denied')) {
        options.audit.write({
          requestId,
          principal,
          tenantId: decision?.tenantId,
          operationId,
          method,
          status,
          outcome: outcome === 'success' && status >= 400 ? 'failure' : outcome,
          durationMs,
          code,
        })
      }
    }
    const fail = (err: unknown, how: AuditOutcome) => {
      const e = toC7AuthError(err)
      outcome = how
      code = e.code
      if (e.code === 'C7AUTH_INTERNAL' || e.status >= 500) {
        options.logger?.warn(
          {
            requestId,
            code: e.code,
            detail: e.detail,
            err: e.cause instanceof Error ? e.cause.message : undefined,
          },
          'engine proxy error',
        )
      }
      closeIfUnread(req, res)
      sendError(res, e, requestId)
    }

    const lookup: EngineLookup = async (lookupPath, init) => {
      const get = async () => {
        // A copy: an upstream mode may hand out one shared object (service mode does), and a
        // request id written into it would leak into every later request.
        const headers = { ...(await upstreamAuth.headersFor(principal)), 'x-request-id': requestId }
        return engineJson(endpoint, init?.method ?? 'GET', lookupPath, {
          headers,
          timeoutMs: options.timeoutMs,
          ...(init?.body === undefined ? {} : { body: init.body }),
        })
      }
      const r = await get()
      if (r.status !== 401) return r
      if (upstreamAuth.mode === 'bridge' && options.bridge) {
        if (await options.bridge.repair(principal.userId)) {
          const again = await get()
          if (again.status !== 401) return again
        }
        throw new C7AuthError('C7AUTH_BRIDGE_FAILED', { detail: 'engine 401 on an owner lookup' })
      }
      throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
        detail: 'engine answered 401 to the gateway credentials',
      })
    }

    try {
      try {
        decision = await policy.decide(
          { method, path, query, headers: req.headers, principal },
          lookup,
        )
      } catch (err) {
        fail(err, isC7AuthError(err) && err.status < 500 ? 'denied' : 'error')
        return
      }
      if (decision.action === 'respond') {
        outcome = decision.status < 400 ? 'success' : 'denied'
        closeIfUnread(req, res)
        sendJson(res, decision.status, decision.body, requestId)
        return
      }
      await forward(
        req,
        res,
        principal,
        decision,
        requestId,
        opts,
        (o, c) => {
          outcome = o
          code = c
        },
        fail,
      )
    } finally {
      if (res.writableFinished || res.destroyed) finish()
      else res.once('close', finish)
    }
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    decision: Extract<ProxyDecision, { action: 'forward' }>,
    requestId: string,
    opts: HandleOptions,
    setOutcome: (o: AuditOutcome, code?: string) => void,
    fail: (err: unknown, how: AuditOutcome) => void,
  ): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase() as Dispatcher.HttpMethod
    const headers = upstreamRequestHeaders(req.headers, upstreamAuth.identityHeaders)
    headers['x-request-id'] = requestId
    let headersTimeout = options.timeoutMs
    // Only the streamed-body path needs an AbortController; the relay aborts through its handler.
    let abort: AbortController | undefined = undefined
    let relay: Relay | undefined
    let clientGone = false
    // A streamed body: its transforms, and the first error of the body (req or a transform).
    let streamChain: Readable[] = []
    let bodyError: Error | undefined
    let rejectBody: (err: Error) => void = () => undefined
    let bodyFailed: Promise<never> | undefined
    const onBodyError = (err: Error) => {
      if (bodyError) return
      bodyError = err
      for (const s of streamChain) if (!s.destroyed) s.destroy(err)
      rejectBody(err)
      abort?.abort(err)
    }
    let body: Buffer | Readable | null = null
    let bodyKind = decision.body.kind
    const isFetchAndLock = decision.operationId === 'fetchAndLock'
    if (isFetchAndLock && bodyKind === 'stream') bodyKind = 'json'
    if (bodyKind === 'stream' && !hasBody(req)) bodyKind = 'none'

    // ---- request body
    try {
      if (bodyKind !== 'stream') delete headers['content-encoding']
      if (bodyKind === 'none') {
        delete headers['content-type']
        req.resume()
      } else if (bodyKind === 'json') {
        const len = declaredLength(req)
        if (len !== undefined && len > options.maxJsonBytes)
          throw new C7AuthError('C7AUTH_BODY_TOO_LARGE')
        const pre = (req as { body?: unknown }).body
        let parsed: unknown
        if (req.readableEnded && pre !== undefined) {
          parsed = pre // a body parser upstream of us already read it
          assertValueDepth(parsed)
        } else {
          refuseContentEncoding(req)
          const buf = await readCapped(
            req,
            options.maxJsonBytes,
            () => new C7AuthError('C7AUTH_BODY_TOO_LARGE'),
          )
          if (buf.length > 0) {
            const text = buf.toString('utf8')
            assertJsonDepth(text)
            try {
              parsed = JSON.parse(text)
            } catch {
              throw new C7AuthError('C7AUTH_BODY_INVALID', {
                message: 'The request body is not valid JSON.',
              })
            }
          }
        }
        const rewrite = decision.body.kind === 'json' ? decision.body.rewrite : undefined
        if (rewrite) {
          const outcome = await rewrite(parsed)
          if (outcome.kind === 'respond') {
            setOutcome(outcome.status < 400 ? 'success' : 'denied')
            sendJson(res, outcome.status, outcome.body, requestId)
            return
          }
          parsed = outcome.json
        }
        if (isFetchAndLock && typeof parsed === 'object' && parsed !== null) {
          const f = parsed as { asyncResponseTimeout?: unknown }
          const asked = f.asyncResponseTimeout
          // Jackson coerces "60000" (and other non-numbers) to a long: only a number is capped
          if (asked !== undefined && (typeof asked !== 'number' || !Number.isFinite(asked)))
            throw new C7AuthError('C7AUTH_BODY_INVALID', {
              message: 'asyncResponseTimeout must be a number.',
            })
          const capped = Math.max(0, Math.min(asked ?? 0, options.maxLongPollMs))
          if (asked !== undefined) parsed = { ...f, asyncResponseTimeout: capped }
          headersTimeout = capped + options.timeoutMs
        }
        if (parsed !== undefined) {
          body = Buffer.from(JSON.stringify(parsed), 'utf8')
          headers['content-type'] = 'application/json'
          headers['content-length'] = String(body.length)
        } else {
          delete headers['content-type']
        }
      } else {
        const len = declaredLength(req)
        if (len !== undefined && len > options.maxStreamBytes)
          throw new C7AuthError('C7AUTH_BODY_TOO_LARGE')
        if (req.readableEnded)
          throw new C7AuthError('C7AUTH_INTERNAL', {
            detail: 'request body was already consumed by a body parser',
          })
        // Every stream gets its error listener the moment it exists: a refusal may come while
        // nobody reads the body yet (bridge provisioning, a busy pool), and an unhandled 'error'
        // would end the process.
        bodyFailed = new Promise<never>((_resolve, reject) => {
          rejectBody = reject
        })
        bodyFailed.catch(() => undefined)
        const limited = new ByteLimit(options.maxStreamBytes)
        streamChain = [limited]
        req.on('error', onBodyError)
        limited.on('error', onBodyError)
        let stream: Readable = limited
        if (bodyKind === 'multipart') {
          refuseContentEncoding(req)
          // Parsed strictly and rebuilt: the engine must never see a header it could read
          // differently (e.g. a second `boundary` parameter, last one wins there).
          const boundary = multipartBoundary(req.headers['content-type'])
          headers['content-type'] = multipartContentType(boundary)
          const plan = decision.body.kind === 'multipart' ? decision.body : undefined
          const inspection = plan?.profileOf
            ? createDeploymentInspection({
                profileOf: plan.profileOf,
                sharedSignalSubscriptions: options.sharedSignalSubscriptions,
              })
            : undefined
          const stamper = new MultipartTenantStamper(
            boundary,
            plan ? plan.resolveTenant : () => undefined,
            inspection,
            { field: plan?.field ?? 'tenant-id', scanReferences: plan?.scanReferences ?? true },
          )
          stamper.on('error', onBodyError)
          streamChain.push(stamper)
          stream = limited.pipe(stamper)
        } else if (len !== undefined) {
          headers['content-length'] = String(len)
        }
        req.pipe(limited)
        body = stream
      }
    } catch (err) {
      fail(err, isC7AuthError(err) && err.status < 500 ? 'denied' : 'error')
      return
    }

    // ---- upstream
    const onClose = () => {
      if (res.writableFinished) return
      clientGone = true
      abort?.abort()
      relay?.abort(new Error('client closed the connection'))
    }
    res.once('close', onClose)
    const target = endpoint.basePath + decision.path + (decision.query ? `?${decision.query}` : '')

    // ---- fast path: a replayable body whose answer is relayed unchanged (every GET)
    if (
      (body === null || Buffer.isBuffer(body)) &&
      !(method === 'POST' && LINKED_POST_OPERATIONS.has(decision.operationId))
    ) {
      const replayable: Buffer | null = body
      const relayOnce = async (): Promise<number> => {
        // `headers` is this request's own object: the credentials go in, the request id stays last.
        const sent = Object.assign(headers, await upstreamAuth.headersFor(principal))
        sent['x-request-id'] = requestId
        const t0 = performance.now()
        const span =
          tracer === undefined
            ? undefined
            : startUpstreamSpan(tracer, decision.operationId, method, sent)
        const r = new Relay(res, requestId, (status) => {
          if (span !== undefined) endUpstreamSpan(span, status)
          hooks?.onUpstream?.({
            operationId: decision.operationId,
            method,
            status,
            durationMs: performance.now() - t0,
          })
        })
        relay = r
        if (clientGone) r.abort(new Error('client closed the connection'))
        endpoint.dispatcher.dispatch(
          {
            path: target,
            method,
            headers: sent,
            body: replayable,
            headersTimeout,
            bodyTimeout: options.timeoutMs,
          },
          r,
        )
        try {
          return await r.done
        } catch (err) {
          if (r.status === 0) {
            if (span !== undefined) endUpstreamSpan(span, undefined, err)
            hooks?.onUpstream?.({
              operationId: decision.operationId,
              method,
              status: undefined,
              durationMs: performance.now() - t0,
              error: err instanceof Error ? err.name : 'error',
            })
          }
          throw err
        }
      }
      try {
        if ((await relayOnce()) === 401) {
          if (upstreamAuth.mode === 'bridge' && options.bridge) {
            if (!(await options.bridge.repair(principal.userId)))
              throw new C7AuthError('C7AUTH_BRIDGE_FAILED', {
                detail: 'engine 401; repair rate-limited',
              })
            if ((await relayOnce()) === 401)
              throw new C7AuthError('C7AUTH_BRIDGE_FAILED', { detail: 'engine 401 after repair' })
          } else {
            // The engine rejected the gateway's own credentials: never show its Basic challenge.
            throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
              detail: 'engine answered 401 to the gateway credentials',
            })
          }
        }
      } catch (err) {
        const own = findCause(err)
        if (clientGone || res.destroyed) setOutcome('aborted')
        else if (!res.headersSent)
          fail(own ?? upstreamFailure(err), own && own.status < 500 ? 'denied' : 'error')
        else res.destroy()
      } finally {
        res.off('close', onClose)
      }
      return
    }
    abort = new AbortController()
    const signal = abort.signal

    const send = async (): Promise<Dispatcher.ResponseData> => {
      const auth = await upstreamAuth.headersFor(principal)
      if (bodyError) throw bodyError
      const t0 = performance.now()
      const sent = { ...headers, ...auth, 'x-request-id': requestId }
      const span =
        tracer === undefined
          ? undefined
          : startUpstreamSpan(tracer, decision.operationId, method, sent)
      try {
        const pending = endpoint.dispatcher.request({
          path: target,
          method,
          headers: sent,
          body,
          signal,
          headersTimeout,
          bodyTimeout: options.timeoutMs,
        })
        // A queued request learns of its body's failure only once a connection is free: answer now.
        if (bodyFailed) {
          pending.then(
            (late) => {
              if (bodyError) late.body.destroy()
            },
            () => undefined,
          )
        }
        const r = await (bodyFailed ? Promise.race([pending, bodyFailed]) : pending)
        if (span !== undefined) endUpstreamSpan(span, r.statusCode)
        hooks?.onUpstream?.({
          operationId: decision.operationId,
          method,
          status: r.statusCode,
          durationMs: performance.now() - t0,
        })
        return r
      } catch (err) {
        if (span !== undefined) endUpstreamSpan(span, undefined, err)
        hooks?.onUpstream?.({
          operationId: decision.operationId,
          method,
          status: undefined,
          durationMs: performance.now() - t0,
          error: err instanceof Error ? err.name : 'error',
        })
        throw err
      }
    }

    let upstream: Dispatcher.ResponseData
    try {
      upstream = await send()
      if (upstream.statusCode === 401) {
        await upstream.body.dump()
        const replayable = body === null || Buffer.isBuffer(body)
        if (upstreamAuth.mode === 'bridge' && options.bridge) {
          const repaired = await options.bridge.repair(principal.userId)
          if (!repaired)
            throw new C7AuthError('C7AUTH_BRIDGE_FAILED', {
              detail: 'engine 401; repair rate-limited',
            })
          if (!replayable) {
            throw new C7AuthError('C7AUTH_BRIDGE_FAILED', {
              message: 'The caller\u2019s engine credentials were repaired; retry the request.',
              detail: 'engine 401 on a streamed body',
            })
          }
          upstream = await send()
          if (upstream.statusCode === 401) {
            await upstream.body.dump()
            throw new C7AuthError('C7AUTH_BRIDGE_FAILED', { detail: 'engine 401 after repair' })
          }
        } else {
          // The engine rejected the gateway's own credentials: never show its Basic challenge.
          throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
            detail: 'engine answered 401 to the gateway credentials',
          })
        }
      }
    } catch (err) {
      res.off('close', onClose)
      if (clientGone) {
        setOutcome('aborted')
        return
      }
      const own = findCause(bodyError) ?? findCause(err)
      if (own) fail(own, own.status < 500 ? 'denied' : 'error')
      else fail(upstreamFailure(err), 'error')
      return
    }

    // ---- response
    const out = downstreamResponseHeaders(upstream.headers)
    out['x-request-id'] = requestId
    const ct = upstream.headers['content-type']
    const mayHaveLinks =
      method === 'POST' &&
      LINKED_POST_OPERATIONS.has(decision.operationId) &&
      upstream.statusCode >= 200 &&
      upstream.statusCode < 300 &&
      typeof ct === 'string' &&
      /^application\/json\b/i.test(ct)
    try {
      if (mayHaveLinks) {
        const buf = await readCapped(
          upstream.body,
          options.maxJsonBytes,
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
              endpoint.basePath,
              publicBaseOf(req, opts.mountPath, options.publicUrl),
            )
            if (rewritten !== undefined) payload = Buffer.from(JSON.stringify(rewritten), 'utf8')
          } catch {
            // not JSON after all: pass the bytes on unchanged
          }
        }
        out['content-length'] = String(payload.length)
        res.writeHead(upstream.statusCode, out)
        res.end(payload)
      } else {
        res.writeHead(upstream.statusCode, out)
        await pipeToResponse(upstream.body, res)
      }
    } catch (err) {
      const own = findCause(bodyError) ?? findCause(err)
      if (clientGone || res.destroyed) setOutcome('aborted')
      else if (!res.headersSent)
        fail(own ?? upstreamFailure(err), own && own.status < 500 ? 'denied' : 'error')
      else res.destroy()
    } finally {
      res.off('close', onClose)
    }
  }

  if (tracer === undefined) return { handle }
  return {
    // The whole request runs in its server span's context: bridge provisioning, owner lookups
    // and the upstream call become its children.
    handle: (req, res, principal, opts) =>
      otelContext.with(
        startRequestSpan(tracer, req, res),
        handle,
        undefined,
        req,
        res,
        principal,
        opts,
      ),
  }
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

/** The engine-relative part of `url` under `mountPath`. */
export function stripMount(url: string, mountPath: string): string {
  const mount = mountPath.replace(/\/+$/, '')
  if (mount && (url === mount || url.startsWith(`${mount}/`) || url.startsWith(`${mount}?`))) {
    const rest = url.slice(mount.length)
    return rest.startsWith('/') ? rest : `/${rest}`
  }
  return url
}

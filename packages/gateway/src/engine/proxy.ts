import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Logger } from 'pino'
import { context as otelContext } from '@opentelemetry/api'
import type { Tracer } from '@opentelemetry/api'
import { C7AuthError, isC7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type {
  Decision,
  EngineAccess,
  EngineLookup,
  ForwardDecision,
  Policy,
} from '../policy/index.js'
import { sendError, sendJson, toC7AuthError } from '../auth/http-error.js'
import { requestIdOf } from '../auth/request-id.js'
import { annotateRequest, startRequestSpan } from '../observability/tracing.js'
import type { AuditLog } from './audit.js'
import { engineJson, upstreamFailure } from './engine-client.js'
import type { EngineEndpoint } from './engine-client.js'
import { upstreamRequestHeaders } from './http-headers.js'
import { StreamedBody, hasBody, planBody } from './request-body.js'
import type { BodyLimits, PlannedBody } from './request-body.js'
import { writeResponse } from './response.js'
import { relayUpstream, requestUpstream, withCredentials } from './upstream-call.js'
import type { ClientState, UpstreamCall } from './upstream-call.js'
import type { Relay } from './relay.js'
import type { AuditOutcome, GatewayHooks } from './types.js'
import type { UpstreamCredentials } from './upstream-credentials.js'

/** Options of {@link createEngineProxy}. */
export interface EngineProxyOptions extends BodyLimits {
  readonly endpoint: EngineEndpoint
  /** The upstream mode's credentials and their recovery (see `createUpstreamCredentials`). */
  readonly credentials: UpstreamCredentials
  /** Gives the decision the proxy executes (`createPolicy()` or a policy of your own). */
  readonly policy: Pick<Policy, 'settle'>
  /** Public base URL of the gateway (origin and optional prefix) for `links[].href`. */
  readonly publicUrl?: string | undefined
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
 * Answering before the request body was read: close the connection instead of letting Node drain
 * (possibly many megabytes of) an upload nobody will use.
 */
function closeIfUnread(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent && hasBody(req) && !req.readableEnded) res.setHeader('connection', 'close')
}

function findCause(err: unknown): C7AuthError | undefined {
  let e: unknown = err
  for (let i = 0; i < 5 && e; i++) {
    if (isC7AuthError(e)) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** A refusal of the caller (4xx) is `denied`; anything else an `error`. */
function outcomeOf(err: unknown): AuditOutcome {
  return isC7AuthError(err) && err.status < 500 ? 'denied' : 'error'
}

const statusOf = (r: { status: number }): number => r.status

/** Where a response finds its exchange: the one `close` listener is shared by every request. */
const EXCHANGE = Symbol('c7auth.exchange')
type TrackedResponse = ServerResponse & { [EXCHANGE]?: Exchange }

function onResponseClose(this: ServerResponse): void {
  ;(this as TrackedResponse)[EXCHANGE]?.closed()
}

/**
 * One client request through the proxy: its state in one object whose methods are made once
 * (no closures per request), and the engine as the policy's `settle` sees it for this request
 * (calls as the caller, with the credentials' recovery like every forwarded call). It watches
 * the client with one `close` listener: while the request runs a close means the client left
 * (the upstream call is aborted); once it ran, the close ends the request's report.
 */
class Exchange implements EngineAccess, ClientState {
  readonly checksTenants: boolean
  readonly started = performance.now()
  readonly method: string
  readonly requestId: string
  decision: Decision | undefined = undefined
  outcome: AuditOutcome = 'success'
  code: string | undefined = undefined
  /** The client left while the request ran. */
  gone = false
  relay: Relay | undefined = undefined
  /** The request body, when it streams upstream (its failure is the request's answer). */
  streamed: StreamedBody | undefined = undefined
  /** Only the request path needs an AbortController; a relay aborts through its handler. */
  private abort: AbortController | undefined = undefined
  private ran = false
  private reported = false

  constructor(
    private readonly options: EngineProxyOptions,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly principal: Principal,
    private readonly opts: HandleOptions,
  ) {
    this.checksTenants = options.credentials.engineChecksTenants
    this.method = (req.method ?? 'GET').toUpperCase()
    this.requestId = opts.requestId ?? requestIdOf(req)
  }

  lookup(...[path, init]: Parameters<EngineLookup>): ReturnType<EngineLookup> {
    const { endpoint, credentials, timeoutMs } = this.options
    const send = async () => {
      // A copy: an upstream mode may hand out one shared object (service mode does), and a
      // request id written into it would leak into every later request.
      const auth = await credentials.headersFor(this.principal)
      const headers = { ...auth, 'x-request-id': this.requestId }
      return engineJson(endpoint, init?.method ?? 'GET', path, {
        headers,
        timeoutMs,
        ...(init?.body === undefined ? {} : { body: init.body }),
      })
    }
    return withCredentials(credentials, this.principal, true, send, statusOf)
  }

  /** Settles the decision and executes it; never rejects (every failure is rendered). */
  async run(): Promise<void> {
    const { req, res, options, requestId } = this
    res.setHeader('x-request-id', requestId)
    ;(res as TrackedResponse)[EXCHANGE] = this
    res.once('close', onResponseClose)
    try {
      const raw = this.opts.url ?? stripMount(req.url ?? '/', this.opts.mountPath)
      const q = raw.indexOf('?')
      const path = q < 0 ? raw : raw.slice(0, q)
      const query = q < 0 ? '' : raw.slice(q + 1)
      let decision: Decision
      try {
        const settled = options.policy.settle(
          {
            method: this.method,
            path,
            query: new URLSearchParams(query),
            principal: this.principal,
          },
          this,
        )
        decision = settled instanceof Promise ? await settled : settled
        this.decision = decision
        // fail closed: a policy of one's own must settle its checks, the proxy runs none
        if (decision.action === 'forward' && (decision.ownerCheck || decision.guard)) {
          throw new C7AuthError('C7AUTH_INTERNAL', { detail: 'decision with unsettled checks' })
        }
      } catch (err) {
        this.fail(err, outcomeOf(err))
        return
      }
      if (decision.action === 'respond') {
        this.outcome = decision.status < 400 ? 'success' : 'denied'
        closeIfUnread(req, res)
        sendJson(res, decision.status, decision.json, requestId)
        return
      }
      // every GET: the relay's own promise, no async frame of the forward step's own
      try {
        const sending = this.forward(decision)
        if (sending !== undefined) await sending
      } catch (err) {
        this.sendFailed(err)
      }
    } finally {
      this.ran = true
      if (res.writableFinished || res.destroyed) this.report()
    }
  }

  /**
   * Executes a forward decision: plan the body, send upstream, write the response. Returns the
   * send step's promise (it rejects with a failure for {@link sendFailed}), or nothing when the
   * request was answered already.
   */
  private forward(decision: ForwardDecision): Promise<unknown> | undefined {
    const { req, options, requestId } = this
    const headers = upstreamRequestHeaders(req.headers, options.credentials.identityHeaders)
    headers['x-request-id'] = requestId
    let planned: PlannedBody | Promise<PlannedBody>
    try {
      planned = planBody(req, decision, headers, options)
    } catch (err) {
      this.fail(err, outcomeOf(err))
      return undefined
    }
    return planned instanceof Promise
      ? this.sendWhenPlanned(decision, headers, planned)
      : this.send(decision, headers, planned)
  }

  /** {@link send} once a body that had to be read (and checked) was. */
  private async sendWhenPlanned(
    decision: ForwardDecision,
    headers: Record<string, string>,
    pending: Promise<PlannedBody>,
  ): Promise<unknown> {
    let planned: PlannedBody
    try {
      planned = await pending
    } catch (err) {
      this.fail(err, outcomeOf(err))
      return undefined
    }
    return this.send(decision, headers, planned)
  }

  /** Step 2 and 3: the upstream call, relayed or rewritten, for a planned body. */
  private send(
    decision: ForwardDecision,
    headers: Record<string, string>,
    planned: PlannedBody,
  ): Promise<unknown> | undefined {
    const { res, options, requestId } = this
    if (planned.kind === 'respond') {
      this.outcome = planned.status < 400 ? 'success' : 'denied'
      sendJson(res, planned.status, planned.json, requestId)
      return undefined
    }
    const { endpoint, credentials } = options
    const query = decision.query.toString()
    const call: UpstreamCall = {
      endpoint,
      credentials,
      principal: this.principal,
      requestId,
      method: this.method as Dispatcher.HttpMethod,
      operationId: decision.operationId,
      target: endpoint.basePath + decision.path + (query ? `?${query}` : ''),
      headers,
      headersTimeout: planned.headersTimeout ?? options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      tracer: options.tracer,
      hooks: options.hooks,
    }
    const body = planned.body
    if (body instanceof StreamedBody) this.streamed = body
    // the fast path: a replayable body whose answer passes unchanged (every GET)
    if (this.streamed === undefined && decision.route.links !== true)
      return relayUpstream(call, body as Buffer | null, res, this)
    return this.rewrite(call, body, decision)
  }

  /** A streamed body, or an answer whose links the gateway rewrites. */
  private async rewrite(
    call: UpstreamCall,
    body: Buffer | StreamedBody | null,
    decision: ForwardDecision,
  ): Promise<void> {
    const { req, res, options, streamed } = this
    const controller = (this.abort = new AbortController())
    if (this.gone) controller.abort()
    if (streamed !== undefined) streamed.onFail = (err) => controller.abort(err)
    const upstream = await requestUpstream(call, body, controller.signal)
    const links =
      decision.route.links === true
        ? {
            enginePath: options.endpoint.basePath,
            mountPath: this.opts.mountPath,
            publicUrl: options.publicUrl,
            maxJsonBytes: options.maxJsonBytes,
          }
        : undefined
    await writeResponse(upstream, req, res, this.requestId, links)
  }

  /** The send step failed: the body's own error first, else the engine's; or the client left. */
  private sendFailed(err: unknown): void {
    const own = findCause(this.streamed?.error) ?? findCause(err)
    if (this.gone || this.res.destroyed) this.outcome = 'aborted'
    else if (!this.res.headersSent) this.fail(own ?? upstreamFailure(err), outcomeOf(own))
    else this.res.destroy()
  }

  /** Renders a refusal or failure (the one error renderer) and records it. */
  fail(err: unknown, how: AuditOutcome): void {
    const e = toC7AuthError(err)
    this.outcome = how
    this.code = e.code
    if (e.code === 'C7AUTH_INTERNAL' || e.status >= 500) {
      this.options.logger?.warn(
        {
          requestId: this.requestId,
          code: e.code,
          detail: e.detail,
          err: e.cause instanceof Error ? e.cause.message : undefined,
        },
        'engine proxy error',
      )
    }
    closeIfUnread(this.req, this.res)
    sendError(this.res, e, this.requestId)
  }

  /** The response closed: the client left (while the request runs) or the report is due. */
  closed(): void {
    if (this.ran) {
      this.report()
      return
    }
    if (this.res.writableFinished) return
    this.gone = true
    this.abort?.abort()
    this.relay?.abort(new Error('client closed the connection'))
  }

  /** The request's hook event, span attributes and audit line, once. */
  private report(): void {
    if (this.reported) return
    this.reported = true
    const { options, req, res, method, decision, outcome, code } = this
    const durationMs = Math.round((performance.now() - this.started) * 1000) / 1000
    const status = res.statusCode
    const operationId = decision?.operationId
    const tenantId = decision?.tenant
    options.hooks?.onRequest?.({ operationId, method, status, durationMs, outcome, code, tenantId })
    if (options.tracer !== undefined)
      annotateRequest(req, {
        'c7auth.operation': operationId ?? 'unmatched',
        'c7auth.outcome': code ?? outcome,
        ...(tenantId === undefined ? {} : { 'c7auth.tenant': tenantId }),
      })
    const mutating = decision ? decision.mutating === true : !SAFE.has(method)
    if (options.audit && (mutating || outcome === 'denied')) {
      options.audit.write({
        requestId: this.requestId,
        principal: this.principal,
        tenantId,
        operationId,
        method,
        status,
        outcome: outcome === 'success' && status >= 400 ? 'failure' : outcome,
        durationMs,
        code,
      })
    }
  }
}

/**
 * Creates the engine proxy. Framework-neutral: give it Node's `req`/`res` and a verified principal.
 * A request runs in three steps once the policy settled its decision: {@link planBody} (the
 * request body as the decision plans it), {@link relayUpstream} or {@link requestUpstream} (the
 * call with the mode's credentials and their recovery), {@link writeResponse} (the answer back).
 *
 * @example
 * ```ts
 * const proxy = createEngineProxy({ endpoint, credentials, policy: createPolicy(),
 *   timeoutMs: 30_000, maxLongPollMs: 60_000, maxJsonBytes: 1 << 20, maxStreamBytes: 100 << 20 })
 * await proxy.handle(req, res, principal, { mountPath: '/engine-rest' })
 * ```
 */
export function createEngineProxy(options: EngineProxyOptions): EngineProxy {
  const { tracer } = options
  const handle = (
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    opts: HandleOptions,
  ): Promise<void> => new Exchange(options, req, res, principal, opts).run()

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

/** The engine-relative part of `url` under `mountPath`. */
export function stripMount(url: string, mountPath: string): string {
  const mount = mountPath.replace(/\/+$/, '')
  if (mount && (url === mount || url.startsWith(`${mount}/`) || url.startsWith(`${mount}?`))) {
    const rest = url.slice(mount.length)
    return rest.startsWith('/') ? rest : `/${rest}`
  }
  return url
}

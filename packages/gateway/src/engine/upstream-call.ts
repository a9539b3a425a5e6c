import type { ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { context as otelContext } from '@opentelemetry/api'
import type { Context, Span, Tracer } from '@opentelemetry/api'
import type { Principal } from '@c7auth/core'
import { endUpstreamSpan, startUpstreamSpan } from '../observability/tracing.js'
import type { EngineEndpoint } from './engine-client.js'
import { Relay } from './relay.js'
import type { StreamedBody } from './request-body.js'
import type { GatewayHooks } from './types.js'
import type { UpstreamCredentials } from './upstream-credentials.js'

type SentHeaders = Record<string, string | string[] | undefined>

/** One upstream call of a client request: where, as whom, with which headers and timeouts. */
export interface UpstreamCall {
  readonly endpoint: EngineEndpoint
  readonly credentials: UpstreamCredentials
  readonly principal: Principal
  readonly requestId: string
  readonly method: Dispatcher.HttpMethod
  readonly operationId: string
  /** Request target on the engine: its base path, the decision's path and query. */
  readonly target: string
  /** The upstream request's own header object (client headers filtered, body headers set). */
  readonly headers: Record<string, string | string[] | undefined>
  readonly headersTimeout: number
  readonly bodyTimeout: number
  readonly tracer?: Tracer | undefined
  readonly hooks?: GatewayHooks | undefined
}

/**
 * The start of one observed upstream attempt: its client span (tracing on) and start time, or
 * `undefined` when neither tracing nor an `onUpstream` hook watches (nothing is measured then).
 */
export interface Observation {
  readonly t0: number
  readonly span: Span | undefined
}

/** Starts observing one upstream attempt (one small object; none when nobody watches). */
export function observeStart(call: UpstreamCall, sent: SentHeaders): Observation | undefined {
  const { tracer, hooks } = call
  if (tracer === undefined && hooks?.onUpstream === undefined) return undefined
  const span =
    tracer === undefined
      ? undefined
      : startUpstreamSpan(tracer, call.operationId, call.method, sent)
  return { t0: performance.now(), span }
}

/** Ends an {@link observeStart}: the span, and the `onUpstream` hook with status or error. */
export function observeEnd(
  call: UpstreamCall,
  o: Observation | undefined,
  status: number | undefined,
  error?: unknown,
): void {
  if (o === undefined) return
  if (o.span !== undefined) endUpstreamSpan(o.span, status, error)
  const onUpstream = call.hooks?.onUpstream
  if (onUpstream === undefined) return
  const { operationId, method } = call
  const durationMs = performance.now() - o.t0
  if (error === undefined) onUpstream({ operationId, method, status, durationMs })
  else {
    const name = error instanceof Error ? error.name : 'error'
    onUpstream({ operationId, method, status, durationMs, error: name })
  }
}

/**
 * Sends with the caller's credentials; on an engine 401 the credentials {@link
 * UpstreamCredentials.recover} (the bridge repairs its user once) and the call is sent again, or
 * the refusal is thrown. `discard` drops a 401 answer's body.
 */
export async function withCredentials<T>(
  credentials: UpstreamCredentials,
  principal: Principal,
  replayable: boolean,
  send: () => Promise<T>,
  statusOf: (answer: T) => number,
  discard?: (answer: T) => Promise<void>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send()
    if (statusOf(answer) !== 401) return answer
    if (discard !== undefined) await discard(answer)
    await credentials.recover(principal, attempt, replayable)
  }
}

const answerStatus = (r: Dispatcher.ResponseData): number => r.statusCode
const dumpAnswer = (r: Dispatcher.ResponseData): Promise<void> => r.body.dump()

function withAuth(call: UpstreamCall, copy: boolean, auth: Record<string, string>): SentHeaders {
  const sent = copy ? { ...call.headers, ...auth } : Object.assign(call.headers, auth)
  sent['x-request-id'] = call.requestId
  return sent
}

/**
 * The headers of one attempt: the credentials go in, the request id stays last. Synchronous when
 * the mode's credentials are (service, none, header): no promise on the hot path.
 */
function sentHeaders(call: UpstreamCall, copy: boolean): SentHeaders | Promise<SentHeaders> {
  const auth = call.credentials.headersFor(call.principal)
  return auth instanceof Promise
    ? auth.then((a) => withAuth(call, copy, a))
    : withAuth(call, copy, auth)
}

/** Client-side state the send step watches: the client may leave while a call is out. */
export interface ClientState {
  gone: boolean
  /** The relay in flight (aborted when the client leaves). */
  relay: Relay | undefined
}

/**
 * Step 2 of forwarding, for a replayable body whose answer passes unchanged (every `GET`): the
 * engine's answer is written straight onto `res` by a {@link Relay}; a 401 is never relayed. With
 * synchronous credentials (service, none, header) this is one dispatch and the relay's own
 * promise: no async frame, no closure; a 401 chains the relay's repair and retry into that promise.
 */
export function relayUpstream(
  call: UpstreamCall,
  body: Buffer | null,
  res: ServerResponse,
  client: ClientState,
): Promise<number> {
  const pending = sentHeaders(call, false)
  return pending instanceof Promise
    ? pending.then((sent) => dispatchRelay(call, body, res, client, sent, 1))
    : dispatchRelay(call, body, res, client, pending, 1)
}

/** One upstream attempt of {@link relayUpstream}; its promise settles when the relay did. */
function dispatchRelay(
  call: UpstreamCall,
  body: Buffer | null,
  res: ServerResponse,
  client: ClientState,
  sent: SentHeaders,
  attempt: number,
): Promise<number> {
  const relay = new UpstreamRelay(res, call, body, client, attempt, observeStart(call, sent))
  client.relay = relay
  if (client.gone) relay.abort(new Error('client closed the connection'))
  call.endpoint.dispatcher.dispatch(
    {
      path: call.target,
      method: call.method,
      headers: sent,
      body,
      headersTimeout: call.headersTimeout,
      bodyTimeout: call.bodyTimeout,
    },
    relay,
  )
  return relay.done
}

/** A relay of one upstream attempt: observed like every call; a 401 recovers and relays again. */
class UpstreamRelay extends Relay {
  constructor(
    res: ServerResponse,
    private readonly call: UpstreamCall,
    private readonly body: Buffer | null,
    private readonly client: ClientState,
    private readonly attempt: number,
    private readonly observation: Observation | undefined,
  ) {
    super(res, call.requestId)
    // undici calls a dispatch handler in its socket's async context, not the request's: the
    // retry after a 401 must run in this request's trace (read only when tracing is on)
    this.context = call.tracer === undefined ? undefined : otelContext.active()
  }

  private readonly context: Context | undefined

  protected observed(status: number | undefined, error?: unknown): void {
    observeEnd(this.call, this.observation, status, error)
  }

  /**
   * The engine refused the attempt's credentials: they {@link UpstreamCredentials.recover} (the
   * bridge repairs its user once, the others throw) and the request is relayed again with the
   * headers the credentials give now.
   */
  protected unauthorized(): Promise<number> {
    return this.context === undefined
      ? this.retry()
      : otelContext.with(this.context, this.retry, this)
  }

  private async retry(): Promise<number> {
    const { call, body, client, attempt } = this
    if (client.gone) throw new Error('client closed the connection')
    await call.credentials.recover(call.principal, attempt, true)
    const pending = sentHeaders(call, false)
    const sent = pending instanceof Promise ? await pending : pending
    // the client may have left while the credentials recovered: nobody waits for a second attempt
    if (client.gone) throw new Error('client closed the connection')
    return dispatchRelay(call, body, this.res, client, sent, attempt + 1)
  }
}

/**
 * Step 2 of forwarding, for a streamed body or an answer the gateway rewrites: resolves with the
 * engine's (non-401) answer for {@link writeResponse}. A streamed body's failure answers at once,
 * even while the request still waits for a free connection.
 */
export function requestUpstream(
  call: UpstreamCall,
  body: Buffer | StreamedBody | null,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  const streamed = body !== null && !Buffer.isBuffer(body) ? body : undefined
  const once = async (): Promise<Dispatcher.ResponseData> => {
    const planned = sentHeaders(call, true)
    const sent = planned instanceof Promise ? await planned : planned
    if (streamed?.error) throw streamed.error
    const o = observeStart(call, sent)
    try {
      const pending = call.endpoint.dispatcher.request({
        path: call.target,
        method: call.method,
        headers: sent,
        body: streamed === undefined ? (body as Buffer | null) : streamed.stream,
        signal,
        headersTimeout: call.headersTimeout,
        bodyTimeout: call.bodyTimeout,
      })
      if (streamed !== undefined) {
        // A queued request learns of its body's failure only once a connection is free: answer now.
        pending.then(
          (late) => {
            if (streamed.error) late.body.destroy()
          },
          () => undefined,
        )
      }
      const r = await (streamed === undefined ? pending : Promise.race([pending, streamed.failed]))
      observeEnd(call, o, r.statusCode)
      return r
    } catch (err) {
      observeEnd(call, o, undefined, err)
      throw err
    }
  }
  return withCredentials(
    call.credentials,
    call.principal,
    streamed === undefined,
    once,
    answerStatus,
    dumpAnswer,
  )
}

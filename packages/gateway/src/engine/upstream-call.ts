import type { ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Tracer } from '@opentelemetry/api'
import type { Principal } from '@c7auth/core'
import { endUpstreamSpan, startUpstreamSpan } from '../observability/tracing.js'
import type { EngineEndpoint } from './engine-client.js'
import { Relay } from './relay.js'
import type { StreamedBody } from './request-body.js'
import type { GatewayHooks } from './types.js'
import type { UpstreamCredentials } from './upstream-credentials.js'

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

/** Ends the observation of one upstream attempt: its status, or the error it failed with. */
type EndObservation = (status: number | undefined, error?: unknown) => void
const UNOBSERVED: EndObservation = () => undefined

/** The client span and the `onUpstream` hook of one upstream attempt (nothing when both are off). */
function observe(call: UpstreamCall, sent: Record<string, string | string[] | undefined>) {
  const { tracer, hooks, operationId, method } = call
  if (tracer === undefined && hooks?.onUpstream === undefined) return UNOBSERVED
  const t0 = performance.now()
  const span =
    tracer === undefined ? undefined : startUpstreamSpan(tracer, operationId, method, sent)
  const end: EndObservation = (status, error) => {
    if (span !== undefined) endUpstreamSpan(span, status, error)
    const durationMs = performance.now() - t0
    if (error === undefined) hooks?.onUpstream?.({ operationId, method, status, durationMs })
    else {
      const name = error instanceof Error ? error.name : 'error'
      hooks?.onUpstream?.({ operationId, method, status, durationMs, error: name })
    }
  }
  return end
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

const relayedStatus = (status: number): number => status
const answerStatus = (r: Dispatcher.ResponseData): number => r.statusCode
const dumpAnswer = (r: Dispatcher.ResponseData): Promise<void> => r.body.dump()

type SentHeaders = Record<string, string | string[] | undefined>

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
 * engine's answer is written straight onto `res` by a {@link Relay}; a 401 is never relayed.
 */
export function relayUpstream(
  call: UpstreamCall,
  body: Buffer | null,
  res: ServerResponse,
  client: ClientState,
): Promise<number> {
  const once = async (): Promise<number> => {
    // `headers` is this request's own object: the credentials are written into it
    const pending = sentHeaders(call, false)
    const sent = pending instanceof Promise ? await pending : pending
    const end = observe(call, sent)
    const relay = new Relay(res, call.requestId, end)
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
    try {
      return await relay.done
    } catch (err) {
      if (relay.status === 0) end(undefined, err)
      throw err
    }
  }
  return withCredentials(call.credentials, call.principal, true, once, relayedStatus)
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
    const end = observe(call, sent)
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
      end(r.statusCode)
      return r
    } catch (err) {
      end(undefined, err)
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

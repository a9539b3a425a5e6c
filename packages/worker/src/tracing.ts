import {
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  propagation,
  trace,
} from '@opentelemetry/api'
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api'
import type {
  AfterResponseHook,
  BeforeRequestHook,
  EngineRequestHookOptions,
  EngineResponse,
  Interceptor,
} from 'camunda-external-task-client-js'
import { runInSpan } from '@c7auth/core'
import type { TokenEvent } from '@c7auth/core'

/** Key of the engine call's span in got's per-request `context`. */
const SPAN_KEY = 'c7authSpan'

/** A got `beforeError` hook (not in the client's own types). */
type BeforeErrorHook = (error: Error & { options?: { context?: Record<string, unknown> } }) => Error

/** Ends a span once, recording an error status when there is one. */
function finish(span: Span, status: number | undefined, error?: unknown): void {
  if (!span.isRecording()) return
  if (status !== undefined) span.setAttribute('http.response.status_code', status)
  if (error !== undefined || (status !== undefined && status >= 400)) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      // A class name or a status, never the message: engine messages may quote request data.
      message: error instanceof Error ? error.name : `HTTP ${String(status)}`,
    })
  }
  span.end()
}

/**
 * A `camunda-external-task-client-js` interceptor that gives every engine call (fetchAndLock,
 * complete, handleFailure, extendLock, …) a client span and sends its W3C `traceparent`, so the
 * gateway and the engine continue the trace. Calls made inside a task's span become its children.
 * The span carries the method and the path (task ids, no query string, no headers).
 */
export function tracingInterceptor(tracer: Tracer): Interceptor {
  const beforeRequest: BeforeRequestHook = (request: EngineRequestHookOptions) => {
    // got runs this hook again when another hook retries (a 401 refresh): end the first attempt.
    const previous = request.context[SPAN_KEY] as Span | undefined
    if (previous !== undefined) finish(previous, 401)
    const url = request.url === undefined ? undefined : new URL(String(request.url))
    const name = `${request.method} ${url?.pathname.replace(/^.*\/engine-rest/, '') ?? 'engine'}`
    const span = tracer.startSpan(name, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': request.method,
        ...(url === undefined ? {} : { 'server.address': url.hostname, 'url.path': url.pathname }),
      },
    })
    request.context[SPAN_KEY] = span
    propagation.inject(trace.setSpan(otelContext.active(), span), request.headers)
  }
  const afterResponse: AfterResponseHook = (response: EngineResponse) => {
    const span = response.request.options.context[SPAN_KEY] as Span | undefined
    if (span !== undefined) finish(span, response.statusCode)
    return response
  }
  const beforeError: BeforeErrorHook = (error) => {
    const span = error.options?.context?.[SPAN_KEY] as Span | undefined
    if (span !== undefined) finish(span, undefined, error)
    return error
  }
  return (config) => {
    const hooks = config.hooks ?? {}
    return {
      ...config,
      hooks: {
        ...hooks,
        beforeRequest: [...(hooks.beforeRequest ?? []), beforeRequest],
        afterResponse: [...(hooks.afterResponse ?? []), afterResponse],
        beforeError: [
          ...((hooks['beforeError'] as BeforeErrorHook[] | undefined) ?? []),
          beforeError,
        ],
      },
    }
  }
}

/**
 * Runs a task handler inside a consumer span. Its parent is the trace the gateway left in the
 * process (`parent`), so the app's call, the engine and this task form one trace.
 */
export function inTaskSpan<T>(
  tracer: Tracer,
  parent: Context | undefined,
  attributes: Attributes,
  run: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    'c7auth.task',
    { kind: SpanKind.CONSUMER, attributes },
    parent ?? otelContext.active(),
    (span) => runInSpan(span, run),
  )
}

/**
 * A span for a token endpoint round trip, drawn from the token client's event after the fact (the
 * event carries its duration), under whatever span was active when the token was asked for.
 */
export function tokenEventSpan(tracer: Tracer, tenant: string, event: TokenEvent): void {
  if (event.type !== 'fetched' && event.type !== 'refreshed' && event.type !== 'failed') return
  const end = Date.now()
  const span = tracer.startSpan('c7auth.token', {
    kind: SpanKind.CLIENT,
    startTime: end - (event.durationMs ?? 0),
    attributes: {
      'c7auth.tenant': tenant,
      'c7auth.token.grant': event.grant,
      'c7auth.token.outcome': event.type,
      'c7auth.token.background': event.background === true,
      ...(event.type === 'failed' && event.error !== undefined
        ? { 'c7auth.error.code': event.error.code }
        : {}),
    },
  })
  if (event.type === 'failed')
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'token request failed' })
  span.end(end)
}

/** A client span around one downstream call of `ctx.fetch`; its `traceparent` goes on `headers`. */
export async function inDownstreamSpan(
  tracer: Tracer,
  target: URL,
  method: string,
  tenant: string,
  headers: Headers,
  send: () => Promise<Response>,
): Promise<Response> {
  const span = tracer.startSpan(`${method} downstream`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'http.request.method': method,
      'server.address': target.hostname,
      'c7auth.tenant': tenant,
    },
  })
  const carrier: Record<string, string> = {}
  propagation.inject(trace.setSpan(otelContext.active(), span), carrier)
  for (const [name, value] of Object.entries(carrier)) headers.set(name, value)
  try {
    const response = await send()
    finish(span, response.status)
    return response
  } catch (error) {
    finish(span, undefined, error)
    throw error
  }
}

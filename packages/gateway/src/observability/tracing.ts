import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  propagation,
  trace,
} from '@opentelemetry/api'
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api'
import { runInSpan } from '@c7auth/core'

/**
 * OpenTelemetry for the gateway, through `@opentelemetry/api` only (the application owns the SDK;
 * the standalone bin sets one up from the `OTEL_*` variables). Every function here is called only
 * when a tracer was configured, so with tracing off the request path runs no span code at all.
 *
 * Attributes are chosen one by one: method, operation id, tenant, outcome code, status. Never a
 * header, a token, a query string or a claim.
 */

/** The server span of each request being traced, so later stages can annotate it. */
const requestSpans = new WeakMap<IncomingMessage, Span>()

/**
 * Starts the server span of a request (continuing the caller's W3C `traceparent`) and ends it
 * when the response closes. Returns the context the rest of the request should run in.
 * Idempotent: a request that already has a span (an adapter started it before authentication)
 * gets that span's context back.
 */
export function startRequestSpan(
  tracer: Tracer,
  req: IncomingMessage,
  res: ServerResponse,
): Context {
  const existing = requestSpans.get(req)
  if (existing !== undefined) return trace.setSpan(otelContext.active(), existing)
  const parent = propagation.extract(ROOT_CONTEXT, req.headers)
  const method = (req.method ?? 'GET').toUpperCase()
  const span = tracer.startSpan(
    `c7auth ${method}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
    parent,
  )
  requestSpans.set(req, span)
  // Ended a turn after 'close' (setImmediate runs after promise jobs), so the proxy has annotated
  // the span with operation, tenant and outcome first, whether it learns of the end by its own
  // close listener or by the promise of the response it streamed.
  res.once('close', () => setImmediate(endRequestSpan, span, res))

  return trace.setSpan(parent, span)
}

function endRequestSpan(span: Span, res: ServerResponse): void {
  span.setAttribute('http.response.status_code', res.statusCode)
  if (res.statusCode >= 500 || !res.writableFinished)
    span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` })
  span.end()
}

/** Adds attributes to the request's server span, if it is traced. */
export function annotateRequest(req: IncomingMessage, attributes: Attributes): void {
  requestSpans.get(req)?.setAttributes(attributes)
}

/**
 * A client span for one upstream call, child of the active context; its `traceparent` is written
 * into `headers` so the engine (or anything between) continues the trace.
 */
export function startUpstreamSpan(
  tracer: Tracer,
  operationId: string,
  method: string,
  headers: Record<string, string | string[] | undefined>,
): Span {
  const span = tracer.startSpan(`engine-rest ${operationId}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': method, 'c7auth.operation': operationId },
  })
  propagation.inject(trace.setSpan(otelContext.active(), span), headers)
  return span
}

/** Ends an upstream span with the engine's status, or the error's class name. */
export function endUpstreamSpan(span: Span, status: number | undefined, error?: unknown): void {
  if (status !== undefined) span.setAttribute('http.response.status_code', status)
  if (error !== undefined || status === undefined || status >= 500)
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.name : `HTTP ${String(status)}`,
    })
  span.end()
}

/** Runs `work` in an internal child span of the active context (JWKS fetches, provisioning). */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, (span) => runInSpan(span, () => work(span)))
}

import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context as otelContext,
  propagation,
} from '@opentelemetry/api'
import type { Context, Span } from '@opentelemetry/api'

/**
 * Process variable in which the gateway leaves the W3C `traceparent` of the call that started a
 * process or completed a user task (only while tracing is on), so the workers of later service
 * tasks continue the same trace. It names a span, never a token or a user.
 */
export const DEFAULT_TRACE_VARIABLE = 'c7authTraceParent'

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/**
 * The `traceparent` of `ctx` (default: the active context) as the configured propagator writes it;
 * `undefined` without a span or a registered W3C propagator.
 */
export function traceParentOf(ctx: Context = otelContext.active()): string | undefined {
  const carrier: Record<string, string> = {}
  propagation.inject(ctx, carrier)
  const value = carrier['traceparent']
  return value !== undefined && TRACEPARENT.test(value) ? value : undefined
}

/**
 * The remote parent context named by a stored `traceparent` (e.g. {@link DEFAULT_TRACE_VARIABLE});
 * `undefined` for anything that is not a well-formed W3C value, so a tenant cannot inject state.
 */
export function contextFromTraceParent(value: unknown): Context | undefined {
  if (typeof value !== 'string' || !TRACEPARENT.test(value)) return undefined
  return propagation.extract(ROOT_CONTEXT, { traceparent: value })
}

/**
 * Runs `work` inside `span` and ends the span: a thrown error marks it failed with the error's name
 * only (a message may carry a token, an id or a claim) and is rethrown.
 */
export async function runInSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.name : 'error',
    })
    throw error
  } finally {
    span.end()
  }
}

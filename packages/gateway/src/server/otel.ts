import type { Tracer } from '@opentelemetry/api'

/** What {@link tracingFromEnv} set up: the tracer to hand to the gateway, and its shutdown. */
export interface EnvTracing {
  readonly tracer: Tracer
  /** Flushes pending spans and stops the exporter. */
  shutdown(): Promise<void>
}

/** The packages the bin needs to export traces; optional peers of `@c7auth/gateway`. */
const SDK_PACKAGES =
  '@opentelemetry/sdk-trace-node @opentelemetry/exporter-trace-otlp-http @opentelemetry/resources'

/**
 * The standalone bin's tracing, from the standard `OTEL_*` variables: on when an OTLP endpoint
 * is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`. The SDK reads the rest itself
 * (`OTEL_SERVICE_NAME`, headers, sampler). Registers the provider globally (W3C propagation).
 */
export async function tracingFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Promise<EnvTracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint === undefined || endpoint === '') return undefined
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined
  let sdk
  try {
    sdk = await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ])
  } catch {
    throw new Error(
      `OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: npm i ${SDK_PACKAGES}`,
    )
  }
  const [{ BatchSpanProcessor, NodeTracerProvider }, { OTLPTraceExporter }, resources] = sdk
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'c7auth-gateway' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  })
  provider.register()
  return {
    tracer: provider.getTracer('@c7auth/gateway'),
    shutdown: () => provider.shutdown(),
  }
}

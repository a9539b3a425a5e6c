/**
 * `@c7auth/gateway`: OAuth2/OIDC bearer authentication and per-tenant route policy in front of a
 * shared Camunda 7 (or Operaton) engine-rest. What an application needs; framework adapters live
 * in `@c7auth/gateway/express` and `@c7auth/gateway/koa`, the standalone server in the
 * `c7auth-gateway` bin.
 */

// The gateway: authentication, route policy, identity bridge and the engine proxy in one.
export { createGateway } from './engine/gateway.js'
export type {
  BootstrapReport,
  CreateGatewayOptions,
  Gateway,
  ReadyReport,
} from './engine/gateway.js'
export type { GatewayHooks } from './engine/types.js'
// What GatewayHooks.onDelegation receives (docs/on-behalf-of.md).
export type { DelegationEvent } from './engine/delegation-capture.js'

// The standalone HTTP server the bin runs, embeddable.
export { createGatewayServer } from './server/create-server.js'
export type { GatewayServer, GatewayServerOptions } from './server/create-server.js'
// Waits out an engine that is not up yet (what the bin does at startup).
export { startWithRetry } from './server/startup-retry.js'
export type { StartupRetryOptions } from './server/startup-retry.js'
export { createGatewayMetrics } from './server/metrics.js'
export type { GatewayMetrics } from './server/metrics.js'
// The types of GatewayMetrics.verifySeconds / upstreamSeconds (not prom-client Histograms).
export type {
  HistogramSeries,
  HistogramSnapshot,
  HistogramValue,
  LatencyHistogram,
  LatencyHistogramOptions,
} from './server/latency-histogram.js'

// Token verification alone (no engine): multi-issuer JWT checks with claim presets.
export { createAuthenticator } from './auth/authenticator.js'
export type { Authenticator } from './auth/authenticator.js'
export { authenticatorOptionsFromConfig } from './auth/from-config.js'
export { extractBearerToken } from './auth/bearer.js'
export { DEFAULT_ALGORITHMS } from './auth/jws.js'
export type { JwsAlgorithm } from './auth/jws.js'
export type {
  AuthenticatorOptions,
  Claims,
  IssuerOptions,
  LoggerLike,
  TenantOptions,
} from './auth/options.js'
export { PRESETS } from './auth/presets.js'
export type { ClaimMapping } from './auth/presets.js'
// How a token's user appears in the engine (docs/identity-namespaces.md).
export { userEngineId } from './auth/engine-id.js'

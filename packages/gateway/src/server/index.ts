export { createGatewayServer } from './create-server.js'
export type { GatewayServer, GatewayServerOptions } from './create-server.js'
export { createGatewayMetrics } from './metrics.js'
export type { GatewayMetrics } from './metrics.js'

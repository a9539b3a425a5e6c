export * from './auth.js'
export * from './proxy.js'
export * from './jwks.js'

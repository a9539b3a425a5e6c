export * from './auth.js'
export * from './passport.js'
export * from './proxy.js'
export * from './jwks.js'

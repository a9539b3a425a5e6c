export * from './auth.js'
export * from './proxy.js'

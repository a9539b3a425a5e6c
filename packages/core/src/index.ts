export * from './errors.js'
export * from './identity.js'
export type * from './config/types.js'
export type * from './token/types.js'

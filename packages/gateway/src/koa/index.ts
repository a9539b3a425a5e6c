export * from './auth.js'
export * from './proxy.js'
export * from './jwks.js'
export type { AuthSource, JwtCheckOptions, RequestAuth } from '../auth/auth-source.js'

/**
 * Everything the gateway's folders export, for the workspace's own tests and benchmarks.
 * Not a package export (`@c7auth/gateway` exposes only `index.ts`): no compatibility promise.
 *
 * @internal
 */
export * from './auth/index.js'
export * from './policy/index.js'
export * from './engine/index.js'
export * from './deploy/index.js'
export * from './server/index.js'

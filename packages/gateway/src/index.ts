export * from './auth/index.js'
export * from './policy/index.js'
export * from './engine/index.js'
export * from './server/index.js'

export * from './idp/index.js'
export * from './engine/index.js'
export * from './openapi/index.js'
export * from './real-engine/index.js'

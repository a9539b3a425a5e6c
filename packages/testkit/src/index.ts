export * from './idp/index.js'
export * from './engine/index.js'
export * from './openapi/index.js'

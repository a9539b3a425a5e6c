export { createOpenApiValidator, sharedOpenApiValidator } from './openapi-validator.js'
export type {
  OpenApiRequest,
  OpenApiValidationError,
  OpenApiValidationResult,
  OpenApiValidator,
} from './openapi-validator.js'
export { defaultOpenApiDocumentPath, findRepoRoot } from './repo-root.js'

/**
 * Engine-shaped failures. The simulator throws these from handlers; the server renders them as
 * the engine's `ExceptionDto` (`{ type, message, code }`).
 */
export class EngineError extends Error {
  readonly status: number
  readonly type: string
  /** `undefined` renders no `code` member (the engine's plain `InvalidRequestException` 404s). */
  readonly code: number | undefined

  constructor(status: number, type: string, message: string, code?: number) {
    super(message)
    this.status = status
    this.type = type
    this.code = code
  }

  toJSON(): Record<string, unknown> {
    return this.code === undefined
      ? { type: this.type, message: this.message }
      : { type: this.type, message: this.message, code: this.code }
  }
}

/** 404 `InvalidRequestException`, the body the engine gives for a missing or foreign by-id read. */
export const notFound = (message: string): EngineError =>
  new EngineError(404, 'InvalidRequestException', message)

/** 400 `InvalidRequestException` for malformed REST input. */
export const invalidRequest = (message: string, status = 400): EngineError =>
  new EngineError(status, 'InvalidRequestException', message)

/** A `ProcessEngineException` (or subclass) mapped by the generic handler: 500, code 0. */
export const engineException = (message: string, type = 'ProcessEngineException'): EngineError =>
  new EngineError(500, type, message, 0)

/** `BadUserRequestException` → 400. */
export const badUserRequest = (message: string): EngineError =>
  new EngineError(400, 'BadUserRequestException', message, 0)

/** `RestException` wrapping an engine failure (resources that catch and re-wrap). */
export const restException = (status: number, message: string): EngineError =>
  new EngineError(status, 'RestException', message, 0)

/** `AuthorizationException` → 403. */
export const authorizationException = (message: string): EngineError =>
  new EngineError(403, 'AuthorizationException', message, 0)

/** `ENGINE-13034 Cannot <op> because it belongs to no authenticated tenant.` */
export const tenantViolationMessage = (operation: string): string =>
  `ENGINE-13034 Cannot ${operation} because it belongs to no authenticated tenant.`

/** The engine's `ensureNotNull` message shape: `<message>: <variable> is null`. */
export const nullValue = (message: string, variable: string): EngineError =>
  engineException(`${message}: ${variable} is null`, 'NullValueException')

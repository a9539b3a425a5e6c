/**
 * Engine-shaped failures. The simulator throws these from handlers; the server renders them as
 * the engine's `ExceptionDto` (`{ type, message, code }`).
 */
export class EngineError extends Error {
  readonly status: number
  readonly type: string
  /**
   * Engine exception code; `null` when no `ProcessEngineException` is involved (engine-rest 7.23's
   * `ExceptionHandlerHelper` then serialises `"code": null`).
   */
  readonly code: number | null

  constructor(status: number, type: string, message: string, code: number | null = null) {
    super(message)
    this.status = status
    this.type = type
    this.code = code
  }

  toJSON(): { type: string; message: string; code: number | null } {
    return { type: this.type, message: this.message, code: this.code }
  }
}

/**
 * 404 `InvalidRequestException`, the body the engine gives for a missing or foreign by-id read.
 * `engineCause`: the resource wrapped an engine exception, so the body carries its code (0).
 */
export const notFound = (message: string, engineCause = false): EngineError =>
  new EngineError(404, 'InvalidRequestException', message, engineCause ? 0 : null)

/** `InvalidRequestException` for malformed REST input (400 unless told otherwise). */
export const invalidRequest = (message: string, status = 400, engineCause = false): EngineError =>
  new EngineError(status, 'InvalidRequestException', message, engineCause ? 0 : null)

/** A `ProcessEngineException` (or subclass) mapped by the generic handler: 500, code 0. */
export const engineException = (message: string, type = 'ProcessEngineException'): EngineError =>
  new EngineError(500, type, message, 0)

/** `BadUserRequestException` → 400. */
export const badUserRequest = (message: string): EngineError =>
  new EngineError(400, 'BadUserRequestException', message, 0)

/** `RestException`; `engineCause` when it wraps an engine failure (code 0), else code `null`. */
export const restException = (status: number, message: string, engineCause = true): EngineError =>
  new EngineError(status, 'RestException', message, engineCause ? 0 : null)

/** One row of an `AuthorizationException`'s `missingAuthorizations`. */
export interface MissingAuthorization {
  readonly permissionName: string
  readonly resourceName: string
  readonly resourceId: string | null
}

/**
 * `AuthorizationException` → 403. engine-rest serialises it with the user and the missing
 * authorizations besides `type`/`message`/`code`; the first missing one is repeated at the top
 * level (`resourceName`, `resourceId`, `permissionName`, all `null` when none is named).
 */
export class AuthorizationError extends EngineError {
  readonly userId: string | null
  readonly missing: readonly MissingAuthorization[]

  constructor(message: string, userId: string | null, missing: readonly MissingAuthorization[]) {
    super(403, 'AuthorizationException', message, 0)
    this.userId = userId
    this.missing = missing
  }

  override toJSON(): { type: string; message: string; code: number | null } {
    const first = this.missing[0]
    return {
      ...super.toJSON(),
      userId: this.userId,
      resourceName: first?.resourceName ?? null,
      resourceId: first?.resourceId ?? null,
      permissionName: first?.permissionName ?? null,
      missingAuthorizations: this.missing.map((m) => ({ ...m })),
    } as { type: string; message: string; code: number | null }
  }
}

/**
 * The 403 for one missing permission, worded like the engine: `… on resource '<id>' of type
 * '<name>'.` with a resource id, `… on resource '<name>'.` without.
 */
export const missingAuthorization = (
  userId: string | null,
  permissionName: string,
  resourceName: string,
  resourceId: string | null = null,
): AuthorizationError =>
  new AuthorizationError(
    `The user with id '${userId}' does not have '${permissionName}' permission on resource ` +
      (resourceId === null ? `'${resourceName}'.` : `'${resourceId}' of type '${resourceName}'.`),
    userId,
    [{ permissionName, resourceName, resourceId }],
  )

/** `ENGINE-03029`: the operation needs the admin group or an admin user; names no permission. */
export const adminRequired = (): AuthorizationError =>
  new AuthorizationError('ENGINE-03029 Required admin authenticated group or user.', null, [])

/** `ENGINE-13034 Cannot <op> because it belongs to no authenticated tenant.` */
export const tenantViolationMessage = (operation: string): string =>
  `ENGINE-13034 Cannot ${operation} because it belongs to no authenticated tenant.`

/** The engine's `ensureNotNull` message shape: `<message>: <variable> is null`. */
export const nullValue = (message: string, variable: string): EngineError =>
  engineException(`${message}: ${variable} is null`, 'NullValueException')

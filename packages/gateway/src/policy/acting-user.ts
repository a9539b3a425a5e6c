import { C7AuthError } from '@c7auth/core'
import type { ActingUser, Principal } from '@c7auth/core'

/** Body fields that map variable names to values. */
const VARIABLE_MAPS = [
  'variables',
  'localVariables',
  'modifications',
  'processVariables',
  'processVariablesLocal',
  'processVariablesToTriggeredScope',
] as const

/**
 * The acting user of a principal, as stored in the variable.
 *
 * @example
 * ```ts
 * actingUserOf(principal) // { userId: 'alice', kind: 'user', clientId: 'web' }
 * ```
 */
export function actingUserOf(principal: Principal): ActingUser {
  return { userId: principal.userId, kind: principal.kind, clientId: principal.clientId }
}

/**
 * The variable value the gateway writes: a `String` holding the JSON of {@link ActingUser}
 * (`Json`-typed variables need Spin in the engine; a string works everywhere and
 * `parseActingUser` reads both).
 *
 * @example
 * ```ts
 * actingUserValue(principal) // { value: '{"userId":"alice","kind":"user"}', type: 'String' }
 * ```
 */
export function actingUserValue(principal: Principal): { value: string; type: 'String' } {
  const a = actingUserOf(principal)
  const json: Record<string, string> = { userId: a.userId, kind: a.kind }
  if (a.clientId !== undefined) json.clientId = a.clientId
  return { value: JSON.stringify(json), type: 'String' }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function stripMap(map: unknown, variableName: string): unknown {
  if (!isObject(map) || !Object.prototype.hasOwnProperty.call(map, variableName)) return map
  return Object.fromEntries(Object.entries(map).filter(([k]) => k !== variableName))
}

/**
 * Drops every client-supplied value of `variableName` from a JSON body (the variable maps,
 * `deletions`, `startInstructions[].variables`, `instructions[].variables`). Pure: returns a new
 * object. A non-object body is refused with `C7AUTH_BODY_INVALID`; `undefined` counts as `{}`.
 */
export function stripVariable(body: unknown, variableName: string): Record<string, unknown> {
  const input = body === undefined ? {} : body
  if (!isObject(input)) {
    throw new C7AuthError('C7AUTH_BODY_INVALID', { detail: 'JSON object body expected' })
  }
  const out: Record<string, unknown> = { ...input }
  for (const key of VARIABLE_MAPS) {
    if (key in out) out[key] = stripMap(out[key], variableName)
  }
  if (Array.isArray(out.deletions)) {
    out.deletions = out.deletions.filter((d) => d !== variableName)
  }
  for (const list of ['startInstructions', 'instructions'] as const) {
    const items = out[list]
    if (Array.isArray(items)) {
      out[list] = items.map((i: unknown) =>
        isObject(i) && 'variables' in i
          ? { ...i, variables: stripMap(i.variables, variableName) }
          : i,
      )
    }
  }
  return out
}

/** Writes one `String` variable into the body's `variables` (a new object). */
export function injectVariable(
  body: Record<string, unknown>,
  variableName: string,
  value: string,
): Record<string, unknown> {
  const vars = body.variables
  if (vars !== undefined && vars !== null && !isObject(vars)) {
    throw new C7AuthError('C7AUTH_BODY_INVALID', { detail: 'variables must be an object' })
  }
  return { ...body, variables: { ...(vars ?? {}), [variableName]: { value, type: 'String' } } }
}

/**
 * Drops every client-supplied value of the acting-user variable from a JSON body (in `variables`,
 * `localVariables`, `modifications`, `deletions`, `processVariables*`,
 * `startInstructions[].variables` and `instructions[].variables`) and, with `inject`, writes the
 * caller into `variables`. Pure: returns a new body. A non-object body is refused with `C7AUTH_BODY_INVALID`; `undefined` (no
 * body) counts as `{}`.
 *
 * @example
 * ```ts
 * actingUserPatch({ variables: { c7authActingUser: { value: 'forged' } } }, principal, 'c7authActingUser', 'inject')
 * // { variables: { c7authActingUser: { value: '{"userId":"u1","kind":"user"}', type: 'String' } } }
 * ```
 */
export function actingUserPatch(
  body: unknown,
  principal: Principal,
  variableName: string,
  mode: 'inject' | 'strip',
): Record<string, unknown> {
  const out = stripVariable(body, variableName)
  return mode === 'inject'
    ? injectVariable(out, variableName, actingUserValue(principal).value)
    : out
}

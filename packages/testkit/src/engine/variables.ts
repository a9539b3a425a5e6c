/** Typed variable values as engine-rest reads and writes them (`{ value, type, valueInfo }`). */
import { invalidRequest } from './engine-errors.js'

export interface TypedValue {
  readonly type: string
  readonly value: unknown
  readonly valueInfo: Record<string, unknown>
}

const KNOWN_TYPES = new Set([
  'String',
  'Boolean',
  'Integer',
  'Short',
  'Long',
  'Double',
  'Date',
  'Null',
  'Json',
  'Xml',
  'Object',
  'Bytes',
  'File',
])

/** `fromRestApiTypeName`/`toRestApiTypeName`: the engine is lenient on the first letter only. */
const restTypeName = (type: string): string => type.charAt(0).toUpperCase() + type.slice(1)

function inferType(value: unknown): string {
  if (value === null || value === undefined) return 'Null'
  if (typeof value === 'string') return 'String'
  if (typeof value === 'boolean') return 'Boolean'
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'Double'
    return Math.abs(value) <= 2147483647 ? 'Integer' : 'Long'
  }
  return 'Object'
}

/**
 * Converts one REST variable DTO into a typed value, failing like the engine
 * (`Cannot put <scope> variable <name>: …`) on unknown types or mismatching values.
 */
export function toTypedValue(dto: unknown, describe: string): TypedValue {
  if (dto === null || typeof dto !== 'object' || Array.isArray(dto)) {
    throw invalidRequest(`${describe}: variable value must be a JSON object`)
  }
  const { value, type, valueInfo } = dto as { value?: unknown; type?: unknown; valueInfo?: unknown }
  const info =
    valueInfo !== null && typeof valueInfo === 'object' && !Array.isArray(valueInfo)
      ? (valueInfo as Record<string, unknown>)
      : {}
  const resolved = typeof type === 'string' && type !== '' ? restTypeName(type) : inferType(value)
  if (!KNOWN_TYPES.has(resolved)) {
    throw invalidRequest(`${describe}: Unsupported value type '${String(type)}'`)
  }
  const v = value === undefined ? null : value
  const mismatch = (): never => {
    throw invalidRequest(
      `${describe}: Cannot convert value '${JSON.stringify(v)}' of type '${resolved}'`,
    )
  }
  if (v !== null) {
    switch (resolved) {
      case 'Boolean':
        if (typeof v !== 'boolean') mismatch()
        break
      case 'Integer':
      case 'Short':
      case 'Long':
        if (typeof v !== 'number' || !Number.isInteger(v)) mismatch()
        break
      case 'Double':
        if (typeof v !== 'number') mismatch()
        break
      case 'String':
      case 'Json':
      case 'Xml':
      case 'Date':
        if (typeof v !== 'string') mismatch()
        break
      default:
        break
    }
  }
  return { type: resolved === 'Null' ? 'Null' : resolved, value: v, valueInfo: info }
}

/** Converts a `{ name: dto }` map; `null`/`undefined` is an empty map. */
export function toTypedMap(
  dtos: unknown,
  describe: (name: string) => string,
): Map<string, TypedValue> {
  const out = new Map<string, TypedValue>()
  if (dtos === null || dtos === undefined) return out
  if (typeof dtos !== 'object' || Array.isArray(dtos)) {
    throw invalidRequest('variables must be a JSON object')
  }
  for (const [name, dto] of Object.entries(dtos as Record<string, unknown>)) {
    out.set(name, toTypedValue(dto, describe(name)))
  }
  return out
}

/** Renders a typed value as the engine's `VariableValueDto`. */
export function fromTypedValue(v: TypedValue): {
  value: unknown
  type: string
  valueInfo: Record<string, unknown>
} {
  return { type: v.type, value: v.value, valueInfo: v.valueInfo }
}

/** Renders a variable map, optionally restricted to some names (fetchAndLock `variables`). */
export function fromTypedMap(
  vars: ReadonlyMap<string, TypedValue>,
  only?: readonly string[] | null,
): Record<string, { value: unknown; type: string; valueInfo: Record<string, unknown> }> {
  const out: Record<string, { value: unknown; type: string; valueInfo: Record<string, unknown> }> =
    {}
  for (const [name, v] of vars) {
    if (only !== undefined && only !== null && !only.includes(name)) continue
    out[name] = fromTypedValue(v)
  }
  return out
}

/** Resolves a `${name}` expression against variables; other text is returned unchanged. */
export function resolveExpression(text: string, vars: ReadonlyMap<string, TypedValue>): string {
  const m = /^\$\{\s*([A-Za-z_][\w]*)\s*\}$/.exec(text)
  if (m === null) return text
  const v = vars.get(m[1] as string)
  return v === undefined || v.value === null ? '' : String(v.value)
}

import { randomUUID } from 'node:crypto'

/** A new engine id (the default `StrongUuidGenerator` produces UUIDs). */
export const newId = (): string => randomUUID()

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/**
 * Formats a timestamp the way engine-rest serialises dates by default:
 * `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (UTC here, so the offset is always `+0000`).
 */
export function formatEngineDate(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null
  const d = new Date(ms)
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    `.${pad(d.getUTCMilliseconds(), 3)}+0000`
  )
}

/** Parses an engine date (`…+0200`, `…Z`, or ISO with colon offsets); `NaN` when unparsable. */
export function parseEngineDate(value: string): number {
  const fixed = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
  return Date.parse(fixed)
}

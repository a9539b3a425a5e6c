import { C7AuthError } from '@c7auth/core'
import type { NormalizedPath } from './types.js'

/** Raw characters allowed in a path (RFC 3986 pchar and `/`), minus `;` (matrix parameters). */
const RAW_ALLOWED = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/
const PERCENT_TRIPLET = /%[0-9A-Fa-f]{2}/
const NON_ASCII = /[\u0080-\uffff]/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** Characters that must not appear once decoded: separators and invisible/bidi format characters. */
const DECODED_FORBIDDEN = /[/\\;\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/

function separators(s: string): number {
  return s.match(/[./\\;%]/g)?.length ?? 0
}

function invalid(detail: string): C7AuthError {
  return new C7AuthError('C7AUTH_PATH_INVALID', { detail })
}

/**
 * Canonicalises a request path (below the mount prefix) the way JAX-RS will read it, refusing every
 * form that could make the gateway and the engine disagree: one percent-decode per segment; encoded
 * `/` or `\`, `.`/`..` segments (raw or encoded), empty segments (`//`, trailing `/`), `;` matrix
 * parameters, control and invisible characters, and double encoding are refused with
 * `C7AUTH_PATH_INVALID` (400). An `/engine/{name}/…` prefix is split off; names outside
 * `engineNames` are refused with `C7AUTH_ROUTE_DENIED` (403). `/engine` alone is the engine list.
 *
 * @example
 * ```ts
 * normalizePath('/engine/default/task/a%20b') // { engine: 'default', path: '/task/a b', segments: ['task', 'a b'] }
 * normalizePath('/task/..%2Fuser') // throws C7AUTH_PATH_INVALID
 * ```
 */
export function normalizePath(
  rawPath: string,
  engineNames: readonly string[] = ['default'],
): NormalizedPath {
  if (rawPath.length === 0 || rawPath[0] !== '/') throw invalid('path must start with /')
  if (rawPath.length > 4096) throw invalid('path too long')
  if (!RAW_ALLOWED.test(rawPath)) throw invalid('forbidden raw character')
  if (rawPath === '/') return { engine: undefined, path: '/', segments: [] }
  const raw = rawPath.slice(1).split('/')
  const segments: string[] = []
  for (const seg of raw) {
    if (seg === '') throw invalid('empty segment')
    if (seg === '.' || seg === '..') throw invalid('dot segment')
    // fast path: RAW_ALLOWED already vetted an escape-free segment
    if (!seg.includes('%')) {
      segments.push(seg)
      continue
    }
    let decoded: string
    try {
      decoded = decodeURIComponent(seg)
    } catch {
      throw invalid('malformed percent-encoding')
    }
    if (decoded === '.' || decoded === '..') throw invalid('dot segment')
    if (DECODED_FORBIDDEN.test(decoded) || CONTROL.test(decoded)) {
      throw invalid('forbidden decoded character')
    }
    if (PERCENT_TRIPLET.test(decoded)) throw invalid('double percent-encoding')
    // fullwidth dots/solidus etc. fold to separators under NFKC in some downstream stacks
    if (NON_ASCII.test(decoded) && separators(decoded.normalize('NFKC')) !== separators(decoded)) {
      throw invalid('compatibility character folding to a separator')
    }
    segments.push(decoded)
  }
  if (segments[0] === 'engine' && segments.length >= 2) {
    const name = segments[1] as string
    if (!engineNames.includes(name)) {
      throw new C7AuthError('C7AUTH_ROUTE_DENIED', { detail: 'engine name not configured' })
    }
    const rest = segments.slice(2)
    return { engine: name, path: '/' + rest.join('/'), segments: rest }
  }
  return { engine: undefined, path: '/' + segments.join('/'), segments }
}

/**
 * Re-encodes decoded segments for the upstream request (the inverse of {@link normalizePath}).
 *
 * @example
 * ```ts
 * encodePath('default', ['task', 'a b']) // '/engine/default/task/a%20b'
 * ```
 */
export function encodePath(engine: string | undefined, segments: readonly string[]): string {
  const body = segments.map(encodeURIComponent).join('/')
  const prefix = engine === undefined ? '' : `/engine/${encodeURIComponent(engine)}`
  return `${prefix}/${body}`
}

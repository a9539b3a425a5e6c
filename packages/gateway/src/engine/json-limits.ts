import { C7AuthError } from '@c7auth/core'

/**
 * Deepest nesting of arrays and objects accepted in a request body. Camunda's DTOs nest a few
 * levels (query → `orQueries` → variable filters); serializing, rewriting or walking a body nested
 * 100,000 levels deep would overflow the stack, so such bodies are refused before parsing.
 */
export const MAX_JSON_DEPTH = 64

function tooDeep(): C7AuthError {
  return new C7AuthError('C7AUTH_BODY_INVALID', {
    message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
  })
}

/**
 * Throws `C7AUTH_BODY_INVALID` (400) when JSON text nests deeper than {@link MAX_JSON_DEPTH}.
 * A linear scan that skips string contents, run before `JSON.parse` so that no recursive step
 * (ours, `JSON.stringify`, a policy rewrite) ever sees the body. Malformed text is left for the
 * parser to reject.
 */
export function assertJsonDepth(text: string, max = MAX_JSON_DEPTH): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) throw tooDeep()
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--
    }
  }
}

/**
 * The same bound for a value a body parser in front of the gateway already parsed (Express,
 * Koa): walked with an explicit stack, never recursion.
 */
export function assertValueDepth(value: unknown, max = MAX_JSON_DEPTH): void {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (d + 1 > max) throw tooDeep()
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1])
  }
}

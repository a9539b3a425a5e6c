/**
 * Which JUEL expressions (`${…}` / `#{…}`) the `strict` deployment profile accepts: those whose
 * evaluation reads variables and compares literals, and nothing else. No member access (`a.b`,
 * `a[b]`: getters are code), no calls (`f(x)`, `ns:f(x)`), no ternary, no lambda, no assignment.
 * Identifiers resolve to variables, `execution`/`task`, or — in a Spring engine — beans; a bare
 * identifier never invokes a method beyond the coercion of its value (see docs/security-model.md).
 */

/** Member paths a strict model may read: getters of the engine's own delegate objects. */
const INERT_PATHS: ReadonlySet<string> = new Set([
  'execution.processBusinessKey',
  'execution.businessKey',
  'execution.processInstanceId',
  'execution.activityId',
  'execution.id',
  'task.id',
  'task.assignee',
])

const KEYWORDS: ReadonlySet<string> = new Set([
  'true',
  'false',
  'null',
  'empty',
  'not',
  'and',
  'or',
  'eq',
  'ne',
  'lt',
  'gt',
  'le',
  'ge',
  'div',
  'mod',
])

/** Tokens besides identifiers, numbers and strings; longest first. */
const OPERATORS = [
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
]

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*/
const NUMBER = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/
const WS = /^[ \t\r\n]+/

/**
 * The expressions in `text`: the bodies of every `${…}` and `#{…}`, with JUEL string literals
 * skipped when looking for the closing brace. An unterminated expression is returned as `null`
 * (never inert).
 *
 * @example
 * ```ts
 * expressionsIn('a ${x > 1} b #{"}"}') // ['x > 1', '"}"']
 * ```
 */
export function expressionsIn(text: string): (string | null)[] {
  const out: (string | null)[] = []
  const open = /[$#]\{/g
  for (;;) {
    const m = open.exec(text)
    if (m === null) return out
    const start = m.index + 2
    let j = start
    let quote: string | undefined
    for (; j < text.length; j++) {
      const c = text[j]
      if (quote !== undefined) {
        if (c === '\\') j++
        else if (c === quote) quote = undefined
      } else if (c === '"' || c === "'") quote = c
      else if (c === '}') break
    }
    if (j >= text.length) {
      out.push(null)
      return out
    }
    out.push(text.slice(start, j))
    open.lastIndex = j + 1
  }
}

/**
 * True when one expression body (without `${`/`}`) only reads variables, compares, combines and
 * computes with literals. Refused: `.`/`[` member access (except {@link INERT_PATHS}), an
 * identifier followed by `(` (a call), `:` (function namespaces, ternary), `?`, `=` alone, `;`,
 * `->`, `instanceof`, and any character outside the grammar.
 *
 * @example
 * ```ts
 * isInertExpression('amount > 1000 && approved') // true
 * isInertExpression('execution.getProcessEngine()') // false
 * ```
 */
export function isInertExpression(body: string): boolean {
  let rest = body
  let previous: 'ident' | 'other' = 'other'
  while (rest.length > 0) {
    const ws = WS.exec(rest)
    if (ws) {
      rest = rest.slice(ws[0].length)
      continue
    }
    const c = rest[0] as string
    if (c === '"' || c === "'") {
      let j = 1
      for (; j < rest.length && rest[j] !== c; j++) if (rest[j] === '\\') j++
      if (j >= rest.length) return false
      // a nested `${` inside a literal is text to JUEL, but refuse it: nothing needs it
      if (/[$#]\{/.test(rest.slice(1, j))) return false
      rest = rest.slice(j + 1)
      previous = 'other'
      continue
    }
    const num = NUMBER.exec(rest)
    if (num) {
      rest = rest.slice(num[0].length)
      if (/^[A-Za-z_$.]/.test(rest)) return false
      previous = 'other'
      continue
    }
    const id = IDENT.exec(rest)
    if (id) {
      let name = id[0]
      rest = rest.slice(name.length)
      if (rest.startsWith('.')) {
        const member = IDENT.exec(rest.slice(1))
        if (!member) return false
        name = `${name}.${member[0]}`
        if (!INERT_PATHS.has(name)) return false
        rest = rest.slice(member[0].length + 1)
      } else if (name === 'instanceof') return false
      previous = KEYWORDS.has(name) ? 'other' : 'ident'
      continue
    }
    if (rest.startsWith('->')) return false // EL 3 lambda
    const op = OPERATORS.find((o) => rest.startsWith(o))
    if (op === undefined) return false
    if (op === '(' && previous === 'ident') return false // a call
    rest = rest.slice(op.length)
    previous = 'other'
  }
  return true
}

/**
 * True when `text` holds no expression, or only inert ones ({@link isInertExpression}).
 *
 * @example
 * ```ts
 * onlyInertExpressions('${approved}') // true
 * onlyInertExpressions('${bean.run()}') // false
 * ```
 */
export function onlyInertExpressions(text: string): boolean {
  return expressionsIn(text).every((e) => e !== null && isInertExpression(e))
}

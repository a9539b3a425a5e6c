import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from './errors.js'
import type { C7AuthErrorCode } from './errors.js'

/** The errors reference carries the table (the README links to it). */
const DOC = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url))

describe('docs/errors.md error table', () => {
  it('lists every error code once, with the status the code table gives it', () => {
    const text = readFileSync(DOC, 'utf8')
    const match = /<!-- error-table:start -->([\s\S]*?)<!-- error-table:end -->/.exec(text)
    expect(match, 'docs/errors.md lacks the error-table markers').not.toBeNull()
    const documented = new Map<string, number>()
    for (const line of match![1]!.split('\n')) {
      const cells = /^\|\s*`(C7AUTH_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/.exec(line)
      if (!cells) continue
      expect(documented.has(cells[1]!), `${cells[1]} documented twice`).toBe(false)
      documented.set(cells[1]!, Number(cells[2]))
    }
    const expected = new Map(
      (Object.keys(ERROR_CODES) as C7AuthErrorCode[]).map((code) => [
        code,
        ERROR_CODES[code].status,
      ]),
    )
    expect(new Map([...documented].sort())).toEqual(new Map([...expected].sort()))
  })
})

import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CONFIG_SCHEMA, renderEnvTable } from './schema.js'

/** The configuration reference carries the generated table (the README links to it). */
const DOC = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url))
const START = '<!-- env-table:start -->'
const END = '<!-- env-table:end -->'

/** Table rows as trimmed cells, so Prettier's column padding does not matter. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    )
}

describe('docs/configuration.md env table', () => {
  it('matches the loader schema (C7AUTH_UPDATE_DOCS=1 regenerates it; run Prettier on the doc after)', () => {
    let text = readFileSync(DOC, 'utf8')
    const match = /<!-- env-table:start -->([\s\S]*?)<!-- env-table:end -->/.exec(text)
    expect(match, 'docs/configuration.md lacks the env-table markers').not.toBeNull()
    if (
      process.env.C7AUTH_UPDATE_DOCS === '1' &&
      rows(match![1]!).join() !== rows(renderEnvTable()).join()
    ) {
      text = text.replace(match![0], `${START}\n\n${renderEnvTable().trim()}\n\n${END}`)
      writeFileSync(DOC, text)
      match![1] = renderEnvTable()
    }
    const documented = rows(match![1]!)
    expect(documented).toEqual(rows(renderEnvTable()))
    expect(documented).toHaveLength(CONFIG_SCHEMA.length + 1)
  })
})

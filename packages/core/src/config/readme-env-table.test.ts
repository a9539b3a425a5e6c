import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CONFIG_SCHEMA, renderEnvTable } from './schema.js'

const README = fileURLToPath(new URL('../../../../README.md', import.meta.url))

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

describe('README env table', () => {
  it('matches the loader schema (regenerate with renderEnvTable())', () => {
    const text = readFileSync(README, 'utf8')
    const match = /<!-- env-table:start -->([\s\S]*?)<!-- env-table:end -->/.exec(text)
    expect(match, 'README.md lacks the env-table markers').not.toBeNull()
    const documented = rows(match![1]!)
    expect(documented).toEqual(rows(renderEnvTable()))
    expect(documented).toHaveLength(CONFIG_SCHEMA.length + 1)
  })
})

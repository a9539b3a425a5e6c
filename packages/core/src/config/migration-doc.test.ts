import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { RENAMED_KEYS, envKeyOf } from './schema.js'

const MIGRATION = fileURLToPath(new URL('../../../../docs/migration.md', import.meta.url))

describe('docs/migration.md', () => {
  it('has a row for every renamed configuration key', () => {
    const text = readFileSync(MIGRATION, 'utf8')
    expect(RENAMED_KEYS.length).toBeGreaterThan(0)
    for (const renamed of RENAMED_KEYS) {
      const replacement = envKeyOf(renamed.replacement)
      const old = replacement.slice(0, -renamed.replacement.name.length) + renamed.oldName
      const row = text.split('\n').find((line) => line.startsWith(`| \`${old}\``))
      expect(row, `no row for ${old}`).toBeDefined()
      expect(row).toContain(`\`${replacement}\``)
    }
  })
})

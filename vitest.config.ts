import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/e2e/**/*.test.ts', 'examples/*/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    unstubEnvs: true,
    pool: 'forks',
    // CI also writes a machine-readable summary that .ci/run turns into one closing line.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results.json' }]]
      : ['default'],
  },
})

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/e2e/**/*.test.ts', 'examples/*/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    unstubEnvs: true,
    pool: 'forks',
    // The bins run compiled dist/ only; build it once before any test file starts.
    globalSetup: ['test/build-packages.ts'],
    // A machine-readable summary that .ci/run turns into one closing line (also when run by hand).
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
})

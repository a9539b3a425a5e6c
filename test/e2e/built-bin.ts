/**
 * The bins run compiled JavaScript only, as they do once published. In the workspace the packages
 * export their TypeScript sources by default; this condition makes Node resolve them to `dist/`,
 * which `test/build-packages.ts` (vitest global setup) brings up to date before any test runs.
 */
export const BIN_NODE_ARGS: readonly string[] = ['--conditions=c7auth-dist']

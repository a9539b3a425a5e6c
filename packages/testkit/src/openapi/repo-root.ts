import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Walks up from `from` (default: this module) to the directory holding `pnpm-workspace.yaml`.
 * Only meaningful inside the c7auth workspace (for example to find the test engine jars).
 *
 * @example
 * ```ts
 * const root = findRepoRoot() // e.g. /home/me/c7auth
 * ```
 */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from)
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`No pnpm-workspace.yaml above ${from}`)
    dir = parent
  }
}

/** Engine-rest versions whose OpenAPI document ships in this package (`openapi/`). */
export type OpenApiVersion = '7.23.0' | '7.24.0'

/**
 * Path of an OpenAPI document shipped inside `@c7auth/testkit` (its `openapi/` folder), resolved
 * relative to this module so it works from `src/` in the workspace and from `dist/` in `node_modules`.
 * The default, 7.23.0, is the document the simulator validates against.
 */
export function defaultOpenApiDocumentPath(version: OpenApiVersion = '7.23.0'): string {
  return fileURLToPath(new URL(`../../openapi/camunda-${version}-openapi.json`, import.meta.url))
}

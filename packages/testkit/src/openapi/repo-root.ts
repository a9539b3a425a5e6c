import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Walks up from `from` (default: this module) to the directory holding `pnpm-workspace.yaml`.
 *
 * @example
 * ```ts
 * const root = findRepoRoot() // e.g. /work/main
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

/** `<repo>/../shared/openapi/camunda-7.23.0-openapi.json`, the document the simulator validates against. */
export function defaultOpenApiDocumentPath(): string {
  return join(findRepoRoot(), '..', 'shared', 'openapi', 'camunda-7.23.0-openapi.json')
}

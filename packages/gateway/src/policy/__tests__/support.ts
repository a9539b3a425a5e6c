import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isC7AuthError } from '@c7auth/core'
import type { Principal } from '@c7auth/core'
import type { BodyPlan, JsonRewrite } from '../types.js'

/** One operation of the OpenAPI document. */
export interface OpenApiOperation {
  readonly method: string
  readonly path: string
  readonly operationId: string
}

/** Walks up from this file to the workspace root (the directory holding `pnpm-workspace.yaml`). */
export function workspaceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('pnpm-workspace.yaml not found above ' + dir)
    dir = parent
  }
  return dir
}

/** Engine-rest versions whose OpenAPI document ships in `@c7auth/testkit`'s `openapi/` folder. */
export const OPENAPI_VERSIONS = ['7.23.0', '7.24.0'] as const

/** The OpenAPI document of one engine-rest version, as shipped in the testkit package. */
export function openApiDocumentPath(version: (typeof OPENAPI_VERSIONS)[number]): string {
  return join(workspaceRoot(), 'packages', 'testkit', 'openapi', `camunda-${version}-openapi.json`)
}

/** Every operation of the engine-rest OpenAPI document of `version`. */
export function openApiOperations(
  version: (typeof OPENAPI_VERSIONS)[number] = '7.24.0',
): OpenApiOperation[] {
  const file = openApiDocumentPath(version)
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, { operationId: string }>>
  }
  const ops: OpenApiOperation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (['get', 'post', 'put', 'delete', 'options', 'head', 'patch'].includes(method)) {
        ops.push({ method: method.toUpperCase(), path, operationId: op.operationId })
      }
    }
  }
  return ops
}

/** A test principal; tenants and admin flag vary per test. */
export function principalOf(
  tenantIds: readonly string[],
  extra: Partial<Pick<Principal, 'admin' | 'kind' | 'clientId' | 'userId'>> = {},
): Principal {
  return {
    kind: extra.kind ?? 'user',
    userId: extra.userId ?? 'alice',
    groupIds: [],
    tenantIds,
    clientId: 'clientId' in extra ? extra.clientId : 'web-app',
    issuer: 'https://idp.example',
    subject: 'sub-1',
    scopes: [],
    expiresAt: 4_102_444_800,
    admin: extra.admin ?? false,
  }
}

/**
 * Runs the JSON rewrite of a body plan as `decide` gives it: synchronous (only `settle` makes a
 * rewrite asynchronous, once it must run an owner check a body reveals).
 */
export function syncRewrite(body: BodyPlan, json: unknown): JsonRewrite {
  if (body.kind !== 'json') throw new Error(`expected a json body plan, got ${body.kind}`)
  const out = body.rewrite(json)
  if (out instanceof Promise) throw new Error('decide gave an asynchronous rewrite')
  return out
}

/** The `C7AUTH_*` code `fn` throws, `'not-a-c7auth-error'` for any other throw, `undefined` if it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return isC7AuthError(err) ? err.code : 'not-a-c7auth-error'
  }
  return undefined
}

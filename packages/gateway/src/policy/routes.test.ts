import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { isC7AuthError } from '@c7auth/core'
import { routeCounts } from './counts.js'
import { createPolicy } from './policy.js'
import { ROUTES } from './routes.js'
import { OPENAPI_VERSIONS, openApiOperations, principalOf } from './__tests__/support.js'

const ops = openApiOperations('7.24.0')

describe('the OpenAPI documents the table is checked against', () => {
  it('7.23.0 and 7.24.0 name the same operations, so the checks below over 7.24.0 cover both', () => {
    const [older, newer] = OPENAPI_VERSIONS.map((v) =>
      openApiOperations(v)
        .map((o) => `${o.method} ${o.path} ${o.operationId}`)
        .sort(),
    )
    expect(older).toHaveLength(399)
    expect(newer).toEqual(older)
  })
})
const key = (m: string, p: string) => `${m} ${p}`

/**
 * The per-kind counts from the rule table (`| \`kind\` | count | … |`) in README.md or the
 * docs/*.md file that carries it — whichever document a user actually reads, so the test breaks
 * when the table drifts from the code or disappears from the docs.
 */
function documentedRouteCounts(): { file: string; counts: Record<string, number> } {
  const root = fileURLToPath(new URL('../../../../', import.meta.url))
  const files = [
    'README.md',
    ...readdirSync(`${root}docs`)
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ]
  const row =
    /^\|\s*`(scopeQuery|stampTenant|ownerCheck|public|adminOnly|deny)`\s*\|\s*(\d+)\s*\|/gm
  const carriers: { file: string; counts: Record<string, number> }[] = []
  for (const file of files) {
    const counts: Record<string, number> = {}
    for (const m of readFileSync(`${root}${file}`, 'utf8').matchAll(row))
      counts[m[1]!] = Number(m[2])
    if (Object.keys(counts).length > 0) carriers.push({ file, counts })
  }
  // exactly one home for the table (a second copy would drift)
  expect(carriers.map((c) => c.file)).toHaveLength(1)
  return carriers[0]!
}

/** A concrete path for a template: every `{param}` becomes `x-<param>`. */
const concrete = (template: string) => template.replace(/\{([^}]+)\}/g, (_, n: string) => `x-${n}`)

describe('route table', () => {
  it('covers every one of the 399 OpenAPI operations exactly once, with matching operationIds', () => {
    expect(ops).toHaveLength(399)
    expect(ROUTES).toHaveLength(399)
    const table = new Map<string, string>()
    for (const row of ROUTES) {
      expect(table.has(key(row.method, row.path)), key(row.method, row.path)).toBe(false)
      table.set(key(row.method, row.path), row.operationId)
    }
    for (const op of ops) {
      expect(table.get(key(op.method, op.path)), key(op.method, op.path)).toBe(op.operationId)
    }
  })

  it('has the per-kind counts printed in the document that carries the rule table', () => {
    const { file, counts } = documentedRouteCounts()
    // the table must be complete: one row per rule kind, read from the file a user reads
    expect(Object.keys(counts).sort(), file).toEqual(Object.keys(routeCounts()).sort())
    expect(counts, file).toEqual(routeCounts())
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(399)
  })

  it('routes a concrete path of every template back to its own row (no shadowing)', () => {
    const policy = createPolicy()
    for (const row of ROUTES) {
      const hit = policy.match(row.method, concrete(row.path))
      expect(hit?.route, key(row.method, row.path)).toBe(row)
    }
  })

  it('names only path parameters that exist in the template', () => {
    for (const row of ROUTES) {
      const r = row.rule
      if (r.kind === 'ownerCheck') {
        expect(row.path).toContain(`{${r.idParam}}`)
        if (r.varNameParam !== undefined) expect(row.path).toContain(`{${r.varNameParam}}`)
      }
      if (r.kind === 'stampTenant' && r.at === 'path') {
        expect(row.path).toContain(`{${r.pathParam}}`)
      }
      if (r.kind === 'stampTenant' && r.at === 'keyPath') {
        expect(row.path).not.toContain('{tenant-id}')
        const target = ROUTES.find((x) => x.method === row.method && x.path === r.rewriteTo)
        expect(target?.rule.kind, r.rewriteTo).toBe('stampTenant')
        expect(target?.actingUser).toBe(row.actingUser)
      }
    }
  })

  it('makes identity and authorization resources admin-only and nothing else', () => {
    const identity = /^\/(authorization|group|tenant|user|identity)(\/|$)/
    for (const row of ROUTES) {
      expect(row.rule.kind === 'adminOnly', key(row.method, row.path)).toBe(identity.test(row.path))
    }
  })

  it('scopes every list/count operation that has a tenant filter, or denies it', () => {
    for (const row of ROUTES) {
      if (row.rule.kind !== 'scopeQuery') continue
      expect(['GET', 'POST']).toContain(row.method)
      expect(row.rule.empty).toBe(row.path.endsWith('/count') ? 'count' : 'list')
      expect(row.rule.in).toBe(
        row.path === '/external-task/fetchAndLock'
          ? 'topics'
          : row.method === 'GET'
            ? 'query'
            : 'body',
      )
    }
  })

  it('lets only definitions and deployments share NULL-tenant data', () => {
    const sharedFamilies =
      /^\/(process-definition|deployment|decision-definition|decision-requirements-definition)(\/|$)/
    for (const row of ROUTES) {
      const r = row.rule
      if (
        (r.kind === 'scopeQuery' && r.shared) ||
        (r.kind === 'ownerCheck' && r.shared === 'allow')
      ) {
        expect(row.path, key(row.method, row.path)).toMatch(sharedFamilies)
        expect(row.method).toBe('GET')
      }
    }
  })

  it('denies every operation the reference flags as cross-tenant (T9–T12, T15, T17, T21, T27)', () => {
    const policy = createPolicy()
    const principal = principalOf(['t1'], { admin: true })
    const mustDeny: [string, string][] = [
      ['DELETE', '/process-definition/key/k'],
      ['PUT', '/process-definition/suspended'],
      ['PUT', '/process-definition/key/k/suspended'],
      ['PUT', '/process-instance/suspended'],
      ['PUT', '/job/suspended'],
      ['POST', '/signal'],
      ['POST', '/condition'],
      ['POST', '/process-instance/delete'],
      ['POST', '/process-instance/message-async'],
      ['POST', '/migration/execute'],
      ['GET', '/batch'],
      ['GET', '/history/batch/b1'],
      ['GET', '/history/user-operation'],
      ['GET', '/filter'],
      ['POST', '/filter/create'],
      ['POST', '/filter/f1/list'],
      ['GET', '/metrics'],
      ['GET', '/telemetry/data'],
      ['GET', '/schema/log'],
      ['POST', '/history/cleanup'],
      ['GET', '/deployment/registered'],
      ['GET', '/process-definition/statistics'],
      ['GET', '/external-task/topic-names'],
      ['GET', '/task/report/candidate-group-count'],
      ['POST', '/task/create'],
      ['PUT', '/task/t1'],
    ]
    for (const [method, path] of mustDeny) {
      let code: string | undefined
      try {
        policy.decide({ method, path, query: new URLSearchParams(), principal })
      } catch (err) {
        if (isC7AuthError(err)) code = err.code
      }
      expect(code, `${method} ${path}`).toBe('C7AUTH_ROUTE_DENIED')
    }
  })
})

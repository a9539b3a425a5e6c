import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createPolicy } from './policy.js'
import {
  BINARY_VARIABLE_OPERATIONS,
  VARIABLE_WRITE_OPERATIONS,
  assertTypedValuesAllowed,
} from './object-variables.js'
import { ROUTES } from './routes.js'
import type { Decision } from './types.js'
import {
  OPENAPI_VERSIONS,
  codeOf,
  openApiDocumentPath,
  principalOf,
  syncRewrite,
} from './__tests__/support.js'

interface Doc {
  paths: Record<
    string,
    Record<string, { operationId: string; requestBody?: { content: Record<string, unknown> } }>
  >
  components: { schemas: Record<string, unknown> }
}

/** Operations whose request body (per media type) references `VariableValueDto`, transitively. */
function variableOperations(doc: Doc, mediaType: string): Set<string> {
  const refsOf = (node: unknown, out: Set<string>): Set<string> => {
    if (Array.isArray(node)) for (const n of node) refsOf(n, out)
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') out.add(v.split('/').pop() as string)
        else refsOf(v, out)
      }
    }
    return out
  }
  const reaches = (name: string, seen: Set<string>): boolean => {
    if (name === 'VariableValueDto' || name === 'MultiFormVariableBinaryDto') return true
    if (seen.has(name)) return false
    seen.add(name)
    return [...refsOf(doc.components.schemas[name], new Set())].some((r) => reaches(r, seen))
  }
  const out = new Set<string>()
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      const content = op.requestBody?.content[mediaType]
      if (content && [...refsOf(content, new Set())].some((r) => reaches(r, new Set()))) {
        out.add(op.operationId)
      }
    }
  }
  return out
}

const JSON_OBJECT = (name: string, format = 'application/json') => ({
  value: '{}',
  type: 'Object',
  valueInfo: { objectTypeName: name, serializationDataFormat: format },
})

describe('object variables (T31)', () => {
  it.each(OPENAPI_VERSIONS)(
    'covers every operation of engine-rest %s that writes typed variables',
    (version) => {
      const doc = JSON.parse(readFileSync(openApiDocumentPath(version), 'utf8')) as Doc
      expect([...variableOperations(doc, 'application/json')].sort()).toEqual(
        [...VARIABLE_WRITE_OPERATIONS].sort(),
      )
      expect([...variableOperations(doc, 'multipart/form-data')].sort()).toEqual(
        [...BINARY_VARIABLE_OPERATIONS].sort(),
      )
    },
  )

  it('refuses non-allowlisted object types, missing or Java formats, in any nested position', () => {
    const allowed = new Set(['java.util.ArrayList'])
    const ok = {
      variables: { list: JSON_OBJECT('java.util.ArrayList'), s: { value: 'x', type: 'String' } },
    }
    expect(codeOf(() => assertTypedValuesAllowed(ok, allowed))).toBeUndefined()
    const bad: unknown[] = [
      { variables: { o: JSON_OBJECT('com.sun.rowset.JdbcRowSetImpl') } },
      {
        variables: { o: { ...JSON_OBJECT('java.util.ArrayList'), type: 'object' } },
        x: 1,
        y: JSON_OBJECT('x.Y'),
      },
      { modifications: { o: JSON_OBJECT('x.Evil', 'application/xml') } },
      {
        startInstructions: [
          { type: 'startBeforeActivity', variables: { o: JSON_OBJECT('x.Evil') } },
        ],
      },
      {
        processVariables: {
          o: JSON_OBJECT('java.util.ArrayList', 'application/x-java-serialized-object'),
        },
      },
      {
        variables: {
          o: {
            value: 'rO0AB',
            type: 'Bytes',
            valueInfo: { serializationDataFormat: 'application/x-java-serialized-object' },
          },
        },
      },
      {
        variables: {
          o: { value: '{}', type: 'Object', valueInfo: { objectTypeName: 'java.util.ArrayList' } },
        },
      },
      { variables: { o: { value: '{}', type: 'OBJECT' } } },
      JSON_OBJECT('x.Y'),
      [{ deep: [{ deeper: JSON_OBJECT('x.Y') }] }],
    ]
    expect.assertions(1 + bad.length)
    for (const body of bad) {
      expect(
        codeOf(() => assertTypedValuesAllowed(body, allowed)),
        JSON.stringify(body),
      ).toBe('C7AUTH_VARIABLE_TYPE_FORBIDDEN')
    }
  })

  const policy = createPolicy({
    tenantSettings: {
      t1: { objectTypes: ['java.util.ArrayList', 'java.util.HashMap'] },
      t2: { objectTypes: ['java.util.HashMap'] },
    },
  })
  const decide = (method: string, path: string, tenants: string[]): Decision =>
    policy.decide({ method, path, query: new URLSearchParams(), principal: principalOf(tenants) })
  const rewrite = (d: Decision, json: unknown) => {
    if (d.action !== 'forward') throw new Error('expected a forward')
    return syncRewrite(d.body, json)
  }

  it('checks every forwarded variable write of the route table, with the tenant allowlist', () => {
    const body = {
      variables: { o: JSON_OBJECT('x.Evil') },
      value: '{}',
      type: 'Object',
      valueInfo: { objectTypeName: 'x.Evil', serializationDataFormat: 'application/json' },
    }
    let checked = 0
    for (const route of ROUTES) {
      if (!VARIABLE_WRITE_OPERATIONS.has(route.operationId) || route.rule.kind === 'deny') continue
      const path = route.path.replace('{tenant-id}', 't1').replace(/\{[^}]+\}/g, 'x1')
      const d = decide(route.method, path, ['t1'])
      expect(
        codeOf(() => rewrite(d, body)),
        route.operationId,
      ).toBe('C7AUTH_VARIABLE_TYPE_FORBIDDEN')
      checked++
    }
    expect(checked).toBeGreaterThan(20)
  })

  it('lets allowlisted types through, and intersects the allowlists when the tenant is not known yet', () => {
    const put = (tenants: string[]) => decide('PUT', '/process-instance/p1/variables/v', tenants)
    const list = JSON_OBJECT('java.util.ArrayList')
    expect(rewrite(put(['t1']), list)).toEqual({ kind: 'forward', json: list })
    expect(codeOf(() => rewrite(put(['t1', 't2']), list))).toBe('C7AUTH_VARIABLE_TYPE_FORBIDDEN')
    expect(rewrite(put(['t1', 't2']), JSON_OBJECT('java.util.HashMap')).kind).toBe('forward')
    // the acting-user rewrite still runs after the check
    const start = rewrite(decide('POST', '/process-definition/key/k/start', ['t1']), {
      variables: { l: list },
    })
    expect(start.kind).toBe('forward')
    const acting = (start as { json: { variables: Record<string, { value: string }> } }).json
      .variables.c7authActingUser
    expect(JSON.parse(acting?.value ?? 'null')).toMatchObject({ userId: 'alice', kind: 'user' })
  })

  it('rebuilds the type part of binary variable uploads, allowlisted only', () => {
    const d = decide('POST', '/task/t1/variables/v/data', ['t1'])
    if (d.action !== 'forward' || d.body.kind !== 'multipart') throw new Error('expected multipart')
    const plan = d.body
    expect(plan.field).toBe('type')
    expect(plan.scanReferences).toBe(false)
    expect(plan.resolveTenant([])).toBeUndefined()
    expect(plan.resolveTenant(['java.util.ArrayList'])).toBe('java.util.ArrayList')
    expect(codeOf(() => plan.resolveTenant(['com.sun.rowset.JdbcRowSetImpl']))).toBe(
      'C7AUTH_VARIABLE_TYPE_FORBIDDEN',
    )
    expect(codeOf(() => plan.resolveTenant(['java.util.ArrayList', 'java.util.ArrayList']))).toBe(
      'C7AUTH_BODY_INVALID',
    )
  })
})

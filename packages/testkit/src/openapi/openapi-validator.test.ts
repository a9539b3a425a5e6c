import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { EngineSimulator } from '../engine/engine-simulator.js'
import { startEngineSimulator } from '../engine/engine-simulator.js'
import { client } from '../engine/test-support.js'
import { createOpenApiValidator, sharedOpenApiValidator } from './openapi-validator.js'
import { defaultOpenApiDocumentPath, findRepoRoot } from './repo-root.js'

const json = { 'content-type': 'application/json' }

describe('OpenAPI validator (Camunda 7.23.0 document)', () => {
  const validator = sharedOpenApiValidator()

  it('resolves the document shipped inside the testkit package', () => {
    expect(existsSync(join(findRepoRoot(), 'pnpm-workspace.yaml'))).toBe(true)
    expect(defaultOpenApiDocumentPath()).toBe(
      join(findRepoRoot(), 'packages', 'testkit', 'openapi', 'camunda-7.23.0-openapi.json'),
    )
    expect(validator.operations()).toHaveLength(399)
  })

  it('accepts valid requests and names their operation', () => {
    const cases = [
      {
        method: 'GET',
        path: '/task',
        query: new URLSearchParams('tenantIdIn=a,b&maxResults=10&withoutTenantId=false'),
      },
      { method: 'GET', path: '/task/count' },
      {
        method: 'POST',
        path: '/task',
        headers: json,
        body: { tenantIdIn: ['a'], sorting: [{ sortBy: 'created', sortOrder: 'asc' }] },
      },
      {
        method: 'POST',
        path: '/external-task/fetchAndLock',
        headers: json,
        body: {
          workerId: 'w',
          maxTasks: 1,
          topics: [{ topicName: 't', lockDuration: 1000, tenantIdIn: ['a'] }],
        },
      },
      {
        method: 'POST',
        path: '/user/create',
        headers: json,
        body: { profile: { id: 'u' }, credentials: { password: 'p' } },
      },
      { method: 'PUT', path: '/tenant/t1/user-members/u1' },
      {
        method: 'POST',
        path: '/engine/default/task/abc/complete',
        headers: json,
        body: { variables: { x: { value: 1, type: 'Integer' } } },
      },
      { method: 'GET', path: '/engine-rest/process-definition/key/k/tenant-id/t' },
      {
        method: 'POST',
        path: '/deployment/create',
        body: {
          kind: 'multipart',
          fields: { 'tenant-id': ['t'], 'enable-duplicate-filtering': ['true'] },
          files: [],
        },
      },
    ] as const
    const expected = [
      'getTasks',
      'getTasksCount',
      'queryTasks',
      'fetchAndLock',
      'createUser',
      'createUserMembership',
      'complete',
      'getLatestProcessDefinitionByTenantId',
      'createDeployment',
    ]
    cases.forEach((c, i) => {
      const result = validator.validate(c)
      expect(result.errors).toEqual([])
      expect(result.operationId).toBe(expected[i])
    })
  })

  it('prefers literal path segments over templates', () => {
    expect(validator.validate({ method: 'GET', path: '/task/count' }).operationId).toBe(
      'getTasksCount',
    )
    expect(validator.validate({ method: 'GET', path: '/task/123' }).operationId).toBe('getTask')
    expect(
      validator.validate({
        method: 'POST',
        path: '/process-definition/key/k/start',
        headers: json,
        body: {},
      }).operationId,
    ).toBe('startProcessInstanceByKey')
  })

  it('rejects bad query parameters (type, boolean, enum), using the first value of duplicates', () => {
    const q = (s: string) =>
      validator.validate({ method: 'GET', path: '/task', query: new URLSearchParams(s) }).errors
    expect(q('maxResults=ten')).toEqual([
      expect.objectContaining({
        location: 'query',
        message: expect.stringContaining('maxResults'),
      }),
    ])
    expect(q('withoutTenantId=yes')).toHaveLength(1)
    expect(q('sortBy=bogus&sortOrder=asc')).toHaveLength(1)
    expect(q('maxResults=1&maxResults=x')).toEqual([])
  })

  it('rejects bodies that do not match the schema, and wrong content types', () => {
    const fetchBad = validator.validate({
      method: 'POST',
      path: '/external-task/fetchAndLock',
      headers: json,
      body: { maxTasks: 'many', topics: [{ topicName: 't', lockDuration: 1, tenantIdIn: 'a' }] },
    })
    const messages = fetchBad.errors.map((e) => e.message).join('\n')
    expect(messages).toMatch(/workerId/)
    expect(messages).toMatch(/maxTasks/)
    expect(messages).toMatch(/tenantIdIn/)
    const text = validator.validate({
      method: 'POST',
      path: '/task',
      headers: { 'content-type': 'text/plain' },
      body: {},
    })
    expect(text.errors).toEqual([expect.objectContaining({ location: 'header' })])
    const multipartToJson = validator.validate({
      method: 'POST',
      path: '/task',
      body: { kind: 'multipart', fields: {}, files: [] },
    })
    expect(multipartToJson.errors).toHaveLength(1)
    const badFlag = validator.validate({
      method: 'POST',
      path: '/deployment/create',
      body: { kind: 'multipart', fields: { 'enable-duplicate-filtering': ['maybe'] }, files: [] },
    })
    expect(badFlag.errors).toEqual([
      expect.objectContaining({
        location: 'body',
        message: expect.stringContaining('enable-duplicate-filtering'),
      }),
    ])
  })

  it('reports operations that are not in the document', () => {
    expect(
      validator.validate({ method: 'GET', path: '/optimize/process-instance/completed' }),
    ).toMatchObject({ operationId: null, errors: [{ location: 'operation' }] })
    expect(validator.validate({ method: 'PATCH', path: '/task/1' }).operationId).toBeNull()
    expect(validator.validate({ method: 'GET', path: '/case-instance' }).errors).toHaveLength(1)
  })

  it('can load a document from an explicit path', () => {
    const own = createOpenApiValidator(defaultOpenApiDocumentPath())
    expect(own.validate({ method: 'GET', path: '/version' })).toEqual({
      operationId: 'getRestAPIVersion',
      template: '/version',
      errors: [],
    })
  })
})

describe('engine simulator request validation', () => {
  let engine: EngineSimulator | undefined
  afterEach(async () => {
    await engine?.close()
  })

  it('answers an invalid request with C7AUTH_SIM_INVALID_REQUEST and fails assertNoValidationErrors', async () => {
    engine = await startEngineSimulator()
    const admin = client(engine.url, { user: 'admin', password: 'admin' })
    const res = await admin.post('/external-task/fetchAndLock', { maxTasks: 1, topics: [] })
    expect(res).toMatchObject({
      status: 400,
      contentType: 'application/json',
      body: { code: 'C7AUTH_SIM_INVALID_REQUEST' },
    })
    expect(engine.validationErrors).toEqual([
      expect.objectContaining({ operationId: 'fetchAndLock', path: '/external-task/fetchAndLock' }),
    ])
    expect(() => engine?.assertNoValidationErrors()).toThrow(/fetchAndLock.*workerId/s)
  })

  it('lets tests opt out of validation', async () => {
    engine = await startEngineSimulator({ validateRequests: false })
    const res = await client(engine.url, { user: 'admin', password: 'admin' }).get(
      '/task?maxResults=x',
    )
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ type: 'InvalidRequestException' })
    expect(engine.validationErrors).toEqual([])
  })
})

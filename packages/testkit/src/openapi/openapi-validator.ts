/**
 * Validates engine-rest requests against the Camunda 7 OpenAPI 3.0 document: operation lookup by
 * path template (also under `/engine/{name}`), query and path parameters (strings coerced like
 * JAX-RS), JSON bodies and declared multipart fields. Schemas compile lazily per operation.
 */
import { readFileSync } from 'node:fs'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import { defaultOpenApiDocumentPath } from './repo-root.js'

/** A request as seen below the `engine-rest` context path. */
export interface OpenApiRequest {
  readonly method: string
  /** `/task/1`, `/engine/default/task/1` or `/engine-rest/task/1`. */
  readonly path: string
  readonly query?: URLSearchParams | Readonly<Record<string, string | readonly string[]>>
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>
  /** Parsed JSON, or `{ kind: 'multipart', fields, files }`, or `undefined` for no body. */
  readonly body?: unknown
}

export interface OpenApiValidationError {
  readonly location: 'operation' | 'path' | 'query' | 'header' | 'body'
  readonly message: string
}

export interface OpenApiValidationResult {
  /** `null` when no operation of the document matches (an error is reported too). */
  readonly operationId: string | null
  readonly template: string | null
  readonly errors: readonly OpenApiValidationError[]
}

export interface OpenApiValidator {
  validate(request: OpenApiRequest): OpenApiValidationResult
  /** `(method, template)` of every operation, e.g. for route-table coverage checks. */
  operations(): readonly { method: string; path: string; operationId: string }[]
}

interface Parameter {
  readonly name: string
  readonly in: 'query' | 'path' | 'header' | 'cookie'
  readonly required?: boolean
  readonly schema?: Record<string, unknown>
}

interface Operation {
  readonly operationId: string
  readonly parameters?: readonly Parameter[]
  readonly requestBody?: {
    readonly required?: boolean
    readonly content: Record<string, { readonly schema?: Record<string, unknown> }>
  }
}

interface OpenApiDocument {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: Record<string, unknown>
}

interface CompiledOperation {
  readonly query: readonly Parameter[]
  readonly path: readonly Parameter[]
  readonly json: ValidateFunction | null
  readonly multipart: Record<string, unknown> | null
}

interface Template {
  readonly method: string
  readonly path: string
  readonly segments: readonly string[]
  readonly literalCount: number
  readonly operation: Operation
}

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv
const DOC_ID = 'c7-openapi.json'
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch'])
/** The engine's default date format (`2013-01-23T14:42:45.000+0200`) and ISO variants. */
const ENGINE_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/

const documents = new Map<string, OpenApiDocument>()

function loadDocument(path: string): OpenApiDocument {
  let doc = documents.get(path)
  if (doc === undefined) {
    doc = JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument
    documents.set(path, doc)
  }
  return doc
}

/** Points local component refs of an operation schema at the registered document. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : rewriteRefs(v)
  }
  return out
}

function newAjv(components: Record<string, unknown>): Ajv {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    validateFormats: true,
    validateSchema: false,
    code: { optimize: false },
  })
  addFormats(ajv)
  ajv.addFormat('date-time', ENGINE_DATE_TIME)
  ajv.addSchema({ $id: DOC_ID, components }, DOC_ID)
  return ajv
}

const describe = (errors: readonly ErrorObject[] | null | undefined, prefix: string): string[] =>
  (errors ?? []).map((e) =>
    `${prefix}${e.instancePath === '' ? '' : e.instancePath} ${e.message ?? 'is invalid'}`.trim(),
  )

const headerValue = (headers: OpenApiRequest['headers'], name: string): string | undefined => {
  if (headers === undefined) return undefined
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name)
      return Array.isArray(v) ? (v[0] as string | undefined) : (v as string | undefined)
  }
  return undefined
}

function firstQueryValues(query: OpenApiRequest['query']): Map<string, string> {
  const out = new Map<string, string>()
  if (query === undefined) return out
  if (query instanceof URLSearchParams) {
    for (const [k, v] of query) if (!out.has(k)) out.set(k, v)
    return out
  }
  for (const [k, v] of Object.entries(query)) {
    const first = typeof v === 'string' ? v : v[0]
    if (first !== undefined) out.set(k, first)
  }
  return out
}

/**
 * Checks one string-valued parameter the way JAX-RS converts it: integers, booleans (`true`/`false`),
 * enums and engine date-times. Missing required parameters are reported.
 */
function checkParameter(p: Parameter, raw: string | undefined): string | null {
  if (raw === undefined)
    return p.required === true || p.in === 'path' ? `${p.in}/${p.name} is required` : null
  const schema = p.schema ?? {}
  const type = schema['type']
  if (type === 'integer' && !/^-?\d+$/.test(raw))
    return `${p.in}/${p.name} must be integer, got '${raw}'`
  if (type === 'number' && !Number.isFinite(Number(raw)))
    return `${p.in}/${p.name} must be number, got '${raw}'`
  if (type === 'boolean' && raw !== 'true' && raw !== 'false')
    return `${p.in}/${p.name} must be boolean, got '${raw}'`
  const values = schema['enum']
  if (Array.isArray(values) && !values.map(String).includes(raw)) {
    return `${p.in}/${p.name} must be one of ${values.join(', ')}, got '${raw}'`
  }
  if (schema['format'] === 'date-time' && !ENGINE_DATE_TIME.test(raw)) {
    return `${p.in}/${p.name} must be a date-time, got '${raw}'`
  }
  return null
}

/**
 * Creates a validator for one OpenAPI document (default: the shared Camunda 7.23.0 document).
 *
 * @example
 * ```ts
 * const validator = createOpenApiValidator()
 * const { operationId, errors } = validator.validate({ method: 'GET', path: '/task', query: new URLSearchParams('maxResults=x') })
 * // operationId === 'getTasks', errors[0].location === 'query'
 * ```
 */
export function createOpenApiValidator(
  documentPath: string = defaultOpenApiDocumentPath(),
): OpenApiValidator {
  const doc = loadDocument(documentPath)
  const templates: Template[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    const segments = path.split('/').filter((s) => s !== '')
    for (const [method, operation] of Object.entries(ops)) {
      if (!METHODS.has(method)) continue
      templates.push({
        method: method.toUpperCase(),
        path,
        segments,
        literalCount: segments.filter((s) => !s.startsWith('{')).length,
        operation,
      })
    }
  }
  let strictAjv: Ajv | null = null
  const compiled = new Map<Template, CompiledOperation>()

  const compile = (t: Template): CompiledOperation => {
    const cached = compiled.get(t)
    if (cached !== undefined) return cached
    strictAjv ??= newAjv(doc.components)
    const paramsOf = (where: 'query' | 'path'): readonly Parameter[] =>
      (t.operation.parameters ?? []).filter(
        (p) => p.in === where && p.schema?.['type'] !== 'object',
      )
    const content = t.operation.requestBody?.content ?? {}
    const jsonSchema = content['application/json']?.schema
    const multipartSchema = content['multipart/form-data']?.schema
    const resolveSchema = (
      s: Record<string, unknown> | undefined,
    ): Record<string, unknown> | null => {
      if (s === undefined) return null
      const ref = s['$ref']
      if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
        const schemas = doc.components['schemas'] as Record<string, Record<string, unknown>>
        return schemas[ref.slice('#/components/schemas/'.length)] ?? null
      }
      return s
    }
    const result: CompiledOperation = {
      query: paramsOf('query'),
      path: paramsOf('path'),
      json:
        jsonSchema === undefined
          ? null
          : (strictAjv as Ajv).compile(rewriteRefs(jsonSchema) as object),
      multipart: resolveSchema(multipartSchema),
    }
    compiled.set(t, result)
    return result
  }

  const find = (method: string, segments: readonly string[]) => {
    let best: { t: Template; params: Record<string, string> } | null = null
    for (const t of templates) {
      if (t.method !== method || t.segments.length !== segments.length) continue
      const params: Record<string, string> = {}
      let ok = true
      for (let i = 0; i < segments.length && ok; i++) {
        const ts = t.segments[i] as string
        const s = segments[i] as string
        if (ts.startsWith('{')) params[ts.slice(1, -1)] = s
        else ok = ts === s
      }
      if (ok && (best === null || t.literalCount > best.t.literalCount)) best = { t, params }
    }
    return best
  }

  const validate = (request: OpenApiRequest): OpenApiValidationResult => {
    const method = request.method.toUpperCase() === 'HEAD' ? 'GET' : request.method.toUpperCase()
    let path = request.path.split('?')[0] as string
    if (path === '/engine-rest' || path.startsWith('/engine-rest/'))
      path = path.slice('/engine-rest'.length)
    let segments = path.split('/').filter((s) => s !== '')
    if (segments[0] === 'engine' && segments.length > 2) segments = segments.slice(2)
    const found = find(method, segments)
    if (found === null) {
      return {
        operationId: null,
        template: null,
        errors: [
          {
            location: 'operation',
            message: `${method} ${path} is not an operation of the OpenAPI document`,
          },
        ],
      }
    }
    const { t, params } = found
    const c = compile(t)
    const errors: OpenApiValidationError[] = []
    for (const p of c.path) {
      const problem = checkParameter(p, params[p.name])
      if (problem !== null) errors.push({ location: 'path', message: problem })
    }
    const values = firstQueryValues(request.query)
    for (const p of c.query) {
      const problem = checkParameter(p, values.get(p.name))
      if (problem !== null) errors.push({ location: 'query', message: problem })
    }
    const body = request.body
    const isMultipart =
      body !== null && typeof body === 'object' && (body as { kind?: unknown }).kind === 'multipart'
    const declared = t.operation.requestBody?.content ?? {}
    if (body === undefined) {
      if (t.operation.requestBody?.required === true)
        errors.push({ location: 'body', message: 'a request body is required' })
    } else if (isMultipart) {
      if (c.multipart === null) {
        errors.push({
          location: 'body',
          message: `multipart/form-data is not accepted by ${t.operation.operationId}`,
        })
      } else {
        const fields = (body as { fields: Record<string, readonly string[]> }).fields
        const props = (c.multipart['properties'] ?? {}) as Record<
          string,
          { type?: string; format?: string }
        >
        for (const [name, values] of Object.entries(fields)) {
          const prop = props[name]
          if (prop === undefined) continue
          for (const v of values) {
            if (prop.type === 'boolean' && v !== 'true' && v !== 'false') {
              errors.push({
                location: 'body',
                message: `form field ${name} must be a boolean, got '${v}'`,
              })
            }
            if (prop.format === 'date-time' && !ENGINE_DATE_TIME.test(v)) {
              errors.push({
                location: 'body',
                message: `form field ${name} must be a date-time, got '${v}'`,
              })
            }
          }
        }
      }
    } else if (Object.keys(declared).length === 0) {
      // JAX-RS methods without an entity parameter never read the body; neither does the engine
    } else if (c.json === null) {
      errors.push({
        location: 'body',
        message: `a JSON body is not accepted by ${t.operation.operationId}`,
      })
    } else {
      const ct = headerValue(request.headers, 'content-type')
      if (
        request.headers !== undefined &&
        (ct === undefined || !/^application\/json\b/i.test(ct))
      ) {
        errors.push({
          location: 'header',
          message: `content-type must be application/json, got ${ct ?? 'none'}`,
        })
      }
      if (!c.json(body)) {
        for (const m of describe(c.json.errors, 'body'))
          errors.push({ location: 'body', message: m })
      }
    }
    return { operationId: t.operation.operationId, template: t.path, errors }
  }

  return {
    validate,
    operations: () =>
      templates.map((t) => ({
        method: t.method,
        path: t.path,
        operationId: t.operation.operationId,
      })),
  }
}

const shared = new Map<string, OpenApiValidator>()

/**
 * One validator per document for the whole process, so compiled operations are reused by every
 * simulator a test run starts.
 */
export function sharedOpenApiValidator(
  documentPath: string = defaultOpenApiDocumentPath(),
): OpenApiValidator {
  let v = shared.get(documentPath)
  if (v === undefined) {
    v = createOpenApiValidator(documentPath)
    shared.set(documentPath, v)
  }
  return v
}

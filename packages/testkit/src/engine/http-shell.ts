/**
 * The simulator's HTTP shell, apart from the engine's state: the `/engine-rest` prefix and the
 * engine name, `ProcessEngineAuthenticationFilter`'s Basic authentication, body parsing, OpenAPI
 * validation, routing, faults and the request log. Handlers only ever see a parsed request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { OpenApiValidator } from '../openapi/openapi-validator.js'
import type { AuthContext } from './auth-context.js'
import { UNAUTHENTICATED } from './auth-context.js'
import { EngineError } from './engine-errors.js'
import type { IdentityService } from './identity-service.js'
import { firstValues } from './query-criteria.js'
import type { RequestLog } from './request-log.js'
import { discardBody, readJsonBody, readMultipartBody } from './request-body.js'
import type { Router } from './router.js'
import { splitPath } from './router.js'
import type { Handler, Reply } from './routes/route-types.js'
import type { EngineFault } from './simulator-types.js'

/** What the shell needs from the simulator. */
export interface HttpShellOptions {
  readonly router: Router<Handler>
  readonly identity: IdentityService
  readonly log: RequestLog
  readonly validator: OpenApiValidator | null
  /** Require HTTP Basic on every route but `GET /engine`. */
  readonly authentication: boolean
  readonly fault: () => EngineFault
  /** `http://127.0.0.1:<port>/engine-rest`, known once the server listens. */
  readonly baseUrl: () => string
}

const JSON_TYPE = 'application/json'

/** JAX-RS's own answers, outside any engine resource. */
const JAXRS_NOT_FOUND: Reply = {
  status: 404,
  body: { type: 'NotFoundException', message: 'HTTP 404 Not Found', code: null },
}
const JAXRS_NOT_ALLOWED: Reply = {
  status: 405,
  body: { type: 'NotAllowedException', message: 'HTTP 405 Method Not Allowed', code: null },
}
const JAXRS_UNSUPPORTED_MEDIA_TYPE: Reply = {
  status: 415,
  body: { type: 'NotSupportedException', message: 'HTTP 415 Unsupported Media Type', code: null },
}

/** The `node:http` request listener of the simulator. */
export function createHttpShell(
  options: HttpShellOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(options, req, res).catch((err: unknown) => {
      send(res, errorReply(err))
    })
  }
}

async function handle(
  o: HttpShellOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase()
  const url = new URL(req.url ?? '/', 'http://simulator')
  const query = firstValues(url.searchParams)
  let user: string | null = null
  let auth: AuthContext = UNAUTHENTICATED
  let body: unknown
  let operationId: string | null = null
  let innerPath = url.pathname
  const record = (status: number): void => {
    o.log.record(
      {
        method,
        path: innerPath,
        rawPath: url.pathname,
        searchParams: url.searchParams,
        headers: req.headers,
        user,
        auth,
        body,
        operationId,
      },
      status,
    )
  }
  const reply = (r: Reply, headers?: Record<string, string>): void => {
    record(r.status)
    send(res, r, headers)
  }
  const onBytes = (bytes: number): void => {
    o.log.stats.bodyBytesReceived += bytes
  }
  /** Answers without reading the request body. */
  const refuse = async (r: Reply, headers?: Record<string, string>): Promise<void> => {
    await discardBody(req, onBytes)
    reply(r, headers)
  }

  const anyFault = o.fault()
  // a fault with a `path` hits only the requests below `/engine-rest<path>`
  const fault =
    anyFault?.path === undefined || url.pathname.startsWith(`/engine-rest${anyFault.path}`)
      ? anyFault
      : null
  if (fault?.kind === 'down') {
    req.socket.destroy()
    return
  }
  if (fault?.kind === 'stall') {
    // half an answer, then silence: only the client's departure ends this exchange
    const status = fault.status ?? 200
    res.on('close', () => record(status))
    res.writeHead(status, { 'Content-Type': fault.contentType ?? JSON_TYPE })
    res.write(fault.body)
    return
  }
  if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms))
  if (fault?.kind === 'status') {
    return refuse({
      status: fault.status,
      body: { type: 'ServiceUnavailable', message: 'Simulated engine fault' },
    })
  }

  if (url.pathname !== '/engine-rest' && !url.pathname.startsWith('/engine-rest/')) {
    return refuse(JAXRS_NOT_FOUND)
  }
  let segments: string[]
  try {
    segments = splitPath(url.pathname.slice('/engine-rest'.length)).map((s) =>
      decodeURIComponent(s),
    )
  } catch {
    return refuse(JAXRS_NOT_FOUND)
  }
  // ProcessEngineAuthenticationFilter: `/engine` lists engines without authentication
  if (segments[0] === 'engine' && segments.length === 1) {
    innerPath = '/engine'
    if (method !== 'GET') return refuse(JAXRS_NOT_ALLOWED)
    operationId = 'getProcessEngineNames'
    return refuse({ status: 200, body: [{ name: 'default' }] })
  }
  if (segments[0] === 'engine') {
    const engineName = segments[1] as string
    if (engineName !== 'default') {
      return refuse({
        status: 404,
        body: {
          type: 'InvalidRequestException',
          message: `Process engine ${engineName} not available`,
          code: null,
        },
      })
    }
    segments = segments.slice(2)
  }
  innerPath = '/' + segments.join('/')

  if (o.authentication) {
    const credentials = basicCredentials(req.headers.authorization)
    if (credentials === null || !o.identity.checkPassword(credentials.user, credentials.password)) {
      o.log.stats.authFailures += 1
      return refuse({ status: 401 }, { 'WWW-Authenticate': 'Basic realm="default"' })
    }
    user = credentials.user
    auth = o.identity.authenticate(credentials.user)
  }

  try {
    const contentType = (req.headers['content-type'] ?? '').toLowerCase()
    if (contentType.startsWith('multipart/form-data')) body = await readMultipartBody(req, onBytes)
    else if (contentType === '' || contentType.startsWith('application/json'))
      body = await readJsonBody(req, onBytes)
    else {
      await discardBody(req, onBytes)
      if (
        Number(req.headers['content-length'] ?? '0') > 0 ||
        req.headers['transfer-encoding'] !== undefined
      ) {
        return reply(JAXRS_UNSUPPORTED_MEDIA_TYPE)
      }
    }
  } catch (err) {
    return reply(errorReply(err))
  }

  const { match, methodMismatch } = o.router.match(method, segments)
  if (o.validator !== null) {
    const result = o.validator.validate({
      method,
      path: innerPath,
      query: url.searchParams,
      headers: req.headers,
      body,
    })
    operationId = result.operationId
    if (result.errors.length > 0) {
      o.log.validationErrors.push({
        method,
        path: innerPath,
        operationId: result.operationId,
        errors: result.errors,
      })
      if (result.operationId !== null) {
        return reply({
          status: 400,
          body: {
            type: 'C7AuthSimulatorInvalidRequest',
            code: 'C7AUTH_SIM_INVALID_REQUEST',
            message: `Request violates the Camunda OpenAPI (${result.operationId}): ${result.errors.map((e) => e.message).join('; ')}`,
          },
        })
      }
    }
  }
  if (match === null) {
    if (methodMismatch) return reply(JAXRS_NOT_ALLOWED)
    if (operationId !== null) {
      return reply({
        status: 501,
        body: {
          type: 'C7AuthSimulatorNotImplemented',
          code: 'C7AUTH_SIM_NOT_IMPLEMENTED',
          message: `The simulator does not implement ${operationId}`,
        },
      })
    }
    return reply(JAXRS_NOT_FOUND)
  }
  o.log.routed(method, match.template)

  const abort = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) abort.abort()
  })
  let result: Reply
  try {
    result = await match.handler({
      params: match.params,
      query,
      body,
      auth,
      baseUrl: o.baseUrl(),
      req,
      signal: abort.signal,
    })
  } catch (err) {
    result = errorReply(err)
  }
  reply(result)
}

/** Parses `Authorization: Basic …` like `HttpBasicAuthenticationProvider` (split at the first `:`). */
function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  // the provider matches the prefix case-sensitively: `authorizationHeader.startsWith("Basic ")`
  if (header === undefined || !header.startsWith('Basic ')) return null
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return null
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) }
}

function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  if (reply.raw !== undefined) {
    res.writeHead(reply.status, {
      'Content-Type': reply.contentType ?? 'application/octet-stream',
      'Content-Length': reply.raw.length,
      ...extraHeaders,
    })
    res.end(reply.raw)
    return
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status, extraHeaders)
    res.end()
    return
  }
  const payload = Buffer.from(JSON.stringify(reply.body), 'utf8')
  res.writeHead(reply.status, {
    'Content-Type': JSON_TYPE,
    'Content-Length': payload.length,
    ...extraHeaders,
  })
  res.end(payload)
}

function errorReply(err: unknown): Reply {
  if (err instanceof EngineError) return { status: err.status, body: err.toJSON() }
  return {
    status: 500,
    body: {
      type: 'ProcessEngineException',
      message: `Simulator failure: ${(err as Error)?.message ?? String(err)}`,
      code: 0,
    },
  }
}

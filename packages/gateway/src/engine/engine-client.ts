import { Pool, errors as undiciErrors } from 'undici'
import type { Dispatcher } from 'undici'
import { C7AuthError, DEFAULT_ENGINE_CONNECTIONS, UpstreamError } from '@c7auth/core'

/** Where engine-rest lives: the undici pool for its origin and its base path. */
export interface EngineEndpoint {
  readonly dispatcher: Dispatcher
  readonly origin: string
  /** Base path without trailing slash, e.g. `/engine-rest`. */
  readonly basePath: string
  /** `origin + basePath`, the prefix of absolute engine links. */
  readonly baseUrl: string
}

/** Options of {@link createEngineEndpoint}. */
export interface EngineEndpointOptions {
  /** Max keep-alive connections to the engine. Default: `DEFAULT_ENGINE_CONNECTIONS` (64), as `C7AUTH_ENGINE_CONNECTIONS`. */
  connections?: number
  /** Idle keep-alive time, ms. Default 10 000: below Tomcat's 20 s, so the engine never closes a socket the pool is about to reuse. */
  keepAliveTimeoutMs?: number
  /** Connect timeout, ms. Default: 5 000. */
  connectTimeoutMs?: number
}

/** Creates the keep-alive pool for engine-rest at `url`. */
export function createEngineEndpoint(
  url: string,
  options: EngineEndpointOptions = {},
): EngineEndpoint {
  const parsed = new URL(url)
  const basePath = parsed.pathname.replace(/\/+$/, '')
  const dispatcher = new Pool(parsed.origin, {
    connections: options.connections ?? DEFAULT_ENGINE_CONNECTIONS,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    connect: { timeout: options.connectTimeoutMs ?? 5_000 },
    pipelining: 1,
  })
  return { dispatcher, origin: parsed.origin, basePath, baseUrl: parsed.origin + basePath }
}

/** Maps an undici failure to 502 / 504. */
export function upstreamFailure(err: unknown): UpstreamError {
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new UpstreamError('C7AUTH_UPSTREAM_TIMEOUT', { cause: err })
  }
  return new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
    cause: err,
    detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  })
}

/** Result of a JSON call. */
export interface JsonResult {
  readonly status: number
  readonly body: unknown
}

/** Basic `Authorization` header value. Ids and passwords are ASCII (engine decodes platform bytes). */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
}

/**
 * One small JSON call to engine-rest (identity provisioning, bootstrap, owner lookups). Never
 * throws for an HTTP status; throws `UpstreamError` when the engine cannot be reached.
 */
export async function engineJson(
  endpoint: EngineEndpoint,
  method: Dispatcher.HttpMethod,
  path: string,
  options: {
    authorization?: string | undefined
    headers?: Record<string, string>
    body?: unknown
    timeoutMs: number
  },
): Promise<JsonResult> {
  const headers: Record<string, string> = { ...options.headers, accept: 'application/json' }
  if (options.authorization) headers.authorization = options.authorization
  let payload: string | undefined
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body)
    headers['content-type'] = 'application/json'
  }
  try {
    const res = await endpoint.dispatcher.request({
      path: endpoint.basePath + path,
      method,
      headers,
      body: payload ?? null,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    })
    const text = await res.body.text()
    let body: unknown = undefined
    if (text.length > 0) {
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
    }
    return { status: res.statusCode, body }
  } catch (err) {
    throw upstreamFailure(err)
  }
}

/** A guarded admin call: counted, and disabled for good after the engine rejects the password once. */
export interface AdminClient {
  call(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<JsonResult>
  /** Calls made so far. */
  readonly calls: number
  /** True once the engine answered 401 to the admin credentials. */
  readonly rejected: boolean
}

/**
 * Creates the admin client. A 401 is never retried: ten failed checks lock an engine account for
 * good, and the admin account must never be locked by the gateway.
 */
export function createAdminClient(options: {
  endpoint: EngineEndpoint
  user: string
  password: string
  timeoutMs: number
  onCall?:
    ((event: { method: string; path: string; status: number | undefined }) => void) | undefined
  onRejected?: (() => void) | undefined
}): AdminClient {
  const authorization = basicAuth(options.user, options.password)
  let calls = 0
  let rejected = false
  return {
    async call(method, path, body) {
      if (rejected) {
        throw new C7AuthError('C7AUTH_BRIDGE_FAILED', {
          detail: 'the engine rejected the admin credentials earlier; not retrying',
        })
      }
      calls++
      let result: JsonResult | undefined
      try {
        result = await engineJson(options.endpoint, method, path, {
          authorization,
          body,
          timeoutMs: options.timeoutMs,
        })
        return result
      } finally {
        options.onCall?.({ method, path, status: result?.status })
        if (result?.status === 401) {
          rejected = true
          options.onRejected?.()
        }
      }
    },
    get calls() {
      return calls
    },
    get rejected() {
      return rejected
    },
  }
}

import type {
  AfterResponseHook,
  BeforeRequestHook,
  EngineRequestHookOptions,
  EngineResponse,
  Interceptor,
} from 'camunda-external-task-client-js'
import { createTokenClient } from '@c7auth/core'
import type { TokenClientOptions, TokenRequestParams, TokenSource } from '@c7auth/core'
import { emitTo } from './worker-events.js'
import type { WorkerEvent, WorkerEventListener } from './worker-events.js'

/** Options of {@link bearerAuthInterceptor}. */
export interface BearerAuthOptions {
  /** Token request parameters for engine calls. Default: the token source's own defaults. */
  params?: TokenRequestParams
  /** Receives token and 401 events (a metrics hook). */
  onEvent?: WorkerEventListener
  /** Tenant label put on events. */
  tenant?: string
}

/** An {@link Interceptor} whose token events can also be observed (by {@link c7authMiddleware}). */
export interface BearerAuthInterceptor extends Interceptor {
  /** Adds an event listener; returns a function that removes it. */
  listen(listener: WorkerEventListener): () => void
  /**
   * Stops the token client's refresh timer when the interceptor made it (from options); a token
   * source you passed in stays yours to close.
   */
  close(): void
}

/** Keys this interceptor keeps in got's per-request `context`. */
const TOKEN_KEY = 'c7authToken'
const RETRIED_KEY = 'c7authRetried'

/**
 * A `camunda-external-task-client-js` interceptor that authenticates every engine call with
 * `Authorization: Bearer <token>`: give it the OAuth client's settings (it makes the core token
 * client) or a {@link TokenSource} you already have.
 *
 * It appends a got `beforeRequest` hook (fetching the token asynchronously, since interceptors
 * themselves are synchronous) and an `afterResponse` hook, keeping every hook other interceptors
 * added. On a 401 it invalidates exactly the token that was refused and retries the call once with a
 * fresh one; a second 401 is returned to the client as an engine error. It also accepts a JSON
 * `Content-Type` with parameters (`application/json; charset=utf-8`), which the client would
 * otherwise not parse.
 *
 * @example
 * ```ts
 * import { Client } from 'camunda-external-task-client-js'
 * import { bearerAuthInterceptor } from '@c7auth/worker'
 *
 * const auth = bearerAuthInterceptor({ issuer, clientId, clientSecret })
 * const client = new Client({ baseUrl: 'https://gateway.example.com/engine-rest', interceptors: [auth] })
 * process.once('SIGTERM', () => { client.stop(); auth.close() })
 * ```
 */
export function bearerAuthInterceptor(
  source: TokenSource | TokenClientOptions,
  options: BearerAuthOptions = {},
): BearerAuthInterceptor {
  const owned = !isTokenSource(source)
  const tokenSource = isTokenSource(source) ? source : createTokenClient(source)
  const listeners = new Set<WorkerEventListener>()
  if (options.onEvent) listeners.add(options.onEvent)
  const label = options.tenant === undefined ? {} : { tenant: options.tenant }
  const emit = (event: WorkerEvent): void => emitTo(listeners, event)
  const { params } = options
  let lastToken: string | undefined

  const getToken = async (): Promise<string> => {
    let token: string
    try {
      token = await (params ? tokenSource.getToken(params) : tokenSource.getToken())
    } catch (error) {
      emit({ type: 'token:failed', ...label, target: 'engine', error })
      throw error
    }
    if (token !== lastToken) {
      emit({
        type: 'token:acquired',
        ...label,
        refreshed: lastToken !== undefined,
        target: 'engine',
      })
      lastToken = token
    }
    return token
  }

  const beforeRequest: BeforeRequestHook = async (request: EngineRequestHookOptions) => {
    const token = await getToken()
    request.headers.authorization = `Bearer ${token}`
    request.context[TOKEN_KEY] = token
  }

  const afterResponse: AfterResponseHook = async (response: EngineResponse, retry) => {
    normalizeJsonContentType(response)
    if (response.statusCode !== 401) return response
    const context = response.request.options.context
    if (context[RETRIED_KEY] === true) {
      emit({ type: 'engine:unauthorized', ...label, retrying: false })
      return response
    }
    const refused = context[TOKEN_KEY]
    if (typeof refused === 'string') tokenSource.invalidate(refused)
    emit({ type: 'engine:unauthorized', ...label, retrying: true })
    const fresh = await getToken()
    return retry({
      headers: { authorization: `Bearer ${fresh}` },
      context: { [RETRIED_KEY]: true, [TOKEN_KEY]: fresh },
      // Keep this hook (and later ones) for the retried response, so a second 401 is seen.
      preserveHooks: true,
    })
  }

  const interceptor: Interceptor = (config) => {
    const hooks = config.hooks ?? {}
    const before = hooks.beforeRequest ?? []
    const after = hooks.afterResponse ?? []
    return {
      ...config,
      hooks: {
        ...hooks,
        beforeRequest: before.includes(beforeRequest) ? before : [...before, beforeRequest],
        afterResponse: after.includes(afterResponse) ? after : [...after, afterResponse],
      },
    }
  }

  return Object.assign(interceptor, {
    listen(listener: WorkerEventListener): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close(): void {
      if (owned) tokenSource.close()
    },
  })
}

function isTokenSource(source: TokenSource | TokenClientOptions): source is TokenSource {
  return typeof (source as Partial<TokenSource>).getToken === 'function'
}

/**
 * The client parses a body only when `Content-Type` is exactly `application/json`; proxies and
 * frameworks add `; charset=utf-8`, and the client would then iterate a Buffer's bytes as tasks.
 */
const JSON_UTF8 = /^application\/json\s*;\s*charset="?utf-8"?\s*$/i

function normalizeJsonContentType(response: EngineResponse): void {
  const type = response.headers['content-type']
  if (typeof type === 'string' && JSON_UTF8.test(type)) {
    response.headers['content-type'] = 'application/json'
  }
}

import { describe, expect, it } from 'vitest'
import type { EngineRequestOptions, Interceptor } from 'camunda-external-task-client-js'
import { createTokenClient } from '@c7auth/core'
import { bearerAuthInterceptor } from './bearer-auth-interceptor.js'

// Requests with the real client, the gateway and the engine simulator: test/e2e/worker-interceptor.test.ts.
describe('bearerAuthInterceptor', () => {
  it('appends its hooks once, after other interceptors’ hooks, without touching the options given', () => {
    const noop = (): void => undefined
    const keep = <T>(response: T): T => response
    const earlier: Interceptor = (config) => ({
      ...config,
      hooks: {
        ...config.hooks,
        beforeRequest: [...(config.hooks?.beforeRequest ?? []), noop],
        afterResponse: [...(config.hooks?.afterResponse ?? []), keep],
      },
    })
    // Composing hooks asks for no token: the token client is never used here.
    const tokens = createTokenClient({
      tokenEndpoint: 'http://127.0.0.1:9/token',
      clientId: 'unused',
      clientSecret: 'unused',
    })
    const auth = bearerAuthInterceptor(tokens)
    const base: EngineRequestOptions = { method: 'POST' }
    const combined = auth(earlier(base))
    expect(combined.hooks?.beforeRequest).toHaveLength(2)
    expect(combined.hooks?.afterResponse).toHaveLength(2)
    expect(combined.hooks?.beforeRequest?.[0]).toBe(noop)
    expect(combined.hooks?.afterResponse?.[0]).toBe(keep)
    // Applying it twice does not add its hooks twice.
    expect(auth(combined).hooks?.beforeRequest).toHaveLength(2)
    expect(auth(combined).hooks?.afterResponse).toHaveLength(2)
    expect(base.hooks).toBeUndefined()
    tokens.close()
  })
})

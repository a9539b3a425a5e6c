/**
 * Checks the shipped `camunda-external-task-client-js` declarations against the real 3.1 module:
 * every declared runtime export exists with the declared shape, and wrong usage does not compile
 * (the `@ts-expect-error` lines fail the typecheck if the types were too loose).
 */
import { describe, expect, it } from 'vitest'
import * as etc from 'camunda-external-task-client-js'
import {
  BasicAuthInterceptor,
  Client,
  File,
  KeycloakAuthInterceptor,
  Variables,
  logger,
} from 'camunda-external-task-client-js'
import type { EngineRequestOptions, SubscribeOptions } from 'camunda-external-task-client-js'

describe('external-task-client.d.ts', () => {
  it('declares exactly the module’s runtime exports', () => {
    expect(Object.keys(etc).sort()).toEqual(
      [
        'BasicAuthInterceptor',
        'Client',
        'File',
        'KeycloakAuthInterceptor',
        'Variables',
        'logger',
      ].sort(),
    )
    expect(Client.SortBy).toEqual({ CreateTime: 'createTime' })
    expect(Client.SortOrder).toEqual({ ASC: 'asc', DESC: 'desc' })
    expect(typeof logger.level('debug')).toBe('function')
    expect(typeof File).toBe('function')
    expect(typeof KeycloakAuthInterceptor).toBe('function')
  })

  it('types the parts c7auth relies on as they behave', () => {
    const basic = new BasicAuthInterceptor({ username: 'u', password: 'p' })
    const options: EngineRequestOptions = basic({ method: 'POST', headers: { x: '1' } })
    expect(options.headers).toEqual({ x: '1', Authorization: 'Basic dTpw' })

    const variables = new Variables().set('amount', 42)
    expect(variables.get('amount')).toBe(42)
    expect(variables.getDirtyVariables()).toEqual({
      amount: { type: 'integer', value: 42, valueInfo: {} },
    })

    const client = new Client({ baseUrl: 'http://127.0.0.1:1/engine-rest', autoPoll: false })
    expect(client.options.workerId).toBe('some-random-id')
    const subscription = client.subscribe('t', { tenantIdIn: ['a'] }, () => undefined)
    expect(subscription.tenantIdIn).toEqual(['a'])
    subscription.unsubscribe()

    // @ts-expect-error tenantIdIn must be an array (the REST DTO takes a list)
    const wrong: SubscribeOptions = { tenantIdIn: 'a' }
    void wrong // the check is the compiler's (@ts-expect-error above), not a runtime one
    // @ts-expect-error an interceptor must return the options synchronously
    const asyncInterceptor: etc.Interceptor = async (o: EngineRequestOptions) => o
    void asyncInterceptor // the check is the compiler's (@ts-expect-error above), not a runtime one
    // @ts-expect-error baseUrl is required
    expect(() => new Client({})).toThrow()
  })
})

import { describe, expect, it } from 'vitest'
import { parseActingUser } from '@c7auth/core'
import { actingUserPatch, actingUserValue } from './acting-user.js'
import { principalOf, codeOf } from './__tests__/support.js'

const V = 'actingUser'
const alice = principalOf(['t1'], { userId: 'alice', clientId: 'web' })

describe('actingUserPatch', () => {
  it('injects a String variable holding the caller as JSON, readable by parseActingUser', () => {
    const out = actingUserPatch(undefined, alice, V, 'inject')
    const value = (out.variables as Record<string, { value: string; type: string }>)[V]
    expect(value?.type).toBe('String')
    expect(JSON.parse(value?.value ?? '')).toEqual({
      userId: 'alice',
      kind: 'user',
      clientId: 'web',
    })
    expect(parseActingUser(value?.value)).toEqual({
      userId: 'alice',
      kind: 'user',
      clientId: 'web',
    })
  })

  it('omits clientId when the principal has none', () => {
    const app = principalOf(['t1'], { kind: 'app', userId: 'svc', clientId: undefined })
    expect(JSON.parse(actingUserValue(app).value)).toEqual({ userId: 'svc', kind: 'app' })
  })

  it('drops client values under the name everywhere variables are set, keeping the rest', () => {
    const body = {
      businessKey: 'b',
      variables: { [V]: { value: 'forged' }, a: { value: 1 } },
      localVariables: { [V]: { value: 'forged' } },
      modifications: { [V]: { value: 'forged' }, b: { value: 2 } },
      deletions: [V, 'c'],
      processVariables: { [V]: {} },
      processVariablesLocal: { [V]: {} },
      processVariablesToTriggeredScope: { [V]: {} },
      startInstructions: [{ type: 'startBeforeActivity', variables: { [V]: {}, d: {} } }],
      instructions: [{ type: 'startAfterActivity', variables: { [V]: {} } }, 'odd'],
    }
    expect(actingUserPatch(body, alice, V, 'strip')).toEqual({
      businessKey: 'b',
      variables: { a: { value: 1 } },
      localVariables: {},
      modifications: { b: { value: 2 } },
      deletions: ['c'],
      processVariables: {},
      processVariablesLocal: {},
      processVariablesToTriggeredScope: {},
      startInstructions: [{ type: 'startBeforeActivity', variables: { d: {} } }],
      instructions: [{ type: 'startAfterActivity', variables: {} }, 'odd'],
    })
    expect(body.variables[V]).toEqual({ value: 'forged' })
  })

  it('matches the variable name exactly (engine names are case-sensitive)', () => {
    const out = actingUserPatch({ variables: { ActingUser: { value: 1 } } }, alice, V, 'strip')
    expect(out.variables).toEqual({ ActingUser: { value: 1 } })
  })

  it('keeps JSON-parsed "__proto__" keys as plain data', () => {
    const body = JSON.parse('{"variables":{"__proto__":{"value":1},"actingUser":{"value":2}}}')
    const out = actingUserPatch(body, alice, V, 'strip')
    const vars = out.variables as Record<string, unknown>
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype)
    expect(Object.keys(vars)).toEqual(['__proto__'])
  })

  it('refuses bodies that are not JSON objects', () => {
    expect(codeOf(() => actingUserPatch([], alice, V, 'inject'))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => actingUserPatch('x', alice, V, 'strip'))).toBe('C7AUTH_BODY_INVALID')
    expect(codeOf(() => actingUserPatch({ variables: [] }, alice, V, 'inject'))).toBe(
      'C7AUTH_BODY_INVALID',
    )
  })
})

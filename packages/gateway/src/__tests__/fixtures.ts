/**
 * Fixtures shared by the gateway's own tests and the end-to-end tests in `test/e2e` (which import
 * this file by its path, like `internal.ts`): the test caller and the cleanup stack.
 */
import { afterEach } from 'vitest'
import type { Principal } from '@c7auth/core'

/**
 * The app `appA` (client `app-a`) of tenant `tenantA`, without groups, scopes or admin rights,
 * valid for five minutes; `over` replaces any field.
 *
 * @example
 * ```ts
 * const alice = testPrincipal({ kind: 'user', userId: 'alice', groupIds: ['billing'] })
 * ```
 */
export function testPrincipal(over: Partial<Principal> = {}): Principal {
  return {
    kind: 'app',
    userId: 'appA',
    groupIds: [],
    tenantIds: ['tenantA'],
    clientId: 'app-a',
    issuer: 'http://127.0.0.1/idp',
    subject: 'app-a',
    scopes: [],
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    admin: false,
    ...over,
  }
}

/** Something a test started and must stop: a server, a simulator, a dispatcher. */
export type Closer = () => Promise<unknown> | unknown

/**
 * The cleanup stack of a test file: push a closer for everything a test starts; after each test
 * they run newest first, each awaited, and the stack is empty again. Call once, at the top level.
 */
export function useClosers(): Closer[] {
  const closers: Closer[] = []
  afterEach(async () => {
    while (closers.length) await closers.pop()!()
  })
  return closers
}

/**
 * Shared pieces of the adapter idiom tests (`gateway-auth-express.test.ts`,
 * `gateway-auth-koa.test.ts`, `gateway-auth-passport.test.ts`): a real testkit IdP with a client
 * that maps to no tenant, and a listener on port 0.
 */
import { createServer } from 'node:http'
import type { RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { requestToken } from '@c7auth/testkit'
import type { TestIdp } from '@c7auth/testkit'

/** Serves a request listener on 127.0.0.1:0; returns its base URL and a closer. */
export async function listen(
  handler: RequestListener,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** A client-credentials token of `clientId` (whose secret is `<clientId>-secret`). */
export async function clientToken(idp: TestIdp, clientId: string): Promise<string> {
  const res = await requestToken(
    idp.tokenEndpoint,
    { grant_type: 'client_credentials', scope: 'engine:read' },
    { basic: { clientId, clientSecret: `${clientId}-secret` } },
  )
  if (res.status !== 200) throw new Error(`token request failed: ${res.status}`)
  return res.body.access_token as string
}

/**
 * A real token source (the core token client at the testkit IdP) with a record of how the worker
 * used it: which parameters it asked for, which tokens it got, which it invalidated. Tokens are
 * only compared, never printed.
 */
import type { TokenRequestParams, TokenSource } from '@c7auth/core'

/** A {@link TokenSource} that passes every call on and records it. */
export interface RecordedTokenSource extends TokenSource {
  /** Parameters of every `getToken` call, in order (`undefined`: the source's defaults). */
  readonly requests: Array<TokenRequestParams | undefined>
  /** Every distinct token handed out, in the order it was first handed out. */
  readonly issued: string[]
  /** Every token passed to `invalidate`, in order. */
  readonly invalidated: string[]
  /** How often `close` was called. */
  readonly closed: number
}

/**
 * Wraps `source`, recording its use.
 *
 * @example
 * ```ts
 * const tokens = recordTokens(createTokenClient({ issuer, clientId, clientSecret }))
 * const auth = bearerAuthInterceptor(tokens)
 * // … later: expect(tokens.invalidated).toEqual([tokens.issued[0]])
 * ```
 */
export function recordTokens(source: TokenSource): RecordedTokenSource {
  const requests: Array<TokenRequestParams | undefined> = []
  const issued: string[] = []
  const invalidated: string[] = []
  let closed = 0
  return {
    requests,
    issued,
    invalidated,
    get closed() {
      return closed
    },
    async getToken(params?: TokenRequestParams): Promise<string> {
      requests.push(params)
      const token = await (params === undefined ? source.getToken() : source.getToken(params))
      if (!issued.includes(token)) issued.push(token)
      return token
    },
    invalidate(token: string): void {
      invalidated.push(token)
      source.invalidate(token)
    },
    close(): void {
      closed++
      source.close()
    },
  }
}

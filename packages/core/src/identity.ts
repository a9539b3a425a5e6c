/** Who a verified caller is, as the gateway's policy, bridge and audit see it. Never holds a token. */
export interface Principal {
  /** An app (client credentials) or a human user. */
  readonly kind: 'app' | 'user'
  /** The Camunda user id; already matches the engine's id pattern. */
  readonly userId: string
  /** Camunda group ids, already mapped and filtered. */
  readonly groupIds: readonly string[]
  /** Camunda tenant ids the caller may act in; never empty for a non-admin principal. */
  readonly tenantIds: readonly string[]
  /** The OAuth client the token was issued to (`azp`, `client_id`, `appid`, `cid`). */
  readonly clientId: string | undefined
  /** The token's `iss`. */
  readonly issuer: string
  /** The token's `sub`. */
  readonly subject: string
  /** Granted scopes. */
  readonly scopes: readonly string[]
  /** Token expiry, epoch seconds. */
  readonly expiresAt: number
  /** True when the principal is a gateway administrator (identity and authorization resources). */
  readonly admin: boolean
}

/**
 * The acting-user contract: the gateway stores this (JSON) in a process variable whenever a process
 * is started or a user task is completed through it; workers read it to attribute downstream calls.
 */
export interface ActingUser {
  readonly userId: string
  readonly kind: 'app' | 'user'
  readonly clientId?: string | undefined
}

/** Default name of the acting-user process variable. */
export const DEFAULT_ACTING_USER_VARIABLE = 'c7authActingUser'

/** Parses the acting-user variable's value (a JSON string or object); `undefined` when absent or malformed. */
export function parseActingUser(value: unknown): ActingUser | undefined {
  let v = value
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch {
      return undefined
    }
  }
  if (typeof v !== 'object' || v === null) return undefined
  const o = v as Record<string, unknown>
  if (typeof o.userId !== 'string' || (o.kind !== 'app' && o.kind !== 'user')) return undefined
  return {
    userId: o.userId,
    kind: o.kind,
    clientId: typeof o.clientId === 'string' ? o.clientId : undefined,
  }
}

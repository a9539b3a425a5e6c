import type { TokenEndpointResponse } from 'openid-client'
import type { StoredToken } from './token-store.js'

/** The timing settings of a token client, in ms (see `TokenClientOptions` for their meaning). */
export interface TimingSettings {
  readonly earlyMs: number
  readonly minValidityMs: number
  readonly minDelayMs: number
  readonly maxDelayMs: number
}

/**
 * When a cached token is refreshed and until when it is handed out, and how long to back off
 * after failures: the clock arithmetic of the token lifecycle, apart from its state.
 */
export class TokenTiming {
  constructor(
    private readonly settings: TimingSettings,
    private readonly random: () => number,
  ) {}

  /** Epoch ms at which a background refresh of `token` is due. */
  refreshAt(token: StoredToken): number {
    const lifetime = token.expiresAt - token.obtainedAt
    const lead = Math.min(Math.max(this.settings.earlyMs, lifetime * 0.1), lifetime / 2)
    return token.expiresAt - lead
  }

  /** Epoch ms until which `token` may be handed out (it must stay valid a little longer). */
  usableUntil(token: StoredToken): number {
    const lifetime = token.expiresAt - token.obtainedAt
    return token.expiresAt - Math.min(this.settings.minValidityMs, lifetime / 4)
  }

  /** Delay before the next attempt after `failures` failures: exponential, with jitter. */
  backoff(failures: number): number {
    const { minDelayMs, maxDelayMs } = this.settings
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(failures - 1, 30))
    return Math.round(base * (0.5 + this.random() * 0.5))
  }
}

/**
 * When a token stops being valid (epoch ms): from `expires_in` (opaque tokens work), else the JWT
 * `exp` read without verification, else `started + defaultTtlMs` (0 = not cacheable).
 */
export function expiresAtOf(
  response: Pick<TokenEndpointResponse, 'access_token' | 'expires_in'>,
  started: number,
  defaultTtlMs: number,
): number {
  if (typeof response.expires_in === 'number' && response.expires_in > 0) {
    return started + response.expires_in * 1000
  }
  const exp = jwtExp(response.access_token)
  return exp !== undefined ? exp * 1000 : started + defaultTtlMs
}

/** `exp` of a JWT-shaped token, read without verification (only to time the cache). */
export function jwtExp(token: string): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown
    const exp = (payload as { exp?: unknown } | null)?.exp
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined
  } catch {
    return undefined
  }
}

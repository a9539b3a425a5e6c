/** The doctor's report vocabulary, shared by its check groups. */

/** Outcome of one doctor check. */
export type CheckStatus = 'ok' | 'warn' | 'fail'

/** One line of the doctor's report. Never carries a token, secret or claim set. */
export interface CheckResult {
  /** Stable id, e.g. `idp.discovery`, `token:acme`, `engine.basic-auth`. */
  readonly id: string
  readonly status: CheckStatus
  /** What was seen (no secrets). */
  readonly detail: string
  /** How to fix it (warn/fail only). */
  readonly fix?: string
}

/** `fetch` with the doctor's timeout and no redirects. */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>

// Error messages of fetch/undici never hold a secret; cut them so a stack never ends up in a report.
export function errorText(err: unknown): string {
  const e = err as { message?: unknown; cause?: { code?: unknown } }
  const code = typeof e.cause?.code === 'string' ? `${e.cause.code}: ` : ''
  return `${code}${typeof e.message === 'string' ? e.message.slice(0, 200) : 'error'}`
}

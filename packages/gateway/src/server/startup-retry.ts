import { isC7AuthError } from '@c7auth/core'

/** Failures worth waiting out at startup: the engine (or an IdP) is not reachable yet. */
const TRANSIENT = new Set(['C7AUTH_UPSTREAM_UNAVAILABLE', 'C7AUTH_UPSTREAM_TIMEOUT'])

/** Options of {@link startWithRetry}. */
export interface StartupRetryOptions {
  /** Give up after this long (default 120 000 ms). */
  readonly maxWaitMs?: number
  /** First delay (default 1000 ms), doubled up to {@link maxDelayMs}. */
  readonly initialDelayMs?: number
  /** Longest delay between attempts (default 10 000 ms). */
  readonly maxDelayMs?: number
  /** Called before each wait, e.g. to log. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void
}

/**
 * Runs `start` until it succeeds, retrying only while it fails because the engine is unreachable
 * (`C7AUTH_UPSTREAM_UNAVAILABLE`/`_TIMEOUT`), e.g. when containers start together. Any other
 * failure (wrong admin password, bad configuration) is thrown at once: retrying those could lock
 * the engine's admin account.
 *
 * @example
 * ```ts
 * const server = await startWithRetry(() => createGatewayServer({ config }), {
 *   onRetry: ({ delayMs }) => logger.warn({ delayMs }, 'engine not reachable yet'),
 * })
 * ```
 */
export async function startWithRetry<T>(
  start: () => Promise<T>,
  options: StartupRetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.maxWaitMs ?? 120_000)
  let delay = options.initialDelayMs ?? 1_000
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (error) {
      const transient = isC7AuthError(error) && TRANSIENT.has(error.code)
      if (!transient || Date.now() + delay > deadline) throw error
      options.onRetry?.({ attempt, delayMs: delay, error })
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, options.maxDelayMs ?? 10_000)
    }
  }
}

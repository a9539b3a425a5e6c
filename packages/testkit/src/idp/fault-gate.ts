import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FaultOptions, FaultPath, IdpFault } from './types.js'

const ALL_PATHS: readonly FaultPath[] = ['token', 'jwks', 'discovery']

const DEFAULT_ERROR: Record<number, string> = {
  429: 'slow_down',
  503: 'temporarily_unavailable',
}

/**
 * Holds the injected fault and answers matching requests in place of the IdP. Delayed requests are
 * passed on later; hung ones are only released by dropping their connection.
 */
export class FaultGate {
  #fault: IdpFault | null = null
  #paths: ReadonlySet<FaultPath> = new Set(ALL_PATHS)
  #remaining = Infinity
  #served = 0
  readonly #timers = new Set<NodeJS.Timeout>()

  /** Requests the injected faults have taken over so far (answered, delayed or held). */
  get served(): number {
    return this.#served
  }

  set(fault: IdpFault | null, options: FaultOptions = {}): void {
    this.#fault = fault
    this.#paths = new Set(options.paths ?? ALL_PATHS)
    this.#remaining = options.times ?? Infinity
  }

  /**
   * Handles the request if a fault applies to `path`; returns false when it should reach the IdP
   * now. `pass` is called later for a delay fault.
   */
  intercept(
    path: FaultPath | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    pass: () => void,
  ): boolean {
    const fault = this.#fault
    if (!fault || path === undefined || !this.#paths.has(path)) return false
    this.#remaining -= 1
    this.#served += 1
    if (this.#remaining <= 0) this.#fault = null
    switch (fault.kind) {
      case 'delay': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          if (!req.destroyed) pass()
        }, fault.ms)
        this.#timers.add(timer)
        return true
      }
      case 'hang':
        // The request body is drained so the client sees a stalled response, not a stalled upload.
        req.resume()
        return true
      case 'garbage':
        req.resume()
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('<html>\u0000 not json {"keys": [')
        return true
      case 'status': {
        req.resume()
        const headers: Record<string, string> = {}
        if (fault.retryAfterSeconds !== undefined) {
          headers['retry-after'] = String(fault.retryAfterSeconds)
        }
        let body: string
        if (typeof fault.body === 'string') {
          body = fault.body
        } else {
          headers['content-type'] = 'application/json'
          body = JSON.stringify(
            fault.body ?? {
              error: DEFAULT_ERROR[fault.status] ?? 'server_error',
              error_description: 'injected fault',
            },
          )
        }
        res.writeHead(fault.status, headers)
        res.end(body)
        return true
      }
    }
  }

  /** Cancels pending delayed requests. */
  clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }
}

import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { downstreamResponseHeaders } from './http-headers.js'

/**
 * An undici dispatch handler that writes the engine's answer straight onto the client's response:
 * no response `Readable`, no `pipe`, no `AbortController` — the per-request objects of
 * `dispatcher.request()` + `pipe()` that made up much of the proxy's own CPU time. Backpressure is
 * kept (a full socket pauses the upstream read until `drain`). A 401 is not relayed: its body is
 * discarded and {@link Relay.done} settles as the subclass's {@link unauthorized} does (a repaired
 * retry, or a refusal), without the engine's Basic challenge ever reaching the client.
 *
 * A subclass says what a status means beyond writing it ({@link observed}) and what follows a 401
 * ({@link unauthorized}): methods on the one object, so a relayed request makes no closures.
 */
export abstract class Relay implements Dispatcher.DispatchHandler {
  /** Resolves with the upstream status once the response has been relayed (a 401: see {@link unauthorized}). */
  readonly done: Promise<number>
  /** The upstream status, once headers arrived (0 before). */
  status = 0
  #resolve!: (status: number | Promise<number>) => void
  #reject!: (err: Error) => void
  #controller: Dispatcher.DispatchController | undefined
  #aborted: Error | undefined
  #discard = false
  #onDrain: (() => void) | undefined

  constructor(
    protected readonly res: ServerResponse,
    private readonly requestId: string,
  ) {
    this.done = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  /** Once per attempt: the status when the headers arrive, or `undefined` and the error before. */
  protected abstract observed(status: number | undefined, error?: unknown): void

  /** After a discarded 401: what {@link done} settles as (a repaired retry, or a refusal). */
  protected abstract unauthorized(): Promise<number>

  /** Stops the exchange (the client went away); {@link done} rejects with `reason`. */
  abort(reason: Error): void {
    if (this.#controller) this.#controller.abort(reason)
    else this.#aborted = reason
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#aborted) controller.abort(this.#aborted)
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return
    this.status = statusCode
    this.observed(statusCode)
    if (statusCode === 401) {
      this.#discard = true
      return
    }
    const out = downstreamResponseHeaders(headers)
    out['x-request-id'] = this.requestId
    try {
      this.res.writeHead(statusCode, out)
    } catch (err) {
      controller.abort(err as Error)
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discard) return
    if (!this.res.write(chunk)) {
      controller.pause()
      this.#onDrain ??= () => this.#controller?.resume()
      this.res.once('drain', this.#onDrain)
    }
  }

  onResponseEnd(): void {
    if (this.#discard) {
      this.#resolve(this.unauthorized())
      return
    }
    this.res.end()
    this.#resolve(this.status)
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#onDrain) this.res.off('drain', this.#onDrain)
    // settle first: an observer that throws must not leave the request without an answer
    this.#reject(err)
    if (this.status === 0) this.observed(undefined, err)
  }
}

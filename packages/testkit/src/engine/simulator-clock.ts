/**
 * The simulator's clock: real time plus an offset tests move forward (lock expiry, login back-off),
 * optionally frozen for exact boundary tests.
 */
export class SimulatorClock {
  #offset = 0
  #frozenAt: number | null = null

  constructor(private readonly onAdvance: () => void) {}

  readonly now = (): number => (this.#frozenAt ?? Date.now()) + this.#offset

  advance(ms: number): void {
    this.#offset += ms
    this.onAdvance()
  }

  freeze(): void {
    this.#frozenAt ??= Date.now()
  }

  unfreeze(): void {
    if (this.#frozenAt !== null) this.#offset += this.#frozenAt - Date.now()
    this.#frozenAt = null
  }

  /** Back to real time. */
  reset(): void {
    this.#offset = 0
    this.#frozenAt = null
  }
}

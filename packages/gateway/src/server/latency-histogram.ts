import type { Registry } from 'prom-client'

/** One exposition line's value, as prom-client's registry formats it. */
export interface HistogramValue {
  readonly metricName: string
  readonly labels: Readonly<Record<string, string | number>>
  readonly value: number
  /** `null` on a bucket line, as prom-client's histogram gives it without exemplars. */
  readonly exemplar?: null
}

/** What {@link LatencyHistogram.get} gives prom-client's registry (and tests). */
export interface HistogramSnapshot {
  readonly name: string
  readonly help: string
  readonly type: 'histogram'
  readonly aggregator: 'sum'
  readonly values: readonly HistogramValue[]
}

/**
 * One label tuple of a {@link LatencyHistogram}: made once, so an observation is a bucket
 * search and three additions — no label object, no label hash string per call (what a
 * prom-client `Histogram` child builds on every `observe`).
 */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  /**
   * Counts one observation. Throws a `TypeError` for a value that is not a finite number, as
   * prom-client's `Histogram.observe` does (a `NaN` would poison the sum for good); a negative
   * value is counted in the lowest bucket, as prom-client counts it.
   */
  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) {
      throw new TypeError(`Value is not a valid number: ${String(seconds)}`)
    }
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && seconds > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += seconds
    this.count++
  }
}

/** What a {@link LatencyHistogram} is made with (the prom-client histogram's own words). */
export interface LatencyHistogramOptions<L extends string> {
  readonly name: string
  readonly help: string
  readonly labelNames: readonly L[]
  /** Upper bounds in seconds, ascending. */
  readonly buckets: readonly number[]
}

/**
 * A Prometheus histogram for the request path, exposed through a prom-client registry exactly
 * as a prom-client `Histogram` is (`_bucket` with `le`, `_sum`, `_count`). Its label tuples are
 * {@link HistogramSeries} made once by {@link series}; the gateway keeps them, so observing
 * allocates nothing.
 */
export class LatencyHistogram<L extends string> {
  readonly type = 'histogram' as const
  readonly aggregator = 'sum' as const
  readonly name: string
  readonly help: string
  readonly labelNames: readonly L[]
  private readonly bounds: readonly number[]
  /** The series by label tuple, so one tuple never gets two series (two exposition lines). */
  private readonly byLabels = new Map<string, HistogramSeries>()

  constructor(options: LatencyHistogramOptions<L>, registry: Registry) {
    this.name = options.name
    this.help = options.help
    this.labelNames = options.labelNames
    this.bounds = [...options.buckets].sort((a, b) => a - b)
    // prom-client's registry reads a metric's `name`, `get()` and `reset()`; its type lists only
    // its own classes
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  /**
   * The series of one label tuple, made on its first call: the same labels give the same series.
   * Builds a key per call, so keep the series rather than calling this per observation.
   */
  series(labels: Readonly<Record<L, string>>): HistogramSeries {
    const key = JSON.stringify(this.labelNames.map((n) => labels[n]))
    let s = this.byLabels.get(key)
    if (s === undefined) {
      s = new HistogramSeries({ ...labels }, this.bounds)
      this.byLabels.set(key, s)
    }
    return s
  }

  /** The exposition values, as prom-client's registry reads them. */
  get(): Promise<HistogramSnapshot> {
    const bucket = `${this.name}_bucket`
    const values: HistogramValue[] = []
    for (const s of this.byLabels.values()) {
      if (s.count === 0) continue
      let cumulative = 0
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i] as number
        const le = i < this.bounds.length ? (this.bounds[i] as number) : '+Inf'
        values.push({
          metricName: bucket,
          labels: { le, ...s.labels },
          value: cumulative,
          exemplar: null,
        })
      }
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum })
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count })
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    })
  }

  /** Zeroes every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    for (const s of this.byLabels.values()) {
      s.counts.fill(0)
      s.sum = 0
      s.count = 0
    }
  }
}

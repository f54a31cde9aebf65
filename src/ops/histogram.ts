/**
 * A histogram the query path can update without calling prom-client (which hashes the labels
 * of a series on every observe()): observations go into plain arrays, and a small metric object
 * of our own renders them when Prometheus scrapes, exactly as prom-client's Histogram would.
 */
import type { Aggregator, Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

/** One histogram series, updated by the query path without touching prom-client. */
export class HistogramSeries {
  /** Observations per bucket, not cumulative: index i counts values in (bounds[i-1], bounds[i]], the last one those above every bound. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    // Linear: most answers land in the first few buckets, and there are fewer than 20.
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.buckets[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One sample of HistogramData, in the order of the fields prom-client's Histogram.get() makes. */
interface HistogramSample {
  value: number;
  metricName: string;
  exemplar: null | undefined;
  labels: Record<string, string | number>;
}

/** What prom-client's Histogram.get() returns (its typings' MetricObjectWithValues is looser, and asks for a collect()). */
interface HistogramData {
  name: string;
  help: string;
  type: 'histogram';
  values: HistogramSample[];
  aggregator: Aggregator;
}

/**
 * A histogram metric whose series are HistogramSeries. prom-client's Histogram cannot be given
 * bucket counts (only observe() one value at a time), so this object takes its place in the
 * Registry. The Registry needs only name and get() of a metric, for both the text exposition
 * and getMetricsAsJSON() (which AggregatorRegistry merges); get() returns exactly what
 * prom-client's Histogram.get() returns for the same observations (prom-client 15's
 * lib/histogram.js: cumulative `_bucket` samples with `le` first among the labels and a number
 * except for "+Inf", then `_sum` and `_count`; `exemplar` null on buckets, undefined on the
 * others), which histogram.test.ts checks against a real Histogram.
 */
export class ArrayHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator: Aggregator = 'sum';
  readonly #series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // The cast: registerMetric is typed for prom-client's own classes, but only calls get() (and
    // reset() from resetMetrics()), which this class has.
    registry.registerMetric(this as unknown as Metric);
  }

  /** A new series, exported from the next scrape on. Make each once and keep it. */
  series(labels: Labels): HistogramSeries {
    const s = new HistogramSeries(labels, this.bounds);
    this.#series.push(s);
    return s;
  }

  // Not async work, but async like prom-client's get(): the Registry awaits it either way. Every
  // series is read in one synchronous pass, so no query lands between a bucket and its _count.
  async get(): Promise<HistogramData> {
    const bucket = `${this.name}_bucket`;
    const values: HistogramSample[] = [];
    for (const s of this.#series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ value: cumulative, metricName: bucket, exemplar: null, labels: { le: this.bounds[i]!, ...s.labels } });
      }
      values.push({ value: s.count, metricName: bucket, exemplar: null, labels: { le: '+Inf', ...s.labels } });
      values.push({ value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: { ...s.labels } });
      values.push({ value: s.count, metricName: `${this.name}_count`, exemplar: undefined, labels: { ...s.labels } });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /**
   * Registry.resetMetrics() calls this. The counts belong to their owner and are never reset, as
   * a restart is the only reset Prometheus expects; the tallied counters behave the same (they
   * are refilled at the next scrape).
   */
  reset(): void {}
}

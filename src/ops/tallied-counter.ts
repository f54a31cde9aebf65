/**
 * The counter engine of the per-query metrics. prom-client hashes the labels of a series on
 * every update, which cost several percent of the CPU at tens of thousands of queries a
 * second; so the query path only increments numbers in tallies, and a prom-client Counter
 * reads them when Prometheus scrapes (through its collect() hook).
 */
import { Counter, type CounterConfiguration } from 'prom-client';

/** One counter series: a count the query path increments, and the labels it is exported under. */
export interface Tally {
  readonly labels: Readonly<Record<string, string>>;
  n: number;
}

/**
 * A prom-client Counter whose counts are kept in tallies and copied in when Prometheus scrapes.
 * The copy sets each series to its total (reset(), then inc() by the total) rather than adding
 * the change since the last scrape: nothing is remembered between scrapes, so nothing can be
 * counted twice, and the totals only grow, so the counter stays monotonic.
 */
export class TalliedCounter {
  readonly #tallies: Tally[] = [];

  constructor(config: CounterConfiguration<string>) {
    const tallies = this.#tallies;
    new Counter({
      ...config,
      collect() {
        this.reset();
        // In creation order, which is first-use order: the order prom-client itself would list them in.
        for (const t of tallies) this.inc(t.labels, t.n);
      },
    });
  }

  /** A new series, exported (even at 0) from the next scrape on. Make each once and keep it. */
  tally(labels: Tally['labels']): Tally {
    const t: Tally = { labels, n: 0 };
    this.#tallies.push(t);
    return t;
  }
}

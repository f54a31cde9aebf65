/** Metrics of the data sources (etcd values, zone files) that are counted as they happen. */
import { Counter, type Registry } from 'prom-client';

export class SourceMetrics {
  readonly #invalidValues: Counter<'reason'>;
  readonly #zoneReloadFailures: Counter;
  readonly #rrsetsCut: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#invalidValues = new Counter({
      name: 'etcdns_etcd_invalid_values_total',
      help: 'etcd values that could not be turned into records, by reason.',
      labelNames: ['reason'],
      registers,
      // Every worker reads the same etcd values and zone files and meets the same bad ones:
      // summed, one bad value would count once per worker.
      aggregator: 'max',
    });
    this.#zoneReloadFailures = new Counter({
      name: 'etcdns_zone_reload_failures_total',
      help: 'Zone file loads that failed (the last good version of the zone is kept).',
      registers,
      aggregator: 'max',
    });
    this.#rrsetsCut = new Counter({
      name: 'etcdns_etcd_rrsets_cut_total',
      help: 'Names and types whose answer was cut to the RRset bounds (4096 records, 48 KiB), each counted once.',
      registers,
      aggregator: 'max',
    });
  }

  /** A name and type first found over the RRset bounds. */
  rrsetCut(): void {
    this.#rrsetsCut.inc();
  }

  /** An etcd value that could not be used. `reason` must come from a small fixed set: it is a label. */
  invalidValue(reason: string): void {
    this.#invalidValues.inc({ reason });
  }

  zoneReloadFailed(): void {
    this.#zoneReloadFailures.inc();
  }
}

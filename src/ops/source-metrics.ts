/** Metrics of the data sources (etcd values, zone files) that are counted as they happen. */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the per-file gauge needs of each zone file present (ZoneDirectory.fileStatus). */
export interface ZoneFileErrors {
  readonly file: string;
  readonly errors: readonly unknown[];
}

export class SourceMetrics {
  readonly #invalidValues: Counter<'reason'>;
  readonly #zoneReloadFailures: Counter;
  readonly #rrsetsCut: Counter;

  /** `zoneFiles`, read at each scrape, gives the files present; absent: no per-file gauge. */
  constructor(registry: Registry, zoneFiles?: () => readonly ZoneFileErrors[]) {
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
    if (zoneFiles) {
      new Gauge({
        name: 'etcdns_zone_file_errors',
        help: '1 while a zone file has errors (its last load failed, or another file defines its zone), else 0; one series per file present.',
        labelNames: ['file'],
        registers,
        aggregator: 'max',
        collect() {
          // reset(): a file removed from the directory must not leave its last value behind.
          this.reset();
          for (const f of zoneFiles()) this.set({ file: f.file }, f.errors.length > 0 ? 1 : 0);
        },
      });
    }
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

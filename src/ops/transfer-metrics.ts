/**
 * Zone transfers out (AXFR, IXFR) and NOTIFY: what was served to whom, what was refused, and
 * how big the IXFR journal is. Counters are incremented as transfers end (a few per minute,
 * not per query); the journal size is read at scrape time.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface TransferObservation {
  readonly type: 'AXFR' | 'IXFR';
  /** Zone origin in presentation form. */
  readonly zone: string;
  readonly outcome: string;
  readonly messages: number;
  readonly bytes: number;
}

export class TransferMetrics {
  readonly #transfers: Counter<'type' | 'zone' | 'outcome'>;
  readonly #bytes: Counter<'type' | 'zone'>;
  readonly #messages: Counter<'type' | 'zone'>;
  readonly #notify: Counter<'zone' | 'outcome'>;

  constructor(registry: Registry, journal: () => { entries: number; bytes: number }) {
    this.#transfers = new Counter({
      name: 'etcdns_transfers_total',
      help: 'Zone transfer requests by type (AXFR, IXFR), zone and outcome (full, incremental, current, refused, bad-tsig, not-authoritative, unavailable, bad-request, aborted).',
      labelNames: ['type', 'zone', 'outcome'],
      registers: [registry],
    });
    this.#bytes = new Counter({
      name: 'etcdns_transfer_bytes_total',
      help: 'Bytes of zone transfer messages sent (TSIG included), by type and zone.',
      labelNames: ['type', 'zone'],
      registers: [registry],
    });
    this.#messages = new Counter({
      name: 'etcdns_transfer_messages_total',
      help: 'Zone transfer messages sent, by type and zone.',
      labelNames: ['type', 'zone'],
      registers: [registry],
    });
    this.#notify = new Counter({
      name: 'etcdns_notify_total',
      help: 'NOTIFY messages to secondaries by zone and outcome (sent, retry, acked, refused, superseded, stopped).',
      labelNames: ['zone', 'outcome'],
      registers: [registry],
    });
    const gauge = (name: string, help: string, pick: (v: { entries: number; bytes: number }) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(pick(journal()));
        },
      });
    gauge('etcdns_ixfr_journal_entries', 'Zone versions kept as differences for IXFR, all zones.', (v) => v.entries);
    gauge('etcdns_ixfr_journal_bytes', 'Bytes of differences kept for IXFR (approximate wire size), all zones.', (v) => v.bytes);
  }

  readonly transfer = (o: TransferObservation): void => {
    this.#transfers.inc({ type: o.type, zone: o.zone, outcome: o.outcome });
    if (o.bytes > 0) {
      this.#bytes.inc({ type: o.type, zone: o.zone }, o.bytes);
      this.#messages.inc({ type: o.type, zone: o.zone }, o.messages);
    }
  };

  readonly notify = (zone: string, outcome: string): void => {
    this.#notify.inc({ zone, outcome });
  };
}

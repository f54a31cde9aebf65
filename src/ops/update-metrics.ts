/**
 * DNS UPDATE (RFC 2136): how many updates each zone took, refused or failed, and why. A few
 * per second at most, counted as each one is answered.
 */
import { Counter, type Registry } from 'prom-client';

export class UpdateMetrics {
  readonly #updates: Counter<'zone' | 'outcome'>;
  readonly #leased: Counter<'zone'>;

  constructor(registry: Registry) {
    this.#updates = new Counter({
      name: 'etcdns_updates_total',
      help: 'DNS UPDATE requests by zone and outcome (done, unchanged, refused, not-authoritative, prerequisite, bad-request, conflict, failed).',
      labelNames: ['zone', 'outcome'],
      registers: [registry],
    });
    this.#leased = new Counter({
      name: 'etcdns_update_leased_records_total',
      help: 'Records written under an Update Lease (RFC 9664), refreshes included, by zone.',
      labelNames: ['zone'],
      registers: [registry],
    });
  }

  /** `zone` in presentation form ('other' for names that are not one of our zones). */
  update(zone: string, outcome: string): void {
    this.#updates.inc({ zone, outcome });
  }

  /** `count` records written under a lease in `zone`. */
  leased(zone: string, count: number): void {
    this.#leased.inc({ zone }, count);
  }
}

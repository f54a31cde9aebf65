/**
 * The etcd mirror's state as `etcdns_etcd_*` gauges. Nothing is pushed here: the gauges read
 * the mirror's status when Prometheus scrapes, so they cost nothing between scrapes and are
 * never stale.
 */
import { Counter, Gauge, type Aggregator, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { MirrorStatus } from '../etcd/mirror-status.js';

/**
 * Registers the gauges, which call `mirror` at each scrape. It returning undefined means etcd is
 * configured but no mirror runs yet: exported as connected 0 and synced 0, the others absent.
 * `clock` measures the "seconds since" gauges, in the base of the status's times.
 */
export function registerMirrorGauges(registry: Registry, clock: Clock, mirror: () => MirrorStatus | undefined): void {
  const registers = [registry];
  const since = (at: number | undefined): number | undefined => (at === undefined ? undefined : Math.max(0, clock.now() - at) / 1000);
  // Each worker mirrors etcd on its own. Merged, the gauges describe the worker furthest
  // behind (lowest revision, oldest event and sync, not connected or not synced if any is
  // not), since that is the one whose answers may be stale; sizes take the largest.
  const gauges: [name: string, help: string, aggregator: Aggregator, read: (s: MirrorStatus) => number | undefined][] = [
    ['etcdns_etcd_synced', '1 once the initial list of the prefix is complete, else 0.', 'min', (s) => Number(s.synced)],
    ['etcdns_etcd_revision', 'etcd revision the served data reflects.', 'min', (s) => s.revision],
    [
      'etcdns_etcd_seconds_since_last_event',
      'Seconds since the mirror last received a change from etcd; absent before the first.',
      'max',
      (s) => since(s.lastEventAt),
    ],
    [
      'etcdns_etcd_seconds_since_last_sync',
      'Seconds since the last complete list of the prefix; absent before the first.',
      'max',
      (s) => since(s.lastSyncAt),
    ],
    ['etcdns_etcd_keys', 'etcd keys held under the prefix.', 'max', (s) => s.keys],
    ['etcdns_etcd_lag_revisions', 'Revisions etcd is ahead of the mirror, checked against etcd every 5 s; 0 in step.', 'max', (s) => s.lagRevisions ?? 0],
    ['etcdns_etcd_lag_seconds', 'Seconds the mirror has been behind etcd (its key count or newest revision differs); 0 in step.', 'max', (s) => since(s.behindSince) ?? 0],
    ['etcdns_etcd_records', 'DNS records built from the etcd keys.', 'max', (s) => s.records],
    ['etcdns_etcd_invalid_keys', 'etcd keys under the prefix whose value is currently unusable.', 'max', (s) => s.invalid],
  ];

  new Gauge({
    name: 'etcdns_etcd_connected',
    help: '1 while the etcd watch is connected, else 0.',
    aggregator: 'min',
    registers,
    collect() {
      this.set(mirror()?.connected ? 1 : 0);
    },
  });
  for (const [name, help, aggregator, read] of gauges) {
    new Gauge({
      name,
      help,
      aggregator,
      registers,
      collect() {
        const status = mirror();
        // synced reads 0 without a mirror; the others have no value then.
        const value = status ? read(status) : name === 'etcdns_etcd_synced' ? 0 : undefined;
        // remove() drops the unlabelled sample, so the series is absent rather than a
        // made-up 0 ("0 seconds since the last event" would read as "just now").
        if (value === undefined) this.remove();
        else this.set(value);
      },
    });
  }
  // The mirror keeps the count; Prometheus must still see a counter (for rate() and reset
  // detection), so the value is copied into one at scrape time.
  new Counter({
    name: 'etcdns_etcd_relists_total',
    help: 'Complete re-lists of the prefix after the watch lost its place (compaction, gap).',
    // Each worker re-lists on its own, and each re-list is a load on etcd: they add up.
    aggregator: 'sum',
    registers,
    collect() {
      const status = mirror();
      this.reset();
      if (status) this.inc(status.relists);
      else this.remove();
    },
  });
}

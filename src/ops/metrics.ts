/**
 * Prometheus metrics, named after CoreDNS's (`coredns_dns_requests_total` →
 * `etcdns_dns_requests_total`, ...) so that existing dashboards and alerts carry over with a
 * prefix change. This object composes each subsystem's metrics (query-metrics.ts,
 * source-metrics.ts, forward-metrics.ts, limit-metrics.ts, mirror-metrics.ts) into one
 * registry; the families are exported in the order they are registered here.
 *
 * Everything lives in one Registry owned by this object, never prom-client's global one: tests
 * (and an embedding application) can create as many as they like without "already
 * registered" errors or metrics leaking from one to the next.
 *
 * With `--workers`, each worker process has its own Metrics and the primary merges what they
 * report (worker-merge.ts), each metric by the aggregator it is made with.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import type { MirrorStatus } from '../etcd/mirror-status.js';
import { packageVersion } from '../version.js';
import { ForwardMetrics, registerForwardCacheGauges } from './forward-metrics.js';
import { registerLimitCounters, type LimitCounts } from './limit-metrics.js';
import { registerMirrorGauges } from './mirror-metrics.js';
import { QueryMetrics, type QueryObservation } from './query-metrics.js';
import { SourceMetrics } from './source-metrics.js';
import { TransferMetrics } from './transfer-metrics.js';
import { UpdateMetrics } from './update-metrics.js';

export interface MetricsOptions {
  /** Counts kept by the abuse limits, read at each scrape (copied into counters). */
  readonly limits?: () => LimitCounts;
  /** The forwarding cache's size, read at each scrape; absent when nothing is forwarded. */
  readonly forwardCache?: () => { entries: number; bytes: number };
  /**
   * Time for the "seconds since" gauges and for query durations. It must count in the same
   * base as `QueryObservation.startedAt` (performance.now(), which systemClock uses): tests
   * pass a fake clock and set startedAt to match.
   */
  readonly clock?: Clock;
  /**
   * The etcd mirror's status, read at each scrape. Absent: no etcd configured, and no
   * `etcdns_etcd_*` gauges are exported (a zone-files-only server must not look like one that
   * lost etcd). Returning undefined: etcd is configured but no mirror runs yet, exported as
   * connected 0 and synced 0 with the other gauges absent.
   */
  readonly mirror?: () => MirrorStatus | undefined;
  /**
   * Process metrics (CPU, memory, event loop lag, GC, ...) as `etcdns_process_*` and
   * `etcdns_nodejs_*`; default true. prom-client's collectors install process-wide observers
   * that are never removed, so tests that create many Metrics turn them off.
   */
  readonly defaultMetrics?: boolean;
  /**
   * The IXFR journal's size, read at each scrape. Absent: no zone transfer families (an
   * embedding without transfers); the server always passes it, so refusals are counted.
   */
  readonly journal?: () => { entries: number; bytes: number };
  /** DNS UPDATE is enabled (--update-policy, --update-allow): count its outcomes. */
  readonly updates?: boolean;
}

export class Metrics {
  readonly registry: Registry;
  /**
   * One reply sent; runs once per query, allocating nothing (QueryMetrics.observe itself, so a
   * bound function that can be handed out as a callback).
   */
  readonly observeQuery: (o: QueryObservation) => void;
  /** Hooks for the forwarder (src/forward ForwardObserver). */
  readonly forward: ForwardMetrics;
  /** Hooks for zone transfers and NOTIFY; present when `journal` was given. */
  readonly transfers: TransferMetrics | undefined;
  /** DNS UPDATE outcomes by zone; present when `updates` was set. */
  readonly updates: UpdateMetrics | undefined;
  readonly #sources: SourceMetrics;

  constructor(o: MetricsOptions = {}) {
    const clock = o.clock ?? systemClock;
    const registry = new Registry();
    this.registry = registry;
    if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'etcdns_' });

    new Gauge({
      name: 'etcdns_build_info',
      help: 'Always 1; the version label says which etcdns is running.',
      labelNames: ['version'],
      // Every worker runs the same build: 1, not the number of workers.
      aggregator: 'first',
      registers: [registry],
    }).set({ version: packageVersion() }, 1);

    this.observeQuery = new QueryMetrics(registry, clock).observe;
    this.#sources = new SourceMetrics(registry);
    this.forward = new ForwardMetrics(registry);
    this.transfers = o.journal ? new TransferMetrics(registry, o.journal) : undefined;
    this.updates = o.updates ? new UpdateMetrics(registry) : undefined;
    if (o.limits) registerLimitCounters(registry, o.limits);
    if (o.forwardCache) registerForwardCacheGauges(registry, o.forwardCache);
    if (o.mirror) registerMirrorGauges(registry, clock, o.mirror);
  }

  /** An etcd value that could not be used. `reason` must come from a small fixed set: it is a label. */
  invalidValue(reason: string): void {
    this.#sources.invalidValue(reason);
  }

  rrsetCut(): void {
    this.#sources.rrsetCut();
  }

  zoneReloadFailed(): void {
    this.#sources.zoneReloadFailed();
  }
}

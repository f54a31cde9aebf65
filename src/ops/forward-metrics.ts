/**
 * The forwarder's metrics (CoreDNS names these coredns_forward_* and coredns_cache_*): hooks it
 * calls per upstream try, cache lookup and health change, and the cache's size read at scrape.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { rcodeName } from '../dns/constants.js';

/** The forwarder's observer (src/forward ForwardObserver). Upstreams are few: labels stay bounded. */
export class ForwardMetrics {
  readonly #upstreamRequests: Counter<'upstream' | 'rcode'>;
  readonly #upstreamFailures: Counter<'upstream' | 'reason'>;
  readonly #upstreamDuration: Histogram<'upstream'>;
  readonly #upstreamHealthy: Gauge<'upstream'>;
  readonly #cacheRequests: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#upstreamRequests = new Counter({
      name: 'etcdns_forward_requests_total',
      help: 'Queries sent to upstream resolvers (client traffic, not health probes), by upstream and answer rcode ("none" when no answer came).',
      labelNames: ['upstream', 'rcode'],
      registers,
    });
    this.#upstreamFailures = new Counter({
      name: 'etcdns_forward_failures_total',
      help: 'Failed tries against an upstream, by reason (timeout, an errno code, SERVFAIL, REFUSED).',
      labelNames: ['upstream', 'reason'],
      registers,
    });
    this.#upstreamDuration = new Histogram({
      name: 'etcdns_forward_request_duration_seconds',
      help: 'Time for one try against an upstream.',
      labelNames: ['upstream'],
      buckets: [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    });
    this.#upstreamHealthy = new Gauge({
      name: 'etcdns_forward_upstream_healthy',
      help: '1 while an upstream is considered healthy, 0 while it is marked down and probed.',
      labelNames: ['upstream'],
      // Workers probe on their own: healthy only if every worker says so.
      aggregator: 'min',
      registers,
    });
    this.#cacheRequests = new Counter({
      name: 'etcdns_cache_requests_total',
      help: 'Forwarded questions by how they were answered: hit (cache), miss (upstream), stale (RFC 8767).',
      labelNames: ['result'],
      registers,
    });
  }

  // Arrow functions: the forwarder calls them detached from this object.
  readonly upstream = (e: { upstream: string; ok: boolean; rcode?: number; durationMs: number; reason?: string; kind: 'query' | 'probe' }): void => {
    if (e.kind === 'probe') return;
    this.#upstreamRequests.inc({ upstream: e.upstream, rcode: e.rcode === undefined ? 'none' : rcodeName(e.rcode) });
    this.#upstreamDuration.observe({ upstream: e.upstream }, e.durationMs / 1000);
    if (!e.ok) this.#upstreamFailures.inc({ upstream: e.upstream, reason: e.reason ?? 'unknown' });
  };

  readonly cache = (result: 'hit' | 'miss' | 'stale'): void => {
    this.#cacheRequests.inc({ result });
  };

  readonly health = (e: { upstream: string; healthy: boolean }): void => {
    this.#upstreamHealthy.set({ upstream: e.upstream }, e.healthy ? 1 : 0);
  };
}

/** The forwarding cache's size, as gauges that call `size` at each scrape. */
export function registerForwardCacheGauges(registry: Registry, size: () => { entries: number; bytes: number }): void {
  const registers = [registry];
  new Gauge({
    name: 'etcdns_cache_entries',
    help: 'Answers held in the forwarding cache.',
    // Each worker has its own cache: together they hold the sum.
    aggregator: 'sum',
    registers,
    collect() {
      this.set(size().entries);
    },
  });
  new Gauge({
    name: 'etcdns_cache_bytes',
    help: 'Bytes held in the forwarding cache (replies plus per-entry overhead).',
    aggregator: 'sum',
    registers,
    collect() {
      this.set(size().bytes);
    },
  });
}

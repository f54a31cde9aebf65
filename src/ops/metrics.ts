/**
 * Prometheus metrics, named after CoreDNS's (`coredns_dns_requests_total` →
 * `etcdns_dns_requests_total`, ...) so that existing dashboards and alerts carry over with a
 * prefix change.
 *
 * Everything lives in one Registry owned by this object, never prom-client's global one: tests
 * (and an embedding application) can create as many as they like without "already
 * registered" errors or metrics leaking from one to the next.
 *
 * The etcd mirror's state is not pushed here: gauges read `mirror()` when Prometheus scrapes,
 * so they cost nothing between scrapes and are never stale.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import { RRType, rcodeName, typeName } from '../dns/constants.js';
import { toPresentation } from '../dns/name.js';
import type { QueryEvent } from '../server/responder.js';
import { packageVersion } from '../version.js';

/** What the etcd mirror reports about itself; times are `Clock.now()` milliseconds. */
export interface MirrorStatus {
  connected: boolean;
  /** The initial list is done: the mirror holds a complete copy of the prefix. */
  synced: boolean;
  revision: number;
  lastEventAt?: number;
  lastSyncAt?: number;
  keys: number;
  records: number;
  /** Keys whose value could not be used. */
  invalid: number;
  /** Full re-lists since start (after compaction or a watch gap). */
  relists: number;
}

export interface MetricsOptions {
  /** Counts kept by the abuse limits, read at each scrape (copied into counters). */
  readonly limits?: () => { rateLimitDropped: number; rateLimitSlipped: number; forwardRefused: number };
  /** The forwarding cache's size, read at each scrape; absent when nothing is forwarded. */
  readonly forwardCache?: () => { entries: number; bytes: number };
  /**
   * Time for the "seconds since" gauges and for query durations. It must count in the same
   * base as `QueryEvent.startedAt` (performance.now(), which systemClock uses): tests pass a
   * fake clock and set startedAt to match.
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
}

/** The zone label of replies that came from none of our zones (refused, malformed, CHAOS): CoreDNS's word. */
export const NO_ZONE_LABEL = 'dropped';

/**
 * Query types with their own label value; every other type is "other". A client can ask for
 * any of 65536 types, and each label value is a time series in Prometheus: CoreDNS bounds the
 * label the same way (plugin/metrics/vars/monitor.go), with this list plus SVCB and CAA.
 */
const MONITORED_TYPES: readonly number[] = [
  RRType.A,
  RRType.AAAA,
  RRType.CNAME,
  RRType.DNSKEY,
  RRType.DS,
  RRType.MX,
  50, // NSEC3: not among the types etcdns knows by name, but a common question
  RRType.NSEC,
  RRType.NS,
  RRType.PTR,
  RRType.RRSIG,
  RRType.SOA,
  RRType.SRV,
  RRType.TXT,
  RRType.HTTPS,
  RRType.SVCB,
  RRType.CAA,
  RRType.IXFR,
  RRType.AXFR,
  RRType.ANY,
];
const TYPE_LABELS: readonly string[] = [...MONITORED_TYPES.map((t) => (t === 50 ? 'NSEC3' : typeName(t))), 'other'];
const TYPE_SLOT = new Map(MONITORED_TYPES.map((t, i) => [t, i]));
const OTHER_SLOT = MONITORED_TYPES.length;
const SLOTS = TYPE_LABELS.length;

const PROTOS = ['udp', 'tcp'] as const;

/**
 * Seconds. An answer from memory takes tens of microseconds, so the buckets start at 50µs;
 * CoreDNS's start at 250µs, where every etcdns answer would land in the first bucket.
 */
export const DURATION_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Bytes: CoreDNS's buckets, with 512 (classic UDP) and 1232 (our EDNS default) as edges. */
export const SIZE_BUCKETS: readonly number[] = [0, 100, 200, 300, 400, 511, 512, 1023, 1232, 2047, 4095, 8291, 16000, 32000, 48000, 64000];

type CounterChild = Counter.Internal;
type HistogramChild = Histogram.Internal<string>;

/** The label children of one zone, created on first use and kept: the hot path only indexes arrays. */
interface ZoneChildren {
  readonly label: string;
  /** By proto * SLOTS + type slot. */
  readonly requests: (CounterChild | undefined)[];
  /** By type slot. */
  readonly durations: (HistogramChild | undefined)[];
  /** By rcode. */
  readonly responses: Map<number, CounterChild>;
}

export class Metrics {
  readonly registry: Registry;
  readonly #clock: Clock;
  readonly #zones = new Map<string | undefined, ZoneChildren>();

  readonly #requests: Counter<'zone' | 'proto' | 'type'>;
  readonly #responses: Counter<'zone' | 'rcode'>;
  readonly #duration: Histogram<'zone' | 'type'>;
  readonly #sizeByProto: readonly HistogramChild[];
  readonly #truncatedByProto: readonly CounterChild[];
  readonly #invalidValues: Counter<'reason'>;
  readonly #zoneReloadFailures: Counter;
  readonly #upstreamRequests: Counter<'upstream' | 'rcode'>;
  readonly #upstreamFailures: Counter<'upstream' | 'reason'>;
  readonly #upstreamDuration: Histogram<'upstream'>;
  readonly #upstreamHealthy: Gauge<'upstream'>;
  readonly #cacheRequests: Counter<'result'>;

  constructor(o: MetricsOptions = {}) {
    this.#clock = o.clock ?? systemClock;
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'etcdns_' });

    new Gauge({
      name: 'etcdns_build_info',
      help: 'Always 1; the version label says which etcdns is running.',
      labelNames: ['version'],
      registers,
    }).set({ version: packageVersion() }, 1);

    this.#requests = new Counter({
      name: 'etcdns_dns_requests_total',
      help: 'DNS queries answered, by zone ("dropped": none of ours), transport and query type (uncommon types as "other").',
      labelNames: ['zone', 'proto', 'type'],
      registers,
    });
    this.#responses = new Counter({
      name: 'etcdns_dns_responses_total',
      help: 'DNS replies sent, by zone and response code.',
      labelNames: ['zone', 'rcode'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'etcdns_dns_request_duration_seconds',
      help: 'Time from receiving a query to having its reply, by zone and query type.',
      labelNames: ['zone', 'type'],
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    const size = new Histogram({
      name: 'etcdns_dns_response_size_bytes',
      help: 'Size of DNS replies in bytes, by transport.',
      labelNames: ['proto'],
      buckets: [...SIZE_BUCKETS],
      registers,
    });
    const truncated = new Counter({
      name: 'etcdns_dns_truncated_total',
      help: 'DNS replies sent with TC=1 (the client should retry over TCP), by transport.',
      labelNames: ['proto'],
      registers,
    });
    this.#sizeByProto = PROTOS.map((p) => size.labels(p));
    this.#truncatedByProto = PROTOS.map((p) => {
      // Exported at 0 from the start, so that rate() has a series before the first truncation.
      truncated.inc({ proto: p }, 0);
      return truncated.labels(p);
    });

    this.#invalidValues = new Counter({
      name: 'etcdns_etcd_invalid_values_total',
      help: 'etcd values that could not be turned into records, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.#zoneReloadFailures = new Counter({
      name: 'etcdns_zone_reload_failures_total',
      help: 'Zone file loads that failed (the last good version of the zone is kept).',
      registers,
    });

    // The forwarder (CoreDNS names these coredns_forward_* and coredns_cache_*).
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
      registers,
    });
    this.#cacheRequests = new Counter({
      name: 'etcdns_cache_requests_total',
      help: 'Forwarded questions by how they were answered: hit (cache), miss (upstream), stale (RFC 8767).',
      labelNames: ['result'],
      registers,
    });
    if (o.limits) {
      const read = o.limits;
      // The limiter and the forwarder keep the counts (no metric calls on the hot path); they
      // are copied into counters at scrape time so Prometheus can rate() them.
      const counters: [name: string, help: string, pick: (v: ReturnType<typeof read>) => number][] = [
        ['etcdns_ratelimit_dropped_total', 'UDP replies dropped by --rate-limit.', (v) => v.rateLimitDropped],
        ['etcdns_ratelimit_slipped_total', 'UDP replies sent truncated (TC=1) instead of dropped by --rate-limit-slip.', (v) => v.rateLimitSlipped],
        ['etcdns_forward_refused_over_limit_total', 'Queries refused because --forward-max-concurrent were already in flight.', (v) => v.forwardRefused],
      ];
      for (const [name, help, pick] of counters) {
        new Counter({
          name,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(pick(read()));
          },
        });
      }
    }
    if (o.forwardCache) {
      const size = o.forwardCache;
      new Gauge({
        name: 'etcdns_cache_entries',
        help: 'Answers held in the forwarding cache.',
        registers,
        collect() {
          this.set(size().entries);
        },
      });
      new Gauge({
        name: 'etcdns_cache_bytes',
        help: 'Bytes held in the forwarding cache (replies plus per-entry overhead).',
        registers,
        collect() {
          this.set(size().bytes);
        },
      });
    }

    if (o.mirror) this.#mirrorGauges(o.mirror, registers);
  }

  /**
   * One reply sent. Runs once per query, so it allocates nothing itself: label children are
   * looked up in arrays and maps made on first use (prom-client still hashes the labels of a
   * child on each update; that is the floor without bypassing its API).
   */
  readonly observeQuery = (e: QueryEvent): void => {
    const zone = this.#zones.get(e.zone) ?? this.#newZone(e.zone);
    const proto = e.transport === 'tcp' ? 1 : 0;
    const slot = TYPE_SLOT.get(e.type) ?? OTHER_SLOT;

    const i = proto * SLOTS + slot;
    (zone.requests[i] ??= this.#requests.labels(zone.label, PROTOS[proto]!, TYPE_LABELS[slot]!)).inc();

    let response = zone.responses.get(e.rcode);
    if (!response) {
      // Rcodes are 12 bits and the responder only sends a handful: bounded without a list.
      response = this.#responses.labels(zone.label, rcodeName(e.rcode));
      zone.responses.set(e.rcode, response);
    }
    response.inc();

    const seconds = (this.#clock.now() - e.startedAt) / 1000;
    // A clock that went backwards (or a startedAt from another time base) must not throw in
    // the query path; 0 is the least wrong value.
    (zone.durations[slot] ??= this.#duration.labels(zone.label, TYPE_LABELS[slot]!)).observe(seconds > 0 ? seconds : 0);

    this.#sizeByProto[proto]!.observe(e.size);
    if (e.truncated) this.#truncatedByProto[proto]!.inc();
  };

  /** An etcd value that could not be used. `reason` must come from a small fixed set: it is a label. */
  invalidValue(reason: string): void {
    this.#invalidValues.inc({ reason });
  }

  zoneReloadFailed(): void {
    this.#zoneReloadFailures.inc();
  }

  /** Hooks for the forwarder (src/forward ForwardObserver). Upstreams are few: labels stay bounded. */
  readonly forward = {
    upstream: (e: { upstream: string; ok: boolean; rcode?: number; durationMs: number; reason?: string; kind: 'query' | 'probe' }): void => {
      if (e.kind === 'probe') return;
      this.#upstreamRequests.inc({ upstream: e.upstream, rcode: e.rcode === undefined ? 'none' : rcodeName(e.rcode) });
      this.#upstreamDuration.observe({ upstream: e.upstream }, e.durationMs / 1000);
      if (!e.ok) this.#upstreamFailures.inc({ upstream: e.upstream, reason: e.reason ?? 'unknown' });
    },
    cache: (result: 'hit' | 'miss' | 'stale'): void => {
      this.#cacheRequests.inc({ result });
    },
    health: (e: { upstream: string; healthy: boolean }): void => {
      this.#upstreamHealthy.set({ upstream: e.upstream }, e.healthy ? 1 : 0);
    },
  };

  #newZone(zone: string | undefined): ZoneChildren {
    const children: ZoneChildren = {
      // Presentation form with the trailing dot, as CoreDNS labels zones ("example.com.", ".").
      label: zone === undefined ? NO_ZONE_LABEL : toPresentation(zone),
      requests: new Array<CounterChild | undefined>(PROTOS.length * SLOTS),
      durations: new Array<HistogramChild | undefined>(SLOTS),
      responses: new Map(),
    };
    this.#zones.set(zone, children);
    return children;
  }

  #mirrorGauges(mirror: () => MirrorStatus | undefined, registers: Registry[]): void {
    const clock = this.#clock;
    const since = (at: number | undefined): number | undefined => (at === undefined ? undefined : Math.max(0, clock.now() - at) / 1000);
    const gauges: [name: string, help: string, read: (s: MirrorStatus) => number | undefined][] = [
      ['etcdns_etcd_synced', '1 once the initial list of the prefix is complete, else 0.', (s) => Number(s.synced)],
      ['etcdns_etcd_revision', 'etcd revision the served data reflects.', (s) => s.revision],
      [
        'etcdns_etcd_seconds_since_last_event',
        'Seconds since the mirror last received a change from etcd; absent before the first.',
        (s) => since(s.lastEventAt),
      ],
      [
        'etcdns_etcd_seconds_since_last_sync',
        'Seconds since the last complete list of the prefix; absent before the first.',
        (s) => since(s.lastSyncAt),
      ],
      ['etcdns_etcd_keys', 'etcd keys held under the prefix.', (s) => s.keys],
      ['etcdns_etcd_records', 'DNS records built from the etcd keys.', (s) => s.records],
      ['etcdns_etcd_invalid_keys', 'etcd keys under the prefix whose value is currently unusable.', (s) => s.invalid],
    ];

    new Gauge({
      name: 'etcdns_etcd_connected',
      help: '1 while the etcd watch is connected, else 0.',
      registers,
      collect() {
        this.set(mirror()?.connected ? 1 : 0);
      },
    });
    for (const [name, help, read] of gauges) {
      new Gauge({
        name,
        help,
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
      registers,
      collect() {
        const status = mirror();
        this.reset();
        if (status) this.inc(status.relists);
        else this.remove();
      },
    });
  }
}

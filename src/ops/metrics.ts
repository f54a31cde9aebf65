/**
 * Prometheus metrics, named after CoreDNS's (`coredns_dns_requests_total` →
 * `etcdns_dns_requests_total`, ...) so that existing dashboards and alerts carry over with a
 * prefix change.
 *
 * Everything lives in one Registry owned by this object, never prom-client's global one: tests
 * (and an embedding application) can create as many as they like without "already
 * registered" errors or metrics leaking from one to the next.
 *
 * The per-query metrics never call prom-client while serving: prom-client hashes the labels
 * of a series on every update, which cost several percent of the CPU at tens of thousands of
 * queries a second. `observeQuery` only increments numbers in series objects made on first
 * use, and those are read when Prometheus scrapes (counters through their collect() hook,
 * histograms by a small metric object of our own; see TalliedCounter and ArrayHistogram).
 *
 * The etcd mirror's state is not pushed here either: gauges read `mirror()` when Prometheus
 * scrapes, so they cost nothing between scrapes and are never stale.
 *
 * With `--workers`, each worker process has its own Metrics and the primary merges what they
 * report with `aggregateWorkerMetrics`. Each metric says how its samples combine (prom-client's
 * `aggregator`): traffic counters and histograms add up (prom-client's default, "sum"), while
 * each worker's view of etcd is reduced to the most pessimistic one ("min" of connected,
 * synced and revision, "max" of the ages) so that a single lagging worker shows.
 */
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type Aggregator,
  type CounterConfiguration,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  type PrometheusContentType,
} from 'prom-client';
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

type Labels = Readonly<Record<string, string>>;

/** One counter series: a count the query path increments, and the labels it is exported under. */
interface Tally {
  readonly labels: Labels;
  n: number;
}

/**
 * A prom-client Counter whose counts are kept in tallies and copied in when Prometheus scrapes.
 * The copy sets each series to its total (reset(), then inc() by the total) rather than adding
 * the change since the last scrape: nothing is remembered between scrapes, so nothing can be
 * counted twice, and the totals only grow, so the counter stays monotonic.
 */
class TalliedCounter {
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
  tally(labels: Labels): Tally {
    const t: Tally = { labels, n: 0 };
    this.#tallies.push(t);
    return t;
  }
}

/** One histogram series, updated by the query path without touching prom-client. */
class HistogramSeries {
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
 * others), which metrics.test.ts checks against a real Histogram.
 */
class ArrayHistogram {
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
   * Registry.resetMetrics() calls this. The counts belong to Metrics and are never reset, as a
   * restart is the only reset Prometheus expects; the tallied counters behave the same (they are
   * refilled at the next scrape).
   */
  reset(): void {}
}

/** The series of one zone, made on first use and kept: the query path only indexes arrays. */
interface ZoneSeries {
  readonly label: string;
  /** By proto * SLOTS + type slot. */
  readonly requests: (Tally | undefined)[];
  /** By type slot. */
  readonly durations: (HistogramSeries | undefined)[];
  /** By rcode. Rcodes are 12 bits and the responder only sends a handful: bounded without a list. */
  readonly responses: Map<number, Tally>;
}

export class Metrics {
  readonly registry: Registry;
  readonly #clock: Clock;
  readonly #zones = new Map<string | undefined, ZoneSeries>();

  readonly #requests: TalliedCounter;
  readonly #responses: TalliedCounter;
  readonly #duration: ArrayHistogram;
  readonly #size: ArrayHistogram;
  /** By proto; made on first use, as prom-client would. */
  readonly #sizeByProto: (HistogramSeries | undefined)[] = [];
  readonly #truncatedByProto: readonly Tally[];
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
      // Every worker runs the same build: 1, not the number of workers.
      aggregator: 'first',
      registers,
    }).set({ version: packageVersion() }, 1);

    this.#requests = new TalliedCounter({
      name: 'etcdns_dns_requests_total',
      help: 'DNS queries answered, by zone ("dropped": none of ours), transport and query type (uncommon types as "other").',
      labelNames: ['zone', 'proto', 'type'],
      registers,
    });
    this.#responses = new TalliedCounter({
      name: 'etcdns_dns_responses_total',
      help: 'DNS replies sent, by zone and response code.',
      labelNames: ['zone', 'rcode'],
      registers,
    });
    this.#duration = new ArrayHistogram(
      'etcdns_dns_request_duration_seconds',
      'Time from receiving a query to having its reply, by zone and query type.',
      DURATION_BUCKETS,
      registry,
    );
    this.#size = new ArrayHistogram('etcdns_dns_response_size_bytes', 'Size of DNS replies in bytes, by transport.', SIZE_BUCKETS, registry);
    const truncated = new TalliedCounter({
      name: 'etcdns_dns_truncated_total',
      help: 'DNS replies sent with TC=1 (the client should retry over TCP), by transport.',
      labelNames: ['proto'],
      registers,
    });
    // Made now, so exported at 0 from the start: rate() has a series before the first truncation.
    this.#truncatedByProto = PROTOS.map((proto) => truncated.tally({ proto }));

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

    if (o.mirror) this.#mirrorGauges(o.mirror, registers);
  }

  /**
   * One reply sent. Runs once per query, so it allocates nothing and calls no prom-client code:
   * series are looked up in arrays and maps made on first use, and only numbers change.
   */
  readonly observeQuery = (e: QueryEvent): void => {
    const zone = this.#zones.get(e.zone) ?? this.#newZone(e.zone);
    const proto = e.transport === 'tcp' ? 1 : 0;
    const slot = TYPE_SLOT.get(e.type) ?? OTHER_SLOT;

    (zone.requests[proto * SLOTS + slot] ??= this.#requests.tally({ zone: zone.label, proto: PROTOS[proto]!, type: TYPE_LABELS[slot]! })).n++;
    (zone.responses.get(e.rcode) ?? this.#newResponse(zone, e.rcode)).n++;

    const seconds = (this.#clock.now() - e.startedAt) / 1000;
    // A clock that went backwards (or a startedAt from another time base) must not throw in
    // the query path; 0 is the least wrong value.
    (zone.durations[slot] ??= this.#duration.series({ zone: zone.label, type: TYPE_LABELS[slot]! })).observe(seconds > 0 ? seconds : 0);

    (this.#sizeByProto[proto] ??= this.#size.series({ proto: PROTOS[proto]! })).observe(e.size);
    if (e.truncated) this.#truncatedByProto[proto]!.n++;
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

  #newZone(zone: string | undefined): ZoneSeries {
    const series: ZoneSeries = {
      // Presentation form with the trailing dot, as CoreDNS labels zones ("example.com.", ".").
      label: zone === undefined ? NO_ZONE_LABEL : toPresentation(zone),
      requests: new Array<Tally | undefined>(PROTOS.length * SLOTS),
      durations: new Array<HistogramSeries | undefined>(SLOTS),
      responses: new Map(),
    };
    this.#zones.set(zone, series);
    return series;
  }

  #newResponse(zone: ZoneSeries, rcode: number): Tally {
    const tally = this.#responses.tally({ zone: zone.label, rcode: rcodeName(rcode) });
    zone.responses.set(rcode, tally);
    return tally;
  }

  #mirrorGauges(mirror: () => MirrorStatus | undefined, registers: Registry[]): void {
    const clock = this.#clock;
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
}

/**
 * Merges the metrics of `--workers` processes into one registry for the primary to serve on
 * /metrics. Each entry is one worker's `await metrics.registry.getMetricsAsJSON()` (plain data,
 * so it can cross IPC); every metric family is combined by the `aggregator` it was made with
 * (see the top of this file). A thin wrapper over prom-client's AggregatorRegistry.aggregate,
 * which needs no cluster module and keeps the primary from depending on prom-client itself.
 */
export function aggregateWorkerMetrics(perWorker: readonly MetricObjectWithValues<MetricValue<string>>[][]): Registry {
  return AggregatorRegistry.aggregate<PrometheusContentType>([...perWorker]);
}

/**
 * The per-query metrics, named after CoreDNS's (`coredns_dns_requests_total` →
 * `etcdns_dns_requests_total`, ...). They never call prom-client while serving: `observe` only
 * increments numbers in series objects made on first use (TalliedCounter, ArrayHistogram), and
 * those are read when Prometheus scrapes.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { RRType, rcodeName, typeName } from '../dns/constants.js';
import { toPresentation } from '../dns/name.js';
import { ArrayHistogram, type HistogramSeries } from './histogram.js';
import { TalliedCounter, type Tally } from './tallied-counter.js';

/**
 * One reply sent, as the query metrics need to see it. Declared here, by its consumer, so that
 * ops/ depends on nothing of the server: whatever answers queries passes an object of this
 * shape (and may reuse one object for every query; nothing here keeps it).
 */
export interface QueryObservation {
  readonly transport: 'udp' | 'tcp';
  /** Zone origin the question fell in (a dns/name.ts Name: "example.com", "" for the root); undefined when none of ours. */
  readonly zone: string | undefined;
  readonly type: number;
  readonly rcode: number;
  /** Reply size in bytes. */
  readonly size: number;
  /** Sent with TC=1. */
  readonly truncated: boolean;
  /** When the query arrived, in the time base of the Clock given to the metrics. */
  readonly startedAt: number;
}

/** The zone label of replies that came from none of our zones (refused, malformed, CHAOS): CoreDNS's word. */
const NO_ZONE_LABEL = 'dropped';

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

/** The series of one zone, made on first use and kept: the query path only indexes arrays. */
interface ZoneSeries {
  readonly label: string;
  /** By proto * SLOTS + type slot. */
  readonly requests: (Tally | undefined)[];
  /** By type slot. */
  readonly durations: (HistogramSeries | undefined)[];
  /** By rcode. Rcodes are 12 bits and etcdns only sends a handful: bounded without a list. */
  readonly responses: Map<number, Tally>;
}

/** The `etcdns_dns_*` families, registered in `registry` in the order they are exported. */
export class QueryMetrics {
  readonly #clock: Clock;
  readonly #zones = new Map<string | undefined, ZoneSeries>();
  readonly #requests: TalliedCounter;
  readonly #responses: TalliedCounter;
  readonly #duration: ArrayHistogram;
  readonly #size: ArrayHistogram;
  /** By proto; made on first use, as prom-client would. */
  readonly #sizeByProto: (HistogramSeries | undefined)[] = [];
  readonly #truncatedByProto: readonly Tally[];

  /**
   * `clock` times the queries: it must count in the same base as `QueryObservation.startedAt`
   * (performance.now(), which systemClock uses).
   */
  constructor(registry: Registry, clock: Clock) {
    this.#clock = clock;
    const registers = [registry];
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
  }

  /**
   * One reply sent. Runs once per query, so it allocates nothing and calls no prom-client code:
   * series are looked up in arrays and maps made on first use, and only numbers change. An
   * arrow function, as it is handed out as a callback.
   */
  readonly observe = (o: QueryObservation): void => {
    const zone = this.#zones.get(o.zone) ?? this.#newZone(o.zone);
    const proto = o.transport === 'tcp' ? 1 : 0;
    const slot = TYPE_SLOT.get(o.type) ?? OTHER_SLOT;

    (zone.requests[proto * SLOTS + slot] ??= this.#requests.tally({ zone: zone.label, proto: PROTOS[proto]!, type: TYPE_LABELS[slot]! })).n++;
    (zone.responses.get(o.rcode) ?? this.#newResponse(zone, o.rcode)).n++;

    const seconds = (this.#clock.now() - o.startedAt) / 1000;
    // A clock that went backwards (or a startedAt from another time base) must not throw in
    // the query path; 0 is the least wrong value.
    (zone.durations[slot] ??= this.#duration.series({ zone: zone.label, type: TYPE_LABELS[slot]! })).observe(seconds > 0 ? seconds : 0);

    (this.#sizeByProto[proto] ??= this.#size.series({ proto: PROTOS[proto]! })).observe(o.size);
    if (o.truncated) this.#truncatedByProto[proto]!.n++;
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
}

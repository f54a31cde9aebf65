import { readFileSync } from 'node:fs';
import { Counter, Histogram, Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '../clock.js';
import { Rcode, RRType, typeName } from '../dns/constants.js';
import type { QueryEvent } from '../server/responder.js';
import { packageVersion } from '../version.js';
import { DURATION_BUCKETS, Metrics, SIZE_BUCKETS, aggregateWorkerMetrics, type MirrorStatus } from './metrics.js';

/** A clock that only moves when told; timers are never needed by Metrics. */
function fakeClock(start = 1_000_000): Clock & { t: number } {
  const clock = {
    t: start,
    now: () => clock.t,
    setTimeout: () => undefined,
    clearTimeout: () => {},
    setInterval: () => undefined,
    clearInterval: () => {},
  };
  return clock;
}

function query(clock: { t: number }, over: Partial<QueryEvent> = {}): QueryEvent {
  return { transport: 'udp', zone: 'example.com', type: RRType.A, rcode: Rcode.NOERROR, size: 60, truncated: false, startedAt: clock.t, ...over };
}

/** Sample lines of the exposition (no # HELP / # TYPE), as a set to look lines up in. */
async function scrape(metrics: Metrics): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** The sample lines of one metric family (exact name, or name + `_bucket` / `_sum` / `_count`). */
function family(lines: readonly string[], name: string): string[] {
  return lines.filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('Metrics: queries', () => {
  it('counts requests by zone, proto and type, with CoreDNS label names and zone spelling', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    m.observeQuery(query(clock));
    m.observeQuery(query(clock));
    m.observeQuery(query(clock, { transport: 'tcp', type: RRType.AAAA }));
    m.observeQuery(query(clock, { zone: '', type: RRType.SOA })); // the root zone
    m.observeQuery(query(clock, { zone: undefined, rcode: Rcode.REFUSED }));
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual([
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 2',
      'etcdns_dns_requests_total{zone="example.com.",proto="tcp",type="AAAA"} 1',
      'etcdns_dns_requests_total{zone=".",proto="udp",type="SOA"} 1',
      'etcdns_dns_requests_total{zone="dropped",proto="udp",type="A"} 1',
    ]);
    expect(family(lines, 'etcdns_dns_responses_total')).toEqual([
      'etcdns_dns_responses_total{zone="example.com.",rcode="NOERROR"} 3',
      'etcdns_dns_responses_total{zone=".",rcode="NOERROR"} 1',
      'etcdns_dns_responses_total{zone="dropped",rcode="REFUSED"} 1',
    ]);
  });

  it('puts uncommon query types in "other", keeping the common ones apart', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    for (const type of [RRType.HINFO, RRType.SSHFP, 65280, RRType.TLSA, RRType.SRV, RRType.HTTPS, 50, RRType.ANY]) m.observeQuery(query(clock, { type }));
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual([
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="other"} 4',
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="SRV"} 1',
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="HTTPS"} 1',
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="NSEC3"} 1',
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="ANY"} 1',
    ]);
    expect(lines).toContain('etcdns_dns_request_duration_seconds_count{zone="example.com.",type="other"} 4');
  });

  it('names rcodes, including ones without a mnemonic', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    for (const rcode of [Rcode.NXDOMAIN, Rcode.NXDOMAIN, Rcode.SERVFAIL, Rcode.FORMERR, 11]) m.observeQuery(query(clock, { rcode }));
    expect(family(await scrape(m), 'etcdns_dns_responses_total')).toEqual([
      'etcdns_dns_responses_total{zone="example.com.",rcode="NXDOMAIN"} 2',
      'etcdns_dns_responses_total{zone="example.com.",rcode="SERVFAIL"} 1',
      'etcdns_dns_responses_total{zone="example.com.",rcode="FORMERR"} 1',
      'etcdns_dns_responses_total{zone="example.com.",rcode="RCODE11"} 1',
    ]);
  });

  it('times queries from startedAt with sub-millisecond buckets', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    // 30µs, 200µs, 2ms and 3s (beyond the last bucket), measured on the fake clock.
    for (const ms of [0.03, 0.2, 2, 3000]) m.observeQuery(query(clock, { startedAt: clock.t - ms }));
    // A startedAt in the future (another time base) counts as 0, never negative.
    m.observeQuery(query(clock, { startedAt: clock.t + 5 }));
    const lines = family(await scrape(m), 'etcdns_dns_request_duration_seconds_bucket');
    const le = (bound: string) => lines.find((l) => l.includes(`le="${bound}"`))?.split(' ')[1];
    expect(lines[0]).toBe('etcdns_dns_request_duration_seconds_bucket{le="0.00005",zone="example.com.",type="A"} 2');
    expect(le('0.0001')).toBe('2');
    expect(le('0.00025')).toBe('3');
    expect(le('0.001')).toBe('3');
    expect(le('0.0025')).toBe('4');
    expect(le('1')).toBe('4');
    expect(le('+Inf')).toBe('5');
    expect(lines).toHaveLength(15); // 14 bounds + +Inf
    const all = await scrape(m);
    expect(all).toContain('etcdns_dns_request_duration_seconds_count{zone="example.com.",type="A"} 5');
    const sum = Number(all.find((l) => l.startsWith('etcdns_dns_request_duration_seconds_sum'))!.split(' ')[1]);
    expect(sum).toBeCloseTo(3.00223, 6);
  });

  it('histograms reply sizes and counts truncation by proto (0 exported before any)', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    expect(family(await scrape(m), 'etcdns_dns_truncated_total')).toEqual([
      'etcdns_dns_truncated_total{proto="udp"} 0',
      'etcdns_dns_truncated_total{proto="tcp"} 0',
    ]);
    m.observeQuery(query(clock, { size: 100 }));
    m.observeQuery(query(clock, { size: 512, truncated: true }));
    m.observeQuery(query(clock, { size: 1232, truncated: true }));
    m.observeQuery(query(clock, { transport: 'tcp', size: 3000 }));
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_dns_truncated_total')).toEqual([
      'etcdns_dns_truncated_total{proto="udp"} 2',
      'etcdns_dns_truncated_total{proto="tcp"} 0',
    ]);
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="100",proto="udp"} 1');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="511",proto="udp"} 1');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="512",proto="udp"} 2');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="1232",proto="udp"} 3');
    expect(lines).toContain('etcdns_dns_response_size_bytes_sum{proto="udp"} 1844');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="2047",proto="tcp"} 0');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="4095",proto="tcp"} 1');
    expect(lines).toContain('etcdns_dns_response_size_bytes_count{proto="tcp"} 1');
  });

  it('keeps prom-client off the query path: no label lookups per query', () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    const counterLabels = vi.spyOn(Counter.prototype, 'labels');
    const histogramLabels = vi.spyOn(Histogram.prototype, 'labels');
    try {
      for (let i = 0; i < 1000; i++) {
        m.observeQuery(query(clock, { type: i % 2 === 0 ? RRType.A : RRType.HINFO, rcode: i % 3 === 0 ? Rcode.NXDOMAIN : Rcode.NOERROR }));
      }
      expect(counterLabels).not.toHaveBeenCalled();
      expect(histogramLabels).not.toHaveBeenCalled();
    } finally {
      counterLabels.mockRestore();
      histogramLabels.mockRestore();
    }
  });

  it('observeQuery is a bound function (the responder calls it detached)', () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    const { observeQuery } = m;
    expect(() => observeQuery(query(clock))).not.toThrow();
  });
});

describe('Metrics: counts kept off prom-client, copied in at scrape time', () => {
  it('flushes counts at every scrape without counting anything twice, text or JSON', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    const requests = async () => family(await scrape(m), 'etcdns_dns_requests_total');
    m.observeQuery(query(clock));
    expect(await requests()).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 1']);
    // Scrapes with nothing new in between change nothing: the total is copied, not added again.
    expect(await requests()).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 1']);
    await m.registry.getMetricsAsJSON(); // collects too (it is what a worker sends with --workers)
    for (let i = 0; i < 4; i++) m.observeQuery(query(clock, { truncated: i === 0 }));
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 5']);
    expect(family(lines, 'etcdns_dns_responses_total')).toEqual(['etcdns_dns_responses_total{zone="example.com.",rcode="NOERROR"} 5']);
    expect(family(lines, 'etcdns_dns_truncated_total')).toEqual(['etcdns_dns_truncated_total{proto="udp"} 1', 'etcdns_dns_truncated_total{proto="tcp"} 0']);
    expect(lines).toContain('etcdns_dns_request_duration_seconds_count{zone="example.com.",type="A"} 5');
    expect(lines).toContain('etcdns_dns_response_size_bytes_count{proto="udp"} 5');
    expect(lines).toContain('etcdns_dns_response_size_bytes_sum{proto="udp"} 300');
    const json = await m.registry.getMetricsAsJSON();
    expect(json.find((f) => f.name === 'etcdns_dns_requests_total')?.values).toEqual([
      { value: 5, labels: { zone: 'example.com.', proto: 'udp', type: 'A' } },
    ]);
    // Nor does a registry reset (prom-client's, for tests): counters never go backwards.
    m.registry.resetMetrics();
    expect(await requests()).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 5']);
  });

  it('exports cumulative histogram buckets ending in +Inf = _count, per series', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    const sizes = [0, 1, 100, 101, 511, 512, 513, 1232, 64000, 64001, 70000];
    for (const size of sizes) m.observeQuery(query(clock, { size }));
    m.observeQuery(query(clock, { transport: 'tcp', size: 5000 }));
    const lines = family(await scrape(m), 'etcdns_dns_response_size_bytes_bucket');
    const udp = lines.filter((l) => l.includes('proto="udp"}')).map((l) => [/le="([^"]+)"/.exec(l)![1], Number(l.split(' ')[1])]);
    expect(udp).toEqual([
      ['0', 1],
      ['100', 3],
      ['200', 4],
      ['300', 4],
      ['400', 4],
      ['511', 5],
      ['512', 6],
      ['1023', 7],
      ['1232', 8],
      ['2047', 8],
      ['4095', 8],
      ['8291', 8],
      ['16000', 8],
      ['32000', 8],
      ['48000', 8],
      ['64000', 9],
      ['+Inf', 11], // 64001 and 70000 are above every bound: only in +Inf
    ]);
    const all = await scrape(m);
    expect(all).toContain('etcdns_dns_response_size_bytes_count{proto="udp"} 11');
    expect(all).toContain(`etcdns_dns_response_size_bytes_sum{proto="udp"} ${sizes.reduce((a, b) => a + b)}`);
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="4095",proto="tcp"} 0');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="8291",proto="tcp"} 1');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="+Inf",proto="tcp"} 1');
  });

  it('adds a zone, type or rcode first seen after a scrape, after the series already there', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    m.observeQuery(query(clock));
    await scrape(m);
    m.observeQuery(query(clock, { zone: 'other.org', type: RRType.MX, rcode: Rcode.NXDOMAIN, transport: 'tcp' }));
    m.observeQuery(query(clock));
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual([
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 2',
      'etcdns_dns_requests_total{zone="other.org.",proto="tcp",type="MX"} 1',
    ]);
    expect(family(lines, 'etcdns_dns_responses_total')).toEqual([
      'etcdns_dns_responses_total{zone="example.com.",rcode="NOERROR"} 2',
      'etcdns_dns_responses_total{zone="other.org.",rcode="NXDOMAIN"} 1',
    ]);
    expect(family(lines, 'etcdns_dns_request_duration_seconds_count')).toEqual([
      'etcdns_dns_request_duration_seconds_count{zone="example.com.",type="A"} 2',
      'etcdns_dns_request_duration_seconds_count{zone="other.org.",type="MX"} 1',
    ]);
    expect(family(lines, 'etcdns_dns_response_size_bytes_count')).toEqual([
      'etcdns_dns_response_size_bytes_count{proto="udp"} 2',
      'etcdns_dns_response_size_bytes_count{proto="tcp"} 1',
    ]);
  });

  it('renders its histograms exactly as a prom-client Histogram fed the same values would, text and JSON', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    const reference = new Registry();
    const duration = new Histogram({
      name: 'etcdns_dns_request_duration_seconds',
      help: 'Time from receiving a query to having its reply, by zone and query type.',
      labelNames: ['zone', 'type'],
      buckets: [...DURATION_BUCKETS],
      registers: [reference],
    });
    const size = new Histogram({
      name: 'etcdns_dns_response_size_bytes',
      help: 'Size of DNS replies in bytes, by transport.',
      labelNames: ['proto'],
      buckets: [...SIZE_BUCKETS],
      registers: [reference],
    });
    const events: [zone: string, type: number, transport: 'udp' | 'tcp', ms: number, size: number][] = [
      ['example.com', RRType.A, 'tcp', 0.03, 1500],
      ['example.com', RRType.A, 'udp', 0.2, 60],
      ['', RRType.SOA, 'udp', 2, 512],
      ['example.com', RRType.HINFO, 'udp', 3000, 70000],
      ['example.com', RRType.A, 'udp', 0.07, 0],
    ];
    for (const [zone, type, transport, ms, bytes] of events) {
      const startedAt = clock.t - ms;
      m.observeQuery(query(clock, { zone, type, transport, startedAt, size: bytes }));
      duration.observe({ zone: zone === '' ? '.' : `${zone}.`, type: type === RRType.HINFO ? 'other' : typeName(type) }, (clock.t - startedAt) / 1000);
      size.observe({ proto: transport }, bytes);
    }
    for (const name of ['etcdns_dns_request_duration_seconds', 'etcdns_dns_response_size_bytes']) {
      expect(await m.registry.getSingleMetricAsString(name)).toBe(await reference.getSingleMetricAsString(name));
      const ours = (await m.registry.getMetricsAsJSON()).find((f) => f.name === name);
      const theirs = (await reference.getMetricsAsJSON()).find((f) => f.name === name);
      expect(theirs?.values.length).toBeGreaterThan(0);
      expect(ours).toStrictEqual(theirs);
    }
  });
});

describe('Metrics: --workers aggregation', () => {
  const status: MirrorStatus = { connected: true, synced: true, revision: 100, lastEventAt: 990_000, lastSyncAt: 900_000, keys: 10, records: 12, invalid: 0, relists: 1 };

  it('gives every metric family the aggregator that merges workers sensibly', async () => {
    const m = new Metrics({
      clock: fakeClock(),
      defaultMetrics: false,
      mirror: () => status,
      limits: () => ({ rateLimitDropped: 0, rateLimitSlipped: 0, forwardRefused: 0 }),
      forwardCache: () => ({ entries: 0, bytes: 0 }),
    });
    const aggregators = Object.fromEntries((await m.registry.getMetricsAsJSON()).map((f) => [f.name, f.aggregator]));
    expect(aggregators).toEqual({
      etcdns_build_info: 'first',
      etcdns_dns_requests_total: 'sum',
      etcdns_dns_responses_total: 'sum',
      etcdns_dns_request_duration_seconds: 'sum',
      etcdns_dns_response_size_bytes: 'sum',
      etcdns_dns_truncated_total: 'sum',
      etcdns_etcd_invalid_values_total: 'max',
      etcdns_zone_reload_failures_total: 'max',
      etcdns_forward_requests_total: 'sum',
      etcdns_forward_failures_total: 'sum',
      etcdns_forward_request_duration_seconds: 'sum',
      etcdns_forward_upstream_healthy: 'min',
      etcdns_cache_requests_total: 'sum',
      etcdns_ratelimit_dropped_total: 'sum',
      etcdns_ratelimit_slipped_total: 'sum',
      etcdns_forward_refused_over_limit_total: 'sum',
      etcdns_cache_entries: 'sum',
      etcdns_cache_bytes: 'sum',
      etcdns_etcd_connected: 'min',
      etcdns_etcd_synced: 'min',
      etcdns_etcd_revision: 'min',
      etcdns_etcd_seconds_since_last_event: 'max',
      etcdns_etcd_seconds_since_last_sync: 'max',
      etcdns_etcd_keys: 'max',
      etcdns_etcd_records: 'max',
      etcdns_etcd_invalid_keys: 'max',
      etcdns_etcd_relists_total: 'sum',
    });
  });

  it('sums traffic and histogram buckets across workers, keeps the stalest etcd view and one build_info', async () => {
    const clock = fakeClock(1_000_000);
    const a = new Metrics({ clock, defaultMetrics: false, mirror: () => status });
    const b = new Metrics({ clock, defaultMetrics: false, mirror: () => ({ ...status, revision: 90, lastEventAt: 980_000, connected: false, keys: 11, relists: 2 }) });
    a.observeQuery(query(clock, { startedAt: clock.t - 0.03 }));
    a.observeQuery(query(clock, { startedAt: clock.t - 0.3 }));
    a.observeQuery(query(clock, { transport: 'tcp', type: RRType.AAAA }));
    b.observeQuery(query(clock, { startedAt: clock.t - 0.03, truncated: true }));
    b.observeQuery(query(clock, { zone: undefined, rcode: Rcode.REFUSED }));
    const merged = aggregateWorkerMetrics([await a.registry.getMetricsAsJSON(), await b.registry.getMetricsAsJSON()]);
    const lines = (await merged.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual([
      'etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 3',
      'etcdns_dns_requests_total{zone="example.com.",proto="tcp",type="AAAA"} 1',
      'etcdns_dns_requests_total{zone="dropped",proto="udp",type="A"} 1',
    ]);
    expect(family(lines, 'etcdns_dns_responses_total')).toEqual([
      'etcdns_dns_responses_total{zone="example.com.",rcode="NOERROR"} 4',
      'etcdns_dns_responses_total{zone="dropped",rcode="REFUSED"} 1',
    ]);
    expect(family(lines, 'etcdns_dns_truncated_total')).toEqual(['etcdns_dns_truncated_total{proto="udp"} 1', 'etcdns_dns_truncated_total{proto="tcp"} 0']);
    const bucket = (le: string) => lines.find((l) => l.startsWith(`etcdns_dns_request_duration_seconds_bucket{le="${le}",zone="example.com.",type="A"}`))?.split(' ')[1];
    expect(bucket('0.00005')).toBe('2'); // 30µs in a and in b
    expect(bucket('0.00025')).toBe('2');
    expect(bucket('0.0005')).toBe('3'); // 300µs in a
    expect(bucket('+Inf')).toBe('3');
    expect(lines).toContain('etcdns_dns_request_duration_seconds_count{zone="example.com.",type="A"} 3');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="100",proto="udp"} 4');
    expect(family(lines, 'etcdns_build_info')).toEqual([`etcdns_build_info{version="${packageVersion()}"} 1`]);
    expect(family(lines, 'etcdns_etcd_revision')).toEqual(['etcdns_etcd_revision 90']);
    expect(family(lines, 'etcdns_etcd_connected')).toEqual(['etcdns_etcd_connected 0']);
    expect(family(lines, 'etcdns_etcd_synced')).toEqual(['etcdns_etcd_synced 1']);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_event')).toEqual(['etcdns_etcd_seconds_since_last_event 20']);
    expect(family(lines, 'etcdns_etcd_keys')).toEqual(['etcdns_etcd_keys 11']);
    expect(family(lines, 'etcdns_etcd_relists_total')).toEqual(['etcdns_etcd_relists_total 3']);
    // The merged text is typed like a single process's.
    expect(await merged.metrics()).toContain('# TYPE etcdns_dns_request_duration_seconds histogram');
  });
});

describe('Metrics: etcd mirror gauges', () => {
  const status: MirrorStatus = {
    connected: true,
    synced: true,
    revision: 4242,
    lastEventAt: 1_000_000 - 2500,
    lastSyncAt: 1_000_000 - 60_000,
    keys: 17,
    records: 23,
    invalid: 2,
    relists: 3,
  };
  const MIRROR = [
    'etcdns_etcd_connected',
    'etcdns_etcd_synced',
    'etcdns_etcd_revision',
    'etcdns_etcd_seconds_since_last_event',
    'etcdns_etcd_seconds_since_last_sync',
    'etcdns_etcd_keys',
    'etcdns_etcd_records',
    'etcdns_etcd_invalid_keys',
    'etcdns_etcd_relists_total',
  ];
  const mirrorLines = (lines: readonly string[]) => MIRROR.flatMap((name) => family(lines, name));

  it('reads the status at scrape time, with ages from the clock', async () => {
    const clock = fakeClock(1_000_000);
    let current: MirrorStatus | undefined = status;
    const m = new Metrics({ clock, mirror: () => current, defaultMetrics: false });
    expect(mirrorLines(await scrape(m))).toEqual([
      'etcdns_etcd_connected 1',
      'etcdns_etcd_synced 1',
      'etcdns_etcd_revision 4242',
      'etcdns_etcd_seconds_since_last_event 2.5',
      'etcdns_etcd_seconds_since_last_sync 60',
      'etcdns_etcd_keys 17',
      'etcdns_etcd_records 23',
      'etcdns_etcd_invalid_keys 2',
      'etcdns_etcd_relists_total 3',
    ]);

    clock.t += 10_000;
    current = { ...status, connected: false, relists: 4, revision: 4300 };
    expect(mirrorLines(await scrape(m))).toEqual([
      'etcdns_etcd_connected 0',
      'etcdns_etcd_synced 1',
      'etcdns_etcd_revision 4300',
      'etcdns_etcd_seconds_since_last_event 12.5',
      'etcdns_etcd_seconds_since_last_sync 70',
      'etcdns_etcd_keys 17',
      'etcdns_etcd_records 23',
      'etcdns_etcd_invalid_keys 2',
      'etcdns_etcd_relists_total 4',
    ]);
  });

  it('types relists as a counter and the rest as gauges', async () => {
    const m = new Metrics({ clock: fakeClock(), mirror: () => status, defaultMetrics: false });
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE etcdns_etcd_relists_total counter');
    expect(text).toContain('# TYPE etcdns_etcd_connected gauge');
    expect(text).toContain('# TYPE etcdns_etcd_seconds_since_last_event gauge');
  });

  it('leaves out the ages before the first event and sync (not a made-up 0)', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, mirror: () => ({ ...status, synced: false, lastEventAt: undefined, lastSyncAt: undefined }), defaultMetrics: false });
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_event')).toEqual([]);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_sync')).toEqual([]);
    expect(family(lines, 'etcdns_etcd_synced')).toEqual(['etcdns_etcd_synced 0']);
  });

  it('brings an age back once there is one, after leaving it out', async () => {
    const clock = fakeClock(5000);
    let current: MirrorStatus = { ...status, lastEventAt: undefined };
    const m = new Metrics({ clock, mirror: () => current, defaultMetrics: false });
    expect(family(await scrape(m), 'etcdns_etcd_seconds_since_last_event')).toEqual([]);
    current = { ...status, lastEventAt: 4000 };
    expect(family(await scrape(m), 'etcdns_etcd_seconds_since_last_event')).toEqual(['etcdns_etcd_seconds_since_last_event 1']);
  });

  it('says "not connected, not synced" and nothing else while no mirror runs', async () => {
    const m = new Metrics({ clock: fakeClock(), mirror: () => undefined, defaultMetrics: false });
    expect(mirrorLines(await scrape(m))).toEqual(['etcdns_etcd_connected 0', 'etcdns_etcd_synced 0']);
  });

  it('exports no mirror gauges at all without etcd', async () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false });
    const text = await m.registry.metrics();
    for (const name of MIRROR) expect(text).not.toContain(name);
  });
});

describe('Metrics: counters and info', () => {
  it('counts invalid etcd values by reason and zone reload failures', async () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false });
    expect(family(await scrape(m), 'etcdns_zone_reload_failures_total')).toEqual(['etcdns_zone_reload_failures_total 0']);
    expect(family(await scrape(m), 'etcdns_etcd_invalid_values_total')).toEqual([]);
    m.invalidValue('json');
    m.invalidValue('json');
    m.invalidValue('host');
    m.zoneReloadFailed();
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_etcd_invalid_values_total')).toEqual([
      'etcdns_etcd_invalid_values_total{reason="json"} 2',
      'etcdns_etcd_invalid_values_total{reason="host"} 1',
    ]);
    expect(family(lines, 'etcdns_zone_reload_failures_total')).toEqual(['etcdns_zone_reload_failures_total 1']);
  });

  it('exports build_info with the package version', async () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false });
    expect(family(await scrape(m), 'etcdns_build_info')).toEqual([`etcdns_build_info{version="${packageVersion()}"} 1`]);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('adds process metrics with the etcdns_ prefix to its own registry, never the global one', async () => {
    const a = new Metrics({});
    const b = new Metrics({}); // a second instance must not collide with the first
    for (const m of [a, b]) {
      const text = await m.registry.metrics();
      expect(text).toMatch(/^etcdns_process_cpu_user_seconds_total \d/m);
      expect(text).toMatch(/^etcdns_nodejs_eventloop_lag_seconds \d/m);
      expect(text).not.toMatch(/^process_cpu/m);
    }
    expect(await globalRegistry.metrics()).not.toContain('etcdns_');
  });

  it('uses the Prometheus text content type', () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false });
    expect(m.registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('Metrics: forwarding', () => {
  it('counts upstream tries by rcode and failures by reason, ignoring health probes', async () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false, forwardCache: () => ({ entries: 3, bytes: 900 }) });
    m.forward.upstream({ upstream: '127.0.0.1:53', ok: true, rcode: Rcode.NOERROR, durationMs: 2, kind: 'query' });
    m.forward.upstream({ upstream: '127.0.0.1:53', ok: false, durationMs: 2000, reason: 'timeout', kind: 'query' });
    m.forward.upstream({ upstream: '127.0.0.1:53', ok: false, durationMs: 1, reason: 'ECONNREFUSED', kind: 'probe' });
    m.forward.cache('hit');
    m.forward.cache('hit');
    m.forward.cache('stale');
    m.forward.health({ upstream: '127.0.0.1:53', healthy: false });
    const lines = await scrape(m);
    expect(family(lines, 'etcdns_forward_requests_total')).toEqual([
      'etcdns_forward_requests_total{upstream="127.0.0.1:53",rcode="NOERROR"} 1',
      'etcdns_forward_requests_total{upstream="127.0.0.1:53",rcode="none"} 1',
    ]);
    expect(family(lines, 'etcdns_forward_failures_total')).toEqual(['etcdns_forward_failures_total{upstream="127.0.0.1:53",reason="timeout"} 1']);
    expect(lines).toContain('etcdns_forward_request_duration_seconds_count{upstream="127.0.0.1:53"} 2');
    expect(family(lines, 'etcdns_cache_requests_total')).toEqual([
      'etcdns_cache_requests_total{result="hit"} 2',
      'etcdns_cache_requests_total{result="stale"} 1',
    ]);
    expect(lines).toContain('etcdns_cache_entries 3');
    expect(lines).toContain('etcdns_cache_bytes 900');
    expect(lines).toContain('etcdns_forward_upstream_healthy{upstream="127.0.0.1:53"} 0');
  });
});

describe('Metrics: abuse limits', () => {
  it('copies the limiter and forwarder counts into counters at scrape time', async () => {
    let counts = { rateLimitDropped: 0, rateLimitSlipped: 0, forwardRefused: 0 };
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false, limits: () => counts });
    counts = { rateLimitDropped: 7, rateLimitSlipped: 3, forwardRefused: 2 };
    const lines = await scrape(m);
    expect(lines).toEqual(
      expect.arrayContaining(['etcdns_ratelimit_dropped_total 7', 'etcdns_ratelimit_slipped_total 3', 'etcdns_forward_refused_over_limit_total 2']),
    );
  });
});

describe('Metrics: the whole exposition', () => {
  /**
   * A registry with every metric family populated, as a scrape sees it. The expected texts in
   * testdata/ were written by the code before metrics.ts was split into its parts, so any
   * change to a name, help text, label, order or number shows here as a diff.
   */
  function populated(clock: Clock & { t: number }, worker: 0 | 1): Metrics {
    const m = new Metrics({
      clock,
      defaultMetrics: false,
      limits: () => ({ rateLimitDropped: 7 + worker, rateLimitSlipped: 3, forwardRefused: 2 * worker }),
      forwardCache: () => ({ entries: 4, bytes: 1900 + worker }),
      mirror: () =>
        worker === 0
          ? { connected: true, synced: true, revision: 4242, lastEventAt: clock.t - 2500, lastSyncAt: clock.t - 60_000, keys: 17, records: 23, invalid: 2, relists: 3 }
          : { connected: false, synced: true, revision: 4200, lastEventAt: clock.t - 9000, keys: 18, records: 22, invalid: 1, relists: 1 },
    });
    m.observeQuery(query(clock, { startedAt: clock.t - 0.2 }));
    m.observeQuery(query(clock, { transport: 'tcp', type: RRType.AAAA, size: 1500, startedAt: clock.t - 3 }));
    m.observeQuery(query(clock, { zone: '', type: RRType.SOA, size: 512, truncated: true }));
    m.observeQuery(query(clock, { zone: undefined, rcode: Rcode.REFUSED, type: RRType.HINFO, size: 30 }));
    if (worker === 1) m.observeQuery(query(clock, { type: 65280, rcode: Rcode.NXDOMAIN, startedAt: clock.t - 3000, size: 70000 }));
    m.invalidValue('json');
    m.invalidValue('host');
    if (worker === 0) m.invalidValue('json');
    m.zoneReloadFailed();
    m.forward.upstream({ upstream: '127.0.0.1:53', ok: true, rcode: Rcode.NOERROR, durationMs: 2, kind: 'query' });
    m.forward.upstream({ upstream: '[::1]:53', ok: false, durationMs: 2000, reason: 'timeout', kind: 'query' });
    m.forward.upstream({ upstream: '127.0.0.1:53', ok: false, durationMs: 1, reason: 'ECONNREFUSED', kind: 'probe' });
    m.forward.cache('hit');
    m.forward.cache(worker === 0 ? 'miss' : 'stale');
    m.forward.health({ upstream: '127.0.0.1:53', healthy: true });
    m.forward.health({ upstream: '[::1]:53', healthy: worker === 1 });
    return m;
  }
  const expected = (file: string) => readFileSync(new URL(`testdata/${file}`, import.meta.url), 'utf8');

  it('renders one process byte for byte as before the split', async () => {
    const m = populated(fakeClock(), 0);
    expect(await m.registry.metrics()).toBe(expected('exposition.txt'));
  });

  it('merges two workers byte for byte as before the split', async () => {
    const clock = fakeClock();
    const workers = [populated(clock, 0), populated(clock, 1)];
    const merged = aggregateWorkerMetrics(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON())));
    expect(await merged.metrics()).toBe(expected('exposition-merged.txt'));
  });
});

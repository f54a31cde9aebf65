import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '../clock.js';
import { Rcode, RRType, typeName } from '../dns/constants.js';
import { family, fakeClock, query, scrape } from '../../test/support/metrics.js';
import { DURATION_BUCKETS, QueryMetrics, SIZE_BUCKETS } from './query-metrics.js';

/** QueryMetrics in a registry of its own. */
function queryMetrics(clock: Clock): { m: QueryMetrics; registry: Registry } {
  const registry = new Registry();
  return { m: new QueryMetrics(registry, clock), registry };
}

describe('QueryMetrics', () => {
  it('counts requests by zone, proto and type, with CoreDNS label names and zone spelling', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    m.observe(query(clock));
    m.observe(query(clock));
    m.observe(query(clock, { transport: 'tcp', type: RRType.AAAA }));
    m.observe(query(clock, { zone: '', type: RRType.SOA })); // the root zone
    m.observe(query(clock, { zone: undefined, rcode: Rcode.REFUSED }));
    const lines = await scrape(registry);
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
    const { m, registry } = queryMetrics(clock);
    for (const type of [RRType.HINFO, RRType.SSHFP, 65280, RRType.TLSA, RRType.SRV, RRType.HTTPS, 50, RRType.ANY]) m.observe(query(clock, { type }));
    const lines = await scrape(registry);
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
    const { m, registry } = queryMetrics(clock);
    for (const rcode of [Rcode.NXDOMAIN, Rcode.NXDOMAIN, Rcode.SERVFAIL, Rcode.FORMERR, 11]) m.observe(query(clock, { rcode }));
    expect(family(await scrape(registry), 'etcdns_dns_responses_total')).toEqual([
      'etcdns_dns_responses_total{zone="example.com.",rcode="NXDOMAIN"} 2',
      'etcdns_dns_responses_total{zone="example.com.",rcode="SERVFAIL"} 1',
      'etcdns_dns_responses_total{zone="example.com.",rcode="FORMERR"} 1',
      'etcdns_dns_responses_total{zone="example.com.",rcode="RCODE11"} 1',
    ]);
  });

  it('times queries from startedAt with sub-millisecond buckets', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    // 30µs, 200µs, 2ms and 3s (beyond the last bucket), measured on the fake clock.
    for (const ms of [0.03, 0.2, 2, 3000]) m.observe(query(clock, { startedAt: clock.t - ms }));
    // A startedAt in the future (another time base) counts as 0, never negative.
    m.observe(query(clock, { startedAt: clock.t + 5 }));
    const lines = family(await scrape(registry), 'etcdns_dns_request_duration_seconds_bucket');
    const le = (bound: string) => lines.find((l) => l.includes(`le="${bound}"`))?.split(' ')[1];
    expect(lines[0]).toBe('etcdns_dns_request_duration_seconds_bucket{le="0.00005",zone="example.com.",type="A"} 2');
    expect(le('0.0001')).toBe('2');
    expect(le('0.00025')).toBe('3');
    expect(le('0.001')).toBe('3');
    expect(le('0.0025')).toBe('4');
    expect(le('1')).toBe('4');
    expect(le('+Inf')).toBe('5');
    expect(lines).toHaveLength(15); // 14 bounds + +Inf
    const all = await scrape(registry);
    expect(all).toContain('etcdns_dns_request_duration_seconds_count{zone="example.com.",type="A"} 5');
    const sum = Number(all.find((l) => l.startsWith('etcdns_dns_request_duration_seconds_sum'))!.split(' ')[1]);
    expect(sum).toBeCloseTo(3.00223, 6);
  });

  it('histograms reply sizes and counts truncation by proto (0 exported before any)', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    expect(family(await scrape(registry), 'etcdns_dns_truncated_total')).toEqual([
      'etcdns_dns_truncated_total{proto="udp"} 0',
      'etcdns_dns_truncated_total{proto="tcp"} 0',
    ]);
    m.observe(query(clock, { size: 100 }));
    m.observe(query(clock, { size: 512, truncated: true }));
    m.observe(query(clock, { size: 1232, truncated: true }));
    m.observe(query(clock, { transport: 'tcp', size: 3000 }));
    const lines = await scrape(registry);
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

  it('keeps prom-client off the query path: no prom-client update per query', async () => {
    const clock = fakeClock();
    // What Counter.inc and Histogram.observe are (prom-client 15 assigns one of these to each
    // instance at construction, so the spies go in first): each hashes the labels on every call,
    // which is the cost avoided.
    type Internals = { incWithoutExemplar(): void; observeWithoutExemplar(): void; labels(): void };
    const counter = Counter.prototype as unknown as Internals;
    const histogram = Histogram.prototype as unknown as Internals;
    const spies = [
      vi.spyOn(counter, 'incWithoutExemplar'),
      vi.spyOn(counter, 'labels'),
      vi.spyOn(histogram, 'observeWithoutExemplar'),
      vi.spyOn(histogram, 'labels'),
    ];
    try {
      const { m, registry } = queryMetrics(clock);
      for (let i = 0; i < 1000; i++) {
        m.observe(query(clock, { type: i % 2 === 0 ? RRType.A : RRType.HINFO, rcode: i % 3 === 0 ? Rcode.NXDOMAIN : Rcode.NOERROR, truncated: i % 5 === 0 }));
      }
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();

      // The spies do see prom-client updates (else this test could not fail): a scrape copies
      // the counts in with inc().
      const lines = await scrape(registry);
      expect(spies[0]).toHaveBeenCalled();
      // And every query was counted.
      expect(family(lines, 'etcdns_dns_responses_total')).toEqual([
        'etcdns_dns_responses_total{zone="example.com.",rcode="NXDOMAIN"} 334',
        'etcdns_dns_responses_total{zone="example.com.",rcode="NOERROR"} 666',
      ]);
      expect(family(lines, 'etcdns_dns_truncated_total')).toEqual(['etcdns_dns_truncated_total{proto="udp"} 200', 'etcdns_dns_truncated_total{proto="tcp"} 0']);
      expect(lines).toContain('etcdns_dns_response_size_bytes_count{proto="udp"} 1000');
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('observe is a bound function (it is handed out as a callback and called detached)', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    const { observe } = m;
    observe(query(clock));
    observe(query(clock));
    expect(family(await scrape(registry), 'etcdns_dns_requests_total')).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 2']);
  });
});

describe('QueryMetrics: counts kept off prom-client, copied in at scrape time', () => {
  it('flushes counts at every scrape without counting anything twice, text or JSON', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    const requests = async () => family(await scrape(registry), 'etcdns_dns_requests_total');
    m.observe(query(clock));
    expect(await requests()).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 1']);
    // Scrapes with nothing new in between change nothing: the total is copied, not added again.
    expect(await requests()).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 1']);
    await registry.getMetricsAsJSON(); // collects too (it is what a worker sends with --workers)
    for (let i = 0; i < 4; i++) m.observe(query(clock, { truncated: i === 0 }));
    const lines = await scrape(registry);
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 5']);
    expect(family(lines, 'etcdns_dns_responses_total')).toEqual(['etcdns_dns_responses_total{zone="example.com.",rcode="NOERROR"} 5']);
    expect(family(lines, 'etcdns_dns_truncated_total')).toEqual(['etcdns_dns_truncated_total{proto="udp"} 1', 'etcdns_dns_truncated_total{proto="tcp"} 0']);
    expect(lines).toContain('etcdns_dns_request_duration_seconds_count{zone="example.com.",type="A"} 5');
    expect(lines).toContain('etcdns_dns_response_size_bytes_count{proto="udp"} 5');
    expect(lines).toContain('etcdns_dns_response_size_bytes_sum{proto="udp"} 300');
    const json = await registry.getMetricsAsJSON();
    expect(json.find((f) => f.name === 'etcdns_dns_requests_total')?.values).toEqual([
      { value: 5, labels: { zone: 'example.com.', proto: 'udp', type: 'A' } },
    ]);
    // Nor does a registry reset (prom-client's, for tests): counters never go backwards.
    registry.resetMetrics();
    expect(await requests()).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 5']);
  });

  it('exports cumulative histogram buckets ending in +Inf = _count, per series', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    const sizes = [0, 1, 100, 101, 511, 512, 513, 1232, 64000, 64001, 70000];
    for (const size of sizes) m.observe(query(clock, { size }));
    m.observe(query(clock, { transport: 'tcp', size: 5000 }));
    const lines = family(await scrape(registry), 'etcdns_dns_response_size_bytes_bucket');
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
    const all = await scrape(registry);
    expect(all).toContain('etcdns_dns_response_size_bytes_count{proto="udp"} 11');
    expect(all).toContain(`etcdns_dns_response_size_bytes_sum{proto="udp"} ${sizes.reduce((a, b) => a + b)}`);
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="4095",proto="tcp"} 0');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="8291",proto="tcp"} 1');
    expect(lines).toContain('etcdns_dns_response_size_bytes_bucket{le="+Inf",proto="tcp"} 1');
  });

  it('adds a zone, type or rcode first seen after a scrape, after the series already there', async () => {
    const clock = fakeClock();
    const { m, registry } = queryMetrics(clock);
    m.observe(query(clock));
    await scrape(registry);
    m.observe(query(clock, { zone: 'other.org', type: RRType.MX, rcode: Rcode.NXDOMAIN, transport: 'tcp' }));
    m.observe(query(clock));
    const lines = await scrape(registry);
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
    const { m, registry } = queryMetrics(clock);
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
      m.observe(query(clock, { zone, type, transport, startedAt, size: bytes }));
      duration.observe({ zone: zone === '' ? '.' : `${zone}.`, type: type === RRType.HINFO ? 'other' : typeName(type) }, (clock.t - startedAt) / 1000);
      size.observe({ proto: transport }, bytes);
    }
    for (const name of ['etcdns_dns_request_duration_seconds', 'etcdns_dns_response_size_bytes']) {
      expect(await registry.getSingleMetricAsString(name)).toBe(await reference.getSingleMetricAsString(name));
      const ours = (await registry.getMetricsAsJSON()).find((f) => f.name === name);
      const theirs = (await reference.getMetricsAsJSON()).find((f) => f.name === name);
      expect(theirs?.values.length).toBeGreaterThan(0);
      expect(ours).toStrictEqual(theirs);
    }
  });
});

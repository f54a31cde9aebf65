import { describe, expect, it } from 'vitest';
import { Rcode, RRType } from '../dns/constants.js';
import type { MirrorStatus } from '../etcd/mirror-status.js';
import { packageVersion } from '../version.js';
import { family, fakeClock, query, scrape } from '../../test/support/metrics.js';
import { Metrics } from './metrics.js';
import { aggregateWorkerMetrics } from './worker-merge.js';

describe('aggregateWorkerMetrics', () => {
  const status: MirrorStatus = { connected: true, synced: true, revision: 100, lastEventAt: 990_000, lastSyncAt: 900_000, keys: 10, records: 12, invalid: 0, relists: 1, disconnectedSince: undefined };

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
    const lines = await scrape(merged);
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

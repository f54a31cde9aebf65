import { readFileSync } from 'node:fs';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../clock.js';
import { Rcode, RRType } from '../dns/constants.js';
import type { MirrorStatus } from '../etcd/mirror-status.js';
import { packageVersion } from '../version.js';
import { family, fakeClock, query, scrape } from '../../test/support/metrics.js';
import { Metrics } from './metrics.js';
import { aggregateWorkerMetrics } from './worker-merge.js';

describe('Metrics: composition', () => {
  const status: MirrorStatus = { connected: true, synced: true, revision: 100, lastEventAt: 990_000, lastSyncAt: 900_000, keys: 10, records: 12, invalid: 0, relists: 1, disconnectedSince: undefined };

  it('gives every metric family the aggregator that merges workers sensibly', async () => {
    const m = new Metrics({
      clock: fakeClock(),
      defaultMetrics: false,
      mirror: () => status,
      limits: () => ({ rateLimitDropped: 0, rateLimitSlipped: 0, forwardRefused: 0, logDropped: 0 }),
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
      etcdns_etcd_rrsets_cut_total: 'max',
      etcdns_zone_reload_failures_total: 'max',
      etcdns_forward_requests_total: 'sum',
      etcdns_forward_failures_total: 'sum',
      etcdns_forward_request_duration_seconds: 'sum',
      etcdns_forward_upstream_healthy: 'min',
      etcdns_cache_requests_total: 'sum',
      etcdns_ratelimit_dropped_total: 'sum',
      etcdns_ratelimit_slipped_total: 'sum',
      etcdns_forward_refused_over_limit_total: 'sum',
      etcdns_log_lines_dropped_total: 'sum',
      etcdns_cache_entries: 'sum',
      etcdns_cache_bytes: 'sum',
      etcdns_etcd_connected: 'min',
      etcdns_etcd_synced: 'min',
      etcdns_etcd_revision: 'min',
      etcdns_etcd_seconds_since_last_event: 'max',
      etcdns_etcd_seconds_since_last_sync: 'max',
      etcdns_etcd_keys: 'max',
      etcdns_etcd_lag_revisions: 'max',
      etcdns_etcd_lag_seconds: 'max',
      etcdns_etcd_records: 'max',
      etcdns_etcd_invalid_keys: 'max',
      etcdns_etcd_relists_total: 'sum',
    });
  });

  it('exports only what it is given sources for: no etcd, limit or cache families without them', async () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false });
    const names = (await m.registry.getMetricsAsJSON()).map((f) => f.name);
    // A zone-files-only server must not look like one that lost etcd.
    expect(names.filter((n) => n.startsWith('etcdns_etcd_'))).toEqual(['etcdns_etcd_invalid_values_total', 'etcdns_etcd_rrsets_cut_total']);
    expect(names).not.toContain('etcdns_ratelimit_dropped_total');
    expect(names).not.toContain('etcdns_cache_entries');
    expect(names).toContain('etcdns_dns_requests_total');
    expect(names).toContain('etcdns_forward_requests_total');
  });

  it('observeQuery, invalidValue, zoneReloadFailed and forward reach their families, observeQuery called detached', async () => {
    const clock = fakeClock();
    const m = new Metrics({ clock, defaultMetrics: false });
    const { observeQuery } = m;
    observeQuery(query(clock));
    m.invalidValue('json');
    m.zoneReloadFailed();
    const { cache } = m.forward;
    cache('miss');
    const lines = await scrape(m.registry);
    expect(family(lines, 'etcdns_dns_requests_total')).toEqual(['etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 1']);
    expect(family(lines, 'etcdns_etcd_invalid_values_total')).toEqual(['etcdns_etcd_invalid_values_total{reason="json"} 1']);
    expect(family(lines, 'etcdns_zone_reload_failures_total')).toEqual(['etcdns_zone_reload_failures_total 1']);
    expect(family(lines, 'etcdns_cache_requests_total')).toEqual(['etcdns_cache_requests_total{result="miss"} 1']);
  });

  it('exports build_info with the package version', async () => {
    const m = new Metrics({ clock: fakeClock(), defaultMetrics: false });
    expect(family(await scrape(m.registry), 'etcdns_build_info')).toEqual([`etcdns_build_info{version="${packageVersion()}"} 1`]);
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
      limits: () => ({ rateLimitDropped: 7 + worker, rateLimitSlipped: 3, forwardRefused: 2 * worker, logDropped: worker }),
      forwardCache: () => ({ entries: 4, bytes: 1900 + worker }),
      mirror: () =>
        worker === 0
          ? { connected: true, synced: true, revision: 4242, lastEventAt: clock.t - 2500, lastSyncAt: clock.t - 60_000, keys: 17, records: 23, invalid: 2, relists: 3, disconnectedSince: undefined }
          : { connected: false, synced: true, revision: 4200, lastEventAt: clock.t - 9000, lastSyncAt: undefined, keys: 18, records: 22, invalid: 1, relists: 1, disconnectedSince: clock.t - 9000 },
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

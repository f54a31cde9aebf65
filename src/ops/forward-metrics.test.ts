import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Rcode } from '../dns/constants.js';
import { family, scrape } from '../../test/support/metrics.js';
import { ForwardMetrics, registerForwardCacheGauges } from './forward-metrics.js';

describe('ForwardMetrics', () => {
  it('counts upstream tries by rcode and failures by reason, ignoring health probes', async () => {
    const registry = new Registry();
    // Detached, as the forwarder holds them.
    const { upstream, cache, health } = new ForwardMetrics(registry);
    upstream({ upstream: '127.0.0.1:53', ok: true, rcode: Rcode.NOERROR, durationMs: 2, kind: 'query' });
    upstream({ upstream: '127.0.0.1:53', ok: false, durationMs: 2000, reason: 'timeout', kind: 'query' });
    upstream({ upstream: '127.0.0.1:53', ok: false, rcode: Rcode.SERVFAIL, durationMs: 3, kind: 'query' });
    upstream({ upstream: '127.0.0.1:53', ok: false, durationMs: 1, reason: 'ECONNREFUSED', kind: 'probe' });
    cache('hit');
    cache('hit');
    cache('stale');
    health({ upstream: '127.0.0.1:53', healthy: false });
    health({ upstream: '[::1]:53', healthy: true });
    const lines = await scrape(registry);
    expect(family(lines, 'etcdns_forward_requests_total')).toEqual([
      'etcdns_forward_requests_total{upstream="127.0.0.1:53",rcode="NOERROR"} 1',
      'etcdns_forward_requests_total{upstream="127.0.0.1:53",rcode="none"} 1',
      'etcdns_forward_requests_total{upstream="127.0.0.1:53",rcode="SERVFAIL"} 1',
    ]);
    // A failure without a reason is still counted, as "unknown".
    expect(family(lines, 'etcdns_forward_failures_total')).toEqual([
      'etcdns_forward_failures_total{upstream="127.0.0.1:53",reason="timeout"} 1',
      'etcdns_forward_failures_total{upstream="127.0.0.1:53",reason="unknown"} 1',
    ]);
    expect(lines).toContain('etcdns_forward_request_duration_seconds_count{upstream="127.0.0.1:53"} 3');
    expect(lines).toContain('etcdns_forward_request_duration_seconds_sum{upstream="127.0.0.1:53"} 2.005');
    expect(lines).toContain('etcdns_forward_request_duration_seconds_bucket{le="0.0025",upstream="127.0.0.1:53"} 1');
    expect(family(lines, 'etcdns_cache_requests_total')).toEqual(['etcdns_cache_requests_total{result="hit"} 2', 'etcdns_cache_requests_total{result="stale"} 1']);
    expect(family(lines, 'etcdns_forward_upstream_healthy')).toEqual([
      'etcdns_forward_upstream_healthy{upstream="127.0.0.1:53"} 0',
      'etcdns_forward_upstream_healthy{upstream="[::1]:53"} 1',
    ]);
  });
});

describe('registerForwardCacheGauges', () => {
  it('reads the cache size at each scrape', async () => {
    const registry = new Registry();
    let size = { entries: 3, bytes: 900 };
    registerForwardCacheGauges(registry, () => size);
    expect(family(await scrape(registry), 'etcdns_cache_entries')).toEqual(['etcdns_cache_entries 3']);
    size = { entries: 1, bytes: 300 };
    const lines = await scrape(registry);
    expect(family(lines, 'etcdns_cache_entries')).toEqual(['etcdns_cache_entries 1']);
    expect(family(lines, 'etcdns_cache_bytes')).toEqual(['etcdns_cache_bytes 300']);
  });
});

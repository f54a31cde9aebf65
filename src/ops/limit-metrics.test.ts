import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { scrape } from '../../test/support/metrics.js';
import { registerLimitCounters } from './limit-metrics.js';

describe('registerLimitCounters', () => {
  it('copies the limiter and forwarder counts into counters at each scrape', async () => {
    const registry = new Registry();
    let counts = { rateLimitDropped: 0, rateLimitSlipped: 0, forwardRefused: 0, logDropped: 0 };
    registerLimitCounters(registry, () => counts);
    counts = { rateLimitDropped: 7, rateLimitSlipped: 3, forwardRefused: 2, logDropped: 5 };
    expect(await scrape(registry)).toEqual(['etcdns_ratelimit_dropped_total 7', 'etcdns_ratelimit_slipped_total 3', 'etcdns_forward_refused_over_limit_total 2', 'etcdns_log_lines_dropped_total 5']);
    // The totals are copied, not added again: a second scrape shows the counts as they are now.
    counts = { rateLimitDropped: 9, rateLimitSlipped: 3, forwardRefused: 2, logDropped: 5 };
    expect(await scrape(registry)).toEqual(['etcdns_ratelimit_dropped_total 9', 'etcdns_ratelimit_slipped_total 3', 'etcdns_forward_refused_over_limit_total 2', 'etcdns_log_lines_dropped_total 5']);
    expect(await registry.metrics()).toContain('# TYPE etcdns_ratelimit_dropped_total counter');
  });
});

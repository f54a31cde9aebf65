import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { scrape } from '../../test/support/metrics.js';
import { TalliedCounter } from './tallied-counter.js';

describe('TalliedCounter', () => {
  it('exports each tally from when it is made, at its total, in creation order', async () => {
    const registry = new Registry();
    const counter = new TalliedCounter({ name: 'test_total', help: 'A test counter.', labelNames: ['k'], registers: [registry] });
    const b = counter.tally({ k: 'b' });
    expect(await scrape(registry)).toEqual(['test_total{k="b"} 0']);
    const a = counter.tally({ k: 'a' });
    b.n += 3;
    a.n++;
    expect(await scrape(registry)).toEqual(['test_total{k="b"} 3', 'test_total{k="a"} 1']);
    expect(await registry.metrics()).toContain('# TYPE test_total counter');
  });

  it('copies totals at every collection without counting twice, and survives a registry reset', async () => {
    const registry = new Registry();
    const counter = new TalliedCounter({ name: 'test_total', help: 'A test counter.', registers: [registry] });
    const t = counter.tally({});
    t.n = 5;
    expect(await scrape(registry)).toEqual(['test_total 5']);
    await registry.getMetricsAsJSON(); // collects too
    expect(await scrape(registry)).toEqual(['test_total 5']);
    registry.resetMetrics();
    t.n++;
    expect(await scrape(registry)).toEqual(['test_total 6']);
  });
});

import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ArrayHistogram } from './histogram.js';

const BOUNDS = [0.5, 1, 2.5, 10];

describe('ArrayHistogram', () => {
  it('renders exactly what a prom-client Histogram fed the same values renders, text and JSON', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new ArrayHistogram('test_seconds', 'A test histogram.', BOUNDS, ours);
    const reference = new Histogram({ name: 'test_seconds', help: 'A test histogram.', labelNames: ['zone', 'type'], buckets: BOUNDS, registers: [theirs] });
    const a = histogram.series({ zone: 'a.', type: 'A' });
    const b = histogram.series({ zone: 'b.', type: 'MX' });
    // On a bound (counts in that bucket), between bounds, below the first, above the last.
    const observations: [series: typeof a, labels: { zone: string; type: string }, value: number][] = [
      [a, { zone: 'a.', type: 'A' }, 0.5],
      [a, { zone: 'a.', type: 'A' }, 0.7],
      [a, { zone: 'a.', type: 'A' }, 0],
      [a, { zone: 'a.', type: 'A' }, 11],
      [b, { zone: 'b.', type: 'MX' }, 2.5],
      [b, { zone: 'b.', type: 'MX' }, 10.0001],
    ];
    for (const [series, labels, value] of observations) {
      series.observe(value);
      reference.observe(labels, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const json = await ours.getMetricsAsJSON();
    expect(json[0]?.values).toHaveLength(2 * (BOUNDS.length + 3)); // per series: bounds, +Inf, _sum, _count
    expect(json).toStrictEqual(await theirs.getMetricsAsJSON());
  });

  it('counts each value once, in the first bucket whose bound it does not exceed', () => {
    const histogram = new ArrayHistogram('test_seconds', 'A test histogram.', BOUNDS, new Registry());
    const s = histogram.series({});
    for (const value of [0.5, 0.50001, 1, 3, 10, 10.5, 99]) s.observe(value);
    expect([...s.buckets]).toEqual([1, 2, 0, 2, 2]); // not cumulative; the last is above every bound
    expect(s.count).toBe(7);
    expect(s.sum).toBeCloseTo(124.50001, 9);
  });

  it('exports a series from when it is made, before any observation, and only the series made', async () => {
    const registry = new Registry();
    const histogram = new ArrayHistogram('test_seconds', 'A test histogram.', BOUNDS, registry);
    expect(await registry.getSingleMetricAsString('test_seconds')).toBe('# HELP test_seconds A test histogram.\n# TYPE test_seconds histogram');
    histogram.series({ proto: 'udp' });
    expect((await registry.metrics()).split('\n')).toContain('test_seconds_count{proto="udp"} 0');
  });

  it('keeps its counts through a registry reset (only a restart resets what Prometheus sees)', async () => {
    const registry = new Registry();
    new ArrayHistogram('test_seconds', 'A test histogram.', BOUNDS, registry).series({}).observe(1);
    registry.resetMetrics();
    expect((await registry.metrics()).split('\n')).toContain('test_seconds_count 1');
  });
});

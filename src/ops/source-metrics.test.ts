import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { family, scrape } from '../../test/support/metrics.js';
import { SourceMetrics } from './source-metrics.js';

describe('SourceMetrics', () => {
  it('counts invalid etcd values by reason and zone reload failures', async () => {
    const registry = new Registry();
    const m = new SourceMetrics(registry);
    // The unlabelled counter is exported at 0 from the start; the labelled one has no series yet.
    expect(family(await scrape(registry), 'etcdns_zone_reload_failures_total')).toEqual(['etcdns_zone_reload_failures_total 0']);
    expect(family(await scrape(registry), 'etcdns_etcd_invalid_values_total')).toEqual([]);
    m.invalidValue('json');
    m.invalidValue('json');
    m.invalidValue('host');
    m.zoneReloadFailed();
    const lines = await scrape(registry);
    expect(family(lines, 'etcdns_etcd_invalid_values_total')).toEqual([
      'etcdns_etcd_invalid_values_total{reason="json"} 2',
      'etcdns_etcd_invalid_values_total{reason="host"} 1',
    ]);
    expect(family(lines, 'etcdns_zone_reload_failures_total')).toEqual(['etcdns_zone_reload_failures_total 1']);
  });

  it('exports one zone-file gauge series per file present: 1 with errors, 0 without; a removed file leaves none', async () => {
    const registry = new Registry();
    let files = [
      { file: '/z/a.zone', errors: [] },
      { file: '/z/b.zone', errors: [{ file: '/z/b.zone', line: 3, message: 'bad' }] },
    ];
    new SourceMetrics(registry, () => files);
    expect(family(await scrape(registry), 'etcdns_zone_file_errors')).toEqual(['etcdns_zone_file_errors{file="/z/a.zone"} 0', 'etcdns_zone_file_errors{file="/z/b.zone"} 1']);
    files = files.slice(0, 1);
    expect(family(await scrape(registry), 'etcdns_zone_file_errors')).toEqual(['etcdns_zone_file_errors{file="/z/a.zone"} 0']);
  });
});

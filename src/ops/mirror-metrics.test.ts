import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../clock.js';
import type { MirrorStatus } from '../etcd/mirror-status.js';
import { family, fakeClock, scrape } from '../../test/support/metrics.js';
import { registerMirrorGauges } from './mirror-metrics.js';

/** A registry holding only the mirror gauges. */
function mirrorGauges(clock: Clock, mirror: () => MirrorStatus | undefined): Registry {
  const registry = new Registry();
  registerMirrorGauges(registry, clock, mirror);
  return registry;
}

describe('registerMirrorGauges', () => {
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
    disconnectedSince: undefined,
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
    const registry = mirrorGauges(clock, () => current);
    expect(mirrorLines(await scrape(registry))).toEqual([
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
    expect(mirrorLines(await scrape(registry))).toEqual([
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
    const registry = mirrorGauges(fakeClock(), () => status);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE etcdns_etcd_relists_total counter');
    expect(text).toContain('# TYPE etcdns_etcd_connected gauge');
    expect(text).toContain('# TYPE etcdns_etcd_seconds_since_last_event gauge');
  });

  it('leaves out the ages before the first event and sync (not a made-up 0)', async () => {
    const clock = fakeClock();
    const registry = mirrorGauges(clock, () => ({ ...status, synced: false, lastEventAt: undefined, lastSyncAt: undefined }));
    const lines = await scrape(registry);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_event')).toEqual([]);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_sync')).toEqual([]);
    expect(family(lines, 'etcdns_etcd_synced')).toEqual(['etcdns_etcd_synced 0']);
  });

  it('brings an age back once there is one, after leaving it out', async () => {
    const clock = fakeClock(5000);
    let current: MirrorStatus = { ...status, lastEventAt: undefined };
    const registry = mirrorGauges(clock, () => current);
    expect(family(await scrape(registry), 'etcdns_etcd_seconds_since_last_event')).toEqual([]);
    current = { ...status, lastEventAt: 4000 };
    expect(family(await scrape(registry), 'etcdns_etcd_seconds_since_last_event')).toEqual(['etcdns_etcd_seconds_since_last_event 1']);
  });

  it('says "not connected, not synced" and nothing else while no mirror runs', async () => {
    const registry = mirrorGauges(fakeClock(), () => undefined);
    expect(mirrorLines(await scrape(registry))).toEqual(['etcdns_etcd_connected 0', 'etcdns_etcd_synced 0']);
  });

  it('reads an age of 0, never a negative one, for a time ahead of the clock', async () => {
    const clock = fakeClock(5000);
    const registry = mirrorGauges(clock, () => ({ ...status, lastEventAt: 6000, lastSyncAt: 5000 }));
    const lines = await scrape(registry);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_event')).toEqual(['etcdns_etcd_seconds_since_last_event 0']);
    expect(family(lines, 'etcdns_etcd_seconds_since_last_sync')).toEqual(['etcdns_etcd_seconds_since_last_sync 0']);
  });
});

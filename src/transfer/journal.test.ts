import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/support/random.js';
import { formatRR } from '../dns/present.js';
import type { RR } from '../dns/records.js';
import { batch, del, index, put } from '../sources/etcd/test-support.js';
import { Snapshot } from '../table/snapshot.js';
import { StaticZone, zoneSerial, type ZoneView } from '../table/zone.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { TransferJournal, condense, serialGreater } from './journal.js';
import { axfrRecords } from './zone-records.js';

const ZONE = 'example.test';

/** The zone as a set of record lines, SOA excluded: what AXFR carries between its SOAs. */
function contents(view: ZoneView): Set<string> {
  const lines = new Set<string>();
  for (const rr of axfrRecords(view)) if (rr.type !== 6) lines.add(formatRR(rr));
  return lines;
}

/** What a secondary does with an IXFR answer (RFC 1995 §4): delete, then add. */
function applyDiff(before: Set<string>, deleted: readonly RR[], added: readonly RR[]): Set<string> {
  const after = new Set(before);
  for (const rr of deleted) {
    expect(after.has(formatRR(rr)), `deleting a record the secondary has: ${formatRR(rr)}`).toBe(true);
    after.delete(formatRR(rr));
  }
  for (const rr of added) after.add(formatRR(rr));
  return after;
}

function etcdJournal(maxEntries = 1000, maxBytes = 1 << 30) {
  const built = index([ZONE]);
  const journal = new TransferJournal({ maxEntries, maxBytes });
  let generation = 0;
  let revision = 100;
  const apply = (changes: Parameters<typeof batch>[0], reset = false) => {
    const zones = built.index.apply(batch(changes, ++revision, reset));
    journal.observe(new Snapshot(zones, ++generation));
    return zones.get(ZONE)!;
  };
  return { journal, apply };
}

describe('the IXFR journal', () => {
  it('gives differences that turn every version sent into the current one (random changes, aggregated SkyDNS names)', () => {
    const random = seeded(1995);
    const { journal, apply } = etcdJournal();
    const names = Array.from({ length: 40 }, (_, i) => `i${i}.${['a', 'b', 'c.b', 'd.c.b'][i % 4]}.${ZONE}`);
    apply(names.slice(0, 10).map((n, i) => put(n, { host: `10.0.0.${i}`, port: 80 })), true);
    const sent = new Map<number, Set<string>>();
    for (let step = 0; step < 60; step++) {
      const changes = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
        const name = names[Math.floor(random() * names.length)]!;
        const r = random();
        if (r < 0.3) return del(name);
        if (r < 0.5) return put(name, { host: 'lb.example.net', port: 443 });
        if (r < 0.6) return put(name, { text: `t${Math.floor(random() * 3)}` });
        return put(name, { host: `10.0.${Math.floor(random() * 3)}.${Math.floor(random() * 4)}`, port: 80 + Math.floor(random() * 2), ttl: random() < 0.2 ? 60 : undefined });
      });
      apply(changes);
      // Transfers now and then: what they send is a version a secondary may ask from later.
      if (random() < 0.4) {
        const view = journal.seal(ZONE)!;
        sent.set(zoneSerial(view), contents(view));
      }
    }
    const current = journal.seal(ZONE)!;
    const now = contents(current);
    expect(sent.size).toBeGreaterThan(10);
    for (const [serial, held] of sent) {
      const plan = journal.plan(ZONE, serial)!;
      if (serial === zoneSerial(current)) {
        expect(plan.kind).toBe('current');
        continue;
      }
      expect(plan.kind, `from ${serial}`).toBe('incremental');
      if (plan.kind !== 'incremental') continue;
      expect(applyDiff(held, plan.deleted, plan.added)).toEqual(now);
    }
  });

  it('answers the whole zone from a serial it never sent, after a re-list, and past its bounds', () => {
    const { journal, apply } = etcdJournal(2);
    const v1 = apply([put(`a.${ZONE}`, { host: '10.0.0.1' })], true);
    journal.seal(ZONE);
    apply([put(`b.${ZONE}`, { host: '10.0.0.2' })]);
    const v2 = journal.seal(ZONE)!;
    expect(journal.plan(ZONE, zoneSerial(v1))!.kind).toBe('incremental');
    // A serial between transfers, and one from nowhere.
    expect(journal.plan(ZONE, zoneSerial(v1) - 50)).toMatchObject({ kind: 'full', reason: expect.stringContaining('not in the journal') });
    // Ahead of us (RFC 1982): up to date as far as we can tell.
    expect(journal.plan(ZONE, zoneSerial(v2) + 5)!.kind).toBe('current');
    // Two more versions: the first one falls out of a 2-entry journal.
    apply([put(`c.${ZONE}`, { host: '10.0.0.3' })]);
    journal.seal(ZONE);
    apply([put(`d.${ZONE}`, { host: '10.0.0.4' })]);
    journal.seal(ZONE);
    expect(journal.plan(ZONE, zoneSerial(v1))!.kind).toBe('full');
    expect(journal.plan(ZONE, zoneSerial(v2))!.kind).toBe('incremental');
    expect(journal.size().entries).toBe(2);
    // A re-list that changed the zone: nothing before it can be diffed.
    apply([put(`a.${ZONE}`, { host: '10.0.0.9' })], true);
    expect(journal.plan(ZONE, zoneSerial(v2))).toMatchObject({ kind: 'full', reason: 'no differences kept for this zone' });
  });

  it('drops the oldest versions past its byte bound, and keeps none with 0 entries', () => {
    const { journal, apply } = etcdJournal(1000, 600);
    apply([], true);
    const first = journal.seal(ZONE)!;
    for (let i = 0; i < 20; i++) {
      apply([put(`h${i}.${ZONE}`, { host: `10.0.1.${i}` })]);
      journal.seal(ZONE);
    }
    expect(journal.size().bytes).toBeLessThanOrEqual(600);
    expect(journal.size().entries).toBeGreaterThan(0);
    expect(journal.plan(ZONE, zoneSerial(first))!.kind).toBe('full');

    const none = etcdJournal(0);
    none.apply([], true);
    const v = none.journal.seal(ZONE)!;
    none.apply([put(`x.${ZONE}`, { host: '10.0.0.1' })]);
    expect(none.journal.plan(ZONE, zoneSerial(v))!.kind).toBe('full');
  });

  it('keeps no differences for zone files: a reload is a new zone, found by serial alone', () => {
    const journal = new TransferJournal({ maxEntries: 10, maxBytes: 1 << 20 });
    const load = (serial: number, extra: string) => {
      const r = parseZoneFile(`$ORIGIN ${ZONE}.\n$TTL 60\n@ SOA ns h ${serial} 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n${extra}\n`, { file: 'z' });
      if (!r.ok) throw new Error('zone');
      journal.observe(new Snapshot(new Map([[ZONE, r.zone as StaticZone]]), serial));
      return journal.seal(ZONE)!;
    };
    load(1, '');
    const v2 = load(2, 'www A 192.0.2.2');
    expect(journal.plan(ZONE, 1)!.kind).toBe('full');
    expect(journal.plan(ZONE, zoneSerial(v2))!.kind).toBe('current');
  });
});

describe('condensing differences (RFC 1995 §5)', () => {
  const rr = (name: string, address: string): RR => ({ name, type: 1, ttl: 60, data: { type: 1, address } });
  it('cancels a record deleted and added again, and one added and deleted again', () => {
    const a = rr('a.x', '10.0.0.1');
    const b = rr('b.x', '10.0.0.2');
    const c = rr('c.x', '10.0.0.3');
    const out = condense([
      { deleted: [a], added: [b] },
      { deleted: [b], added: [a, c] },
    ]);
    expect(out).toEqual({ deleted: [], added: [c] });
  });
});

describe('serial arithmetic (RFC 1982)', () => {
  it('wraps at 2^32', () => {
    expect(serialGreater(1, 0xffffffff)).toBe(true);
    expect(serialGreater(0xffffffff, 1)).toBe(false);
    expect(serialGreater(5, 5)).toBe(false);
    expect(serialGreater(0x80000005, 5)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/support/random.js';
import { formatRR } from '../dns/present.js';
import type { RR } from '../dns/records.js';
import { at, batch, del, index, put } from '../sources/etcd/test-support.js';
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
  it('gives differences that turn every version it served into the current one (random changes, aggregated SkyDNS names)', () => {
    const random = seeded(1995);
    const { journal, apply } = etcdJournal();
    const names = Array.from({ length: 40 }, (_, i) => `i${i}.${['a', 'b', 'c.b', 'd.c.b'][i % 4]}.${ZONE}`);
    const served = new Map<number, Set<string>>();
    const first = apply(names.slice(0, 10).map((n, i) => put(n, { host: `10.0.0.${i}`, port: 80 })), true);
    served.set(zoneSerial(first), contents(first));
    let current = first;
    for (let step = 0; step < 60; step++) {
      const changes = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
        const name = names[Math.floor(random() * names.length)]!;
        const r = random();
        if (r < 0.3) return del(name);
        if (r < 0.5) return put(name, { host: 'lb.example.net', port: 443 });
        if (r < 0.6) return put(name, { text: `t${Math.floor(random() * 3)}` });
        return put(name, { host: `10.0.${Math.floor(random() * 3)}.${Math.floor(random() * 4)}`, port: 80 + Math.floor(random() * 2), ttl: random() < 0.2 ? 60 : undefined });
      });
      current = apply(changes);
      served.set(zoneSerial(current), contents(current));
    }
    const now = contents(current);
    for (const [serial, held] of served) {
      const plan = journal.plan(ZONE, serial)!;
      if (serial === zoneSerial(current)) {
        expect(plan.kind).toBe('current');
        continue;
      }
      expect(plan.kind, `from ${serial}`).toBe('incremental');
      if (plan.kind !== 'incremental') continue;
      expect(applyDiff(held, plan.deleted, plan.added)).toEqual(now);
      // A second secondary at the same serial gets the same difference.
      expect(journal.plan(ZONE, serial)).toMatchObject({ deleted: plan.deleted, added: plan.added });
    }
  });

  it('lets a secondary come to any replica: a serial another replica sent is one this one served too', () => {
    // Two replicas see the same etcd history, batched differently by timing.
    const a = etcdJournal();
    const b = etcdJournal();
    const listing = [put(`x.${ZONE}`, { host: '10.0.0.1' })];
    a.apply(listing, true);
    b.apply(listing, true);
    const c1 = at(put(`y.${ZONE}`, { host: '10.0.0.2' }), 201);
    const c2 = at(put(`z.${ZONE}`, { host: '10.0.0.3' }), 202);
    const c3 = at(del(`x.${ZONE}`), 203);
    const fromA = a.apply([c1]);
    a.apply([c2]);
    a.apply([c3]);
    b.apply([c1, c2]);
    const bNow = b.apply([c3]);
    // A secondary that transferred version 202 from replica a asks replica b.
    const plan = b.journal.plan(ZONE, 202)!;
    expect(plan.kind).toBe('incremental');
    if (plan.kind === 'incremental') expect(plan.deleted.map(formatRR)).toContain(`x.${ZONE}. 10 IN A 10.0.0.1`);
    expect(zoneSerial(bNow)).toBe(203);
    // 201 never was a version of b (its batch carried 202 too): the whole zone.
    expect(zoneSerial(fromA)).toBe(201);
    expect(b.journal.plan(ZONE, 201)!.kind).toBe('full');
  });

  it('answers the whole zone from a serial it never served, after a re-list, and past its bounds', () => {
    const { journal, apply } = etcdJournal(2);
    const v1 = apply([put(`a.${ZONE}`, { host: '10.0.0.1' })], true);
    const v2 = apply([put(`b.${ZONE}`, { host: '10.0.0.2' })]);
    expect(journal.plan(ZONE, zoneSerial(v1))!.kind).toBe('incremental');
    expect(journal.plan(ZONE, zoneSerial(v1) - 50)).toMatchObject({ kind: 'full', reason: expect.stringContaining('not in the journal') });
    // Ahead of us (RFC 1982): up to date as far as we can tell.
    expect(journal.plan(ZONE, zoneSerial(v2) + 5)!.kind).toBe('current');
    // Two more versions: the first falls out of a journal of 2 past versions.
    apply([put(`c.${ZONE}`, { host: '10.0.0.3' })]);
    apply([put(`d.${ZONE}`, { host: '10.0.0.4' })]);
    expect(journal.plan(ZONE, zoneSerial(v1))!.kind).toBe('full');
    expect(journal.plan(ZONE, zoneSerial(v2))!.kind).toBe('incremental');
    expect(journal.size().entries).toBe(2);
    // A re-list that changed the zone: nothing before it can be diffed.
    apply([put(`a.${ZONE}`, { host: '10.0.0.9' })], true);
    expect(journal.plan(ZONE, zoneSerial(v2))).toMatchObject({ kind: 'full', reason: 'no past versions kept for this zone' });
  });

  it('drops the oldest versions past its byte bound, and keeps none with 0 entries', () => {
    const { journal, apply } = etcdJournal(1000, 2048);
    const first = apply([], true);
    for (let i = 0; i < 20; i++) apply([put(`h${i}.${ZONE}`, { host: `10.0.1.${i}` })]);
    expect(journal.size().bytes).toBeLessThanOrEqual(2048);
    expect(journal.size().entries).toBeGreaterThan(0);
    expect(journal.plan(ZONE, zoneSerial(first))!.kind).toBe('full');

    const none = etcdJournal(0);
    const v = none.apply([], true);
    none.apply([put(`x.${ZONE}`, { host: '10.0.0.1' })]);
    expect(none.journal.plan(ZONE, zoneSerial(v))!.kind).toBe('full');
  });

  it('keeps no differences for zone files: a reload is a new zone, found by serial alone', () => {
    const journal = new TransferJournal({ maxEntries: 10, maxBytes: 1 << 20 });
    const load = (serial: number, extra: string) => {
      const r = parseZoneFile(`$ORIGIN ${ZONE}.\n$TTL 60\n@ SOA ns h ${serial} 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n${extra}\n`, { file: 'z' });
      if (!r.ok) throw new Error('zone');
      journal.observe(new Snapshot(new Map([[ZONE, r.zone as StaticZone]]), serial));
      return r.zone;
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

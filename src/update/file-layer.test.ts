import { describe, expect, it } from 'vitest';
import { RRClass, RRType, Rcode } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { Node, RData, RRset } from '../dns/records.js';
import { recordHash, type UpdateRecord } from '../wire/update.js';
import { fileLayerRefusal, layeredHeld, type FileLayer } from './file-layer.js';
import { evaluate, prescan, type HeldRecord, type HeldRecords } from './semantics.js';

const ZONE = 'example.test';
const a = (address: string): RData => ({ type: RRType.A, address });
const txt = (s: string): RData => ({ type: RRType.TXT, strings: [Buffer.from(s)] });
const cname = (target: string): RData => ({ type: RRType.CNAME, target });
const held = (data: RData, ttl = 300): HeldRecord => ({ id: recordHash(data), data, ttl });
function rr(name: string, type: number, cls: number, ttl = 0, data?: RData): UpdateRecord {
  return { name, type, class: cls, ttl, rdlength: data ? 4 : 0, data };
}

/** The zone file of the layered zone, as its layer holds it: name → RRsets. */
function fileOf(records: Record<string, RData[]>): FileLayer {
  const nodes = new Map<Name, Map<number, RRset>>();
  for (const [name, datas] of Object.entries(records)) {
    const node = new Map<number, RRset>();
    for (const data of datas) {
      const set = node.get(data.type);
      node.set(data.type, { name, type: data.type, ttl: 3600, records: [...(set?.records ?? []), data] });
    }
    nodes.set(name, node);
  }
  return { node: (name): Node | undefined => nodes.get(name) };
}

const soa = { type: RRType.SOA, mname: `ns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } as RData;
const file = fileOf({
  [ZONE]: [soa, { type: RRType.NS, target: `ns.${ZONE}` }, a('192.0.2.53')],
  [`www.${ZONE}`]: [a('192.0.2.10')],
  [`alias.${ZONE}`]: [cname(`www.${ZONE}`)],
  [`sub.${ZONE}`]: [{ type: RRType.NS, target: 'ns.elsewhere.test' }],
});
const add = (name: string, data: RData) => rr(name, data.type, RRClass.IN, 300, data);

describe('fileLayerRefusal: an UPDATE in a layered zone may change etcd, never the RRsets the file defines', () => {
  it.each<[string, UpdateRecord, string | undefined]>([
    ['an A where the file has one', add(`www.${ZONE}`, a('192.0.2.11')), 'the A RRset at www.example.test. is the zone file\'s'],
    ['a TXT beside the file\'s A', add(`www.${ZONE}`, txt('etcd')), undefined],
    ['an A at a name the file lacks', add(`new.${ZONE}`, a('192.0.2.12')), undefined],
    ['a delete of the file\'s RRset', rr(`www.${ZONE}`, RRType.A, RRClass.ANY), 'the A RRset at www.example.test. is the zone file\'s'],
    ['a delete of one of the file\'s RRs', rr(`www.${ZONE}`, RRType.A, RRClass.NONE, 0, a('192.0.2.10')), 'the A RRset at www.example.test. is the zone file\'s'],
    ['a delete of an etcd type beside the file\'s', rr(`www.${ZONE}`, RRType.TXT, RRClass.ANY), undefined],
    ['delete all RRsets where the file has data', rr(`www.${ZONE}`, RRType.ANY, RRClass.ANY), 'the A RRset at www.example.test. is the zone file\'s'],
    ['delete all RRsets at the apex, where the file has an A', rr(ZONE, RRType.ANY, RRClass.ANY), 'the A RRset at example.test. is the zone file\'s'],
    ['a CNAME where the file has data', add(`www.${ZONE}`, cname('x.example.test')), 'a CNAME at www.example.test. would stand beside the zone file\'s data there'],
    ['anything where the file has a CNAME', add(`alias.${ZONE}`, txt('x')), 'the name (a CNAME) at alias.example.test. is the zone file\'s'],
    ['a name below the file\'s delegation', add(`host.sub.${ZONE}`, a('192.0.2.13')), 'host.sub.example.test. is below the delegation (NS) the zone file has at sub.example.test.'],
    ['an SOA (the file\'s)', add(ZONE, { ...soa, serial: 9 } as RData), 'the SOA RRset at example.test. is the zone file\'s'],
    ['a name outside the zone (NOTZONE later)', add('www.other.test', a('192.0.2.1')), undefined],
  ])('%s', (_, update, reason) => {
    const verdict = fileLayerRefusal(ZONE, file, [update]);
    expect(verdict?.reason).toBe(reason);
    if (verdict) expect(verdict.rcode).toBe(Rcode.REFUSED);
  });

  it('lets "delete all RRsets" at the apex through when the file has only its SOA and NS there (RFC 2136 §3.4.2.3 keeps them)', () => {
    const bare = fileOf({ [ZONE]: [soa, { type: RRType.NS, target: `ns.${ZONE}` }] });
    expect(fileLayerRefusal(ZONE, bare, [rr(ZONE, RRType.ANY, RRClass.ANY)])).toBeUndefined();
  });
});

describe('layeredHeld: what prerequisites see is what a query answers', () => {
  const etcd: HeldRecords = new Map([
    [`www.${ZONE}`, [held(a('192.0.2.99')), held(txt('etcd'))]],
    [`alias.${ZONE}`, [held(a('192.0.2.98'))]],
    [`only.${ZONE}`, [held(a('192.0.2.97'))]],
  ]);
  const view = layeredHeld(etcd, [`www.${ZONE}`, `alias.${ZONE}`, `only.${ZONE}`, `nope.${ZONE}`], file);
  const types = (name: string) => (view.get(name) ?? []).map((r) => `${r.data.type}:${'address' in r.data ? r.data.address : ''}`).sort();

  it('takes the file\'s RRset over etcd\'s of the same type and keeps etcd\'s other types', () => {
    expect(types(`www.${ZONE}`)).toEqual(['16:', '1:192.0.2.10']);
  });
  it('at the file\'s CNAME, the CNAME alone', () => expect(types(`alias.${ZONE}`)).toEqual(['5:']));
  it('a name the file lacks: etcd\'s', () => expect(types(`only.${ZONE}`)).toEqual(['1:192.0.2.97']));
});

describe('evaluate: prerequisites (§3.2) before the update section\'s prescan (§3.4.1), as Knot DNS orders them', () => {
  const rules = { prescan: (updates: readonly UpdateRecord[]) => prescan(ZONE, updates, () => undefined) };
  const etcd: HeldRecords = new Map([[`www.${ZONE}`, [held(a('192.0.2.1'))]]]);
  const inUse = rr(`www.${ZONE}`, RRType.ANY, RRClass.NONE); // "name is not in use": fails, YXDOMAIN

  it.each<[string, UpdateRecord, number]>([
    ['a class ANY delete with a TTL (FORMERR)', rr(`www.${ZONE}`, RRType.A, RRClass.ANY, 300), 6],
    ['a name outside the zone (NOTZONE)', add('x.other.test', a('192.0.2.2')), 6],
  ])('a failed prerequisite answers its RCODE before %s', (_, update, rcode) => {
    expect(evaluate(ZONE, { prerequisites: [inUse], updates: [update] }, etcd, rules)).toEqual({ verdict: expect.objectContaining({ rcode }) });
  });

  it('answers the prescan\'s RCODE once the prerequisites hold', () => {
    const outcome = evaluate(ZONE, { prerequisites: [], updates: [rr(`www.${ZONE}`, RRType.A, RRClass.ANY, 300)] }, etcd, rules);
    expect(outcome).toEqual({ verdict: expect.objectContaining({ rcode: Rcode.FORMERR }) });
  });

  it('in a layered zone, judges prerequisites on the file\'s RRsets and writes only etcd\'s', () => {
    const layered = { ...rules, file };
    // The file's www A is 192.0.2.10: "this RRset exists with this value" holds against it, not etcd's.
    const prerequisite = rr(`www.${ZONE}`, RRType.A, RRClass.IN, 0, a('192.0.2.10'));
    const outcome = evaluate(ZONE, { prerequisites: [prerequisite], updates: [add(`www.${ZONE}`, txt('new'))] }, etcd, layered);
    expect('difference' in outcome && outcome.difference.puts.map((p) => p.record.data.type)).toEqual([RRType.TXT]);
    expect(evaluate(ZONE, { prerequisites: [rr(`www.${ZONE}`, RRType.A, RRClass.IN, 0, a('192.0.2.1'))], updates: [] }, etcd, layered)).toEqual({ verdict: expect.objectContaining({ rcode: 8 }) });
    // "RRset does not exist" at the file's A fails (YXRRSET), as a query for it answers it.
    expect(evaluate(ZONE, { prerequisites: [rr(`www.${ZONE}`, RRType.A, RRClass.NONE)], updates: [] }, new Map(), layered)).toEqual({ verdict: expect.objectContaining({ rcode: 7 }) });
  });
});

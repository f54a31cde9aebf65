import { describe, expect, it } from 'vitest';
import { RRClass, RRType, Rcode } from '../dns/constants.js';
import type { RData } from '../dns/records.js';
import { recordHash, type UpdateRecord } from '../wire/update.js';
import { applyUpdates, checkPrerequisites, prescan, type HeldRecord, type HeldRecords } from './semantics.js';

const ZONE = 'example.test';
const a = (address: string): RData => ({ type: RRType.A, address });
const cname = (target: string): RData => ({ type: RRType.CNAME, target });
const txt = (s: string): RData => ({ type: RRType.TXT, strings: [Buffer.from(s)] });
const held = (data: RData, ttl = 300): HeldRecord => ({ id: recordHash(data), data, ttl });

/** An update-section or prerequisite record; `data` given means RDLENGTH > 0. */
function rr(name: string, type: number, cls: number, ttl = 0, data?: RData): UpdateRecord {
  return { name, type, class: cls, ttl, rdlength: data ? 4 : 0, data };
}

const zone: HeldRecords = new Map([
  ['www.example.test', [held(a('192.0.2.1')), held(a('192.0.2.2'))]],
  ['alias.example.test', [held(cname('www.example.test'))]],
]);

describe('checkPrerequisites (RFC 2136 §3.2)', () => {
  it.each([
    ['yxrrset www A (value-independent)', rr('www.example.test', RRType.A, RRClass.ANY), undefined],
    ['yxrrset www AAAA', rr('www.example.test', RRType.AAAA, RRClass.ANY), 8],
    ['yxdomain www', rr('www.example.test', RRType.ANY, RRClass.ANY), undefined],
    ['yxdomain nope', rr('nope.example.test', RRType.ANY, RRClass.ANY), Rcode.NXDOMAIN],
    ['yxdomain apex (it owns the SOA)', rr(ZONE, RRType.ANY, RRClass.ANY), undefined],
    ['yxrrset apex SOA', rr(ZONE, RRType.SOA, RRClass.ANY), undefined],
    ['nxrrset www A', rr('www.example.test', RRType.A, RRClass.NONE), 7],
    ['nxrrset www TXT', rr('www.example.test', RRType.TXT, RRClass.NONE), undefined],
    ['nxdomain www', rr('www.example.test', RRType.ANY, RRClass.NONE), 6],
    ['nxdomain nope', rr('nope.example.test', RRType.ANY, RRClass.NONE), undefined],
    ['outside the zone', rr('www.other.test', RRType.A, RRClass.ANY), 10],
    ['TTL not 0', rr('www.example.test', RRType.A, RRClass.ANY, 5), Rcode.FORMERR],
    ['class ANY with RDATA', { ...rr('www.example.test', RRType.A, RRClass.ANY), rdlength: 4, data: a('192.0.2.1') }, Rcode.FORMERR],
    ['class CH', rr('www.example.test', RRType.A, 3), Rcode.FORMERR],
  ])('%s', (_, prerequisite, rcode) => {
    expect(checkPrerequisites(ZONE, [prerequisite], zone)?.rcode).toBe(rcode);
  });

  it('compares value-dependent prerequisites with the whole RRset', () => {
    const both = [rr('www.example.test', RRType.A, RRClass.IN, 0, a('192.0.2.1')), rr('www.example.test', RRType.A, RRClass.IN, 0, a('192.0.2.2'))];
    expect(checkPrerequisites(ZONE, both, zone)).toBeUndefined();
    expect(checkPrerequisites(ZONE, both.slice(0, 1), zone)?.rcode).toBe(8);
    expect(checkPrerequisites(ZONE, [...both, rr('www.example.test', RRType.A, RRClass.IN, 0, a('192.0.2.3'))], zone)?.rcode).toBe(8);
    expect(checkPrerequisites(ZONE, [rr('nope.example.test', RRType.A, RRClass.IN, 0, a('192.0.2.1'))], zone)?.rcode).toBe(8);
  });

  it('stops at the first failing prerequisite, in order', () => {
    const r = checkPrerequisites(ZONE, [rr('www.example.test', RRType.ANY, RRClass.NONE), rr('nope.example.test', RRType.ANY, RRClass.ANY)], zone);
    expect(r?.rcode).toBe(6);
  });
});

describe('prescan (RFC 2136 §3.4.1.3)', () => {
  const storable = () => undefined;
  it.each([
    ['an add', rr('www.example.test', RRType.A, RRClass.IN, 300, a('192.0.2.9')), undefined],
    ['an add outside the zone', rr('www.other.test', RRType.A, RRClass.IN, 300, a('192.0.2.9')), 10],
    ['an add of a meta type', rr('www.example.test', RRType.ANY, RRClass.IN, 300, a('192.0.2.9')), Rcode.FORMERR],
    ['an RRset delete', rr('www.example.test', RRType.A, RRClass.ANY), undefined],
    ['a name delete', rr('www.example.test', RRType.ANY, RRClass.ANY), undefined],
    ['a delete with a TTL', rr('www.example.test', RRType.A, RRClass.ANY, 300), Rcode.FORMERR],
    ['a delete of AXFR', rr('www.example.test', RRType.AXFR, RRClass.ANY), Rcode.FORMERR],
    ['a record delete', rr('www.example.test', RRType.A, RRClass.NONE, 0, a('192.0.2.1')), undefined],
    ['a record delete of ANY', rr('www.example.test', RRType.ANY, RRClass.NONE, 0, a('192.0.2.1')), Rcode.FORMERR],
    ['class CH', rr('www.example.test', RRType.A, 3, 0, a('192.0.2.1')), Rcode.FORMERR],
  ])('%s', (_, update, rcode) => {
    expect(prescan(ZONE, [update], storable)?.rcode).toBe(rcode);
  });

  it('refuses a record the layout cannot store, saying why', () => {
    const r = prescan(ZONE, [rr('www.example.test', RRType.A, RRClass.IN, 300, a('192.0.2.9'))], () => 'no');
    expect(r).toEqual({ rcode: Rcode.REFUSED, reason: 'no' });
  });
});

describe('applyUpdates (RFC 2136 §3.4.2)', () => {
  const show = (d: ReturnType<typeof applyUpdates>) => ({
    puts: d.puts.map((p) => `${p.name} ${p.record.data.type} ${p.record.ttl} ${p.record.id}`).sort(),
    deletes: d.deletes.map((x) => `${x.name} ${x.id}`).sort(),
  });
  const id = (d: RData) => recordHash(d);

  it('adds a record, and an add of one already there changes nothing', () => {
    expect(show(applyUpdates(ZONE, [rr('new.example.test', RRType.A, RRClass.IN, 60, a('192.0.2.9'))], zone))).toEqual({
      puts: [`new.example.test 1 60 ${id(a('192.0.2.9'))}`],
      deletes: [],
    });
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.A, RRClass.IN, 300, a('192.0.2.1'))], zone))).toEqual({ puts: [], deletes: [] });
  });

  it('gives the whole RRset the TTL of an add (RFC 2181 §5.2)', () => {
    const d = show(applyUpdates(ZONE, [rr('www.example.test', RRType.A, RRClass.IN, 60, a('192.0.2.3'))], zone));
    expect(d.puts).toEqual(
      [`www.example.test 1 60 ${id(a('192.0.2.1'))}`, `www.example.test 1 60 ${id(a('192.0.2.2'))}`, `www.example.test 1 60 ${id(a('192.0.2.3'))}`].sort(),
    );
  });

  it('keeps CNAME and other data apart: such adds are ignored; a CNAME replaces a CNAME', () => {
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.CNAME, RRClass.IN, 60, cname('x.example.test'))], zone))).toEqual({ puts: [], deletes: [] });
    expect(show(applyUpdates(ZONE, [rr('alias.example.test', RRType.TXT, RRClass.IN, 60, txt('x'))], zone))).toEqual({ puts: [], deletes: [] });
    expect(show(applyUpdates(ZONE, [rr('alias.example.test', RRType.CNAME, RRClass.IN, 60, cname('x.example.test'))], zone))).toEqual({
      puts: [`alias.example.test 5 60 ${id(cname('x.example.test'))}`],
      deletes: [`alias.example.test ${id(cname('www.example.test'))}`],
    });
  });

  it('deletes one record, an RRset, or every RRset at a name', () => {
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.A, RRClass.NONE, 0, a('192.0.2.2'))], zone)).deletes).toEqual([`www.example.test ${id(a('192.0.2.2'))}`]);
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.A, RRClass.ANY)], zone)).deletes).toHaveLength(2);
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.TXT, RRClass.ANY)], zone)).deletes).toHaveLength(0);
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.ANY, RRClass.ANY)], zone)).deletes).toHaveLength(2);
    expect(show(applyUpdates(ZONE, [rr('www.example.test', RRType.A, RRClass.NONE, 0, a('192.0.2.7'))], zone))).toEqual({ puts: [], deletes: [] });
  });

  it('applies the section in order: a delete then an add of the same record leaves it', () => {
    const d = applyUpdates(ZONE, [rr('www.example.test', RRType.A, RRClass.ANY), rr('www.example.test', RRType.A, RRClass.IN, 300, a('192.0.2.1'))], zone);
    expect(show(d)).toEqual({ puts: [], deletes: [`www.example.test ${id(a('192.0.2.2'))}`] });
  });

  it('ignores SOA adds and keeps the apex SOA and NS', () => {
    const apex: HeldRecords = new Map([[ZONE, [held(a('192.0.2.53'))]]]);
    const soa: RData = { type: RRType.SOA, mname: 'ns.example.test', rname: 'h.example.test', serial: 9, refresh: 1, retry: 1, expire: 1, minimum: 1 };
    expect(show(applyUpdates(ZONE, [rr(ZONE, RRType.SOA, RRClass.IN, 60, soa), rr(ZONE, RRType.NS, RRClass.ANY), rr(ZONE, RRType.SOA, RRClass.ANY)], apex))).toEqual({ puts: [], deletes: [] });
    expect(show(applyUpdates(ZONE, [rr(ZONE, RRType.ANY, RRClass.ANY)], apex)).deletes).toEqual([`${ZONE} ${id(a('192.0.2.53'))}`]);
  });
});

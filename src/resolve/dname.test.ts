import { describe, expect, it } from 'vitest';
import { typeCode } from '../dns/constants.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { layerZones } from '../table/layered.js';
import { Snapshot } from '../table/snapshot.js';
import type { StaticZone, ZoneView } from '../table/zone.js';
import { MAX_CNAME_CHAIN, resolve } from './resolve.js';
import { ask } from './test-support.js';

/** DNAME redirection (RFC 6672), tables in zone-file syntax as in resolve.test.ts. */
function zoneOf(text: string): StaticZone {
  const parsed = parseZoneFile(text, { file: 'zone' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.zone;
}

function snapshotOf(...views: ZoneView[]): Snapshot {
  return new Snapshot(new Map(views.map((v) => [v.origin, v])), 1);
}

const LONG_TARGET = ['a', 'b', 'c'].map((c) => c.repeat(63)).join('.');
const DN = `
$ORIGIN dn.test.
$TTL 60
@        3600 SOA ns1 hostmaster 1 7200 1800 86400 30
@             NS  ns1
ns1           A   192.0.2.53
redirect  300 DNAME target.dn.test.
redirect      A   192.0.2.1
www.target    CNAME final
final         A   192.0.2.2
host.target   A   192.0.2.3
host.target   MX  10 final
out       120 DNAME elsewhere.invalid.
chain         DNAME redirect.dn.test.
self          DNAME x.self.dn.test.
long          DNAME ${LONG_TARGET}.dn.test.
*.apps        A   192.0.2.80
moved.apps    DNAME target.dn.test.
child         NS  ns.elsewhere.invalid.
`;
const SOA = 'dn.test. 30 IN SOA ns1.dn.test. hostmaster.dn.test. 1 7200 1800 86400 30';
const dn = zoneOf(DN);
const snapshot = snapshotOf(dn);

describe('DNAME (RFC 6672)', () => {
  it('answers below the owner with the DNAME, the CNAME synthesized with its TTL, and the chain it starts (§3.1, §3.2)', () => {
    expect(ask(snapshot, 'www.redirect.dn.test A')).toEqual({
      kind: 'answer',
      answer: [
        'redirect.dn.test. 300 IN DNAME target.dn.test.',
        'www.redirect.dn.test. 300 IN CNAME www.target.dn.test.',
        'www.target.dn.test. 60 IN CNAME final.dn.test.',
        'final.dn.test. 60 IN A 192.0.2.2',
      ],
      authority: [],
      additional: [],
    });
  });

  it('substitutes every label below the owner and keeps the additional section of the final answer', () => {
    expect(ask(snapshot, 'host.redirect.dn.test MX')).toEqual({
      kind: 'answer',
      answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.', 'host.redirect.dn.test. 300 IN CNAME host.target.dn.test.', 'host.target.dn.test. 60 IN MX 10 final.dn.test.'],
      authority: [],
      additional: ['final.dn.test. 60 IN A 192.0.2.2'],
    });
    expect(ask(snapshot, 'a.b.redirect.dn.test A')).toMatchObject({
      kind: 'nxdomain',
      answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.', 'a.b.redirect.dn.test. 300 IN CNAME a.b.target.dn.test.'],
    });
  });

  it('does not redirect the owner itself: its own data answers it (§2.3)', () => {
    expect(ask(snapshot, 'redirect.dn.test A')).toMatchObject({ kind: 'answer', answer: ['redirect.dn.test. 60 IN A 192.0.2.1'] });
    expect(ask(snapshot, 'redirect.dn.test DNAME')).toMatchObject({ kind: 'answer', answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.'] });
    expect(ask(snapshot, 'redirect.dn.test TXT')).toEqual({ kind: 'nodata', answer: [], authority: [SOA], additional: [] });
  });

  it('reports the substituted name: NXDOMAIN or NODATA with the chain and the SOA (RFC 6604 §3)', () => {
    expect(ask(snapshot, 'nope.redirect.dn.test A')).toEqual({
      kind: 'nxdomain',
      answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.', 'nope.redirect.dn.test. 300 IN CNAME nope.target.dn.test.'],
      authority: [SOA],
      additional: [],
    });
    expect(ask(snapshot, 'host.redirect.dn.test TXT')).toEqual({
      kind: 'nodata',
      answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.', 'host.redirect.dn.test. 300 IN CNAME host.target.dn.test.'],
      authority: [SOA],
      additional: [],
    });
  });

  it('answers a CNAME query with the DNAME and the synthesized CNAME only, as Knot does', () => {
    expect(ask(snapshot, 'www.redirect.dn.test CNAME')).toEqual({
      kind: 'answer',
      answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.', 'www.redirect.dn.test. 300 IN CNAME www.target.dn.test.'],
      authority: [],
      additional: [],
    });
  });

  it('follows on for a DNAME query below the owner (the query name is redirected, not answered)', () => {
    expect(ask(snapshot, 'www.redirect.dn.test DNAME')).toEqual({
      kind: 'nodata',
      answer: ['redirect.dn.test. 300 IN DNAME target.dn.test.', 'www.redirect.dn.test. 300 IN CNAME www.target.dn.test.', 'www.target.dn.test. 60 IN CNAME final.dn.test.'],
      authority: [SOA],
      additional: [],
    });
  });

  it('stops where the target leaves our data, for the client resolver to follow', () => {
    expect(ask(snapshot, 'a.out.dn.test A')).toEqual({
      kind: 'answer',
      answer: ['out.dn.test. 120 IN DNAME elsewhere.invalid.', 'a.out.dn.test. 120 IN CNAME a.elsewhere.invalid.'],
      authority: [],
      additional: [],
    });
  });

  it('follows a DNAME into another DNAME', () => {
    expect(ask(snapshot, 'www.chain.dn.test A').answer).toEqual([
      'chain.dn.test. 60 IN DNAME redirect.dn.test.',
      'www.chain.dn.test. 60 IN CNAME www.redirect.dn.test.',
      'redirect.dn.test. 300 IN DNAME target.dn.test.',
      'www.redirect.dn.test. 300 IN CNAME www.target.dn.test.',
      'www.target.dn.test. 60 IN CNAME final.dn.test.',
      'final.dn.test. 60 IN A 192.0.2.2',
    ]);
  });

  it(`puts a DNAME that meets itself again in the answer once, and stops at ${MAX_CNAME_CHAIN} records`, () => {
    const result = ask(snapshot, 'a.self.dn.test A');
    expect(result.kind).toBe('answer');
    expect(result.answer).toHaveLength(MAX_CNAME_CHAIN);
    expect(result.answer![0]).toBe('self.dn.test. 60 IN DNAME x.self.dn.test.');
    expect(result.answer!.slice(1)).toEqual(
      Array.from({ length: MAX_CNAME_CHAIN - 1 }, (_, i) => `a${'.x'.repeat(i)}.self.dn.test. 60 IN CNAME a${'.x'.repeat(i + 1)}.self.dn.test.`),
    );
  });

  describe('YXDOMAIN when the substituted name exceeds 255 octets (§2.2)', () => {
    // The target `<63 a>.<63 b>.<63 c>.dn.test` takes 201 octets on the wire; a label of the
    // query below `long.dn.test` adds its length plus one in front of it.
    const fits = `${'q'.repeat(53)}.long.dn.test`; // 54 + 201 = 255 octets
    const over = `${'q'.repeat(54)}.long.dn.test`; // 256
    it('substitutes a name of exactly 255 octets', () => {
      expect(ask(snapshot, `${fits} A`)).toMatchObject({ kind: 'nxdomain', answer: [expect.stringContaining('DNAME'), expect.stringContaining('CNAME')] });
    });
    it('answers one octet more with the DNAME as proof and nothing else', () => {
      expect(ask(snapshot, `${over} A`)).toEqual({ kind: 'yxdomain', answer: [`long.dn.test. 60 IN DNAME ${LONG_TARGET}.dn.test.`], authority: [], additional: [] });
    });
  });

  it('applies before wildcards: a DNAME at an existing name is the closest match (§3.2 step 3c)', () => {
    expect(ask(snapshot, 'host.moved.apps.dn.test A').answer).toEqual([
      'moved.apps.dn.test. 60 IN DNAME target.dn.test.',
      'host.moved.apps.dn.test. 60 IN CNAME host.target.dn.test.',
      'host.target.dn.test. 60 IN A 192.0.2.3',
    ]);
    expect(ask(snapshot, 'other.apps.dn.test A').answer).toEqual(['other.apps.dn.test. 60 IN A 192.0.2.80']);
  });

  it('redirects a whole zone from a DNAME at its apex, which still answers its own SOA and NS, into another of our zones', () => {
    const apex = zoneOf('$ORIGIN old.test.\n$TTL 20\n@ SOA ns1.dn.test. h 1 2 3 4 5\n@ NS ns1.dn.test.\n@ DNAME dn.test.');
    const two = snapshotOf(apex, dn);
    expect(ask(two, 'old.test SOA').answer).toEqual(['old.test. 20 IN SOA ns1.dn.test. h.old.test. 1 2 3 4 5']);
    expect(ask(two, 'www.redirect.old.test A').answer).toEqual([
      'old.test. 20 IN DNAME dn.test.',
      'www.redirect.old.test. 20 IN CNAME www.redirect.dn.test.',
      'redirect.dn.test. 300 IN DNAME target.dn.test.',
      'www.redirect.dn.test. 300 IN CNAME www.target.dn.test.',
      'www.target.dn.test. 60 IN CNAME final.dn.test.',
      'final.dn.test. 60 IN A 192.0.2.2',
    ]);
    const outcome = resolve({ name: 'www.redirect.old.test', type: typeCode('A')! }, two);
    expect(outcome.kind === 'answer' && outcome.consulted).toEqual([apex, dn]);
  });

  describe('delegations', () => {
    it('refers names at and below a zone cut in a zone that holds DNAMEs', () => {
      expect(ask(snapshot, 'child.dn.test A')).toMatchObject({ kind: 'referral' });
      expect(ask(snapshot, 'x.d.child.dn.test A')).toMatchObject({ kind: 'referral', authority: ['child.dn.test. 60 IN NS ns.elsewhere.invalid.'] });
    });
    it('redirects a name under a cut that sits below a DNAME: the DNAME is met first and occludes it (§2.4)', () => {
      const upper = zoneOf('$ORIGIN lay.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\nr DNAME dn.test.');
      const lower = zoneOf('$ORIGIN lay.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\nc.r NS ns.elsewhere.invalid.\nx.r A 192.0.2.7');
      const layered = snapshotOf(layerZones([upper, lower]));
      expect(ask(layered, 'www.c.r.lay.test A').answer!.slice(0, 2)).toEqual(['r.lay.test. 5 IN DNAME dn.test.', 'www.c.r.lay.test. 5 IN CNAME www.c.dn.test.']);
      expect(ask(layered, 'x.r.lay.test A').answer!.slice(0, 2)).toEqual(['r.lay.test. 5 IN DNAME dn.test.', 'x.r.lay.test. 5 IN CNAME x.dn.test.']);
    });
    it('leaves a DNAME below a cut to the child: the referral wins', () => {
      // Data below a cut is the child's (only glue matters to us); this DNAME is never ours to apply.
      const upper = zoneOf('$ORIGIN lay.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\nc NS ns.elsewhere.invalid.');
      const lower = zoneOf('$ORIGIN lay.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\nd.c DNAME dn.test.');
      expect(ask(snapshotOf(layerZones([upper, lower])), 'www.d.c.lay.test A')).toMatchObject({ kind: 'referral', answer: [] });
    });
  });

  describe('the per-zone flag', () => {
    it('is set when the zone holds a DNAME, in any layer', () => {
      const plain = zoneOf('$ORIGIN p.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.1');
      const withDname = zoneOf('$ORIGIN p.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\nd DNAME dn.test.');
      expect(plain.hasDname).toBe(false);
      expect(dn.hasDname).toBe(true);
      expect(layerZones([plain, plain]).hasDname).toBe(false);
      expect(layerZones([plain, withDname]).hasDname).toBe(true);
      expect(ask(snapshotOf(layerZones([plain, withDname])), 'x.d.p.test A').answer![0]).toBe('d.p.test. 5 IN DNAME dn.test.');
    });
    it('is what turns the DNAME step on: a view that says it has none is resolved as before', () => {
      const lying: ZoneView = { origin: dn.origin, soa: dn.soa, source: 'test', hasDname: false, node: (n) => dn.node(n), transferNodes: () => dn.transferNodes() };
      expect(ask(snapshotOf(lying), 'www.redirect.dn.test A')).toMatchObject({ kind: 'nxdomain', answer: [] });
    });
  });
});

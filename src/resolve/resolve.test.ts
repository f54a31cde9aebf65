import { describe, expect, it } from 'vitest';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { Snapshot } from '../table/snapshot.js';
import type { ZoneView } from '../table/zone.js';
import { MAX_CNAME_CHAIN } from './resolve.js';
import { ask } from './test-support.js';

/** Zones written in zone-file syntax: the tables below read like the data an operator writes. */
function snapshotOf(...files: string[]): Snapshot {
  const zones = new Map<string, ZoneView>();
  files.forEach((text, i) => {
    const parsed = parseZoneFile(text, { file: `zone${i}` });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    zones.set(parsed.zone.origin, parsed.zone);
  });
  return new Snapshot(zones, 1);
}

const EXAMPLE = `
$ORIGIN example.test.
$TTL 60
@        3600 SOA ns1 hostmaster 2026112101 7200 1800 86400 30
@             NS  ns1
@             NS  ns2.elsewhere.invalid.
ns1           A   192.0.2.53
www           A   192.0.2.10
www           AAAA 2001:db8::10
docs          CNAME www
gone          CNAME nowhere
out           CNAME target.elsewhere.invalid.
loop1         CNAME loop2
loop2         CNAME loop1
txt           TXT "one" "two"
@             MX  10 mail
mail          A   192.0.2.25
_http._tcp.api SRV 10 60 8080 api1
_http._tcp.api SRV 10 40 8081 api2
api1          A   192.0.2.31
api1          AAAA 2001:db8::31
api2          A   192.0.2.32
deep.ent.example.test. A 192.0.2.99
*.apps        A   192.0.2.80
real.apps     TXT "real"
x.sub.apps    A   192.0.2.81
*.alias       CNAME www
child         NS  ns.child
child         NS  ns.other.invalid.
ns.child      A   192.0.2.77
child         DS  \\# 4 01020304
`;
const SOA = 'example.test. 30 IN SOA ns1.example.test. hostmaster.example.test. 2026112101 7200 1800 86400 30';
const snapshot = snapshotOf(EXAMPLE);

describe('resolve (RFC 1034 §4.3.2)', () => {
  it.each([
    ['www.example.test A', { kind: 'answer', answer: ['www.example.test. 60 IN A 192.0.2.10'] }],
    ['www.example.test AAAA', { kind: 'answer', answer: ['www.example.test. 60 IN AAAA 2001:db8::10'] }],
    ['txt.example.test TXT', { kind: 'answer', answer: ['txt.example.test. 60 IN TXT "one" "two"'] }],
    ['example.test SOA', { kind: 'answer', answer: [SOA.replace(' 30 IN', ' 3600 IN')] }],
    [
      'example.test NS',
      {
        kind: 'answer',
        answer: ['example.test. 60 IN NS ns1.example.test.', 'example.test. 60 IN NS ns2.elsewhere.invalid.'],
        additional: ['ns1.example.test. 60 IN A 192.0.2.53'],
      },
    ],
    ['example.test MX', { kind: 'answer', answer: ['example.test. 60 IN MX 10 mail.example.test.'], additional: ['mail.example.test. 60 IN A 192.0.2.25'] }],
  ])('answers %s', (question, expected) => {
    expect(ask(snapshot, question)).toMatchObject({ authority: [], additional: [], ...expected });
  });

  it('answers SRV with every target address (A and AAAA) in the additional section (RFC 2782)', () => {
    expect(ask(snapshot, '_http._tcp.api.example.test SRV')).toEqual({
      kind: 'answer',
      answer: ['_http._tcp.api.example.test. 60 IN SRV 10 60 8080 api1.example.test.', '_http._tcp.api.example.test. 60 IN SRV 10 40 8081 api2.example.test.'],
      authority: [],
      additional: ['api1.example.test. 60 IN A 192.0.2.31', 'api1.example.test. 60 IN AAAA 2001:db8::31', 'api2.example.test. 60 IN A 192.0.2.32'],
    });
  });

  describe('negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3)', () => {
    it.each([
      ['www.example.test TXT', 'nodata'],
      ['www.example.test MX', 'nodata'],
      ['nope.example.test A', 'nxdomain'],
      ['a.b.nope.example.test AAAA', 'nxdomain'],
      // An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020 §2).
      ['ent.example.test A', 'nodata'],
      ['api.example.test A', 'nodata'],
      ['_tcp.api.example.test SRV', 'nodata'],
    ])('%s → %s', (question, kind) => {
      expect(ask(snapshot, question)).toEqual({ kind, answer: [], authority: [SOA], additional: [] });
    });
  });

  describe('CNAME (RFC 1034 §3.6.2, §4.3.2 step 3a)', () => {
    it('follows a chain inside our data and answers the target', () => {
      expect(ask(snapshot, 'docs.example.test A')).toMatchObject({
        kind: 'answer',
        answer: ['docs.example.test. 60 IN CNAME www.example.test.', 'www.example.test. 60 IN A 192.0.2.10'],
      });
    });
    it('answers a CNAME query with the CNAME itself', () => {
      expect(ask(snapshot, 'docs.example.test CNAME').answer).toEqual(['docs.example.test. 60 IN CNAME www.example.test.']);
    });
    it('keeps the chain and reports NXDOMAIN for a missing target (RFC 6604 §3)', () => {
      expect(ask(snapshot, 'gone.example.test A')).toEqual({
        kind: 'nxdomain',
        answer: ['gone.example.test. 60 IN CNAME nowhere.example.test.'],
        authority: [SOA],
        additional: [],
      });
    });
    it('reports NODATA with the chain when the target lacks the type', () => {
      expect(ask(snapshot, 'docs.example.test TXT')).toMatchObject({ kind: 'nodata', answer: ['docs.example.test. 60 IN CNAME www.example.test.'] });
    });
    it('stops where the chain leaves our zones, leaving the rest to the client resolver', () => {
      expect(ask(snapshot, 'out.example.test A')).toEqual({
        kind: 'answer',
        answer: ['out.example.test. 60 IN CNAME target.elsewhere.invalid.'],
        authority: [],
        additional: [],
      });
    });
    it('stops at a loop', () => {
      expect(ask(snapshot, 'loop1.example.test A').answer).toEqual([
        'loop1.example.test. 60 IN CNAME loop2.example.test.',
        'loop2.example.test. 60 IN CNAME loop1.example.test.',
      ]);
    });
    it(`stops after ${MAX_CNAME_CHAIN} links`, () => {
      const chain = Array.from({ length: 30 }, (_, i) => `c${i} CNAME c${i + 1}`).join('\n');
      const long = snapshotOf(`$ORIGIN long.test.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\n${chain}\nc30 A 192.0.2.1`);
      const result = ask(long, 'c0.long.test A');
      expect(result.kind).toBe('answer');
      expect(result.answer).toHaveLength(MAX_CNAME_CHAIN);
    });
    it('follows into another of our zones and takes that zone for negative answers', () => {
      const two = snapshotOf(EXAMPLE, '$ORIGIN other.test.\n$TTL 5\n@ SOA ns h 7 2 3 4 9\nhop CNAME docs.example.test.\nmiss CNAME none.example.test.');
      expect(ask(two, 'hop.other.test A').answer).toEqual([
        'hop.other.test. 5 IN CNAME docs.example.test.',
        'docs.example.test. 60 IN CNAME www.example.test.',
        'www.example.test. 60 IN A 192.0.2.10',
      ]);
      expect(ask(two, 'miss.other.test A')).toMatchObject({ kind: 'nxdomain', authority: [SOA] });
    });
  });

  describe('wildcards (RFC 4592)', () => {
    it('synthesises from *.<closest encloser> with the query name as owner', () => {
      expect(ask(snapshot, 'foo.apps.example.test A').answer).toEqual(['foo.apps.example.test. 60 IN A 192.0.2.80']);
      expect(ask(snapshot, 'a.b.apps.example.test A').answer).toEqual(['a.b.apps.example.test. 60 IN A 192.0.2.80']);
    });
    it('gives NODATA for a type the wildcard lacks', () => {
      expect(ask(snapshot, 'foo.apps.example.test TXT')).toMatchObject({ kind: 'nodata', authority: [SOA] });
    });
    it('does not apply to names that exist, records or not (§2.2.1)', () => {
      expect(ask(snapshot, 'real.apps.example.test A')).toMatchObject({ kind: 'nodata' });
      expect(ask(snapshot, 'sub.apps.example.test A')).toMatchObject({ kind: 'nodata' });
    });
    it('uses only the closest encloser: below an existing name without its own wildcard is NXDOMAIN (§3.3.1)', () => {
      expect(ask(snapshot, 'host.sub.apps.example.test A')).toMatchObject({ kind: 'nxdomain' });
    });
    it('follows a wildcard CNAME', () => {
      expect(ask(snapshot, 'x.alias.example.test A').answer).toEqual([
        'x.alias.example.test. 60 IN CNAME www.example.test.',
        'www.example.test. 60 IN A 192.0.2.10',
      ]);
    });
  });

  describe('delegations', () => {
    it('refers names at and below a zone cut, with in-bailiwick glue', () => {
      for (const q of ['child.example.test A', 'www.child.example.test A', 'deeper.www.child.example.test MX']) {
        expect(ask(snapshot, q)).toEqual({
          kind: 'referral',
          answer: [],
          authority: ['child.example.test. 60 IN NS ns.child.example.test.', 'child.example.test. 60 IN NS ns.other.invalid.'],
          additional: ['ns.child.example.test. 60 IN A 192.0.2.77'],
        });
      }
    });
    it('answers DS at the cut from the parent side (RFC 4035 §3.1.4.1)', () => {
      expect(ask(snapshot, 'child.example.test DS')).toMatchObject({ kind: 'answer', answer: ['child.example.test. 60 IN DS \\# 4 01020304'] });
    });
  });

  it('answers ANY with a single RRset (RFC 8482 §4.1)', () => {
    const result = ask(snapshot, 'www.example.test ANY');
    expect(result.kind).toBe('answer');
    expect(result.answer).toEqual(['www.example.test. 60 IN A 192.0.2.10']);
    expect(ask(snapshot, 'ent.example.test ANY')).toMatchObject({ kind: 'nodata' });
  });

  it('says "not ours" outside every zone, and picks the most specific zone', () => {
    expect(ask(snapshot, 'example.org A')).toEqual({ kind: 'notours' });
    expect(ask(snapshot, 'test A')).toEqual({ kind: 'notours' });
    const nested = snapshotOf(EXAMPLE, '$ORIGIN sub.example.test.\n$TTL 9\n@ SOA ns h 1 2 3 4 9\nwww A 198.51.100.1');
    expect(ask(nested, 'www.sub.example.test A').answer).toEqual(['www.sub.example.test. 9 IN A 198.51.100.1']);
  });
});

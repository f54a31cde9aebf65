import { describe, expect, it } from 'vitest';
import { RRType, typeCode } from '../../dns/constants.js';
import type { Name } from '../../dns/name.js';
import { formatRData, formatRR } from '../../dns/present.js';
import type { Node } from '../../dns/records.js';
import { resolve } from '../../resolve/resolve.js';
import { Snapshot } from '../../table/snapshot.js';
import type { ZoneView } from '../../table/zone.js';
import type { KeyChange, KeyDelete, KeyPut, MirrorBatch } from './changes.js';
import { SkyDnsIndex, type EtcdIndexOptions } from './index.js';
import { nameToKey } from './skydns.js';

// -- helpers -------------------------------------------------------------------------------------

/** The key for a name under /skydns: `key('x1.api.example.test')` = `/skydns/test/example/api/x1`. */
const key = (name: string) => nameToKey(name, '/skydns');

let modRevision = 0;
function put(name: string, service: unknown, lease?: { lease: string; leaseTtl: number | undefined }): KeyPut {
  const k = name.startsWith('/') ? name : key(name);
  const value = typeof service === 'string' ? Buffer.from(service) : service instanceof Uint8Array ? service : Buffer.from(JSON.stringify(service));
  return { type: 'put', key: k, value, lease: lease?.lease, leaseTtl: lease?.leaseTtl, modRevision: ++modRevision };
}
function del(name: string): KeyDelete {
  return { type: 'delete', key: name.startsWith('/') ? name : key(name), modRevision: ++modRevision };
}
const batch = (changes: KeyChange[], revision = 100, reset = false): MirrorBatch => ({ reset, changes, revision });

interface Built {
  index: SkyDnsIndex;
  invalid: [string, string][];
  valid: string[];
}
function index(zones: string[], options: Partial<EtcdIndexOptions> = {}): Built {
  const invalid: [string, string][] = [];
  const valid: string[] = [];
  const idx = new SkyDnsIndex({
    prefix: '/skydns',
    zones,
    defaultTtl: 10,
    onInvalid: (k, reason) => invalid.push([k, reason]),
    onValid: (k) => valid.push(k),
    ...options,
  });
  return { index: idx, invalid, valid };
}
/** An index with `changes` applied as the first (reset) listing. */
function listed(zones: string[], changes: KeyChange[], options: Partial<EtcdIndexOptions> = {}): Built {
  const built = index(zones, options);
  built.index.apply(batch(changes, 100, true));
  return built;
}

/** The end-to-end answer, records as zone-file lines (sorted: RRsets are unordered). */
function ask(zones: ReadonlyMap<Name, ZoneView>, question: string) {
  const [name, type] = question.split(/\s+/) as [string, string];
  const outcome = resolve({ name: name.replace(/\.$/, '').toLowerCase(), type: typeCode(type)! }, new Snapshot(zones, 1));
  if (outcome.kind === 'notours') return { kind: outcome.kind };
  return {
    kind: outcome.kind,
    answer: outcome.answer.map(formatRR).sort(),
    authority: outcome.authority.map(formatRR),
    additional: outcome.additional.map(formatRR).sort(),
  };
}
const answer = (zones: ReadonlyMap<Name, ZoneView>, question: string): string[] => ask(zones, question).answer ?? ['(not ours)'];

/** The RDATA of one type at a node, sorted; undefined when the node lacks the type. */
function rdata(node: Node | undefined, type: keyof typeof RRType): string[] | undefined {
  return node?.get(RRType[type])?.records.map(formatRData).sort();
}
function zone(built: Built, origin: string): ZoneView {
  return built.index.zones.get(origin)!;
}

// -- CoreDNS lookup_test.go, as etcd keys ------------------------------------------------------------

describe('CoreDNS plugin/etcd/lookup_test.go data', () => {
  const services: [string, object][] = [
    ['a.server1.dev.region1.skydns.test', { host: 'dev.server1', port: 8080 }],
    ['a.server1.prod.region1.skydns.test', { host: '10.0.0.1', port: 8080 }],
    ['b.server1.prod.region1.skydns.test', { host: '10.0.0.2', port: 8080 }],
    ['b.server6.prod.region1.skydns.test', { host: '::1', port: 8080 }],
    ['cname.prod.region1.skydns.test', { host: 'unresolvable.skydns.test' }],
    ['priority.skydns.test', { host: 'priority.server1', priority: 333, port: 8080 }],
    ['a.sub.region1.skydns.test', { host: 'sub.server1', port: 0 }],
    ['b.sub.region1.skydns.test', { host: 'sub.server2', port: 80 }],
    ['c.sub.region1.skydns.test', { host: '10.0.0.1', port: 8080 }],
    ['b.cname.skydns.test', { host: 'a.cname.skydns.test' }],
    ['a.cname.skydns.test', { host: 'b.cname.skydns.test' }],
    ['a.ns.dns.skydns.test', { host: '10.0.0.2' }],
    ['b.ns.dns.skydns.test', { host: '10.0.0.3' }],
    ['x.skydns_zonea.test', { host: '10.0.0.2' }],
    ['y.skydns_zonea.test', { host: '10.0.0.3' }],
    ['x.skydns_zoneb.test', { host: '10.0.0.2' }],
    ['y.skydns_zoneb.test', { host: '10.0.0.3' }],
    ['apex.dns.skydns_zoneb.test', { host: '10.0.0.4' }],
    ['x.skydns_zonec.test', { host: '10.0.0.2' }],
    ['y.skydns_zonec.test', { host: '10.0.0.3' }],
    ['a1.apex.dns.skydns_zonec.test', { host: '10.0.0.4' }],
    ['a2.apex.dns.skydns_zonec.test', { host: '10.0.0.5' }],
    ['x.skydns_zoned.test', { host: '10.0.0.2' }],
    ['y.skydns_zoned.test', { host: '10.0.0.3' }],
    ['a1.apex.dns.skydns_zoned.test', { host: '10.0.0.4' }],
    ['a2.apex.dns.skydns_zoned.test', { host: '10.0.0.5' }],
    ['a3.apex.dns.skydns_zoned.test', { host: '2003::8:1' }],
    ['a4.apex.dns.skydns_zoned.test', { host: '2003::8:2' }],
    ['1.0.0.10.in-addr.arpa', { host: 'reverse.example.com' }],
  ];
  const zonesList = ['skydns.test', 'skydns_extra.test', 'skydns_zonea.test', 'skydns_zoneb.test', 'skydns_zonec.test', 'skydns_zoned.test', 'in-addr.arpa'];
  // CoreDNS's default TTL is 300; use it so the lines read like lookup_test.go.
  const built = listed(
    zonesList,
    services.map(([name, s]) => put(name, s)),
    { defaultTtl: 300 },
  );
  const zones = built.index.zones;

  it('loads every key', () => {
    expect(built.invalid).toEqual([]);
    expect(built.index.recordCount).toBe(services.length);
    expect([...zones.keys()].sort()).toEqual([...zonesList].sort());
  });

  it.each([
    ['a.server1.dev.region1.skydns.test. SRV', ['a.server1.dev.region1.skydns.test. 300 IN SRV 10 100 8080 dev.server1.'], []],
    ['a.SERVer1.dEv.region1.skydns.tEst. SRV', ['a.server1.dev.region1.skydns.test. 300 IN SRV 10 100 8080 dev.server1.'], []],
    ['a.server1.prod.region1.skydns.test. A', ['a.server1.prod.region1.skydns.test. 300 IN A 10.0.0.1'], []],
    [
      'a.server1.prod.region1.skydns.test. SRV',
      ['a.server1.prod.region1.skydns.test. 300 IN SRV 10 100 8080 a.server1.prod.region1.skydns.test.'],
      ['a.server1.prod.region1.skydns.test. 300 IN A 10.0.0.1'],
    ],
    ['b.server6.prod.region1.skydns.test. AAAA', ['b.server6.prod.region1.skydns.test. 300 IN AAAA ::1'], []],
    ['server1.prod.region1.skydns.test. A', ['server1.prod.region1.skydns.test. 300 IN A 10.0.0.1', 'server1.prod.region1.skydns.test. 300 IN A 10.0.0.2'], []],
    ['priority.skydns.test. SRV', ['priority.skydns.test. 300 IN SRV 333 100 8080 priority.server1.'], []],
    [
      'sub.region1.skydns.test. SRV',
      ['sub.region1.skydns.test. 300 IN SRV 10 33 0 sub.server1.', 'sub.region1.skydns.test. 300 IN SRV 10 33 80 sub.server2.', 'sub.region1.skydns.test. 300 IN SRV 10 33 8080 c.sub.region1.skydns.test.'],
      ['c.sub.region1.skydns.test. 300 IN A 10.0.0.1'],
    ],
    // CoreDNS writes this query as `*.region1.skydns.test`; see the wildcard tests for why a
    // leftmost `*` is the RFC 4592 owner here and `any` is the search label.
    [
      'any.region1.skydns.test. SRV',
      [
        'any.region1.skydns.test. 300 IN SRV 10 12 0 sub.server1.',
        'any.region1.skydns.test. 300 IN SRV 10 12 0 unresolvable.skydns.test.',
        'any.region1.skydns.test. 300 IN SRV 10 12 80 sub.server2.',
        'any.region1.skydns.test. 300 IN SRV 10 12 8080 a.server1.prod.region1.skydns.test.',
        'any.region1.skydns.test. 300 IN SRV 10 12 8080 b.server1.prod.region1.skydns.test.',
        'any.region1.skydns.test. 300 IN SRV 10 12 8080 b.server6.prod.region1.skydns.test.',
        'any.region1.skydns.test. 300 IN SRV 10 12 8080 c.sub.region1.skydns.test.',
        'any.region1.skydns.test. 300 IN SRV 10 12 8080 dev.server1.',
      ],
      [
        'a.server1.prod.region1.skydns.test. 300 IN A 10.0.0.1',
        'b.server1.prod.region1.skydns.test. 300 IN A 10.0.0.2',
        'b.server6.prod.region1.skydns.test. 300 IN AAAA ::1',
        'c.sub.region1.skydns.test. 300 IN A 10.0.0.1',
      ],
    ],
    ...['prod.*.skydns.test.', 'prod.any.skydns.test.'].map(
      (q) =>
        [
          `${q} SRV`,
          [
            `${q} 300 IN SRV 10 25 0 unresolvable.skydns.test.`,
            `${q} 300 IN SRV 10 25 8080 a.server1.prod.region1.skydns.test.`,
            `${q} 300 IN SRV 10 25 8080 b.server1.prod.region1.skydns.test.`,
            `${q} 300 IN SRV 10 25 8080 b.server6.prod.region1.skydns.test.`,
          ],
          ['a.server1.prod.region1.skydns.test. 300 IN A 10.0.0.1', 'b.server1.prod.region1.skydns.test. 300 IN A 10.0.0.2', 'b.server6.prod.region1.skydns.test. 300 IN AAAA ::1'],
        ] as [string, string[], string[]],
    ),
    ['skydns.test. NS', ['skydns.test. 300 IN NS a.ns.dns.skydns.test.', 'skydns.test. 300 IN NS b.ns.dns.skydns.test.'], ['a.ns.dns.skydns.test. 300 IN A 10.0.0.2', 'b.ns.dns.skydns.test. 300 IN A 10.0.0.3']],
    ['ns.dns.skydns.test. A', ['ns.dns.skydns.test. 300 IN A 10.0.0.2', 'ns.dns.skydns.test. 300 IN A 10.0.0.3'], []],
    ['skydns_zoneb.test. A', ['skydns_zoneb.test. 300 IN A 10.0.0.4'], []],
    ['skydns_zonec.test. A', ['skydns_zonec.test. 300 IN A 10.0.0.4', 'skydns_zonec.test. 300 IN A 10.0.0.5'], []],
    ['skydns_zoned.test. A', ['skydns_zoned.test. 300 IN A 10.0.0.4', 'skydns_zoned.test. 300 IN A 10.0.0.5'], []],
    ['skydns_zoned.test. AAAA', ['skydns_zoned.test. 300 IN AAAA 2003::8:1', 'skydns_zoned.test. 300 IN AAAA 2003::8:2'], []],
    ['1.0.0.10.in-addr.arpa. PTR', ['1.0.0.10.in-addr.arpa. 300 IN PTR reverse.example.com.'], []],
  ])('%s', (question, want, additional) => {
    const got = ask(zones, question);
    expect(got.kind).toBe('answer');
    expect(got.answer).toEqual([...want].sort());
    expect(got.additional).toEqual([...additional].sort());
  });

  it.each([
    ['doesnotexist.skydns.test. A', 'skydns.test.'],
    ['a.server1.nonexistent.region1.skydns.test. HINFO', 'skydns.test.'],
    ['a.skydns.test. NS', 'skydns.test.'],
    ['nothing.skydns_extra.test. A', 'skydns_extra.test.'],
  ])('%s is NXDOMAIN with the SOA', (question, soaOwner) => {
    const got = ask(zones, question);
    expect(got.kind).toBe('nxdomain');
    expect(got.authority).toEqual([`${soaOwner} 300 IN SOA ns.dns.${soaOwner} hostmaster.${soaOwner} 100 7200 1800 86400 300`]);
  });

  it('synthesizes the SOA (serial = etcd revision), even for a zone without keys', () => {
    expect(answer(zones, 'skydns_extra.test. SOA')).toEqual(['skydns_extra.test. 300 IN SOA ns.dns.skydns_extra.test. hostmaster.skydns_extra.test. 100 7200 1800 86400 300']);
  });

  it('does not answer an apex A from the whole zone (CoreDNS falls back to it: coredns#6071, #8465)', () => {
    // CoreDNS returns 10.0.0.2 and 10.0.0.3 here ("backward compatibility for zone records").
    expect(ask(zones, 'skydns_zonea.test. A')).toMatchObject({ kind: 'nodata', answer: [] });
  });

  it('a name host pointing nowhere gives the CNAME and NXDOMAIN for its target (RFC 6604)', () => {
    // CoreDNS drops the unresolvable CNAME and answers NODATA.
    expect(ask(zones, 'cname.prod.region1.skydns.test. A')).toMatchObject({
      kind: 'nxdomain',
      answer: ['cname.prod.region1.skydns.test. 300 IN CNAME unresolvable.skydns.test.'],
    });
  });

  it('a CNAME loop stops at the repeat', () => {
    expect(ask(zones, 'a.cname.skydns.test. A')).toMatchObject({
      kind: 'answer',
      answer: ['a.cname.skydns.test. 300 IN CNAME b.cname.skydns.test.', 'b.cname.skydns.test. 300 IN CNAME a.cname.skydns.test.'],
    });
  });

  it('a name host answers every type it lacks with its CNAME', () => {
    for (const type of ['TXT', 'HINFO', 'AAAA']) {
      expect(answer(zones, `a.server1.dev.region1.skydns.test. ${type}`)).toEqual(['a.server1.dev.region1.skydns.test. 300 IN CNAME dev.server1.']);
    }
  });
});

// -- the index's own semantics -------------------------------------------------------------------------------

describe('subtree aggregation', () => {
  const built = listed(
    ['example.test'],
    [
      put('x1.api.example.test', { host: '192.0.2.1' }),
      put('x2.api.example.test', { host: '192.0.2.2' }),
      put('x3.eu.api.example.test', { host: '2001:db8::3' }),
      put('blank.example.test', {}),
      put('x1.dup.example.test', { host: '192.0.2.9', ttl: 60 }),
      put('x2.dup.example.test', { host: '192.0.2.9', ttl: 30 }),
    ],
  );
  const z = zone(built, 'example.test');

  it.each([
    ['api.example.test', 'A', ['192.0.2.1', '192.0.2.2']],
    ['api.example.test', 'AAAA', ['2001:db8::3']],
    ['x1.api.example.test', 'A', ['192.0.2.1']],
    ['eu.api.example.test', 'A', undefined],
    ['eu.api.example.test', 'AAAA', ['2001:db8::3']],
    ['x3.eu.api.example.test', 'AAAA', ['2001:db8::3']],
    // Two keys with one address: one record (CoreDNS dedups by host).
    ['dup.example.test', 'A', ['192.0.2.9']],
  ] as const)('node(%s) %s', (name, type, want) => {
    expect(rdata(z.node(name), type)).toEqual(want);
  });

  it('names with nothing at or below them do not exist', () => {
    expect(z.node('nope.example.test')).toBeUndefined();
    expect(z.node('x9.api.example.test')).toBeUndefined();
    expect(z.node('deeper.x1.api.example.test')).toBeUndefined();
    expect(z.node('elsewhere.test')).toBeUndefined();
    expect(ask(built.index.zones, 'x9.api.example.test. A').kind).toBe('nxdomain');
  });

  it('a key with no usable data makes an existing, empty name (NODATA)', () => {
    expect(z.node('blank.example.test')?.size).toBe(0);
    expect(ask(built.index.zones, 'blank.example.test. A').kind).toBe('nodata');
  });

  it('an RRset takes the lowest TTL of its records (RFC 2181 §5.2)', () => {
    expect(answer(built.index.zones, 'dup.example.test. A')).toEqual(['dup.example.test. 30 IN A 192.0.2.9']);
  });

  it('end to end: all instances of a name', () => {
    expect(answer(built.index.zones, 'api.example.test. A')).toEqual(['api.example.test. 10 IN A 192.0.2.1', 'api.example.test. 10 IN A 192.0.2.2']);
  });
});

describe('types from services', () => {
  const long = 'x'.repeat(300);
  const built = listed(
    ['example.test'],
    [
      put('txt.example.test', { text: 'v=spf1 -all' }),
      put('long.example.test', { text: long }),
      put('a.www.example.test', { host: 'lb-a.example.org' }),
      put('b.www.example.test', { host: 'lb-b.example.org' }),
      put('exact.example.test', { host: 'exact.example.org' }),
      put('child.exact.example.test', { host: 'child.example.org' }),
      // external-dns's TXT registry writes ownership text next to the host (coredns#6110).
      put('149a1668.extdns.example.test', { host: 'lb.example.org', text: '"heritage=external-dns,external-dns/owner=default"' }),
      put('v4.mixed.example.test', { host: '192.0.2.10' }),
      put('name.mixed.example.test', { host: 'mixed.example.org' }),
      put('inside.self.example.test', { host: 'deeper.self.example.test' }),
      put('ptr.example.test', { host: 'target.example.org' }),
      put('child.ptr.example.test', { host: 'other.example.org' }),
      put('ip.withtext.example.test', { host: '192.0.2.11', text: 'also text' }),
    ],
  );
  const zones = built.index.zones;
  const z = zone(built, 'example.test');

  it('text gives TXT, split into 255-octet strings', () => {
    expect(answer(zones, 'txt.example.test. TXT')).toEqual(['txt.example.test. 10 IN TXT "v=spf1 -all"']);
    expect(z.node('long.example.test')?.get(RRType.TXT)?.records[0]).toMatchObject({ strings: [expect.any(Uint8Array), expect.any(Uint8Array)] });
    expect(answer(zones, 'long.example.test. TXT')).toEqual([`long.example.test. 10 IN TXT "${'x'.repeat(255)}" "${'x'.repeat(45)}"`]);
  });

  it('a name host gives a CNAME: the first by key order when several', () => {
    expect(answer(zones, 'www.example.test. CNAME')).toEqual(['www.example.test. 10 IN CNAME lb-a.example.org.']);
    expect(answer(zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN CNAME lb-a.example.org.']);
  });

  it('the exact key comes first in key order', () => {
    expect(rdata(z.node('exact.example.test'), 'CNAME')).toEqual(['exact.example.org.']);
    expect(rdata(z.node('child.exact.example.test'), 'CNAME')).toEqual(['child.example.org.']);
  });

  it('external-dns layout: a CNAME on a random leaf label answers both A and CNAME queries', () => {
    // CoreDNS answers the CNAME query from the exact key only, i.e. nothing here.
    expect(answer(zones, 'extdns.example.test. CNAME')).toEqual(['extdns.example.test. 10 IN CNAME lb.example.org.']);
    expect(answer(zones, 'extdns.example.test. A')).toEqual(['extdns.example.test. 10 IN CNAME lb.example.org.']);
  });

  it('a name host with a text keeps its CNAME and also gives the TXT (CoreDNS makes it TXT-only: coredns#6110)', () => {
    const node = z.node('149a1668.extdns.example.test');
    expect(rdata(node, 'CNAME')).toEqual(['lb.example.org.']);
    expect(rdata(node, 'TXT')).toEqual(['"\\"heritage=external-dns,external-dns/owner=default\\""']);
    expect(answer(zones, '149a1668.extdns.example.test. A')).toEqual(['149a1668.extdns.example.test. 10 IN CNAME lb.example.org.']);
  });

  it('an address host with a text gives both A and TXT', () => {
    expect(answer(zones, 'withtext.example.test. A')).toEqual(['withtext.example.test. 10 IN A 192.0.2.11']);
    expect(answer(zones, 'withtext.example.test. TXT')).toEqual(['withtext.example.test. 10 IN TXT "also text"']);
  });

  it('address and name hosts under one name: A gets the addresses, other types the CNAME', () => {
    expect(answer(zones, 'mixed.example.test. A')).toEqual(['mixed.example.test. 10 IN A 192.0.2.10']);
    expect(answer(zones, 'mixed.example.test. AAAA')).toEqual(['mixed.example.test. 10 IN CNAME mixed.example.org.']);
  });

  it('hosts at or below the name never become its CNAME (CoreDNS backend_lookup.go loop guard)', () => {
    expect(rdata(z.node('self.example.test'), 'CNAME')).toBeUndefined();
    expect(rdata(z.node('inside.self.example.test'), 'CNAME')).toEqual(['deeper.self.example.test.']);
  });

  it('PTR comes from the exact key only (CoreDNS exact=true)', () => {
    expect(answer(zones, 'ptr.example.test. PTR')).toEqual(['ptr.example.test. 10 IN PTR target.example.org.']);
    expect(rdata(z.node('ptr.example.test'), 'PTR')).toEqual(['target.example.org.']);
    expect(rdata(z.node('mixed.example.test'), 'PTR')).toBeUndefined();
  });

  it('an ANY query gets one RRset (RFC 8482), the addresses before the CNAME', () => {
    expect(answer(zones, 'mixed.example.test. ANY')).toEqual(['mixed.example.test. 10 IN A 192.0.2.10']);
    // Every service with a host and no port gives an SRV with port 0, as in CoreDNS.
    expect([...z.node('mixed.example.test')!.keys()]).toEqual([RRType.A, RRType.CNAME, RRType.SRV]);
  });
});

describe('SRV and MX', () => {
  const built = listed(
    ['example.test'],
    [
      // SkyDNS README "weight as a percentage": 120/100/130 -> 34/28/37.
      put('a.readme.example.test', { host: 'a.example.org', port: 80, weight: 120 }),
      put('b.readme.example.test', { host: 'b.example.org', port: 80, weight: 100 }),
      put('c.readme.example.test', { host: 'c.example.org', port: 80, weight: 130 }),
      // Per-priority classes; port -1 gives no SRV and does not count in the sums.
      put('a.prio.example.test', { host: 'a.example.org', port: 80, priority: 10 }),
      put('b.prio.example.test', { host: 'b.example.org', port: 80, priority: 10 }),
      put('c.prio.example.test', { host: 'c.example.org', port: 80, priority: 20 }),
      put('d.prio.example.test', { host: '192.0.2.4', port: -1, priority: 20 }),
      // Address hosts: the target is the key's own name; both A and AAAA as glue.
      put('x1.svc.example.test', { host: '192.0.2.1', port: 8080 }),
      put('x2.svc.example.test', { host: '2001:db8::2', port: 8080 }),
      // targetstrip 1: both instances get the target svc2.example.test, one SRV.
      put('x1.svc2.example.test', { host: '192.0.2.21', port: 9090, targetstrip: 1 }),
      put('x2.svc2.example.test', { host: '2001:db8::22', port: 9090, targetstrip: 1 }),
      // An in-zone name target with A and AAAA (CoreDNS adds only A for in-zone targets).
      put('web.example.test', { host: 'web1.example.test', port: 443 }),
      put('v4.web1.example.test', { host: '192.0.2.31' }),
      put('v6.web1.example.test', { host: '2001:db8::31' }),
      // MX
      put('a.mx.example.test', { host: 'mail.example.org', mail: true, priority: 20, port: -1 }),
      put('b.mx.example.test', { host: '192.0.2.25', mail: true, port: -1 }),
      put('c.mx.example.test', { host: '192.0.2.26', port: -1 }),
    ],
  );
  const zones = built.index.zones;

  it.each([
    ['readme.example.test. SRV', ['10 34 80 a.example.org.', '10 28 80 b.example.org.', '10 37 80 c.example.org.']],
    ['prio.example.test. SRV', ['10 50 80 a.example.org.', '10 50 80 b.example.org.', '20 100 80 c.example.org.']],
  ])('%s', (question, rdatas) => {
    const owner = question.split(' ')[0]!;
    expect(answer(zones, question)).toEqual(rdatas.map((r) => `${owner} 10 IN SRV ${r}`).sort());
  });

  it('address hosts: key-derived targets with A and AAAA glue', () => {
    expect(ask(zones, 'svc.example.test. SRV')).toMatchObject({
      answer: ['svc.example.test. 10 IN SRV 10 50 8080 x1.svc.example.test.', 'svc.example.test. 10 IN SRV 10 50 8080 x2.svc.example.test.'],
      additional: ['x1.svc.example.test. 10 IN A 192.0.2.1', 'x2.svc.example.test. 10 IN AAAA 2001:db8::2'],
    });
  });

  it('targetstrip removes leftmost labels of the key-derived target', () => {
    expect(ask(zones, 'svc2.example.test. SRV')).toMatchObject({
      answer: ['svc2.example.test. 10 IN SRV 10 50 9090 svc2.example.test.'],
      additional: ['svc2.example.test. 10 IN A 192.0.2.21', 'svc2.example.test. 10 IN AAAA 2001:db8::22'],
    });
  });

  it('in-zone name targets get A and AAAA glue', () => {
    expect(ask(zones, 'web.example.test. SRV')).toMatchObject({
      answer: ['web.example.test. 10 IN SRV 10 100 443 web1.example.test.'],
      additional: ['web1.example.test. 10 IN A 192.0.2.31', 'web1.example.test. 10 IN AAAA 2001:db8::31'],
    });
  });

  it('mail: true gives MX, preference = priority (default 10), exchange = host or key name', () => {
    expect(ask(zones, 'mx.example.test. MX')).toMatchObject({
      answer: ['mx.example.test. 10 IN MX 10 b.mx.example.test.', 'mx.example.test. 10 IN MX 20 mail.example.org.'],
      additional: ['b.mx.example.test. 10 IN A 192.0.2.25'],
    });
  });

  it('eight equal services get 12 each (lookup_test.go)', () => {
    const eight = listed(
      ['example.test'],
      Array.from({ length: 8 }, (_, i) => put(`x${i}.eight.example.test`, { host: `192.0.2.${i + 1}`, port: 80 })),
    );
    const weights = eight.index.zones.get('example.test')!.node('eight.example.test')!.get(RRType.SRV)!.records.map((r) => (r as { weight: number }).weight);
    expect(weights).toEqual([12, 12, 12, 12, 12, 12, 12, 12]);
  });
});

describe('groups (CoreDNS msg.Group; SkyDNS README "Groups")', () => {
  const built = listed(
    ['domain.local'],
    [
      put('a.domain.local', { host: '127.0.0.1', group: 'g1' }),
      put('b.domain.local', { host: '127.0.0.2', group: 'g1' }),
      put('c.sub.domain.local', { host: '127.0.0.3', group: 'g2' }),
      put('d.sub.domain.local', { host: '127.0.0.4', group: 'g2' }),
      put('e.sub.domain.local', { host: '127.0.0.5' }),
      put('x.split.domain.local', { host: '127.0.0.6', group: 'g1' }),
      put('y.split.domain.local', { host: '127.0.0.7', group: 'g2' }),
      put('z.deep.split.domain.local', { host: '127.0.0.8', group: 'g3' }),
    ],
  );
  const zones = built.index.zones;

  it.each([
    // The shortest keys (a, b) have g1: the sub-domain's g2 services are left out; the
    // group-less e and the deeper g1 x are kept.
    ['domain.local', ['127.0.0.1', '127.0.0.2', '127.0.0.5', '127.0.0.6']],
    ['sub.domain.local', ['127.0.0.3', '127.0.0.4', '127.0.0.5']],
    // x and y disagree at the same depth: no grouping.
    ['split.domain.local', ['127.0.0.6', '127.0.0.7', '127.0.0.8']],
  ])('any.%s A', (name, addresses) => {
    // `any.` aggregates the children, like CoreDNS's subtree lookup of the name itself.
    const q = `any.${name}`;
    expect(answer(zones, `${q}. A`)).toEqual(addresses.map((a) => `${q}. 10 IN A ${a}`));
  });

  it('the subtree of a name applies the same rule', () => {
    expect(rdata(zone(built, 'domain.local').node('sub.domain.local'), 'A')).toEqual(['127.0.0.3', '127.0.0.4', '127.0.0.5']);
  });
});

describe('query wildcards and RFC 4592 wildcards', () => {
  const built = listed(
    ['example.test'],
    [
      put('x1.api.example.test', { host: '192.0.2.1' }),
      put('x2.api.example.test', { host: '192.0.2.2' }),
      put('a.prod.east.example.test', { host: '192.0.2.11' }),
      put('b.prod.west.example.test', { host: '192.0.2.12' }),
      put('a.dev.west.example.test', { host: '192.0.2.13' }),
      put('*.apps.example.test', { host: '192.0.2.80' }),
      put('real.apps.example.test', { text: 'real' }),
    ],
  );
  const zones = built.index.zones;
  const z = zone(built, 'example.test');

  it.each([
    ['any.api.example.test', ['192.0.2.1', '192.0.2.2']],
    ['prod.*.example.test', ['192.0.2.11', '192.0.2.12']],
    ['prod.any.example.test', ['192.0.2.11', '192.0.2.12']],
    ['a.*.*.example.test', ['192.0.2.11', '192.0.2.13']],
    ['any.any.west.example.test', ['192.0.2.12', '192.0.2.13']],
  ])('node(%s) aggregates the matching names', (name, want) => {
    expect(rdata(z.node(name), 'A')).toEqual(want);
    expect(answer(zones, `${name}. A`)).toEqual(want.map((a) => `${name}. 10 IN A ${a}`));
  });

  it('a search matching nothing does not exist', () => {
    expect(z.node('staging.*.example.test')).toBeUndefined();
    expect(ask(zones, 'staging.any.any.example.test. A').kind).toBe('nxdomain');
    // ... unless an RFC 4592 wildcard matches at that level: `staging.apps` is answered by
    // `*.apps`, and the resolver's `*.any.example.test` probe finds it the same way.
    expect(answer(zones, 'staging.any.example.test. A')).toEqual(['staging.any.example.test. 10 IN A 192.0.2.80']);
  });

  it('a key named * is an RFC 4592 wildcard owner: it answers names that do not exist', () => {
    expect(rdata(z.node('*.apps.example.test'), 'A')).toEqual(['192.0.2.80']);
    expect(answer(zones, 'foo.apps.example.test. A')).toEqual(['foo.apps.example.test. 10 IN A 192.0.2.80']);
    // RFC 4592 §2.2.1: existing names are not wildcard-matched.
    expect(ask(zones, 'real.apps.example.test. A').kind).toBe('nodata');
  });

  it('a leftmost * is the literal owner, not a search: made-up names stay NXDOMAIN', () => {
    // If `*.api` aggregated api's children, the resolver's `*.<closest encloser>` probe would
    // answer any typo under api with its addresses.
    expect(z.node('*.api.example.test')).toBeUndefined();
    expect(ask(zones, 'typo.api.example.test. A').kind).toBe('nxdomain');
    expect(ask(zones, '*.api.example.test. A').kind).toBe('nxdomain');
  });
});

describe('zone apex', () => {
  const built = listed(
    ['example.test', 'sub.example.test', '2.0.192.in-addr.arpa'],
    [
      put('a.apex.dns.example.test', { host: '192.0.2.1' }),
      put('b.apex.dns.example.test', { host: '2001:db8::1' }),
      put('c.apex.dns.example.test', { text: 'v=spf1 mx -all' }),
      put('d.apex.dns.example.test', { host: 'mx.example.org', mail: true, port: -1 }),
      put('ns1.ns.dns.example.test', { host: '192.0.2.53' }),
      put('ns2.ns.dns.example.test', { host: '2001:db8::53' }),
      put('www.example.test', { host: '192.0.2.80' }),
      put('www.sub.example.test', { host: '192.0.2.81' }),
      put('10.2.0.192.in-addr.arpa', { host: 'www.example.test' }),
    ],
  );
  const zones = built.index.zones;

  it.each([
    ['example.test. A', ['example.test. 10 IN A 192.0.2.1']],
    ['example.test. AAAA', ['example.test. 10 IN AAAA 2001:db8::1']],
    ['example.test. TXT', ['example.test. 10 IN TXT "v=spf1 mx -all"']],
    ['example.test. MX', ['example.test. 10 IN MX 10 mx.example.org.']],
    ['example.test. NS', ['example.test. 10 IN NS ns1.ns.dns.example.test.', 'example.test. 10 IN NS ns2.ns.dns.example.test.']],
    ['example.test. SOA', ['example.test. 10 IN SOA ns.dns.example.test. hostmaster.example.test. 100 7200 1800 86400 10']],
    ['10.2.0.192.in-addr.arpa. PTR', ['10.2.0.192.in-addr.arpa. 10 IN PTR www.example.test.']],
  ])('%s', (question, want) => {
    expect(answer(zones, question)).toEqual(want);
  });

  it('NS answers carry A and AAAA glue from the ns keys', () => {
    expect(ask(zones, 'example.test. NS').additional).toEqual(['ns1.ns.dns.example.test. 10 IN A 192.0.2.53', 'ns2.ns.dns.example.test. 10 IN AAAA 2001:db8::53']);
  });

  it('the apex never has a CNAME, and NS appears only at the apex', () => {
    const z = zone(built, 'example.test');
    expect(z.node('example.test')?.has(RRType.CNAME)).toBe(false);
    expect(z.node('ns.dns.example.test')?.has(RRType.NS)).toBe(false);
    expect(z.node('www.example.test')?.has(RRType.NS)).toBe(false);
  });

  it('nested zones: the most specific one holds the key', () => {
    expect(zone(built, 'sub.example.test').node('www.sub.example.test')).toBeDefined();
    expect(zone(built, 'example.test').node('www.sub.example.test')).toBeUndefined();
    expect(answer(zones, 'www.sub.example.test. A')).toEqual(['www.sub.example.test. 10 IN A 192.0.2.81']);
    expect(ask(zones, 'sub.example.test. A').kind).toBe('nodata');
  });

  it('a zone without keys still answers: NXDOMAIN with its SOA, not REFUSED', () => {
    const empty = index(['empty.test']);
    expect(ask(empty.index.zones, 'x.empty.test. A')).toMatchObject({
      kind: 'nxdomain',
      authority: ['empty.test. 10 IN SOA ns.dns.empty.test. hostmaster.empty.test. 0 7200 1800 86400 10'],
    });
    expect(ask(empty.index.zones, 'empty.test. A').kind).toBe('nodata');
  });

  it('a name host under dns/ns is invalid (CoreDNS: "NS record must be an IP address")', () => {
    const b = listed(['example.test'], [put('bad.ns.dns.example.test', { host: 'ns.example.org' }), put('ok.ns.dns.example.test', { host: '192.0.2.53' })]);
    expect(b.invalid).toEqual([[key('bad.ns.dns.example.test'), expect.stringContaining('needs an IP address')]]);
    expect(answer(b.index.zones, 'example.test. NS')).toEqual(['example.test. 10 IN NS ok.ns.dns.example.test.']);
  });

  it('the SOA serial is the etcd revision modulo 2^32', () => {
    const b = index(['example.test']);
    b.index.apply(batch([put('www.example.test', { host: '192.0.2.1' })], 2 ** 32 + 5, true));
    expect((zone(b, 'example.test').soa.records[0] as { serial: number }).serial).toBe(5);
    expect(b.index.revision).toBe(2 ** 32 + 5);
  });
});

describe('TTLs', () => {
  const built = listed(
    ['example.test'],
    [
      put('default.example.test', { host: '192.0.2.1' }),
      put('own.example.test', { host: '192.0.2.2', ttl: 300 }),
      put('zero.example.test', { host: '192.0.2.3', ttl: 0 }),
      put('leased.example.test', { host: '192.0.2.4', ttl: 300 }, { lease: '7587862', leaseTtl: 5 }),
      put('leaselong.example.test', { host: '192.0.2.5', ttl: 30 }, { lease: '7587863', leaseTtl: 600 }),
      put('leasenottl.example.test', { host: '192.0.2.6' }, { lease: '7587864', leaseTtl: 3 }),
      put('leaseunknown.example.test', { host: '192.0.2.7', ttl: 40 }, { lease: '7587865', leaseTtl: undefined }),
      put('a.mixed.example.test', { host: '192.0.2.8', ttl: 120 }),
      put('b.mixed.example.test', { host: '192.0.2.9', ttl: 60 }),
    ],
  );

  it.each([
    ['default', 10],
    ['own', 300],
    // ttl 0 is "unset" in CoreDNS (Go uint32 with omitempty): the default applies.
    ['zero', 10],
    // Never longer than the lease's granted TTL.
    ['leased', 5],
    ['leaselong', 30],
    ['leasenottl', 3],
    ['leaseunknown', 40],
    // RFC 2181 §5.2: one TTL per RRset, the lowest.
    ['mixed', 60],
  ])('%s', (label, ttl) => {
    const lines = answer(built.index.zones, `${label}.example.test. A`);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.split(' ')[1]).toBe(String(ttl));
  });
});

describe('lifecycle: put, update, delete, reset', () => {
  it('put -> update -> delete', () => {
    const b = index(['example.test', 'other.test']);
    const other0 = b.index.zones.get('other.test');
    b.index.apply(batch([put('www.example.test', { host: '192.0.2.1' })], 101));
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN A 192.0.2.1']);
    expect(b.index.zones.get('other.test')).toBe(other0);

    b.index.apply(batch([put('www.example.test', { host: '192.0.2.2', ttl: 60 })], 102));
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 60 IN A 192.0.2.2']);
    expect(b.index.recordCount).toBe(1);

    b.index.apply(batch([del('www.example.test')], 103));
    expect(b.index.zones.get('example.test')!.node('www.example.test')).toBeUndefined();
    expect(ask(b.index.zones, 'www.example.test. A').kind).toBe('nxdomain');
    expect(b.index.recordCount).toBe(0);
    expect(b.index.keyCount).toBe(0);
    expect((b.index.zones.get('example.test')!.soa.records[0] as { serial: number }).serial).toBe(103);
    expect(b.index.zones.get('other.test')).toBe(other0);
  });

  it('deleting the last key below a name prunes the name; its siblings stay', () => {
    const b = listed(['example.test'], [put('x1.a.b.example.test', { host: '192.0.2.1' }), put('x2.b.example.test', { host: '192.0.2.2' })]);
    b.index.apply(batch([del('x1.a.b.example.test')], 101));
    const z = zone(b, 'example.test');
    expect(z.node('a.b.example.test')).toBeUndefined();
    expect(rdata(z.node('b.example.test'), 'A')).toEqual(['192.0.2.2']);
    b.index.apply(batch([del('x2.b.example.test')], 102));
    expect(zone(b, 'example.test').node('b.example.test')).toBeUndefined();
  });

  it('deleting an unknown key changes nothing', () => {
    const b = listed(['example.test'], [put('www.example.test', { host: '192.0.2.1' })]);
    const before = b.index.zones;
    expect(b.index.apply(batch([del('nope.example.test')], 101))).toBe(before);
  });

  it('unchanged zones, unchanged subtrees and identical re-puts keep their identity', () => {
    const b = listed(
      ['example.test', 'other.test'],
      [put('x1.api.example.test', { host: '192.0.2.1' }), put('x1.web.example.test', { host: '192.0.2.2' }), put('www.other.test', { host: '192.0.2.3' })],
    );
    const z0 = zone(b, 'example.test');
    const o0 = zone(b, 'other.test');
    const web0 = z0.node('web.example.test')!;
    expect(web0.get(RRType.A)).toBeDefined(); // computed and memoised
    const api0 = z0.node('api.example.test')!;

    b.index.apply(batch([put('x2.api.example.test', { host: '192.0.2.9' })], 101));
    const z1 = zone(b, 'example.test');
    expect(z1).not.toBe(z0);
    expect(zone(b, 'other.test')).toBe(o0);
    // The untouched subtree's node (and its memoised answers) is shared with the old view.
    expect(z1.node('web.example.test')).toBe(web0);
    expect(z1.node('web.example.test')!.get(RRType.A)).toBe(web0.get(RRType.A));
    expect(z1.node('api.example.test')).not.toBe(api0);
    // The old view is immutable: it still answers the old data.
    expect(rdata(z0.node('api.example.test'), 'A')).toEqual(['192.0.2.1']);
    expect(rdata(z1.node('api.example.test'), 'A')).toEqual(['192.0.2.1', '192.0.2.9']);

    // The same value again is not a change.
    const zones1 = b.index.zones;
    expect(b.index.apply(batch([put('x2.api.example.test', { host: '192.0.2.9' })], 102))).toBe(zones1);
    expect(b.index.revision).toBe(102);
  });

  it('reset replaces everything; keys missing from the listing are gone', () => {
    const b = listed(['example.test'], [put('a.example.test', { host: '192.0.2.1' }), put('b.example.test', { host: '192.0.2.2' }), put('c.example.test', '{bad')]);
    expect(b.index.keyCount).toBe(3);
    expect(b.index.invalidCount).toBe(1);
    b.index.apply(batch([put('b.example.test', { host: '192.0.2.20' }), put('d.example.test', { host: '192.0.2.4' })], 200, true));
    const z = zone(b, 'example.test');
    expect(z.node('a.example.test')).toBeUndefined();
    expect(rdata(z.node('b.example.test'), 'A')).toEqual(['192.0.2.20']);
    expect(rdata(z.node('d.example.test'), 'A')).toEqual(['192.0.2.4']);
    expect(b.index.keyCount).toBe(2);
    expect(b.index.invalidCount).toBe(0);
    expect(b.valid).toEqual([key('c.example.test')]);
    expect((z.soa.records[0] as { serial: number }).serial).toBe(200);
  });

  it('keys outside every zone are ignored and counted apart from invalid ones', () => {
    const b = listed(['example.test'], [put('www.example.test', { host: '192.0.2.1' }), put('www.elsewhere.test', { host: '192.0.2.2' })]);
    expect(b.index.ignoredCount).toBe(1);
    expect(b.index.invalidCount).toBe(0);
    expect(b.index.recordCount).toBe(1);
    expect(b.index.keyCount).toBe(2);
    expect(b.invalid).toEqual([]);
    b.index.apply(batch([del('www.elsewhere.test')], 101));
    expect(b.index.ignoredCount).toBe(0);
  });
});

describe('invalid keys and values', () => {
  it('are skipped and reported while the rest of the batch serves', () => {
    const b = listed(
      ['example.test'],
      [
        put('good.example.test', { host: '192.0.2.1' }),
        put('json.example.test', '{"host": "192.0.2.2"'),
        put('type.example.test', { host: '192.0.2.3', port: '80' }),
        put('host.example.test', { host: 'not a host' }),
        put('huge.example.test', Buffer.alloc(70_000, 0x20)),
        put('/skydns/test/example/a.b', { host: '192.0.2.5' }),
        put('/skydns/test/example//x', { host: '192.0.2.6' }),
        put('/elsewhere/test/example/x', { host: '192.0.2.7' }),
        put('good2.example.test', { host: '192.0.2.8' }),
      ],
    );
    expect(answer(b.index.zones, 'good.example.test. A')).toEqual(['good.example.test. 10 IN A 192.0.2.1']);
    expect(answer(b.index.zones, 'good2.example.test. A')).toEqual(['good2.example.test. 10 IN A 192.0.2.8']);
    expect(ask(b.index.zones, 'json.example.test. A').kind).toBe('nxdomain');
    expect(b.index.invalidCount).toBe(7);
    expect(b.index.recordCount).toBe(2);
    expect(new Map(b.invalid)).toEqual(
      new Map([
        [key('json.example.test'), expect.stringContaining('invalid JSON')],
        [key('type.example.test'), 'port: expected an integer -1..65535, got "80"'],
        [key('host.example.test'), 'host: "not a host" is neither an IP address nor a valid host name'],
        [key('huge.example.test'), 'value is 70000 bytes; the limit is 65536 (64 KiB)'],
        ['/skydns/test/example/a.b', expect.stringContaining('may only hold letters')],
        ['/skydns/test/example//x', expect.stringContaining('empty label')],
        ['/elsewhere/test/example/x', 'key is not under the prefix "/skydns/"'],
      ]),
    );
    expect(b.invalid).toHaveLength(7);
  });

  it('are reported once per key until they change; a valid put or a delete clears them', () => {
    const b = index(['example.test']);
    b.index.apply(batch([put('a.example.test', '{bad'), put('b.example.test', { port: 'x' })], 1, true));
    expect(b.invalid.map(([k]) => k)).toEqual([key('a.example.test'), key('b.example.test')]);

    // The same problem again: no new report (also across a reset).
    b.index.apply(batch([put('a.example.test', '{bad')], 2));
    b.index.apply(batch([put('a.example.test', '{bad'), put('b.example.test', { port: 'x' })], 3, true));
    expect(b.invalid).toHaveLength(2);
    expect(b.index.invalidCount).toBe(2);

    // A different problem is news.
    b.index.apply(batch([put('a.example.test', { ttl: -5 })], 4));
    expect(b.invalid).toHaveLength(3);
    expect(b.invalid[2]).toEqual([key('a.example.test'), 'ttl: expected an integer 0..2147483647, got -5']);

    // A valid put, then a delete, clear them.
    b.index.apply(batch([put('a.example.test', { host: '192.0.2.1' }), del('b.example.test')], 5));
    expect(b.valid).toEqual([key('a.example.test'), key('b.example.test')]);
    expect(b.index.invalidCount).toBe(0);
    expect(rdata(zone(b, 'example.test').node('a.example.test'), 'A')).toEqual(['192.0.2.1']);

    // A valid key turning invalid disappears from the answers.
    b.index.apply(batch([put('a.example.test', 'nope')], 6));
    expect(zone(b, 'example.test').node('a.example.test')).toBeUndefined();
    expect(b.index.invalidCount).toBe(1);
    expect(b.index.recordCount).toBe(0);
  });

  it('a reset that fixes an invalid key reports it valid exactly once', () => {
    const b = listed(['example.test'], [put('a.example.test', '{bad'), put('b.example.test', '{bad')]);
    b.index.apply(batch([put('a.example.test', { host: '192.0.2.1' }), put('b.example.test', '{bad')], 101, true));
    expect(b.valid).toEqual([key('a.example.test')]);
    expect(b.invalid).toHaveLength(2);
    expect(b.index.invalidCount).toBe(1);
    b.index.apply(batch([], 102, true));
    expect(b.valid).toEqual([key('a.example.test'), key('b.example.test')]);
    expect(b.index.keyCount).toBe(0);

    // One key twice in a listing, bad then good: still one onValid.
    const c = listed(['example.test'], [put('c.example.test', '{bad')]);
    c.index.apply(batch([put('c.example.test', '{bad'), put('c.example.test', { host: '192.0.2.3' })], 101, true));
    expect(c.valid).toEqual([key('c.example.test')]);
    expect(c.invalid).toHaveLength(1);
  });

  it('callbacks that throw do not break apply', () => {
    const b = index(['example.test'], {
      onInvalid: () => {
        throw new Error('boom');
      },
    });
    expect(() => b.index.apply(batch([put('a.example.test', '{'), put('b.example.test', { host: '192.0.2.1' })], 1, true))).not.toThrow();
    expect(rdata(zone(b, 'example.test').node('b.example.test'), 'A')).toEqual(['192.0.2.1']);
  });

  it('apply never throws, whatever the bytes', () => {
    // Deterministic PRNG so a failure reproduces.
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const fragments = ['{', '}', '"host"', ':', '"10.0.0.1"', '"::1"', '"a.b"', ',', '"port"', '-1', '1e400', '[', ']', 'null', 'true', '"text"', '"\\u0000"', '"group"', '"ttl"', '99999999999'];
    const labels = ['a', 'b', '*', 'any', 'dns', 'apex', 'ns', '', 'X', 'é', '.', '_tcp'];
    const b = index(['example.test', 'b.example.test']);
    const keys: string[] = [];
    for (let round = 0; round < 200; round++) {
      const changes: KeyChange[] = [];
      for (let i = 0; i < 20; i++) {
        const k =
          rand() < 0.2 && keys.length > 0
            ? pick(keys)
            : `/skydns/test/example/${Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(labels)).join('/')}`;
        keys.push(k);
        const r = rand();
        if (r < 0.15) changes.push({ type: 'delete', key: k, modRevision: round });
        else if (r < 0.45) {
          const bytes = new Uint8Array(Math.floor(rand() * 64));
          for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
          changes.push({ type: 'put', key: k, value: bytes, lease: undefined, leaseTtl: undefined, modRevision: round });
        } else {
          const text = Array.from({ length: Math.floor(rand() * 12) }, () => pick(fragments)).join('');
          changes.push({ type: 'put', key: k, value: Buffer.from(rand() < 0.5 ? text : `{"host":"10.0.0.${round % 250}","port":${i}}`), lease: '1', leaseTtl: rand() < 0.5 ? 5 : undefined, modRevision: round });
        }
      }
      expect(() => b.index.apply(batch(changes, round, round % 50 === 0))).not.toThrow();
      // Every view stays answerable.
      for (const name of ['example.test', 'a.example.test', 'any.example.test', 'b.a.example.test', '*.example.test', 'x.b.example.test']) {
        expect(() => ask(b.index.zones, `${name}. A`)).not.toThrow();
        expect(() => ask(b.index.zones, `${name}. SRV`)).not.toThrow();
      }
      expect(b.index.keyCount).toBe(b.index.recordCount + b.index.invalidCount + b.index.ignoredCount);
    }
    // Malformed batches and changes.
    expect(() => b.index.apply({ reset: false, changes: null as unknown as KeyChange[], revision: 1 })).not.toThrow();
    expect(() =>
      b.index.apply(batch([{ type: 'put', key: 42 } as unknown as KeyChange, { type: 'put', key: '/skydns/test/example/z', value: 'str' } as unknown as KeyChange, {} as KeyChange])),
    ).not.toThrow();
  });

  it('counts stay consistent with a full re-listing of the same data', () => {
    // The incremental state after random churn equals a reset with the surviving keys.
    const b = index(['example.test']);
    const live = new Map<string, KeyPut>();
    let n = 0;
    for (let round = 0; round < 50; round++) {
      const changes: KeyChange[] = [];
      for (let i = 0; i < 10; i++) {
        const name = `x${(round * 7 + i * 13) % 23}.s${i % 3}.example.test`;
        if ((round + i) % 4 === 0) {
          changes.push(del(name));
          live.delete(key(name));
        } else {
          const p = put(name, (n++ % 5 === 0 ? '{' : { host: `192.0.2.${n % 250}`, port: n % 3 === 0 ? -1 : 80 }) as object);
          changes.push(p);
          live.set(p.key, p);
        }
      }
      b.index.apply(batch(changes, round));
    }
    const fresh = listed(['example.test'], [...live.values()]);
    expect(b.index.recordCount).toBe(fresh.index.recordCount);
    expect(b.index.invalidCount).toBe(fresh.index.invalidCount);
    for (const name of ['example.test', 's0.example.test', 's1.example.test', 's2.example.test', 'x1.s1.example.test', 'any.example.test']) {
      for (const type of ['A', 'SRV', 'CNAME'] as const) {
        expect(rdata(zone(b, 'example.test').node(name), type)).toEqual(rdata(zone(fresh, 'example.test').node(name), type));
      }
    }
  });
});

describe('copy-on-write tries under churn (model check)', () => {
  it('wide names (chunk splits), deep names and old views all stay exact', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Model: instance name -> address. Instances sit under big.example.test (wide: hundreds
    // of children, so the sorted chunks split and shrink) and some one level deeper.
    const model = new Map<string, string>();
    const b = index(['example.test']);
    const history: { view: ZoneView; big: string[] | undefined; sample: [string, boolean][] }[] = [];
    const names = Array.from({ length: 600 }, (_, i) => (i % 5 === 0 ? `d.x${i}.big.example.test` : `x${i}.big.example.test`));
    const expectedBig = () => (model.size === 0 ? undefined : [...new Set(model.values())].sort());
    const exists = (name: string) => [...model.keys()].some((n) => n === name || n.endsWith(`.${name}`));
    for (let round = 0; round < 120; round++) {
      const changes: KeyChange[] = [];
      const count = round === 0 ? 400 : 1 + rand(30);
      for (let i = 0; i < count; i++) {
        const name = names[rand(names.length)]!;
        if (round > 0 && rand(3) === 0) {
          changes.push(del(name));
          model.delete(name);
        } else {
          const address = `10.${rand(4)}.${rand(256)}.${rand(256)}`;
          changes.push(put(name, { host: address }));
          model.set(name, address);
        }
      }
      b.index.apply(batch(changes, round + 1, round === 0));
      const view = zone(b, 'example.test');
      expect(rdata(view.node('big.example.test'), 'A')).toEqual(expectedBig());
      const sample: [string, boolean][] = [];
      for (let i = 0; i < 20; i++) {
        const n = names[rand(names.length)]!;
        const parent = n.startsWith('d.') ? n.slice(2) : n;
        for (const name of [n, parent]) {
          const want = exists(name);
          expect(view.node(name) !== undefined, name).toBe(want);
          if (model.has(name)) expect(rdata(view.node(name), 'A')).toEqual([model.get(name)]);
          sample.push([name, want]);
        }
      }
      history.push({ view, big: expectedBig(), sample });
    }
    expect(b.index.recordCount).toBe(model.size);
    // Every old view still answers exactly what it answered when it was current.
    for (const { view, big, sample } of history) {
      expect(rdata(view.node('big.example.test'), 'A')).toEqual(big);
      for (const [name, existed] of sample) expect(view.node(name) !== undefined).toBe(existed);
    }
    // And the incremental result equals a fresh listing of the same data.
    const fresh = listed(['example.test'], [...model].map(([name, host]) => put(name, { host })));
    expect(rdata(zone(fresh, 'example.test').node('big.example.test'), 'A')).toEqual(expectedBig());
    expect(rdata(zone(fresh, 'example.test').node('any.big.example.test'), 'A')).toEqual(rdata(zone(b, 'example.test').node('any.big.example.test'), 'A'));
  });
});

describe('options', () => {
  it.each([Number.NaN, -1, 1.5, 2 ** 31])('rejects defaultTtl %s', (defaultTtl) => {
    expect(() => new SkyDnsIndex({ prefix: '/skydns', zones: ['example.test'], defaultTtl })).toThrow(RangeError);
  });

  it('accepts zones with a trailing dot or upper case, and other prefixes', () => {
    const b = index(['Example.Test.'], { prefix: 'dns/records/' });
    b.index.apply(batch([put('/dns/records/test/example/www', { host: '192.0.2.1' })], 1, true));
    expect([...b.index.zones.keys()]).toEqual(['example.test']);
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN A 192.0.2.1']);
  });

  it('serves the root zone too', () => {
    const b = listed([''], [put('www.example.test', { host: '192.0.2.1' })]);
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN A 192.0.2.1']);
    expect(answer(b.index.zones, '. SOA')).toEqual(['. 10 IN SOA ns.dns. hostmaster. 100 7200 1800 86400 10']);
  });
});

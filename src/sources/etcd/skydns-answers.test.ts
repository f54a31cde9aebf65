import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { answer, ask, listed, put, rdata, zone } from './test-support.js';
import { MAX_RRSET_OCTETS, MAX_RRSET_RECORDS } from './skydns-answers.js';

// CoreDNS lookup_test.go, as etcd keys; then the answer rules case by case.

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
    // CoreDNS's SOA minimum and TTL: 30 s (here below the 300 s record TTL).
    expect(got.authority).toEqual([`${soaOwner} 30 IN SOA ns.dns.${soaOwner} hostmaster.${soaOwner} 100 7200 1800 86400 30`]);
  });

  it('synthesizes the SOA (serial = etcd revision), even for a zone without keys', () => {
    expect(answer(zones, 'skydns_extra.test. SOA')).toEqual(['skydns_extra.test. 30 IN SOA ns.dns.skydns_extra.test. hostmaster.skydns_extra.test. 100 7200 1800 86400 30']);
  });

  it('answers an apex A from the whole zone when dns/apex is empty, as CoreDNS ("backward compatibility for zone records")', () => {
    expect(ask(zones, 'skydns_zonea.test. A')).toMatchObject({ kind: 'answer', answer: ['skydns_zonea.test. 300 IN A 10.0.0.2', 'skydns_zonea.test. 300 IN A 10.0.0.3'] });
    // Only A and AAAA: the apex still has no CNAME, TXT or SRV from the zone's keys.
    expect(ask(zones, 'skydns_zonea.test. AAAA')).toMatchObject({ kind: 'nodata', answer: [] });
  });

  it('a name host pointing nowhere gives the CNAME and NXDOMAIN for its target (RFC 6604)', () => {
    // CoreDNS drops the unresolvable CNAME and answers NODATA.
    expect(ask(zones, 'cname.prod.region1.skydns.test. A')).toMatchObject({
      kind: 'nxdomain',
      answer: ['cname.prod.region1.skydns.test. 300 IN CNAME unresolvable.skydns.test.'],
    });
  });

  it('a CNAME loop is NODATA with the SOA, as in CoreDNS', () => {
    expect(ask(zones, 'a.cname.skydns.test. A')).toMatchObject({
      kind: 'nodata',
      answer: [],
      authority: ['skydns.test. 30 IN SOA ns.dns.skydns.test. hostmaster.skydns.test. 100 7200 1800 86400 30'],
    });
  });

  it('a name host answers every type it lacks with its CNAME', () => {
    for (const type of ['TXT', 'HINFO', 'AAAA']) {
      expect(answer(zones, `a.server1.dev.region1.skydns.test. ${type}`)).toEqual(['a.server1.dev.region1.skydns.test. 300 IN CNAME dev.server1.']);
    }
  });
});

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

describe('RRset bounds (a name aggregating more records than a DNS message holds)', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => put(`i${i}.big.example.test`, { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));

  it('cuts A sets to the bounds, the same prefix every time, and reports the name once per computed set', () => {
    const cut: [string, number, number][] = [];
    const built = listed(['example.test'], many(20_000), { onOversize: (name, type, total) => cut.push([name, type, total]) });
    const node = zone(built, 'example.test').node('big.example.test')!;
    const a = node.get(RRType.A)!;
    expect(a.records.length).toBeLessThanOrEqual(MAX_RRSET_RECORDS);
    expect(a.records.length * 16).toBeLessThanOrEqual(MAX_RRSET_OCTETS);
    expect(a.records.length).toBeGreaterThan(1000);
    expect(node.get(RRType.A)).toBe(a);
    // The apex of a zone without dns/apex aggregates every address: bounded as well.
    const apexA = zone(built, 'example.test').node('example.test')!.get(RRType.A)!;
    expect(apexA.records.length).toBe(a.records.length);
    expect(cut).toEqual([
      ['big.example.test', RRType.A, 20_000],
      ['example.test', RRType.A, 20_000],
    ]);
    // A smaller set is whole and not reported.
    expect(zone(built, 'example.test').node('i7.big.example.test')!.get(RRType.A)!.records).toHaveLength(1);
    expect(cut).toHaveLength(2);
  });

  it('bounds SRV sets by octets (long targets), never above MAX_RRSET_OCTETS', () => {
    const target = `${'x'.repeat(60)}.${'y'.repeat(60)}.example.org`;
    const changes = Array.from({ length: 3000 }, (_, i) => put(`s${i}.svc.example.test`, { host: `${i}.${target}`, port: 80 }));
    const built = listed(['example.test'], changes);
    const srv = zone(built, 'example.test').node('svc.example.test')!.get(RRType.SRV)!;
    expect(srv.records.length).toBeLessThan(3000);
    const octets = srv.records.reduce((n, r) => n + 12 + 6 + (r as { target: string }).target.length + 2, 0);
    expect(octets).toBeLessThanOrEqual(MAX_RRSET_OCTETS);
  });
});

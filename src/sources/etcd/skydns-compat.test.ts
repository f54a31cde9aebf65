/**
 * The CoreDNS etcd plugin's answer rules through the resolver (ZoneView.skydns): what both
 * `--compat` modes share (CNAME chains in the additional section, loops, CNAME queries at the
 * exact key) and where `coredns` gives CoreDNS's answer instead of the RFC's.
 */
import { describe, expect, it } from 'vitest';
import { Snapshot } from '../../table/snapshot.js';
import { StaticZone } from '../../table/zone.js';
import { resolve } from '../../resolve/resolve.js';
import { RRType } from '../../dns/constants.js';
import { ask, listed, put } from './test-support.js';

const data = [
  put('a.srv.example.test', { host: 'alias.example.test', port: 80 }),
  put('b.srv.example.test', { host: 'alias2.example.test', port: 81 }),
  put('alias.example.test', { host: 'hop.example.test' }),
  put('alias2.example.test', { host: 'hop.example.test' }),
  put('x.hop.example.test', { host: '192.0.2.1' }),
  put('y.hop.example.test', { host: '2001:db8::1' }),
  put('a.mail.example.test', { host: 'alias.example.test', mail: true }),
  put('a.dead.example.test', { host: 'gone.example.test', port: 82 }),
  put('dead-end.example.test', { host: 'gone.example.test' }),
  put('ext.example.test', { host: 'elsewhere.example.org' }),
  put('txtonly.example.test', { text: 'hello' }),
  put('to-txt.example.test', { host: 'txtonly.example.test' }),
  put('loop1.example.test', { host: 'loop2.example.test' }),
  put('loop2.example.test', { host: 'loop1.example.test' }),
  put('parent.example.test', { host: 'child.parent.example.test' }),
  put('x.parent.example.test', { host: '192.0.2.9' }),
];
const rfc = listed(['example.test'], data).index.zones;
const coredns = listed(['example.test'], data, { compat: 'coredns' }).index.zones;
const SOA = 'example.test. 10 IN SOA ns.dns.example.test. hostmaster.example.test. 100 7200 1800 86400 10';

describe('both modes', () => {
  it.each([
    ['rfc', rfc],
    ['coredns', coredns],
  ])('%s: SRV and MX targets reached through CNAMEs get the chain and its A and AAAA in the additional section, each once', (_mode, zones) => {
    expect(ask(zones, 'srv.example.test. SRV').additional).toEqual([
      'alias.example.test. 10 IN CNAME hop.example.test.',
      'alias2.example.test. 10 IN CNAME hop.example.test.',
      'hop.example.test. 10 IN A 192.0.2.1',
      'hop.example.test. 10 IN AAAA 2001:db8::1',
    ]);
    expect(ask(zones, 'a.mail.example.test. MX').additional).toEqual([
      'alias.example.test. 10 IN CNAME hop.example.test.',
      'hop.example.test. 10 IN A 192.0.2.1',
      'hop.example.test. 10 IN AAAA 2001:db8::1',
    ]);
    // A chain that ends nowhere adds nothing (CoreDNS adds a CNAME only when it led to records).
    expect(ask(zones, 'a.dead.example.test. SRV').additional).toEqual([]);
  });

  it.each([
    ['rfc', rfc],
    ['coredns', coredns],
  ])('%s: a CNAME loop is NODATA with the SOA', (_mode, zones) => {
    expect(ask(zones, 'loop1.example.test. A')).toEqual({ kind: 'nodata', answer: [], authority: [SOA], additional: [] });
  });

  it.each([
    ['rfc', rfc],
    ['coredns', coredns],
  ])('%s: A aggregates the addresses below the name', (_mode, zones) => {
    expect(ask(zones, 'parent.example.test. A').answer).toEqual(['parent.example.test. 10 IN A 192.0.2.9']);
  });

  it('a CNAME query at a name that also has addresses: coredns reads the exact key (cname_test.go), rfc has no CNAME there (RFC 2181 §10.1)', () => {
    expect(ask(coredns, 'parent.example.test. CNAME').answer).toEqual(['parent.example.test. 10 IN CNAME child.parent.example.test.']);
    expect(ask(rfc, 'parent.example.test. CNAME')).toMatchObject({ kind: 'nodata', answer: [] });
  });

  it.each([
    ['rfc', rfc],
    ['coredns', coredns],
  ])('%s: A, AAAA and TXT follow the CNAME; a chain leaving our zones is answered with the CNAME', (_mode, zones) => {
    expect(ask(zones, 'alias.example.test. A').answer).toEqual(['alias.example.test. 10 IN CNAME hop.example.test.', 'hop.example.test. 10 IN A 192.0.2.1']);
    expect(ask(zones, 'to-txt.example.test. TXT').answer).toEqual(['to-txt.example.test. 10 IN CNAME txtonly.example.test.', 'txtonly.example.test. 10 IN TXT "hello"']);
    expect(ask(zones, 'ext.example.test. A')).toMatchObject({ kind: 'answer', answer: ['ext.example.test. 10 IN CNAME elsewhere.example.org.'] });
  });
});

describe('where the modes differ', () => {
  it('a CNAME to a missing name: rfc NXDOMAIN with the CNAME (RFC 6604), coredns NODATA without it', () => {
    expect(ask(rfc, 'dead-end.example.test. A')).toEqual({ kind: 'nxdomain', answer: ['dead-end.example.test. 10 IN CNAME gone.example.test.'], authority: [SOA], additional: [] });
    expect(ask(coredns, 'dead-end.example.test. A')).toEqual({ kind: 'nodata', answer: [], authority: [SOA], additional: [] });
  });

  it('a chain to a name without the type: rfc the CNAME and NODATA, coredns NODATA without it', () => {
    expect(ask(rfc, 'to-txt.example.test. A')).toMatchObject({ kind: 'nodata', answer: ['to-txt.example.test. 10 IN CNAME txtonly.example.test.'] });
    expect(ask(coredns, 'to-txt.example.test. A')).toMatchObject({ kind: 'nodata', answer: [] });
  });

  it.each(['MX', 'HINFO', 'NAPTR'])('%s at a CNAME: rfc the CNAME (RFC 1034 §3.6.2), coredns NODATA', (type) => {
    expect(ask(rfc, `ext.example.test. ${type}`)).toMatchObject({ kind: 'answer', answer: ['ext.example.test. 10 IN CNAME elsewhere.example.org.'] });
    expect(ask(coredns, `ext.example.test. ${type}`)).toEqual({ kind: 'nodata', answer: [], authority: [SOA], additional: [] });
  });
});

describe('zone files keep RFC answers', () => {
  it('a zone view without skydns: loops answer the chain, SRV targets get no CNAME chain', () => {
    const soa = { name: 'z.test', type: RRType.SOA, ttl: 60, data: { type: RRType.SOA, mname: 'ns.z.test', rname: 'h.z.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } } as const;
    const rr = (name: string, type: number, data: object) => ({ name, type, ttl: 60, data: { type, ...data } }) as never;
    const z = StaticZone.fromRecords(
      'z.test',
      [
        soa,
        rr('l1.z.test', RRType.CNAME, { target: 'l2.z.test' }),
        rr('l2.z.test', RRType.CNAME, { target: 'l1.z.test' }),
        rr('s.z.test', RRType.SRV, { priority: 1, weight: 1, port: 1, target: 'c.z.test' }),
        rr('c.z.test', RRType.CNAME, { target: 'h.z.test' }),
        rr('h.z.test', RRType.A, { address: '192.0.2.7' }),
      ],
      'file',
    );
    const snapshot = new Snapshot(new Map([['z.test', z]]), 1);
    expect(resolve({ name: 'l1.z.test', type: RRType.A }, snapshot)).toMatchObject({ kind: 'answer', answer: [{ name: 'l1.z.test' }, { name: 'l2.z.test' }] });
    expect(resolve({ name: 's.z.test', type: RRType.SRV }, snapshot)).toMatchObject({ kind: 'answer', additional: [] });
  });
});

import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { answer, ask, batch, index, key, listed, put, rdata, zone } from './test-support.js';

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

  it('a leftmost * in a query searches (CoreDNS); the RFC 4592 probe sees only a literal * key, so made-up names stay NXDOMAIN', () => {
    // node() is what the resolver's `*.<closest encloser>` probe reads: if `*.api` aggregated
    // api's children there, any typo under api would answer with its addresses.
    expect(z.node('*.api.example.test')).toBeUndefined();
    expect(ask(zones, 'typo.api.example.test. A').kind).toBe('nxdomain');
    // The query name itself is CoreDNS's search, as `any` is.
    expect(rdata(z.searchWildcard!('*.api.example.test'), 'A')).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(answer(zones, '*.api.example.test. A')).toEqual(['*.api.example.test. 10 IN A 192.0.2.1', '*.api.example.test. 10 IN A 192.0.2.2']);
    expect(ask(zones, '*.nothing.example.test. A').kind).toBe('nxdomain');
    // A literal `*` key is the wildcard owner and answers for itself (RFC 4592 §2.1.1).
    expect(answer(zones, '*.apps.example.test. A')).toEqual(['*.apps.example.test. 10 IN A 192.0.2.80']);
    expect(z.searchWildcard!('api.example.test')).toBeUndefined();
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
    expect(rdata(zone(built, 'sub.example.test').node('www.sub.example.test'), 'A')).toEqual(['192.0.2.81']);
    expect(zone(built, 'example.test').node('www.sub.example.test')).toBeUndefined();
    expect(answer(zones, 'www.sub.example.test. A')).toEqual(['www.sub.example.test. 10 IN A 192.0.2.81']);
    // No dns/apex in sub.example.test: every address of that zone, as CoreDNS's checkForApex.
    expect(answer(zones, 'sub.example.test. A')).toEqual(['sub.example.test. 10 IN A 192.0.2.81']);
    expect(ask(zones, 'sub.example.test. AAAA').kind).toBe('nodata');
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

import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { formatRR } from '../../dns/present.js';
import type { ZoneView } from '../../table/zone.js';
import { ownerSegments, isRecordKey } from './record-owner.js';
import { answer, ask, batch, del, listed, put, zone } from './test-support.js';

/** Keys as DNS UPDATE writes them (skydns/update-records.ts): the hash only has to be 16 hex digits here. */
const rr = (nameKey: string, type: string, n: number) => `/skydns/test/example${nameKey}/_rr-${type}-${n.toString(16).padStart(16, '0')}`;

/** What a zone transfer lists (every RRset of every name but the SOA), as zone-file lines. */
function listing(view: ZoneView): string[] {
  const out: string[] = [];
  for (const [name, node] of view.transferNodes()) {
    for (const [type, set] of node) if (type !== RRType.SOA) for (const data of set.records) out.push(formatRR({ name, type, ttl: set.ttl, data }));
  }
  return out.sort();
}

const written = [
  put(rr('/www', 'a', 1), { host: '192.0.2.10', ttl: 300, port: -1 }),
  put(rr('/www', 'aaaa', 2), { host: '2001:db8::10', ttl: 300, port: -1 }),
  put(rr('/www', 'txt', 3), { text: 'heritage=external-dns', ttl: 300 }),
  put(rr('/www/a', 'a', 4), { host: '192.0.2.11', ttl: 60, port: -1 }),
  put(rr('/dns/apex', 'a', 5), { host: '192.0.2.1', ttl: 300, port: -1 }),
  put(rr('/mx', 'mx', 6), { host: 'www.example.test', mail: true, priority: 5, ttl: 300, port: -1 }),
  put(rr('/_tcp/_sip', 'srv', 7), { host: 'www.example.test', port: 0, priority: 10, weight: 100, ttl: 300 }),
  put(rr('/alias', 'cname', 8), { host: 'www.example.test', ttl: 300, port: -1 }),
];

describe('records written by DNS UPDATE read back exactly (--compat rfc)', () => {
  const built = listed(['example.test'], written);
  const zones = built.index.zones;

  it('a TTL of 0 is kept for a record key (RFC 2181 §8: do not cache); a hand-written key reads 0 as the default, and so does --compat coredns', () => {
    const changes = [put(rr('/zero', 'a', 9), { host: '192.0.2.40', ttl: 0, port: -1 }), put('/skydns/test/example/hand', { host: '192.0.2.41', ttl: 0 })];
    const rfc = listed(['example.test'], changes, { defaultTtl: 30 }).index.zones;
    expect(answer(rfc, 'zero.example.test. A')).toEqual(['zero.example.test. 0 IN A 192.0.2.40']);
    expect(answer(rfc, 'hand.example.test. A')).toEqual(['hand.example.test. 30 IN A 192.0.2.41']);
    const coredns = listed(['example.test'], changes, { defaultTtl: 30, compat: 'coredns' }).index.zones;
    expect(answer(coredns, 'zero.example.test. A')).toEqual(['zero.example.test. 30 IN A 192.0.2.40']);
  });

  it('a record key is a record of its name, not a name of its own', () => {
    expect(answer(zones, 'www.example.test. A')).toEqual(['www.example.test. 300 IN A 192.0.2.10']);
    expect(answer(zones, 'www.example.test. TXT')).toEqual(['www.example.test. 300 IN TXT "heritage=external-dns"']);
    expect(ask(zones, '_rr-a-0000000000000001.www.example.test. A').kind).toBe('nxdomain');
    expect(built.index.recordCount).toBe(written.length);
  });

  it('names above a record do not aggregate it; an empty non-terminal stays', () => {
    expect(answer(zones, 'a.www.example.test. A')).toEqual(['a.www.example.test. 60 IN A 192.0.2.11']);
    // www's A is its own only (no 192.0.2.11 from a.www below it).
    expect(answer(zones, 'www.example.test. A')).toEqual(['www.example.test. 300 IN A 192.0.2.10']);
    expect(ask(zones, '_tcp.example.test. SRV')).toMatchObject({ kind: 'nodata' });
  });

  it('the apex has the addresses written at it and no others', () => {
    expect(answer(zones, 'example.test. A')).toEqual(['example.test. 300 IN A 192.0.2.1']);
    expect(ask(zones, 'apex.dns.example.test. A').kind).toBe('nxdomain');
    expect(ask(zones, 'dns.example.test. A').kind).toBe('nxdomain');
  });

  it("an MX or SRV written by UPDATE is that record only: no addresses of its target, no CNAME (even with port 0)", () => {
    expect(answer(zones, 'mx.example.test. MX')).toEqual(['mx.example.test. 300 IN MX 5 www.example.test.']);
    expect(ask(zones, 'mx.example.test. A')).toMatchObject({ kind: 'nodata', answer: [] });
    expect(answer(zones, '_sip._tcp.example.test. SRV')).toEqual(['_sip._tcp.example.test. 300 IN SRV 10 100 0 www.example.test.']);
    expect(ask(zones, '_sip._tcp.example.test. A')).toMatchObject({ kind: 'nodata', answer: [] });
    expect(answer(zones, 'alias.example.test. CNAME')).toEqual(['alias.example.test. 300 IN CNAME www.example.test.']);
  });

  it('a zone transfer lists exactly the records written, each once', () => {
    expect(listing(zone(built, 'example.test'))).toEqual(
      [
        'example.test. 300 IN A 192.0.2.1',
        'www.example.test. 300 IN A 192.0.2.10',
        'www.example.test. 300 IN AAAA 2001:db8::10',
        'www.example.test. 300 IN TXT "heritage=external-dns"',
        'a.www.example.test. 60 IN A 192.0.2.11',
        'mx.example.test. 300 IN MX 5 www.example.test.',
        '_sip._tcp.example.test. 300 IN SRV 10 100 0 www.example.test.',
        'alias.example.test. 300 IN CNAME www.example.test.',
      ].sort(),
    );
  });

  it('deleting a record key removes the record, and the name with its last one', () => {
    const b = listed(['example.test'], written);
    b.index.apply(batch([del(rr('/www', 'a', 1)), del(rr('/dns/apex', 'a', 5))], 101));
    expect(ask(b.index.zones, 'www.example.test. A')).toMatchObject({ kind: 'nodata' });
    expect(ask(b.index.zones, 'example.test. A')).toMatchObject({ kind: 'nodata' });
    b.index.apply(batch([del(rr('/www', 'aaaa', 2)), del(rr('/www', 'txt', 3)), del(rr('/www/a', 'a', 4))], 102));
    expect(ask(b.index.zones, 'www.example.test. A').kind).toBe('nxdomain');
    expect(b.index.recordCount).toBe(3);
    // The IXFR journal diffs the names a change touched: the owners.
    expect(zone(b, 'example.test').changedFrom?.names.toSorted()).toEqual(['a.www.example.test', 'www.example.test']);
  });

  it("hand-written SkyDNS keys keep SkyDNS's subtree answers beside them", () => {
    const b = listed(['example.test'], [...written, put('x1.api.example.test', { host: '192.0.2.50' }), put(rr('/api', 'a', 9), { host: '192.0.2.51', ttl: 300, port: -1 })]);
    expect(answer(b.index.zones, 'api.example.test. A')).toEqual(['api.example.test. 10 IN A 192.0.2.50', 'api.example.test. 10 IN A 192.0.2.51']);
    expect(answer(b.index.zones, 'x1.api.example.test. A')).toEqual(['x1.api.example.test. 10 IN A 192.0.2.50']);
    // The apex keeps its UPDATE address only: with one written there, no zone-wide fallback.
    expect(answer(b.index.zones, 'example.test. A')).toEqual(['example.test. 300 IN A 192.0.2.1']);
  });

  it('a zone with no apex address written keeps the zone-wide fallback for hand-written keys only', () => {
    const b = listed(['example.test'], [put(rr('/www', 'a', 1), { host: '192.0.2.10', ttl: 300, port: -1 }), put('h.example.test', { host: '192.0.2.60' })]);
    expect(answer(b.index.zones, 'example.test. A')).toEqual(['example.test. 10 IN A 192.0.2.60']);
  });
});

describe('--compat coredns reads record keys as CoreDNS does', () => {
  const built = listed(['example.test'], written, { compat: 'coredns' });
  it('the key is a name answering its record, and names above aggregate it', () => {
    expect(answer(built.index.zones, '_rr-a-0000000000000001.www.example.test. A')).toEqual(['_rr-a-0000000000000001.www.example.test. 300 IN A 192.0.2.10']);
    expect(answer(built.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 60 IN A 192.0.2.10', 'www.example.test. 60 IN A 192.0.2.11']);
  });
});

describe('ownerSegments / isRecordKey', () => {
  it.each<[string[], number, string[] | undefined]>([
    [['test', 'example', 'www', '_rr-a-0123456789abcdef'], 2, ['test', 'example', 'www']],
    [['test', 'example', 'dns', 'apex', '_rr-a-0123456789abcdef'], 2, ['test', 'example']],
    [['test', 'example', 'x', 'dns', 'apex', '_rr-a-0123456789abcdef'], 2, ['test', 'example', 'x', 'dns', 'apex']],
    [['test', 'example', '_rr-a-0123456789abcdef'], 2, ['test', 'example']],
    [['test', 'example', 'www', 'x1'], 2, undefined],
    [['test', 'example', '_rr-x', 'www'], 2, undefined],
    // Not the form UPDATE writes (`_rr-<type>-<16 hex digits>`): another writer's key.
    [['test', 'example', 'www', '_rr-a-0123'], 2, undefined],
  ])('%j in a zone of depth %i -> %j', (segments, depth, owner) => {
    expect(ownerSegments(segments, depth)).toEqual(owner);
  });
  it('isRecordKey looks at the last label only', () => {
    expect(isRecordKey('/skydns/test/example/www/_rr-a-0123456789abcdef')).toBe(true);
    expect(isRecordKey('/skydns/test/example/_rr-x/www')).toBe(false);
    expect(isRecordKey('/skydns/test/example/www/_rr-a-0123')).toBe(false);
    expect(isRecordKey('/skydns/test/example/_rr-a-0123456789abcdef/x-0123456789abcdef')).toBe(false);
    expect(isRecordKey('_rr-a-0123456789abcdef')).toBe(true);
  });
});

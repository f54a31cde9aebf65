/**
 * Records of types SkyDNS cannot express (the etcdns extension, skydns/extension.ts) as the
 * index serves them: at the name above their `_rr-<type>-<hash>` key (the zone key's, at the
 * apex), with their TTL, in transfers too; bad ones skipped and reported once.
 */
import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { invalidReasonLabel } from './invalid-reason.js';
import { answer, ask, batch, del, listed, put, zone } from './test-support.js';

const dhcidRdata = Buffer.from([0, 2, 1, 0xde, 0xad, 0xbe, 0xef]);
const ext = (type: number, rdata: Buffer, ttl = 300) => ({ ttl, etcdns: { type, rdata: rdata.toString('base64') } });
const caaRdata = Buffer.from([0, 5, ...Buffer.from('issueca.example')]);
const HASH1 = '0123456789abcdef';
const HASH2 = 'fedcba9876543210';

describe('extension records in the index', () => {
  it('answer at their name for their type, with their TTL; not above it, not at the _rr- name, not for other types', () => {
    const b = listed(
      ['example.test'],
      [
        put('/skydns/test/example/h1/_rr-a-' + HASH1, { host: '192.0.2.50', ttl: 300, port: -1 }),
        put('/skydns/test/example/h1/_rr-dhcid-' + HASH1, ext(RRType.DHCID, dhcidRdata, 300)),
      ],
    );
    expect(answer(b.index.zones, 'h1.example.test. DHCID')).toEqual([`h1.example.test. 300 IN DHCID \\# 7 ${dhcidRdata.toString('hex').toUpperCase()}`]);
    expect(answer(b.index.zones, 'h1.example.test. A')).toEqual(['h1.example.test. 300 IN A 192.0.2.50']);
    expect(ask(b.index.zones, 'h1.example.test. CAA').kind).toBe('nodata');
    // Exact, like PTR: the apex above does not aggregate it, nor does the record's own key name answer it.
    expect(ask(b.index.zones, 'example.test. DHCID').kind).toBe('nodata');
    // `--compat rfc`: a record key is no name of its own (record-owner.ts).
    expect(ask(b.index.zones, `_rr-dhcid-${HASH1}.h1.example.test. DHCID`).kind).toBe('nxdomain');
    // In a transfer: the DHCID RRset at h1 and nothing at the _rr- names but what SkyDNS answers there.
    const types = new Map([...zone(b, 'example.test').transferNodes()].map(([name, node]) => [name, [...node.keys()]]));
    expect(types.get('h1.example.test')).toEqual([RRType.A, RRType.DHCID]);
    expect(types.has(`_rr-dhcid-${HASH1}.h1.example.test`)).toBe(false);
  });

  it('at the apex come from the zone key, and leave the zone-wide apex addresses alone', () => {
    const b = listed(
      ['example.test'],
      [put('/skydns/test/example/_rr-caa-' + HASH1, ext(RRType.CAA, caaRdata, 3600)), put('www.example.test', { host: '192.0.2.1' })],
    );
    expect(answer(b.index.zones, 'example.test. CAA')).toEqual([`example.test. 3600 IN CAA \\# 17 ${caaRdata.toString('hex').toUpperCase()}`]);
    // No dns/apex: the apex's A is every address of the zone, as before (CoreDNS checkForApex).
    expect(answer(b.index.zones, 'example.test. A')).toEqual(['example.test. 10 IN A 192.0.2.1']);
    expect([...zone(b, 'example.test').node('example.test')!.keys()]).toContain(RRType.CAA);
  });

  it('of one type form one RRset with the lowest TTL; a new value replaces, a delete removes', () => {
    const b = listed(
      ['example.test'],
      [
        put('/skydns/test/example/h1/_rr-dhcid-' + HASH1, ext(RRType.DHCID, dhcidRdata, 300)),
        put('/skydns/test/example/h1/_rr-dhcid-' + HASH2, ext(RRType.DHCID, Buffer.from([0, 1, 1]), 60)),
      ],
    );
    expect(answer(b.index.zones, 'h1.example.test. DHCID')).toHaveLength(2);
    expect(answer(b.index.zones, 'h1.example.test. DHCID').every((l) => l.startsWith('h1.example.test. 60 '))).toBe(true);
    b.index.apply(batch([put('/skydns/test/example/h1/_rr-dhcid-' + HASH2, ext(RRType.DHCID, Buffer.from([0, 1, 2]), 60))], 101));
    expect(answer(b.index.zones, 'h1.example.test. DHCID')).toContain('h1.example.test. 60 IN DHCID \\# 3 000102');
    b.index.apply(batch([del('/skydns/test/example/h1/_rr-dhcid-' + HASH1), del('/skydns/test/example/h1/_rr-dhcid-' + HASH2)], 102));
    expect(ask(b.index.zones, 'h1.example.test. DHCID').kind).toBe('nxdomain');
  });

  it.each(['rfc', 'coredns'] as const)('are found among many children (several chunks of the trie in --compat coredns, where _rr- labels stay names), whatever labels sort around _rr- (--compat %s)', (compat) => {
    const changes = [];
    for (let i = 0; i < 150; i++) {
      const hash = i.toString(16).padStart(16, '0');
      changes.push(put(`/skydns/test/example/big/_rr-dhcid-${hash}`, ext(RRType.DHCID, Buffer.from([0, 1, 1, i]), 60)));
      changes.push(put(`/skydns/test/example/big/${['_rq', '_rs', 'a', '_', 'z'][i % 5]}${i}`, { host: '192.0.2.1' }));
    }
    const b = listed(['example.test'], changes, { compat });
    expect(answer(b.index.zones, 'big.example.test. DHCID')).toHaveLength(150);
  });

  it('are capped by their lease like any value', () => {
    const b = listed(['example.test'], [put('/skydns/test/example/h1/_rr-dhcid-' + HASH1, ext(RRType.DHCID, dhcidRdata, 300), { lease: '42', leaseTtl: 20 })]);
    expect(answer(b.index.zones, 'h1.example.test. DHCID')[0]).toMatch(/^h1\.example\.test\. 20 IN /);
  });

  it('a bad one is skipped and reported once (metric label etcdns); the rest serve', () => {
    const bad = [
      ['/skydns/test/example/h1/_rr-dhcid-' + HASH1, '{"ttl":300,"etcdns":{"type":49,"rdata":"%%"}}'],
      ['/skydns/test/example/h2/_rr-caa-' + HASH1, JSON.stringify(ext(RRType.DHCID, dhcidRdata))],
      ['/skydns/test/example/h3/x1', JSON.stringify(ext(RRType.DHCID, dhcidRdata))],
      ['/skydns/test/example/h4/_rr-dhcid-' + HASH1, '{"host":"192.0.2.9","etcdns":{"type":49,"rdata":"AAEB"}}'],
    ] as const;
    const b = listed(['example.test'], [...bad.map(([k, v]) => put(k, v)), put('ok.example.test', { host: '192.0.2.1' })]);
    expect(b.invalid.map(([k]) => k)).toEqual(bad.map(([k]) => k));
    for (const [, reason] of b.invalid) expect(invalidReasonLabel(reason)).toBe('etcdns');
    expect(b.invalid[0]![1]).toMatch(/base64/);
    expect(b.invalid[1]![1]).toMatch(/_rr-dhcid-/);
    expect(b.invalid[3]![1]).toMatch(/no host or text/);
    expect(b.index.invalidCount).toBe(4);
    expect(answer(b.index.zones, 'ok.example.test. A')).toEqual(['ok.example.test. 10 IN A 192.0.2.1']);
    // The same bad values again: not reported again.
    b.index.apply(batch(bad.map(([k, v]) => put(k, v)), 101));
    expect(b.invalid).toHaveLength(4);
  });
});

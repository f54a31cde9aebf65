import { describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { GenericRData, RData } from '../dns/records.js';
import { parseService } from './codec.js';
import { extensionLabelError, inItsPlace, readRecord, recordKey, recordKeyPrefixes, recordValue, unstorable } from './update-records.js';

const ZONE = 'example.test';
const text = (...s: string[]): RData => ({ type: RRType.TXT, strings: s.map((x) => Uint8Array.from(Buffer.from(x))) });

describe('UPDATE records in the SkyDNS layout', () => {
  it('names one key per record under the name, or under dns/apex at the apex', () => {
    expect(recordKeyPrefixes('/skydns', ZONE, 'www.example.test')).toEqual(['/skydns/test/example/www/_rr-']);
    expect(recordKeyPrefixes('/skydns/', ZONE, ZONE)).toEqual(['/skydns/test/example/dns/apex/_rr-', '/skydns/test/example/_rr-']);
    expect(recordKey('/skydns', ZONE, 'www.example.test', RRType.AAAA, '0123456789abcdef')).toBe('/skydns/test/example/www/_rr-aaaa-0123456789abcdef');
  });

  it('puts records SkyDNS cannot express under the name, at the apex under the zone key (not dns/apex)', () => {
    expect(recordKey('/skydns', ZONE, 'h.example.test', RRType.DHCID, '0123456789abcdef')).toBe('/skydns/test/example/h/_rr-dhcid-0123456789abcdef');
    expect(recordKey('/skydns', ZONE, ZONE, RRType.CAA, '0123456789abcdef')).toBe('/skydns/test/example/_rr-caa-0123456789abcdef');
    expect(recordKey('/skydns', ZONE, ZONE, RRType.A, '0123456789abcdef')).toBe('/skydns/test/example/dns/apex/_rr-a-0123456789abcdef');
    expect(recordKey('/skydns', ZONE, 'h.example.test', 65280, '0123456789abcdef')).toBe('/skydns/test/example/h/_rr-type65280-0123456789abcdef');
    expect(inItsPlace('/skydns', ZONE, ZONE, RRType.CAA, '/skydns/test/example/_rr-')).toBe(true);
    expect(inItsPlace('/skydns', ZONE, ZONE, RRType.CAA, '/skydns/test/example/dns/apex/_rr-')).toBe(false);
    expect(inItsPlace('/skydns', ZONE, ZONE, RRType.A, '/skydns/test/example/_rr-')).toBe(false);
  });

  it.each<[string, Name, GenericRData]>([
    ['DHCID', 'h.example.test', { type: RRType.DHCID, generic: true, raw: Uint8Array.from([0, 1, 1, 0xaa, 0xbb]) }],
    ['CAA at the apex', ZONE, { type: RRType.CAA, generic: true, raw: Uint8Array.from([0, 5, ...Buffer.from('issueca.example')]) }],
    ['a type without a mnemonic', 'h.example.test', { type: 65280, generic: true, raw: Uint8Array.from([1]) }],
  ])('writes %s in the etcdns extension, which reads back as the same record', (_, name, data) => {
    expect(unstorable(ZONE, name, data, 600)).toBeUndefined();
    const key = recordKey('/skydns', ZONE, name, data.type, '0123456789abcdef');
    const label = key.slice(key.lastIndexOf('/') + 1);
    const value = Buffer.from(recordValue(data, 600));
    expect(JSON.parse(value.toString())).toEqual({ ttl: 600, etcdns: { type: data.type, rdata: Buffer.from(data.raw).toString('base64') } });
    expect(readRecord(label, value)).toEqual({ data, ttl: 600 });
    expect(extensionLabelError(label, data.type)).toBeUndefined();
    // Under another type's label it is not that record.
    expect(readRecord('_rr-sshfp-0123456789abcdef', value)).toBeUndefined();
    expect(extensionLabelError('_rr-sshfp-0123456789abcdef', data.type)).toMatch(/belongs at a key ending in/);
    expect(extensionLabelError('x1', data.type)).toMatch(/belongs at a key ending in/);
  });

  it.each<[string, RData]>([
    ['A', { type: RRType.A, address: '192.0.2.1' }],
    ['AAAA', { type: RRType.AAAA, address: '2001:db8::1' }],
    ['CNAME', { type: RRType.CNAME, target: 'www.example.test' }],
    ['TXT', text('hello world')],
    ['TXT of 300 octets', text('x'.repeat(255), 'y'.repeat(45))],
    ['MX', { type: RRType.MX, preference: 5, exchange: 'mail.example.test' }],
    ['SRV', { type: RRType.SRV, priority: 10, weight: 60, port: 5060, target: 'sip.example.test' }],
  ])('writes %s as SkyDNS JSON that reads back as the same record', (_, data) => {
    const label = `_rr-${data.type === RRType.AAAA ? 'aaaa' : _.split(' ')[0]!.toLowerCase()}-0123456789abcdef`;
    expect(unstorable(ZONE, 'x.example.test', data, 300)).toBeUndefined();
    const value = Buffer.from(recordValue(data, 300));
    expect('error' in parseService(value)).toBe(false);
    expect(readRecord(label, value)).toEqual({ data, ttl: 300 });
  });

  it.each<[string, string, RData, number, RegExp]>([
    ['NS below the apex', 'x.example.test', { type: RRType.NS, target: 'ns.example.test' }, 300, /delegation/],
    ['DNAME', 'x.example.test', { type: RRType.DNAME, target: 'y.example.test' }, 300, /DNAME/],
    ['RRSIG', 'x.example.test', { type: RRType.RRSIG, generic: true, raw: Uint8Array.from([1]) }, 300, /not signed/],
    ['MB (RDATA may be compressed)', 'x.example.test', { type: 7, generic: true, raw: Uint8Array.from([0]) }, 300, /compressed/],
    ['DHCID under dns.', 'x.dns.example.test', { type: RRType.DHCID, generic: true, raw: Uint8Array.from([1]) }, 300, /layout's own/],
    ['CAA too large for an etcd value', 'x.example.test', { type: RRType.CAA, generic: true, raw: new Uint8Array(50_000) }, 300, /at most 65536/],
    ['TXT apex', ZONE, text('x'), 300, /only A, AAAA and types without a SkyDNS form/],
    ['under dns.', 'ns.dns.example.test', { type: RRType.A, address: '192.0.2.1' }, 300, /layout's own/],
    ['MX 0', 'x.example.test', { type: RRType.MX, preference: 0, exchange: 'm.example.test' }, 300, /preference 0/],
    ['SRV 0', 'x.example.test', { type: RRType.SRV, priority: 0, weight: 1, port: 1, target: 's.example.test' }, 300, /priority 0/],
    ['TXT split elsewhere', 'x.example.test', text('a', 'b'), 300, /TXT strings/],
    ['TXT empty', 'x.example.test', text(''), 300, /TXT strings/],
    ['PTR forward', 'x.example.test', { type: RRType.PTR, target: 'a.example.test' }, 300, /reverse zones/],
  ])('refuses %s, saying why', (_, name, data, ttl, why) => {
    expect(unstorable(ZONE, name, data, ttl)).toMatch(why);
  });

  it('reads nothing from keys that do not hold an UPDATE record', () => {
    expect(readRecord('_rr-a-0123456789abcdef', Buffer.from('{"host":"www.example.test","ttl":1}'))).toBeUndefined();
    expect(readRecord('x1', Buffer.from('{"host":"192.0.2.1","ttl":1}'))).toBeUndefined();
    expect(readRecord('_rr-a-0123456789abcdef', Buffer.from('not json'))).toBeUndefined();
  });
});

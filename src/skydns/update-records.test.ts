import { describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import type { RData } from '../dns/records.js';
import { parseService } from './codec.js';
import { readRecord, recordKey, recordKeyPrefix, recordValue, unstorable } from './update-records.js';

const ZONE = 'example.test';
const text = (...s: string[]): RData => ({ type: RRType.TXT, strings: s.map((x) => Uint8Array.from(Buffer.from(x))) });

describe('UPDATE records in the SkyDNS layout', () => {
  it('names one key per record under the name, or under dns/apex at the apex', () => {
    expect(recordKeyPrefix('/skydns', ZONE, 'www.example.test')).toBe('/skydns/test/example/www/_rr-');
    expect(recordKeyPrefix('/skydns/', ZONE, ZONE)).toBe('/skydns/test/example/dns/apex/_rr-');
    expect(recordKey('/skydns', ZONE, 'www.example.test', RRType.AAAA, '0123456789abcdef')).toBe('/skydns/test/example/www/_rr-aaaa-0123456789abcdef');
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
    ['DHCID', 'x.example.test', { type: 49, generic: true, raw: Uint8Array.from([1, 2]) }, 300, /no SkyDNS form/],
    ['TXT apex', ZONE, text('x'), 300, /only A and AAAA/],
    ['under dns.', 'ns.dns.example.test', { type: RRType.A, address: '192.0.2.1' }, 300, /layout's own/],
    ['TTL 0', 'x.example.test', { type: RRType.A, address: '192.0.2.1' }, 0, /TTL 0/],
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

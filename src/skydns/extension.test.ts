import { describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import type { GenericRData } from '../dns/records.js';
import { parseService } from './codec.js';
import { extensionRefusal, extensionValue, readExtension, sameExtension } from './extension.js';

/**
 * CoreDNS's reading of one etcd value, as coredns/coredns 4b26cced3 does it, written out so the
 * values we write can be checked against it (no CoreDNS binary here; Go modules need a proxy):
 * - plugin/etcd/etcd.go `loopNodes` (lines 141-158): `json.Unmarshal(n.Value, serv)` into
 *   msg.Service; an error fails the whole lookup (SERVFAIL for every name above the key).
 *   Go's decoder matches field names case-insensitively, ignores unknown fields, and fails on
 *   a known field of the wrong JSON type (`ttl` is uint32, `port`/`priority`/`weight`/
 *   `targetstrip` int, `mail` bool, the rest string; plugin/etcd/msg/service.go lines 14-37).
 * - etcd.go `shouldInclude` (lines 216-218): kept only if `Host != ""`, or `Text != ""` for
 *   a TXT query. handler.go (lines 28-54) answers only A, AAAA, TXT, CNAME, PTR, MX, SRV, SOA
 *   and apex NS from those services; any other type gets no records from any key.
 */
const GO_FIELDS: Record<string, 'string' | 'int' | 'uint32' | 'bool'> = {
  host: 'string',
  port: 'int',
  priority: 'int',
  weight: 'int',
  text: 'string',
  mail: 'bool',
  ttl: 'uint32',
  targetstrip: 'int',
  group: 'string',
};
const COREDNS_QTYPES = ['A', 'AAAA', 'TXT', 'CNAME', 'PTR', 'MX', 'SRV', 'NS', 'DHCID', 'CAA', 'ANY'] as const;

/** What CoreDNS does with `value` for a query of `qtype` at or above its key: fail, skip or use it. */
function coreDnsReads(value: string, qtype: (typeof COREDNS_QTYPES)[number]): 'error' | 'skipped' | 'used' {
  const json = JSON.parse(value) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    const field = GO_FIELDS[k.toLowerCase()];
    if (!field) continue; // unknown field: ignored by encoding/json
    if (v === null) continue;
    const ok =
      field === 'string' ? typeof v === 'string' : field === 'bool' ? typeof v === 'boolean' : Number.isInteger(v) && (field === 'int' || ((v as number) >= 0 && (v as number) <= 0xffffffff));
    if (!ok) return 'error';
    fields[k.toLowerCase()] = v;
  }
  const host = (fields.host as string | undefined) ?? '';
  const text = (fields.text as string | undefined) ?? '';
  const included = (qtype === 'TXT' && text !== '') || host !== '';
  return included ? 'used' : 'skipped';
}

const dhcid: GenericRData = { type: RRType.DHCID, generic: true, raw: Uint8Array.from([0, 2, 1, ...Array.from({ length: 32 }, (_, i) => i)]) };
const caa: GenericRData = { type: RRType.CAA, generic: true, raw: Uint8Array.from([0, 5, ...Buffer.from('issueletsencrypt.org')]) };

describe('the etcdns extension value', () => {
  it.each([
    ['DHCID', dhcid, 300],
    ['CAA', caa, 3600],
    ['TLSA', { type: RRType.TLSA, generic: true, raw: Uint8Array.from([3, 1, 1, 0xab]) } as GenericRData, 60],
    ['a type without a mnemonic', { type: 65280, generic: true, raw: new Uint8Array(0) } as GenericRData, 1],
  ])('of %s is skipped by CoreDNS for every query type, and reads back as written here', (_, data, ttl) => {
    const value = extensionValue(data, ttl);
    for (const qtype of COREDNS_QTYPES) expect([qtype, coreDnsReads(value, qtype)]).toEqual([qtype, 'skipped']);
    const s = parseService(Buffer.from(value));
    if ('error' in s) throw new Error(s.error);
    expect(s.kind).toBe('none');
    expect(s.text).toBe('');
    expect(s.ttl).toBe(ttl);
    expect(s.extension).toEqual(data);
  });

  it('the rules above tell the values CoreDNS uses or fails on from those it skips', () => {
    // The table itself must be able to fail: values CoreDNS answers from, or cannot decode.
    expect(coreDnsReads('{"host":"192.0.2.1","etcdns":{}}', 'A')).toBe('used');
    expect(coreDnsReads('{"text":"x"}', 'TXT')).toBe('used');
    expect(coreDnsReads('{"text":"x"}', 'A')).toBe('skipped');
    expect(coreDnsReads('{"ttl":-1}', 'A')).toBe('error');
    expect(coreDnsReads('{"TTL":"300"}', 'A')).toBe('error');
  });

  it.each([
    ['a host beside it (CoreDNS would answer it)', '{"host":"192.0.2.1","etcdns":{"type":49,"rdata":"AAEB"}}', /no host or text/],
    ['a text beside it (CoreDNS would answer TXT)', '{"text":"x","etcdns":{"type":49,"rdata":"AAEB"}}', /no host or text/],
    ['not an object', '{"etcdns":"DHCID AAEB"}', /expected an object/],
    ['no type', '{"etcdns":{"rdata":"AAEB"}}', /type/],
    ['a type name', '{"etcdns":{"type":"DHCID","rdata":"AAEB"}}', /type/],
    ['a SkyDNS type', '{"etcdns":{"type":1,"rdata":"wAACAQ=="}}', /SkyDNS form/],
    ['NS', '{"etcdns":{"type":2,"rdata":"AA=="}}', /delegation/],
    ['a meta type', '{"etcdns":{"type":255,"rdata":""}}', /meta type/],
    ['RDATA that is not base64', '{"etcdns":{"type":49,"rdata":"not base64!"}}', /base64/],
    ['unpadded base64', '{"etcdns":{"type":49,"rdata":"AAE"}}', /base64/],
  ])('is refused with %s, saying why', (_, value, why) => {
    const s = parseService(Buffer.from(value));
    expect('error' in s && s.error).toMatch(why);
    expect('error' in s && s.error).toMatch(/^etcdns: /);
  });

  it('a null etcdns field is absent, as Go decodes it', () => {
    const s = parseService(Buffer.from('{"host":"192.0.2.1","etcdns":null}'));
    expect('error' in s ? s.error : s.extension).toBeUndefined();
  });

  it('refuses the types it cannot hold and takes the rest', () => {
    for (const t of [RRType.A, RRType.SOA, RRType.NS, RRType.DNAME, RRType.RRSIG, RRType.OPT, RRType.AXFR, 0, 7]) expect(extensionRefusal(t)).toBeTypeOf('string');
    for (const t of [RRType.DHCID, RRType.CAA, RRType.SSHFP, RRType.TLSA, RRType.HTTPS, RRType.SVCB, RRType.HINFO, RRType.NAPTR, 65280]) expect(extensionRefusal(t)).toBeUndefined();
    expect(readExtension({ type: 49, rdata: 'AAEB' }, '', '')).toEqual({ type: 49, generic: true, raw: Uint8Array.from([0, 1, 1]) });
  });

  it('compares records by type and octets', () => {
    expect(sameExtension(dhcid, { ...dhcid, raw: Uint8Array.from(dhcid.raw) })).toBe(true);
    expect(sameExtension(dhcid, { ...dhcid, raw: dhcid.raw.subarray(1) })).toBe(false);
    expect(sameExtension(dhcid, { ...dhcid, type: 65280 })).toBe(false);
    expect(sameExtension(undefined, undefined)).toBe(true);
    expect(sameExtension(dhcid, undefined)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { Opcode, RRClass, RRType, Rcode } from '../dns/constants.js';
import { decodeQuery } from './query.js';
import { recordHash, renderUpdateReply } from './update.js';
import { MessageWriter } from './writer.js';

interface Rec {
  name: string;
  type: number;
  cls: number;
  ttl?: number;
  rdata?: (w: MessageWriter) => void;
}

/** An UPDATE as nsupdate lays it out: zone, prerequisites, updates, additional records. */
function message(o: { zone?: string; zoneType?: number; zocount?: number; pre?: Rec[]; up?: Rec[]; add?: Rec[]; truncate?: number }): Buffer {
  const w = new MessageWriter(512);
  w.u16(0x1234);
  w.u16(Opcode.UPDATE << 11);
  const pre = o.pre ?? [];
  const up = o.up ?? [];
  const add = o.add ?? [];
  for (const n of [o.zocount ?? 1, pre.length, up.length, add.length]) w.u16(n);
  w.name(o.zone ?? 'example.test');
  w.u16(o.zoneType ?? RRType.SOA);
  w.u16(RRClass.IN);
  for (const r of [...pre, ...up, ...add]) {
    w.name(r.name);
    w.u16(r.type);
    w.u16(r.cls);
    w.u32(r.ttl ?? 0);
    const body = new MessageWriter(64);
    r.rdata?.(body);
    const bytes = body.toBuffer();
    w.u16(bytes.length);
    w.bytes(bytes);
  }
  const out = w.toBuffer();
  return o.truncate ? out.subarray(0, out.length - o.truncate) : out;
}

const aRecord = (name: string, address: number[], ttl = 300): Rec => ({ name, type: RRType.A, cls: RRClass.IN, ttl, rdata: (w) => w.bytes(Uint8Array.from(address)) });

describe('decodeQuery: UPDATE (RFC 2136 §2)', () => {
  it('reads the zone, prerequisite and update sections, names compressed or not', () => {
    const d = decodeQuery(
      message({
        pre: [{ name: 'www.example.test', type: RRType.A, cls: RRClass.NONE }],
        up: [
          aRecord('www.example.test', [192, 0, 2, 1]),
          { name: 'mx.example.test', type: RRType.MX, cls: RRClass.IN, ttl: 60, rdata: (w) => (w.u16(5), w.name('mail.example.test')) },
          { name: 'txt.example.test', type: RRType.TXT, cls: RRClass.IN, ttl: 60, rdata: (w) => (w.characterString(Buffer.from('a')), w.characterString(Buffer.from('b'))) },
          { name: 'old.example.test', type: RRType.ANY, cls: RRClass.ANY },
        ],
      }),
    );
    expect(d.kind).toBe('update');
    if (d.kind !== 'update') return;
    expect(d.update.zone).toBe('example.test');
    expect(d.update.prerequisites).toEqual([{ name: 'www.example.test', type: RRType.A, class: RRClass.NONE, ttl: 0, rdlength: 0, data: undefined }]);
    expect(d.update.updates.map((u) => u.data)).toEqual([
      { type: RRType.A, address: '192.0.2.1' },
      { type: RRType.MX, preference: 5, exchange: 'mail.example.test' },
      { type: RRType.TXT, strings: [Uint8Array.from(Buffer.from('a')), Uint8Array.from(Buffer.from('b'))] },
      undefined,
    ]);
    expect(d.update.lease).toBeUndefined();
  });

  it.each([
    ['a zone section type other than SOA', message({ zoneType: RRType.A })],
    ['two zones', message({ zocount: 2 })],
    ['a record cut short', message({ up: [aRecord('www.example.test', [192, 0, 2, 1])], truncate: 2 })],
    ['an A of 3 octets', message({ up: [{ name: 'x.example.test', type: RRType.A, cls: RRClass.IN, rdata: (w) => w.bytes(Uint8Array.from([1, 2, 3])) }] })],
    ['a TXT string past RDATA', message({ up: [{ name: 'x.example.test', type: RRType.TXT, cls: RRClass.IN, rdata: (w) => w.u8(9) }] })],
    ['a TSIG before another record', message({ add: [{ name: 'k', type: 250, cls: RRClass.ANY }, { name: '', type: RRType.OPT, cls: 1232 }] })],
    ['an Update Lease option of 5 octets', message({ add: [{ name: '', type: RRType.OPT, cls: 1232, rdata: (w) => (w.u16(2), w.u16(5), w.bytes(new Uint8Array(5))) }] })],
  ])('answers FORMERR for %s', (_, bytes) => {
    const d = decodeQuery(bytes);
    expect(d.kind === 'error' && d.rcode).toBe(Rcode.FORMERR);
  });

  it('reads the Update Lease option (RFC 9664 §4), 4 or 8 octets', () => {
    const lease = (body: (w: MessageWriter) => void) => {
      const d = decodeQuery(message({ up: [aRecord('x.example.test', [192, 0, 2, 1])], add: [{ name: '', type: RRType.OPT, cls: 1232, rdata: body }] }));
      return d.kind === 'update' ? d.update.lease : d;
    };
    expect(lease((w) => (w.u16(2), w.u16(4), w.u32(3600)))).toEqual({ lease: 3600, keyLease: undefined });
    expect(lease((w) => (w.u16(2), w.u16(8), w.u32(3600), w.u32(7200)))).toEqual({ lease: 3600, keyLease: 7200 });
  });
});

describe('renderUpdateReply', () => {
  const zoneSection = Buffer.from([7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0, 0, 6, 0, 1]);
  it('echoes the zone section with QR and opcode UPDATE; OPT only when the request had one', () => {
    const bare = renderUpdateReply({ id: 7, queryFlags: Opcode.UPDATE << 11, rcode: 8, zoneSection, edns: undefined, advertisedUdpSize: 1232 });
    expect(bare.readUInt16BE(0)).toBe(7);
    expect(bare.readUInt16BE(2)).toBe(0x8000 | (Opcode.UPDATE << 11) | 8);
    expect([...bare.subarray(4, 12)]).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    expect(bare.subarray(12)).toEqual(zoneSection);
  });

  it('carries the lease granted and an Extended DNS Error in OPT', () => {
    const r = renderUpdateReply({
      id: 7,
      queryFlags: Opcode.UPDATE << 11,
      rcode: 5,
      zoneSection,
      edns: { udpSize: 1232, version: 0, dnssecOk: false },
      advertisedUdpSize: 1232,
      lease: { lease: 60, keyLease: undefined },
      extendedError: { code: 18, text: 'no' },
    });
    const opt = r.subarray(12 + zoneSection.length);
    expect(opt.readUInt16BE(1)).toBe(RRType.OPT);
    const rdata = opt.subarray(11);
    expect(opt.readUInt16BE(9)).toBe(rdata.length);
    expect([...rdata]).toEqual([0, 2, 0, 4, 0, 0, 0, 60, 0, 15, 0, 4, 0, 18, ...Buffer.from('no')]);
  });
});

describe('recordHash', () => {
  it('depends on the type and the canonical RDATA only', () => {
    expect(recordHash({ type: RRType.A, address: '192.0.2.1' })).toMatch(/^[0-9a-f]{16}$/);
    expect(recordHash({ type: RRType.A, address: '192.0.2.1' })).toBe(recordHash({ type: RRType.A, address: '192.0.2.1' }));
    expect(recordHash({ type: RRType.A, address: '192.0.2.1' })).not.toBe(recordHash({ type: RRType.A, address: '192.0.2.2' }));
    expect(recordHash({ type: RRType.CNAME, target: 'x.test' })).not.toBe(recordHash({ type: RRType.PTR, target: 'x.test' }));
  });
});

import { describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import { MessageWriter } from './writer.js';

const hex = (b: Buffer) => b.toString('hex');
/** A name's uncompressed wire form. */
const wire = (name: string) => Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
const pointer = (at: number) => Buffer.from([0xc0 | (at >> 8), at & 0xff]);

describe('MessageWriter', () => {
  it('writes u16 big-endian and throws out of range; u32 big-endian, wrapping as >>> 0 does', () => {
    const w = new MessageWriter(2);
    w.u16(0x1234);
    w.u32(0xdeadbeef);
    w.u32(-1);
    expect(hex(w.toBuffer())).toBe('1234deadbeefffffffff');
    expect(() => w.u16(0x10000)).toThrow(RangeError);
    expect(() => w.u16(-1)).toThrow(RangeError);
    expect(w.length).toBe(10);
  });

  it('names the owner of a record that follows one of the same owner with a pointer to it', () => {
    const w = new MessageWriter();
    w.recordOf('a.example.test', RRType.A, 30, { type: RRType.A, address: '192.0.2.1' });
    const second = w.length;
    w.recordOf('a.example.test', RRType.A, 30, { type: RRType.A, address: '192.0.2.2' });
    const out = w.toBuffer();
    expect(hex(out.subarray(second, second + 2))).toBe(hex(pointer(0)));
    expect(hex(out.subarray(second + 12))).toBe('c0000202');
    // A rewound record takes its owner with it: the next one writes the name again.
    const w2 = new MessageWriter();
    w2.u16(7);
    const before = w2.length;
    w2.recordOf('b.example.test', RRType.A, 30, { type: RRType.A, address: '192.0.2.1' });
    w2.rewind(before);
    w2.recordOf('b.example.test', RRType.A, 30, { type: RRType.A, address: '192.0.2.1' });
    expect(hex(w2.toBuffer().subarray(before, before + 16))).toBe(hex(wire('b.example.test')));
  });

  it('offers every suffix of an uncompressed name to later names by default, only the whole name with uncompressedSuffixes off', () => {
    for (const suffixes of [true, false]) {
      const w = new MessageWriter(64, { uncompressedSuffixes: suffixes });
      w.name('x.svc.example.test', false);
      const at = w.length;
      w.name('svc.example.test');
      w.name('x.svc.example.test');
      const out = w.toBuffer();
      expect(hex(out.subarray(0, at))).toBe(hex(wire('x.svc.example.test')));
      // svc.example.test: a pointer to the suffix at offset 2, or written again in full.
      const svc = suffixes ? pointer(2) : wire('svc.example.test');
      expect(hex(out.subarray(at))).toBe(hex(Buffer.concat([svc, pointer(0)])));
    }
  });

  it('hands out what was written without a copy from finish, and a copy from toBuffer', () => {
    const w = new MessageWriter(8);
    w.u16(1);
    const copy = w.toBuffer();
    const view = w.finish();
    expect(hex(view)).toBe('0001');
    w.patchU16(0, 2);
    expect(hex(view)).toBe('0002');
    expect(hex(copy)).toBe('0001');
  });

  it('lists the pointers it writes unless told not to', () => {
    for (const trackPointers of [true, false]) {
      const w = new MessageWriter(64, { trackPointers });
      w.name('example.test');
      w.name('example.test');
      expect(w.pointers).toEqual(trackPointers ? [14, 0] : []);
    }
  });
});

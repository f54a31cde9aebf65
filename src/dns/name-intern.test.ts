import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1Interned } from './name-intern.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('latin1Interned', () => {
  it('gives the text of the same bytes read from different buffers, and leaves earlier results as they were', () => {
    const a = latin1Interned(latin1('svc1.bench.test'), 15);
    const b = latin1Interned(Buffer.concat([latin1('svc1.bench.test'), latin1('junk')]), 15);
    expect(b).toBe('svc1.bench.test');
    // Whether the string is the remembered one is not observable in JS (the allocation profile in
    // docs/performance.md shows it); what must hold is that it is always the right text.
    latin1Interned(latin1('other.test'), 10);
    expect(a).toBe('svc1.bench.test');
  });

  it('reads only the first `length` bytes, every octet as its Latin-1 code point', () => {
    expect(latin1Interned(latin1('abc.def'), 3)).toBe('abc');
    expect(latin1Interned(Buffer.from([0x61, 0xe9, 0xff, 0x00]), 4)).toBe('a\u00e9\u00ff\u0000');
    expect(latin1Interned(Buffer.alloc(0), 0)).toBe('');
  });

  it('is the plain Latin-1 text for any bytes, however many names share a slot', () => {
    // Many more names than the table holds, each read twice in a row and once much later:
    // collisions and evictions must only ever cost a new string, never a wrong one.
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 300 }), (names) => {
        for (const bytes of names) {
          const buf = Buffer.from(bytes);
          expect(latin1Interned(buf, buf.length)).toBe(buf.toString('latin1'));
          expect(latin1Interned(buf, buf.length)).toBe(buf.toString('latin1'));
        }
        for (const bytes of names) expect(latin1Interned(Buffer.from(bytes), bytes.length)).toBe(Buffer.from(bytes).toString('latin1'));
      }),
      { numRuns: 200 },
    );
  });
});

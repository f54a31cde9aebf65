import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIPv6, formatIPv6, ipv4Bytes, ipv6Bytes } from './ip.js';

/** The definition ipv4Bytes must match: node:net's validation, then the four numbers. */
function reference(address: string): number[] | undefined {
  return isIPv4(address) ? address.split('.').map(Number) : undefined;
}

const asArray = (b: Uint8Array | undefined) => (b === undefined ? undefined : [...b]);

describe('ipv4Bytes', () => {
  it('reads dotted quads', () => {
    expect(asArray(ipv4Bytes('192.0.2.1'))).toEqual([192, 0, 2, 1]);
    expect(asArray(ipv4Bytes('0.0.0.0'))).toEqual([0, 0, 0, 0]);
    expect(asArray(ipv4Bytes('255.255.255.255'))).toEqual([255, 255, 255, 255]);
  });

  it('rejects what is not one', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.04', '1..3.4', '.1.2.3', '1.2.3.', '1.2.3.4 ', 'a.b.c.d', '1.2.3.1000', '-1.2.3.4', '::1']) {
      expect(ipv4Bytes(bad), bad).toBeUndefined();
    }
  });

  it('writes into a given buffer at an offset, leaving the bytes around it alone', () => {
    const buf = Buffer.alloc(8, 0xee);
    expect(ipv4Bytes('192.0.2.7', buf, 3)).toBe(buf);
    expect([...buf]).toEqual([0xee, 0xee, 0xee, 192, 0, 2, 7, 0xee]);
    expect(ipv4Bytes('192.0.2', buf, 3)).toBeUndefined();
  });

  it('agrees with node:net on any dotted string', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.stringMatching(/^[0-9]{0,4}$/), fc.constantFrom('', 'x', ' 1', '00'));
    const dotted = fc.array(octet, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(fc.oneof(dotted, fc.string()), (text) => {
        expect(asArray(ipv4Bytes(text))).toEqual(reference(text));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('formatIPv6', () => {
  it('writes 16 octets as RFC 5952 text (§4.2: the longest zero run, the first of equals, never one group)', () => {
    const text = (hex: string) => formatIPv6(Uint8Array.from(Buffer.from(hex, 'hex')));
    expect(text('20010db8000000000000000000000001')).toBe('2001:db8::1');
    expect(text('00000000000000000000000000000000')).toBe('::');
    expect(text('20010db8000000010000000000000001')).toBe('2001:db8:0:1::1');
    expect(text('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1');
    expect(text('20010db800000001000100010001abcd')).toBe('2001:db8:0:1:1:1:1:abcd');
    expect(text('00000000000000000000ffffc0000201')).toBe('::ffff:c000:201');
  });

  it('is what canonicalIPv6 gives for the same address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIPv6(bytes);
        expect(canonicalIPv6(text)).toBe(text);
        expect([...ipv6Bytes(text)!]).toEqual([...bytes]);
      }),
      { numRuns: 2_000 },
    );
  });
});

import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4Bytes } from './ip.js';

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

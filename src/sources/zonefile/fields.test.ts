import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { HEAD, bytes, expectErrorsAfterHead, rrset, zoneOf } from './test-support.js';

describe('fields', () => {
  it('handles names: @, relative, absolute, case, escapes, wildcards', () => {
    const zone = zoneOf(
      HEAD +
        [
          'WWW.Sub A 192.0.2.1',
          'abs.example.test. A 192.0.2.2',
          'a\\.b A 192.0.2.3',
          '\\065\\066c A 192.0.2.4',
          '*.apps A 192.0.2.5',
          'x\\032y A 192.0.2.6',
          '@ TXT apex',
        ].join('\n'),
    );
    const expected: [string, string][] = [
      ['www.sub.example.test', '192.0.2.1'],
      ['abs.example.test', '192.0.2.2'],
      ['a\u012eb.example.test', '192.0.2.3'],
      ['abc.example.test', '192.0.2.4'],
      ['*.apps.example.test', '192.0.2.5'],
      ['x y.example.test', '192.0.2.6'],
    ];
    for (const [name, address] of expected) expect(rrset(zone, name, RRType.A)?.records, name).toEqual([{ type: RRType.A, address }]);
    expect(rrset(zone, 'example.test', RRType.TXT)?.records).toEqual([{ type: RRType.TXT, strings: [bytes('apex')] }]);
    // Empty non-terminals exist (StaticZone materialises them).
    expect(zone.node('sub.example.test')?.size).toBe(0);
  });

  it('takes TTL and class in either order, the TTL with units', () => {
    const zone = zoneOf(HEAD + 'a 1h30m IN A 192.0.2.1\nb IN 2D A 192.0.2.2\nc 1w A 192.0.2.3\nd in 30S a 192.0.2.4\ne CLASS1 A 192.0.2.5\n');
    expect(rrset(zone, 'a.example.test', RRType.A)?.ttl).toBe(5400);
    expect(rrset(zone, 'b.example.test', RRType.A)?.ttl).toBe(172800);
    expect(rrset(zone, 'c.example.test', RRType.A)?.ttl).toBe(604800);
    expect(rrset(zone, 'd.example.test', RRType.A)?.ttl).toBe(30);
    expect(rrset(zone, 'e.example.test', RRType.A)?.ttl).toBe(60);
  });

  it('accepts a TTL of 2^31-1', () => {
    expect(rrset(zoneOf(HEAD + 'a 2147483647 A 192.0.2.1\n'), 'a.example.test', RRType.A)?.ttl).toBe(2147483647);
  });
});

describe('field errors', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['x 1x A 192.0.2.1', [{ line: 4, message: 'bad TTL "1x"' }]],
    ['x 1h30 A 192.0.2.1', [{ line: 4, message: 'bad TTL "1h30"' }]],
    ['x 2147483648 A 192.0.2.1', [{ line: 4, message: 'TTL "2147483648" is larger than 2147483647 (RFC 2181 §8)' }]],
    ['x TXT "\\300"', [{ line: 4, message: 'escape "\\300" is not an octet (0..255)' }]],
    ['x TXT "\\12"', [{ line: 4, message: 'bad escape "\\12": \\DDD takes three decimal digits' }]],
    [`x HINFO "${'c'.repeat(256)}" os`, [{ line: 4, message: 'HINFO CPU is longer than 255 octets' }]],
    ['a..b A 192.0.2.1', [{ line: 4, message: 'bad name: empty label in "a..b"' }]],
    [`${'l'.repeat(64)} A 192.0.2.1`, [{ line: 4, message: `bad name: "${'l'.repeat(64)}": label "${'l'.repeat(20)}…" is longer than 63 octets` }]],
    [
      `${Array(4).fill('l'.repeat(60)).join('.')} A 192.0.2.1`,
      [{ line: 4, message: `bad name "${Array(4).fill('l'.repeat(60)).join('.')}": name is longer than 255 octets once the origin is appended` }],
    ],
    ['café A 192.0.2.1', [{ line: 4, message: 'bad name "café": non-ASCII character; write it as punycode (xn--)' }]],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);
});

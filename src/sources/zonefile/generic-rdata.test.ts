import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import type { RData } from '../../dns/records.js';
import { HEAD, bytes, expectErrorsAfterHead, hex, rrset, zoneOf } from './test-support.js';

describe('RFC 3597 §5 generic RDATA', () => {
  // [record line (after HEAD), owner, type, expected RDATA]: opaque for types without a shape,
  // decoded into the shape for the others.
  const cases: [string, string, number, RData[]][] = [
    ['x TYPE65534 \\# 3 01 0203', 'x.example.test', 65534, [{ type: 65534, generic: true, raw: hex('010203') }]],
    ['x TYPE65534 \\# 0', 'x.example.test', 65534, [{ type: 65534, generic: true, raw: new Uint8Array(0) }]],
    ['x SVCB \\# 2 0000', 'x.example.test', RRType.SVCB, [{ type: RRType.SVCB, generic: true, raw: hex('0000') }]],
    ['x A \\# 4 C0000201', 'x.example.test', RRType.A, [{ type: RRType.A, address: '192.0.2.1' }]],
    ['x AAAA \\# 16 20010db8000000000000000000000010', 'x.example.test', RRType.AAAA, [{ type: RRType.AAAA, address: '2001:db8::10' }]],
    ['x MX \\# 10 000a 046d61696c 0178 00', 'x.example.test', RRType.MX, [{ type: RRType.MX, preference: 10, exchange: 'mail.x' }]],
    ['x TXT \\# 6 02 6869 02 6f6b', 'x.example.test', RRType.TXT, [{ type: RRType.TXT, strings: [bytes('hi'), bytes('ok')] }]],
    ['x CAA \\# 7 00 05 6973737565', 'x.example.test', RRType.CAA, [{ type: RRType.CAA, flags: 0, tag: 'issue', value: new Uint8Array(0) }]],
    // A '.' octet inside a label (RFC 2181 §11) and ASCII upper case, folded (RFC 4343).
    ['x CNAME \\# 6 04412e4243 00', 'x.example.test', RRType.CNAME, [{ type: RRType.CNAME, target: 'a\u012ebc' }]],
    [
      'x NS \\# 1 00',
      'x.example.test',
      RRType.NS,
      [{ type: RRType.NS, target: '' }],
    ],
    [
      'x SRV \\# 9 0001 0002 0003 016100',
      'x.example.test',
      RRType.SRV,
      [{ type: RRType.SRV, priority: 1, weight: 2, port: 3, target: 'a' }],
    ],
  ];
  it.each(cases)('%s', (line, owner, type, expected) => {
    const zone = zoneOf(HEAD + line + '\n');
    expect(rrset(zone, owner, type)?.records).toEqual(expected);
  });
});

describe('generic RDATA errors', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['x TYPE65534 \\# 3 0102', [{ line: 4, message: 'generic RDATA length 3 does not match the 2 octets given' }]],
    ['x TYPE65534 \\# 65536 00', [{ line: 4, message: 'bad RDATA length "65536" (0..65535)' }]],
    ['x TYPE65534 \\# 1 0g', [{ line: 4, message: 'bad generic RDATA: "0g" is not hexadecimal' }]],
    ['x A \\# 3 010203', [{ line: 4, message: 'generic RDATA for A is too short' }]],
    ['x A \\# 5 0102030405', [{ line: 4, message: 'generic RDATA for A has 1 extra octet' }]],
    ['x MX \\# 4 000a c00c', [{ line: 4, message: 'generic RDATA for MX has a compressed or malformed name' }]],
    // Names are read by the wire layer's reader (dns/wire-name.ts); its verdicts map to these.
    ['x CNAME \\# 1 c0', [{ line: 4, message: 'generic RDATA for CNAME has a compressed or malformed name' }]],
    ['x CNAME \\# 3 416100', [{ line: 4, message: 'generic RDATA for CNAME has a compressed or malformed name' }]],
    ['x CNAME \\# 3 816100', [{ line: 4, message: 'generic RDATA for CNAME has a compressed or malformed name' }]],
    ['x CNAME \\# 2 0161', [{ line: 4, message: 'generic RDATA for CNAME is too short' }]],
    ['x CNAME \\# 2 0561', [{ line: 4, message: 'generic RDATA for CNAME is too short' }]],
    [`x CNAME \\# 257 ${('3f' + '61'.repeat(63)).repeat(4)}00`, [{ line: 4, message: 'generic RDATA for CNAME has a name longer than 255 octets' }]],
    ['x A \\# 6 010203040506', [{ line: 4, message: 'generic RDATA for A has 2 extra octets' }]],
    ['x SOA \\# 20 00 00 00000001 00000002 00000003 00000004 0000', [{ line: 4, message: 'generic RDATA for SOA is too short' }]],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);
});

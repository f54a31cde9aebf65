import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import type { RData } from '../../dns/records.js';
import { HEAD, bytes, expectErrorsAfterHead, hex, rrset, zoneOf } from './test-support.js';

describe('record types in presentation form', () => {
  // [record line (after HEAD), owner, type, expected RDATA]
  const cases: [string, string, number, RData[]][] = [
    ['www A 192.0.2.10', 'www.example.test', RRType.A, [{ type: RRType.A, address: '192.0.2.10' }]],
    ['www A 0.0.0.0', 'www.example.test', RRType.A, [{ type: RRType.A, address: '0.0.0.0' }]],
    ['www AAAA 2001:DB8:0:0:0:0:0:10', 'www.example.test', RRType.AAAA, [{ type: RRType.AAAA, address: '2001:db8::10' }]],
    ['www AAAA ::ffff:192.0.2.1', 'www.example.test', RRType.AAAA, [{ type: RRType.AAAA, address: '::ffff:c000:201' }]],
    ['www AAAA 1:0:0:2:0:0:0:3', 'www.example.test', RRType.AAAA, [{ type: RRType.AAAA, address: '1:0:0:2::3' }]],
    ['sub NS ns.elsewhere.test.', 'sub.example.test', RRType.NS, [{ type: RRType.NS, target: 'ns.elsewhere.test' }]],
    ['docs CNAME www', 'docs.example.test', RRType.CNAME, [{ type: RRType.CNAME, target: 'www.example.test' }]],
    ['ptr PTR host.example.org.', 'ptr.example.test', RRType.PTR, [{ type: RRType.PTR, target: 'host.example.org' }]],
    ['old DNAME new', 'old.example.test', RRType.DNAME, [{ type: RRType.DNAME, target: 'new.example.test' }]],
    ['@ MX 10 mail', 'example.test', RRType.MX, [{ type: RRType.MX, preference: 10, exchange: 'mail.example.test' }]],
    ['@ MX 0 .', 'example.test', RRType.MX, [{ type: RRType.MX, preference: 0, exchange: '' }]],
    [
      '_http._tcp SRV 10 60 8080 api1\n_http._tcp SRV 65535 0 0 api2.example.test.',
      '_http._tcp.example.test',
      RRType.SRV,
      [
        { type: RRType.SRV, priority: 10, weight: 60, port: 8080, target: 'api1.example.test' },
        { type: RRType.SRV, priority: 65535, weight: 0, port: 0, target: 'api2.example.test' },
      ],
    ],
    ['t TXT "hello world"', 't.example.test', RRType.TXT, [{ type: RRType.TXT, strings: [bytes('hello world')] }]],
    ['t TXT v=spf1 -all', 't.example.test', RRType.TXT, [{ type: RRType.TXT, strings: [bytes('v=spf1'), bytes('-all')] }]],
    ['t TXT "a" "" "c"', 't.example.test', RRType.TXT, [{ type: RRType.TXT, strings: [bytes('a'), bytes(''), bytes('c')] }]],
    ['t TXT "a\\"b" semi\\;colon "\\255\\000x" "\\\\"', 't.example.test', RRType.TXT, [
      { type: RRType.TXT, strings: [bytes('a"b'), bytes('semi;colon'), Uint8Array.from([255, 0, 120]), bytes('\\')] },
    ]],
    ['t TXT "café"', 't.example.test', RRType.TXT, [{ type: RRType.TXT, strings: [bytes('café')] }]],
    ['t SPF "v=spf1 -all"', 't.example.test', RRType.SPF, [{ type: RRType.SPF, strings: [bytes('v=spf1 -all')] }]],
    ['@ CAA 0 issue "letsencrypt.org"', 'example.test', RRType.CAA, [{ type: RRType.CAA, flags: 0, tag: 'issue', value: bytes('letsencrypt.org') }]],
    ['@ CAA 128 iodef mailto:x@example.test', 'example.test', RRType.CAA, [{ type: RRType.CAA, flags: 128, tag: 'iodef', value: bytes('mailto:x@example.test') }]],
    ['h HINFO "PDP-11" UNIX', 'h.example.test', RRType.HINFO, [{ type: RRType.HINFO, cpu: bytes('PDP-11'), os: bytes('UNIX') }]],
    [
      'n NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp',
      'n.example.test',
      RRType.NAPTR,
      [{ type: RRType.NAPTR, order: 100, preference: 10, flags: bytes('S'), services: bytes('SIP+D2U'), regexp: bytes(''), replacement: '_sip._udp.example.test' }],
    ],
    ['s SSHFP 1 2 ABCDEF01', 's.example.test', RRType.SSHFP, [{ type: RRType.SSHFP, generic: true, raw: hex('0102abcdef01') }]],
    ['d DS 60485 5 1 2BB183AF5F225 88179A3E9A6', 'd.example.test', RRType.DS, [{ type: RRType.DS, generic: true, raw: hex('ec45 05 01 2bb183af5f22588179a3e9a6') }]],
    ['_443._tcp TLSA 3 1 1 00ff', '_443._tcp.example.test', RRType.TLSA, [{ type: RRType.TLSA, generic: true, raw: hex('03010100ff') }]],
    ['x TYPE1 192.0.2.1', 'x.example.test', RRType.A, [{ type: RRType.A, address: '192.0.2.1' }]],
  ];
  it.each(cases)('%s', (line, owner, type, expected) => {
    const zone = zoneOf(HEAD + line + '\n');
    expect(rrset(zone, owner, type)?.records).toEqual(expected);
  });

  it('parses the SOA, with units in its timers', () => {
    const zone = zoneOf('$TTL 60\n@ IN SOA ns1.example.test. Host\\.Master 4294967295 1h 15M 1w 2d\n');
    expect(zone.soa).toEqual({
      name: 'example.test',
      type: RRType.SOA,
      ttl: 60,
      records: [
        { type: RRType.SOA, mname: 'ns1.example.test', rname: 'host\u012emaster.example.test', serial: 4294967295, refresh: 3600, retry: 900, expire: 604800, minimum: 172800 },
      ],
    });
  });

  it('splits a TXT string over 255 octets into 255-octet strings and keeps the others', () => {
    const long = 'x'.repeat(600);
    const zone = zoneOf(`${HEAD}t TXT "first" "${long}" last\n`);
    const strings = (rrset(zone, 't.example.test', RRType.TXT)!.records[0] as { strings: Uint8Array[] }).strings;
    expect(strings.map((s) => s.length)).toEqual([5, 255, 255, 90, 4]);
    expect(new TextDecoder().decode(Buffer.concat(strings.slice(1, 4)))).toBe(long);
  });
});

describe('RDATA errors', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['bad A 10.0.0.256', [{ line: 4, message: 'bad IPv4 address "10.0.0.256"' }]],
    ['bad A 010.0.0.1', [{ line: 4, message: 'bad IPv4 address "010.0.0.1"' }]],
    ['bad A 1.2.3', [{ line: 4, message: 'bad IPv4 address "1.2.3"' }]],
    ['bad AAAA 2001:db8::g', [{ line: 4, message: 'bad IPv6 address "2001:db8::g"' }]],
    ['bad AAAA fe80::1%eth0', [{ line: 4, message: 'bad IPv6 address "fe80::1%eth0"' }]],
    ['bad AAAA 192.0.2.1', [{ line: 4, message: 'bad IPv6 address "192.0.2.1"' }]],
    ['x A', [{ line: 4, message: 'A: missing address' }]],
    ['x A 192.0.2.1 192.0.2.2', [{ line: 4, message: 'unexpected "192.0.2.2" after the A data' }]],
    ['x MX mail', [{ line: 4, message: 'bad MX preference "mail" (0..65535)' }]],
    ['x MX 10', [{ line: 4, message: 'MX: missing exchange name' }]],
    ['x SRV 1 2 65536 t', [{ line: 4, message: 'bad SRV port "65536" (0..65535)' }]],
    ['x SRV -1 2 3 t', [{ line: 4, message: 'bad SRV priority "-1" (0..65535)' }]],
    ['x SRV 1 2 3', [{ line: 4, message: 'SRV: missing target name' }]],
    ['x TXT', [{ line: 4, message: 'TXT: missing text' }]],
    ['x CAA 256 issue "ca"', [{ line: 4, message: 'bad CAA flags "256" (0..255)' }]],
    ['x CAA 0 is-sue "ca"', [{ line: 4, message: 'bad CAA tag "is-sue" (letters and digits only)' }]],
    ['x NAPTR 1 2 "S" "x" "" ', [{ line: 4, message: 'NAPTR: missing replacement name' }]],
    ['x SSHFP 1 2 abc', [{ line: 4, message: 'bad SSHFP fingerprint: odd number of hex digits' }]],
    ['x TLSA 3 1 1 zz', [{ line: 4, message: 'bad TLSA data: "zz" is not hexadecimal' }]],
    ['x DNSKEY 257 3 8 AwEAAQ==', [{ line: 4, message: 'DNSKEY data must be written in the RFC 3597 generic form: \\# <length> <hex>' }]],
    ['x TYPE99 abc', []], // TYPE99 is SPF: presentation form is fine (RFC 3597 §5)
    ['x TYPE65534 abc', [{ line: 4, message: 'TYPE65534 data must be written in the RFC 3597 generic form: \\# <length> <hex>' }]],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);
});

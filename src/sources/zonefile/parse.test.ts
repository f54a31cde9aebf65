import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RRType, typeCode } from '../../dns/constants.js';
import type { RData } from '../../dns/records.js';
import type { StaticZone } from '../../table/zone.js';
import { originFromFileName } from './directory.js';
import { parseZoneFile, type ParseResult } from './master-file.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

/** Three lines every test zone starts with; records in the tests below begin on line 4. */
const HEAD = '$TTL 60\n@ SOA ns1 hostmaster 1 7200 1800 86400 30\n@ NS ns1\n';

/** `origin` null: no origin from the caller (as for a file not named after its zone). */
function parse(text: string, origin: string | null = 'example.test'): ParseResult {
  return parseZoneFile(text, { file: 'test.zone', ...(origin === null ? {} : { origin }) });
}

function zoneOf(text: string, origin?: string | null): StaticZone {
  const r = parse(text, origin);
  if (!r.ok) throw new Error(`unexpected errors: ${JSON.stringify(r.errors)}`);
  return r.zone;
}

function errorsOf(text: string, origin?: string | null): { line: number; message: string }[] {
  const r = parse(text, origin);
  if (r.ok) throw new Error('expected errors, the zone parsed');
  for (const e of r.errors) expect(e.file).toBe('test.zone');
  return r.errors.map(({ line, message }) => ({ line, message }));
}

function rrset(zone: StaticZone, name: string, type: number) {
  return zone.node(name)?.get(type);
}

describe('record types', () => {
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
    ['s SSHFP 1 2 ABCDEF01', 's.example.test', RRType.SSHFP, [{ type: RRType.SSHFP, raw: hex('0102abcdef01') }]],
    ['d DS 60485 5 1 2BB183AF5F225 88179A3E9A6', 'd.example.test', RRType.DS, [{ type: RRType.DS, raw: hex('ec45 05 01 2bb183af5f22588179a3e9a6') }]],
    ['_443._tcp TLSA 3 1 1 00ff', '_443._tcp.example.test', RRType.TLSA, [{ type: RRType.TLSA, raw: hex('03010100ff') }]],
    // RFC 3597 §5 generic form: opaque for types without a shape, decoded for the others.
    ['x TYPE65534 \\# 3 01 0203', 'x.example.test', 65534, [{ type: 65534, raw: hex('010203') }]],
    ['x TYPE65534 \\# 0', 'x.example.test', 65534, [{ type: 65534, raw: new Uint8Array(0) }]],
    ['x SVCB \\# 2 0000', 'x.example.test', RRType.SVCB, [{ type: RRType.SVCB, raw: hex('0000') }]],
    ['x A \\# 4 C0000201', 'x.example.test', RRType.A, [{ type: RRType.A, address: '192.0.2.1' }]],
    ['x TYPE1 192.0.2.1', 'x.example.test', RRType.A, [{ type: RRType.A, address: '192.0.2.1' }]],
    ['x AAAA \\# 16 20010db8000000000000000000000010', 'x.example.test', RRType.AAAA, [{ type: RRType.AAAA, address: '2001:db8::10' }]],
    ['x MX \\# 10 000a 046d61696c 0178 00', 'x.example.test', RRType.MX, [{ type: RRType.MX, preference: 10, exchange: 'mail.x' }]],
    ['x TXT \\# 6 02 6869 02 6f6b', 'x.example.test', RRType.TXT, [{ type: RRType.TXT, strings: [bytes('hi'), bytes('ok')] }]],
    ['x CAA \\# 7 00 05 6973737565', 'x.example.test', RRType.CAA, [{ type: RRType.CAA, flags: 0, tag: 'issue', value: new Uint8Array(0) }]],
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

describe('syntax', () => {
  it('joins parenthesised lines, skips comments and keeps the owner on blank-owner lines', () => {
    const zone = zoneOf(
      [
        '; a comment line',
        '$TTL 60 ; trailing comment',
        '@ IN SOA ns1 hostmaster ( ; opening',
        '     1    ; serial',
        '     2 3 4',
        '     5 )',
        '   NS ns1',
        '',
        '\t; indented comment',
        'www A 192.0.2.1',
        '\tAAAA ::1',
        '  TXT ( "split" ; comment inside',
        '        "over lines" )',
      ].join('\n'),
    );
    expect(zone.soa.records[0]).toMatchObject({ serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 });
    expect(rrset(zone, 'example.test', RRType.NS)?.records).toEqual([{ type: RRType.NS, target: 'ns1.example.test' }]);
    expect([...zone.node('www.example.test')!.keys()]).toEqual([RRType.A, RRType.AAAA, RRType.TXT]);
    expect(rrset(zone, 'www.example.test', RRType.TXT)?.records).toEqual([{ type: RRType.TXT, strings: [bytes('split'), bytes('over lines')] }]);
  });

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
    for (const name of ['www.sub.example.test', 'abs.example.test', 'a\u012eb.example.test', 'abc.example.test', '*.apps.example.test', 'x y.example.test']) {
      expect(zone.node(name)?.get(RRType.A), name).toBeDefined();
    }
    expect(rrset(zone, 'example.test', RRType.TXT)).toBeDefined();
    // Empty non-terminals exist (StaticZone materialises them).
    expect(zone.node('sub.example.test')?.size).toBe(0);
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    const zone = zoneOf('\ufeff' + HEAD.replace(/\n/g, '\r\n') + 'www A 192.0.2.1\r\n  AAAA ::1\r\n');
    expect([...zone.node('www.example.test')!.keys()]).toEqual([RRType.A, RRType.AAAA]);
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

describe('default TTL', () => {
  it('uses $TTL, over the previous record', () => {
    const zone = zoneOf('$TTL 100\n@ 5 SOA ns1 hostmaster 1 2 3 4 30\nwww A 192.0.2.1\n$TTL 200\nmail A 192.0.2.2\n');
    expect(zone.soa.ttl).toBe(5);
    expect(rrset(zone, 'www.example.test', RRType.A)?.ttl).toBe(100);
    expect(rrset(zone, 'mail.example.test', RRType.A)?.ttl).toBe(200);
  });

  it('without $TTL uses the previous record TTL (RFC 1035 §5.1)', () => {
    const r = parse('@ 300 SOA ns1 hostmaster 1 2 3 4 30\nwww A 192.0.2.1\nmail 20 A 192.0.2.2\nftp A 192.0.2.3\n');
    expect(r.ok && r.warnings).toEqual([]);
    const zone = zoneOf('@ 300 SOA ns1 hostmaster 1 2 3 4 30\nwww A 192.0.2.1\nmail 20 A 192.0.2.2\nftp A 192.0.2.3\n');
    expect(rrset(zone, 'www.example.test', RRType.A)?.ttl).toBe(300);
    expect(rrset(zone, 'ftp.example.test', RRType.A)?.ttl).toBe(20);
  });

  it('falls back to the SOA MINIMUM with a warning', () => {
    const r = parse('@ SOA ns1 hostmaster 1 2 3 4 45\nwww A 192.0.2.1\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.zone.soa.ttl).toBe(45);
    expect(rrset(r.zone, 'www.example.test', RRType.A)?.ttl).toBe(45);
    expect(r.warnings).toEqual([{ file: 'test.zone', line: 1, message: 'no TTL and no $TTL: using the SOA MINIMUM 45; add a $TTL line' }]);
  });

  it('is an error with nothing to fall back on', () => {
    expect(errorsOf('www A 192.0.2.1\n@ 60 SOA ns1 hostmaster 1 2 3 4 5\n')).toEqual([
      { line: 1, message: 'no TTL: give the record a TTL or add a $TTL line before it' },
    ]);
  });
});

describe('origin', () => {
  it('comes from options, and $ORIGIN before the first record overrides it', () => {
    expect(zoneOf(HEAD).origin).toBe('example.test');
    expect(zoneOf('$ORIGIN other.test.\n' + HEAD).origin).toBe('other.test');
    expect(zoneOf('$ORIGIN Other.Test\n' + HEAD, null).origin).toBe('other.test');
  });

  it('relative $ORIGIN hangs from the previous one (with a warning); later $ORIGIN changes only relative names', () => {
    const r = parse(HEAD + '$ORIGIN sub\nwww A 192.0.2.1\n$ORIGIN deeper.sub.example.test.\n@ A 192.0.2.2\n');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.warnings).toEqual([
      { file: 'test.zone', line: 4, message: '$ORIGIN sub has no trailing dot: it is relative to "example.test." and gives "sub.example.test."' },
    ]);
    const zone = r.zone;
    expect(zone.origin).toBe('example.test');
    expect(rrset(zone, 'www.sub.example.test', RRType.A)).toBeDefined();
    expect(rrset(zone, 'deeper.sub.example.test', RRType.A)).toBeDefined();
  });

  it('is an error when neither the options nor the file give one', () => {
    expect(errorsOf(HEAD, null)).toEqual([{ line: 2, message: 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN' }]);
    expect(errorsOf('', null)).toEqual([{ line: 0, message: 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN' }]);
  });

  it.each([
    ['zones/example.test.zone', 'example.test'],
    ['/etc/zones/db.example.test', 'example.test'],
    ['example.test', 'example.test'],
    ['Example.TEST.db', 'example.test'],
    ['example.test.', 'example.test'],
    ['foo.txt', 'foo.txt'],
    ['.zone', undefined],
    ['db.', undefined],
    ['a..b.zone', undefined],
    [`${'x'.repeat(64)}.zone`, undefined],
    ['has space.zone', undefined],
  ])('originFromFileName(%j) = %j', (path, origin) => {
    expect(originFromFileName(path)).toBe(origin);
  });
});

describe('errors', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['bad A 10.0.0.256', [{ line: 4, message: 'bad IPv4 address "10.0.0.256"' }]],
    ['bad A 010.0.0.1', [{ line: 4, message: 'bad IPv4 address "010.0.0.1"' }]],
    ['bad A 1.2.3', [{ line: 4, message: 'bad IPv4 address "1.2.3"' }]],
    ['bad AAAA 2001:db8::g', [{ line: 4, message: 'bad IPv6 address "2001:db8::g"' }]],
    ['bad AAAA fe80::1%eth0', [{ line: 4, message: 'bad IPv6 address "fe80::1%eth0"' }]],
    ['bad AAAA 192.0.2.1', [{ line: 4, message: 'bad IPv6 address "192.0.2.1"' }]],
    ['x AAA 1', [{ line: 4, message: 'unknown type "AAA"' }]],
    ['x 60 IN', [{ line: 4, message: 'missing type' }]],
    ['x "A" 192.0.2.1', [{ line: 4, message: 'unknown type "A"' }]],
    ['x ANY 1', [{ line: 4, message: 'class "ANY" is not supported: only IN' }]],
    ['x IN ANY 1', [{ line: 4, message: 'ANY is a query-only (meta) type, not data (RFC 6895 §3.1)' }]],
    ['x AXFR 1', [{ line: 4, message: 'AXFR is a query-only (meta) type, not data (RFC 6895 §3.1)' }]],
    ['x TYPE41 \\# 0', [{ line: 4, message: 'OPT is a query-only (meta) type, not data (RFC 6895 §3.1)' }]],
    ['x TYPE0 \\# 0', [{ line: 4, message: 'type 0 is reserved (RFC 6895 §3.1)' }]],
    ['x CH A 192.0.2.1', [{ line: 4, message: 'class "CH" is not supported: only IN' }]],
    ['x HS 60 A 192.0.2.1', [{ line: 4, message: 'class "HS" is not supported: only IN' }]],
    ['x 1x A 192.0.2.1', [{ line: 4, message: 'bad TTL "1x"' }]],
    ['x 1h30 A 192.0.2.1', [{ line: 4, message: 'bad TTL "1h30"' }]],
    ['x 2147483648 A 192.0.2.1', [{ line: 4, message: 'TTL "2147483648" is larger than 2147483647 (RFC 2181 §8)' }]],
    ['x 60 60 A 192.0.2.1', [{ line: 4, message: 'unknown type "60"' }]],
    ['x A', [{ line: 4, message: 'A: missing address' }]],
    ['x A 192.0.2.1 192.0.2.2', [{ line: 4, message: 'unexpected "192.0.2.2" after the A data' }]],
    ['x MX mail', [{ line: 4, message: 'bad MX preference "mail" (0..65535)' }]],
    ['x MX 10', [{ line: 4, message: 'MX: missing exchange name' }]],
    ['x SRV 1 2 65536 t', [{ line: 4, message: 'bad SRV port "65536" (0..65535)' }]],
    ['x SRV -1 2 3 t', [{ line: 4, message: 'bad SRV priority "-1" (0..65535)' }]],
    ['x SRV 1 2 3', [{ line: 4, message: 'SRV: missing target name' }]],
    ['x TXT', [{ line: 4, message: 'TXT: missing text' }]],
    ['x TXT "\\300"', [{ line: 4, message: 'escape "\\300" is not an octet (0..255)' }]],
    ['x TXT "\\12"', [{ line: 4, message: 'bad escape "\\12": \\DDD takes three decimal digits' }]],
    ['x CAA 256 issue "ca"', [{ line: 4, message: 'bad CAA flags "256" (0..255)' }]],
    ['x CAA 0 is-sue "ca"', [{ line: 4, message: 'bad CAA tag "is-sue" (letters and digits only)' }]],
    [`x HINFO "${'c'.repeat(256)}" os`, [{ line: 4, message: 'HINFO CPU is longer than 255 octets' }]],
    ['x NAPTR 1 2 "S" "x" "" ', [{ line: 4, message: 'NAPTR: missing replacement name' }]],
    ['x SSHFP 1 2 abc', [{ line: 4, message: 'bad SSHFP fingerprint: odd number of hex digits' }]],
    ['x TLSA 3 1 1 zz', [{ line: 4, message: 'bad TLSA data: "zz" is not hexadecimal' }]],
    ['x DNSKEY 257 3 8 AwEAAQ==', [{ line: 4, message: 'DNSKEY data must be written in the RFC 3597 generic form: \\# <length> <hex>' }]],
    ['x TYPE99 abc', []], // TYPE99 is SPF: presentation form is fine (RFC 3597 §5)
    ['x TYPE65534 abc', [{ line: 4, message: 'TYPE65534 data must be written in the RFC 3597 generic form: \\# <length> <hex>' }]],
    ['x TYPE65534 \\# 3 0102', [{ line: 4, message: 'generic RDATA length 3 does not match the 2 octets given' }]],
    ['x TYPE65534 \\# 65536 00', [{ line: 4, message: 'bad RDATA length "65536" (0..65535)' }]],
    ['x TYPE65534 \\# 1 0g', [{ line: 4, message: 'bad generic RDATA: "0g" is not hexadecimal' }]],
    ['x A \\# 3 010203', [{ line: 4, message: 'generic RDATA for A is too short' }]],
    ['x A \\# 5 0102030405', [{ line: 4, message: 'generic RDATA for A has 1 extra octet' }]],
    ['x MX \\# 4 000a c00c', [{ line: 4, message: 'generic RDATA for MX has a compressed or malformed name' }]],
    ['x TYPE70000 \\# 0', [{ line: 4, message: 'unknown type "TYPE70000"' }]],
    ['a..b A 192.0.2.1', [{ line: 4, message: 'bad name: empty label in "a..b"' }]],
    [`${'l'.repeat(64)} A 192.0.2.1`, [{ line: 4, message: `bad name: "${'l'.repeat(64)}": label "${'l'.repeat(20)}…" is longer than 63 octets` }]],
    [
      `${Array(4).fill('l'.repeat(60)).join('.')} A 192.0.2.1`,
      [{ line: 4, message: `bad name "${Array(4).fill('l'.repeat(60)).join('.')}": name is longer than 255 octets once the origin is appended` }],
    ],
    ['café A 192.0.2.1', [{ line: 4, message: 'bad name "café": non-ASCII character; write it as punycode (xn--)' }]],
    ['x CNAME a\\', [{ line: 4, message: 'backslash at the end of a line' }]],
    ['x TXT "abc\ny A 192.0.2.1', [{ line: 4, message: 'unterminated quoted string' }]],
    ['x A 192.0.2.1 )', [{ line: 4, message: 'unbalanced ")"' }]],
    ['x A ( ( 192.0.2.1 )', [{ line: 4, message: 'nested "("' }]],
    ['x TXT ( "a"\n "b"\n', [{ line: 4, message: 'unbalanced "(": no ")" before the end of the file' }]],
    ['  A 192.0.2.1', []],
    ['$INCLUDE other.zone', [{ line: 4, message: '$INCLUDE is not supported' }]],
    ['$GENERATE 1-10 host$ A 10.0.0.$', [{ line: 4, message: '$GENERATE is not supported' }]],
    ['$FOO bar', [{ line: 4, message: 'unknown directive "$FOO"' }]],
    ['$TTL', [{ line: 4, message: '$TTL takes one TTL' }]],
    ['$TTL forever', [{ line: 4, message: '$TTL: bad TTL "forever"' }]],
    ['$ORIGIN a b', [{ line: 4, message: '$ORIGIN takes one name' }]],
    ['$ORIGIN a..b.', [{ line: 4, message: '$ORIGIN: bad name: empty label in "a..b."' }]],
    // Zone-level rules.
    ['www.example.org. A 192.0.2.1', [{ line: 4, message: 'owner "www.example.org." is outside the zone "example.test."' }]],
    ['$ORIGIN other.test.\nwww A 192.0.2.1', [{ line: 5, message: 'owner "www.other.test." is outside the zone "example.test."' }]],
    ['sub SOA ns1 hostmaster 1 2 3 4 5', [{ line: 4, message: 'SOA record at "sub.example.test.": it belongs at the zone apex "example.test."' }]],
    ['@ SOA ns2 hostmaster 2 2 3 4 5', [{ line: 4, message: 'second SOA record (the first is on line 2): a zone has exactly one' }]],
    ['www A 192.0.2.1\nwww CNAME other', [{ line: 5, message: 'CNAME at "www.example.test." beside other data (A on line 4): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['www CNAME other\nwww TXT "x"', [{ line: 5, message: 'TXT at "www.example.test." beside a CNAME (line 4): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['@ CNAME other', [{ line: 4, message: 'CNAME at "example.test." beside other data (SOA on line 2): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['www CNAME a\nwww CNAME b', [{ line: 5, message: 'more than one CNAME at "www.example.test." (the first is on line 4)' }]],
    ['www CNAME a\nwww CNAME a', []],
    ['old DNAME a\nold DNAME b', [{ line: 5, message: 'more than one DNAME at "old.example.test." (the first is on line 4)' }]],
    ['old DNAME new\nx.old A 192.0.2.1', [{ line: 5, message: 'owner "x.old.example.test." is below the DNAME at "old.example.test." (line 4) and can never be reached (RFC 6672 §2.4)' }]],
  ];
  it.each(cases)('%j', (text, expected) => {
    const r = parse(HEAD + text + '\n');
    if (expected.length === 0) {
      expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
      return;
    }
    expect(r.ok ? [] : r.errors.map(({ line, message }) => ({ line, message }))).toEqual(expected);
  });

  it('names the first line of a multi-line record, and the line of a bad quote inside it', () => {
    const text = HEAD + [
      'ok A 192.0.2.1', // 4
      'srv SRV ( 10', // 5
      '          20', // 6
      '          99999', // 7
      '          target )', // 8
      'mx MX ( 10', // 9
      '        "unterminated', // 10
      '        mail )', // 11
      'fine A 192.0.2.2', // 12
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      { line: 5, message: 'bad SRV port "99999" (0..65535)' },
      { line: 9, message: 'unterminated quoted string (on line 10)' },
    ]);
  });

  it('collects every error, not only the first', () => {
    const text = HEAD + 'a A 1.1.1.1.1\nb AAA x\nc MX x y\n';
    expect(errorsOf(text).map((e) => e.line)).toEqual([4, 5, 6]);
  });

  it('reports a missing SOA on line 0 (the whole file)', () => {
    expect(errorsOf('$TTL 60\nwww A 192.0.2.1\n')).toEqual([{ line: 0, message: 'no SOA record at the zone apex "example.test."' }]);
  });

  it('reports a blank-owner first record', () => {
    expect(errorsOf('$TTL 60\n  A 192.0.2.1\n@ SOA ns1 h 1 2 3 4 5\n')).toEqual([
      { line: 2, message: 'no owner name: the line starts with whitespace and no record before it names one' },
    ]);
  });

  it('does not pile errors on the blank-owner lines after a bad owner', () => {
    expect(errorsOf(HEAD + 'a..b A 192.0.2.1\n  AAAA ::1\n  TXT "x"\n  A 300.1.1.1\n')).toEqual([
      { line: 4, message: 'bad name: empty label in "a..b"' },
      { line: 7, message: 'bad IPv4 address "300.1.1.1"' },
    ]);
  });

  it('stops after 50 errors', () => {
    const text = HEAD + Array.from({ length: 200 }, (_, i) => `h${i} A 999.0.0.${i}`).join('\n');
    const errors = errorsOf(text);
    expect(errors).toHaveLength(51);
    expect(errors[49]).toEqual({ line: 53, message: 'bad IPv4 address "999.0.0.49"' });
    expect(errors[50]!.message).toBe('too many errors; stopped after 50');
  });

  it('warns (once per RRset) when records of one RRset disagree on TTL; the lowest wins', () => {
    const r = parse(HEAD + 'www 300 A 192.0.2.1\nwww 60 A 192.0.2.2\nwww 30 A 192.0.2.3\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toEqual([
      { file: 'test.zone', line: 4, message: 'TTL 300 differs from 30 of the other A records at "www.example.test." (line 6); the lowest is used (RFC 2181 §5.2)' },
    ]);
    expect(rrset(r.zone, 'www.example.test', RRType.A)?.ttl).toBe(30);
  });

  it('never throws, whatever the input', () => {
    // Deterministic mutations of a valid zone: cut, duplicate and replace characters.
    const base = readFileSync(new URL('../../../zones/example.test.zone', import.meta.url), 'utf8');
    const alphabet = ['(', ')', '"', '\\', ';', '\n', ' ', '.', '@', '$', '0', '9', 'A', '\\#', '\\999', '\u{1F600}', '\r', '\t', '*'];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      let text = base;
      for (let k = 0; k < 1 + rand(8); k++) {
        const at = rand(text.length);
        const op = rand(3);
        if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + rand(20));
        else if (op === 1) text = text.slice(0, at) + alphabet[rand(alphabet.length)]! + text.slice(at);
        else text = text.slice(0, at) + text.slice(rand(text.length));
      }
      const r = parseZoneFile(text, { file: 'fuzz', origin: 'example.test' });
      if (!r.ok) for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('the example zone', () => {
  const path = new URL('../../../zones/example.test.zone', import.meta.url);
  const text = readFileSync(path, 'utf8');

  it('parses cleanly, with its origin from the file name', () => {
    const r = parseZoneFile(text.replace(/^\$ORIGIN.*$/m, ''), { file: 'zones/example.test.zone', origin: originFromFileName('zones/example.test.zone') });
    expect(r.ok && r.warnings).toEqual([]);
    if (!r.ok) return;
    const zone = r.zone;
    expect(zone.origin).toBe('example.test');
    expect(zone.recordCount).toBe(22); // the check-zone example of docs/zone-files.md says so
    const a = (name: string, type: string) => rrset(zone, name, typeCode(type)!);
    expect(a('www.example.test', 'A')?.records).toEqual([{ type: RRType.A, address: '192.0.2.10' }]);
    expect(a('www.example.test', 'AAAA')?.records).toEqual([{ type: RRType.AAAA, address: '2001:db8::10' }]);
    expect(a('docs.example.test', 'CNAME')?.records).toEqual([{ type: RRType.CNAME, target: 'www.example.test' }]);
    expect(a('_http._tcp.api.example.test', 'SRV')?.records).toEqual([
      { type: RRType.SRV, priority: 10, weight: 60, port: 8080, target: 'api1.example.test' },
      { type: RRType.SRV, priority: 10, weight: 40, port: 8081, target: 'api2.example.test' },
    ]);
    for (const host of ['api1', 'api2']) {
      expect(a(`${host}.example.test`, 'A')).toBeDefined();
      expect(a(`${host}.example.test`, 'AAAA')).toBeDefined();
    }
    expect(a('*.apps.example.test', 'A')?.records).toEqual([{ type: RRType.A, address: '192.0.2.80' }]);
    expect(a('example.test', 'MX')?.records).toEqual([{ type: RRType.MX, preference: 10, exchange: 'mail.example.test' }]);
    const dkim = a('dkim._domainkey.example.test', 'TXT')!.records[0] as { strings: Uint8Array[] };
    expect(dkim.strings.length).toBe(2);
    expect(dkim.strings[0]!.length).toBe(255);
    for (const [, node] of zone.entries()) for (const set of node.values()) expect(set.ttl).toBeLessThanOrEqual(60);
  });
});

describe('a large zone', () => {
  it('parses 100k records', () => {
    const lines = [HEAD];
    for (let i = 0; i < 100_000; i++) lines.push(`host${i} ${i % 2 ? 'IN A' : '300 IN A'} 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const zone = zoneOf(lines.join('\n'));
    expect(zone.recordCount).toBe(100_002);
    expect(rrset(zone, 'host99999.example.test', RRType.A)?.records).toEqual([{ type: RRType.A, address: '10.1.134.159' }]);
    expect(rrset(zone, 'host99999.example.test', RRType.A)?.ttl).toBe(60);
    expect(rrset(zone, 'host0.example.test', RRType.A)?.ttl).toBe(300);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RRType, typeCode } from '../../dns/constants.js';
import { originFromFileName } from './directory.js';
import { parseZoneFile } from './master-file.js';
import { HEAD, errorsOf, expectErrorsAfterHead, parse, rrset, zoneOf } from './test-support.js';

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
    expect(rrset(zone, 'www.sub.example.test', RRType.A)?.records).toEqual([{ type: RRType.A, address: '192.0.2.1' }]);
    expect(rrset(zone, 'deeper.sub.example.test', RRType.A)?.records).toEqual([{ type: RRType.A, address: '192.0.2.2' }]);
  });

  it('is an error when neither the options nor the file give one', () => {
    expect(errorsOf(HEAD, null)).toEqual([{ line: 2, message: 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN' }]);
    expect(errorsOf('', null)).toEqual([{ line: 0, message: 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN' }]);
  });

});

describe('record lines and directives', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
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
    ['x 60 60 A 192.0.2.1', [{ line: 4, message: 'unknown type "60"' }]],
    ['x TYPE70000 \\# 0', [{ line: 4, message: 'unknown type "TYPE70000"' }]],
    ['  A 192.0.2.1', []],
    ['$INCLUDE other.zone', [{ line: 4, message: '$INCLUDE is not supported' }]],
    ['$GENERATE 1-10 host$ A 10.0.0.$', []],
    ['$FOO bar', [{ line: 4, message: 'unknown directive "$FOO"' }]],
    ['$TTL', [{ line: 4, message: '$TTL takes one TTL' }]],
    ['$TTL forever', [{ line: 4, message: '$TTL: bad TTL "forever"' }]],
    ['$ORIGIN a b', [{ line: 4, message: '$ORIGIN takes one name' }]],
    ['$ORIGIN a..b.', [{ line: 4, message: '$ORIGIN: bad name: empty label in "a..b."' }]],
    // Per-record zone rules (the others are in zone-checks.ts).
    ['www.example.org. A 192.0.2.1', [{ line: 4, message: 'owner "www.example.org." is outside the zone "example.test."' }]],
    ['$ORIGIN other.test.\nwww A 192.0.2.1', [{ line: 5, message: 'owner "www.other.test." is outside the zone "example.test."' }]],
    ['sub SOA ns1 hostmaster 1 2 3 4 5', [{ line: 4, message: 'SOA record at "sub.example.test.": it belongs at the zone apex "example.test."' }]],
    ['@ SOA ns2 hostmaster 2 2 3 4 5', [{ line: 4, message: 'second SOA record (the first is on line 2): a zone has exactly one' }]],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);

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
    for (const [host, n] of [['api1', 31], ['api2', 32]] as const) {
      expect(a(`${host}.example.test`, 'A')?.records).toEqual([{ type: RRType.A, address: `192.0.2.${n}` }]);
      expect(a(`${host}.example.test`, 'AAAA')?.records).toEqual([{ type: RRType.AAAA, address: `2001:db8::${n}` }]);
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

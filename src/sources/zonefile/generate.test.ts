import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { formatRR } from '../../dns/present.js';
import type { StaticZone } from '../../table/zone.js';
import { MAX_GENERATED, generateRange, generateTemplate } from './generate.js';
import { HEAD, expectErrorsAfterHead, parse, rrset, zoneOf } from './test-support.js';

/** Every record of the zone but the three of HEAD, as zone-file lines, sorted. */
function generated(zone: StaticZone): string[] {
  const out: string[] = [];
  for (const [name, node] of zone.entries()) {
    for (const [type, set] of node) {
      for (const data of set.records) out.push(formatRR({ name, type, ttl: set.ttl, data }));
    }
  }
  return out.filter((l) => !/^example\.test\. \d+ IN (SOA|NS) /.test(l)).sort();
}

describe('generateRange', () => {
  it('reads start-stop and start-stop/step', () => {
    expect(generateRange('1-10')).toEqual({ start: 1, stop: 10, step: 1, count: 10 });
    expect(generateRange('0-30/10')).toEqual({ start: 0, stop: 30, step: 10, count: 4 });
    expect(generateRange('0-31/10')).toEqual({ start: 0, stop: 31, step: 10, count: 4 });
    expect(generateRange('7-7')).toEqual({ start: 7, stop: 7, step: 1, count: 1 });
  });

  it.each(['1', '3-1', '1-2/0', '1-2x', '-1-2', 'a-b', '1-2/', '0-2147483648'])('refuses "%s"', (text) => {
    expect(() => generateRange(text)).toThrow(`bad range "${text}"`);
  });

  it(`bounds the records of one directive at ${MAX_GENERATED}`, () => {
    expect(generateRange(`0-${MAX_GENERATED - 1}`).count).toBe(MAX_GENERATED);
    expect(() => generateRange(`0-${MAX_GENERATED}`)).toThrow(`range "0-${MAX_GENERATED}" would generate ${MAX_GENERATED + 1} records; at most ${MAX_GENERATED} per $GENERATE`);
    expect(generateRange(`0-${MAX_GENERATED * 2 - 1}/2`).count).toBe(MAX_GENERATED);
  });
});

describe('generateTemplate', () => {
  // [template, value, text] — each checked against named-compilezone 9.18 (see test/named-compilezone.test.ts)
  const cases: [string, number, string][] = [
    ['host$', 7, 'host7'],
    ['$.$', 3, '3.3'],
    ['w${0,3}', 10, 'w010'],
    ['w${1}', 10, 'w11'],
    ['w${-1}', 10, 'w9'],
    ['w${+2,0,d}', 10, 'w12'],
    ['w${-20,4}', 10, 'w-010'],
    ['x${0,4,x}', 10, 'x000a'],
    ['x${0,0,X}', 26, 'x1A'],
    ['o${0,0,o}', 8, 'o10'],
    ['${0,0,n}', 0x1a, 'a.1'],
    ['${0,0,N}', 0x1a, 'A.1'],
    ['${0,3,n}', 0x1a, 'a.1'],
    ['${0,5,n}', 0x1a, 'a.1.0'],
    ['${0,4,n}', 0x1a, 'a.1.'], // BIND's quirk: an even width ends in a dot
    ['${0,7,n}', 0, '0.0.0.0'],
    ['${0,1,n}', 0, '0'],
    ['d\\$$', 1, 'd\\$1'],
    ['dd$$', 1, 'dd$'],
    ['a\\065$', 2, 'a\\0652'],
    ['${1}${2}', 0, '12'],
    ['plain', 5, 'plain'],
  ];
  it.each(cases)('%s at %d is %s', (template, value, text) => {
    expect(generateTemplate(template).expand(value)).toBe(text);
  });

  it('knows a template without $ is constant', () => {
    expect(generateTemplate('10.0.0.1').constant).toBe(true);
    expect(generateTemplate('a\\$b').constant).toBe(true);
    expect(generateTemplate('10.0.0.$').constant).toBe(false);
  });

  it.each(['a${}', 'a${1,2', 'a${0,3,q}', 'a${1,}', 'a${x}', 'a${1,2,x'])('refuses the modifier in "%s"', (template) => {
    expect(() => generateTemplate(template)).toThrow(`bad modifier in "${template}"`);
  });

  it('refuses what BIND cannot format', () => {
    expect(() => generateTemplate('a${0,200}')).toThrow('modifier "${0,200}" is out of range');
    expect(() => generateTemplate('a${1}').expand(2147483647)).toThrow('2147483647 + 1 is out of range');
    expect(() => generateTemplate('a${-5,0,n}').expand(1)).toThrow('1 + -5 is negative, which has no nibble form');
  });
});

describe('$GENERATE in a zone file', () => {
  it('generates the records BIND does', () => {
    const zone = zoneOf(
      HEAD +
        [
          '$GENERATE 1-3 host$ A 10.0.0.$',
          '$GENERATE 0-20/10 w${0,3} A 10.0.1.${1}',
          '$GENERATE 1-2 mx$ MX "10 mx$"',
          '$GENERATE 1-2 t$ TXT "hello $ \\$"',
          '$GENERATE 1-2 ttl$ 1h30m A 10.0.2.$',
          '$GENERATE 1-2 cls$ IN 301 A 10.0.3.$',
          '$GENERATE 26-27 ${0,0,n}.nib PTR host$.example.org.',
          '$generate 0-0 @ txt "lower-case directive"',
        ].join('\n') +
        '\n',
    );
    expect(generated(zone)).toEqual(
      [
        'example.test. 60 IN TXT "lower-case" "directive"', // the data is read again as RDATA, as in BIND
        'host1.example.test. 60 IN A 10.0.0.1',
        'host2.example.test. 60 IN A 10.0.0.2',
        'host3.example.test. 60 IN A 10.0.0.3',
        'w000.example.test. 60 IN A 10.0.1.1',
        'w010.example.test. 60 IN A 10.0.1.11',
        'w020.example.test. 60 IN A 10.0.1.21',
        'mx1.example.test. 60 IN MX 10 mx1.example.test.',
        'mx2.example.test. 60 IN MX 10 mx2.example.test.',
        't1.example.test. 60 IN TXT "hello" "1" "$"',
        't2.example.test. 60 IN TXT "hello" "2" "$"',
        'ttl1.example.test. 5400 IN A 10.0.2.1',
        'ttl2.example.test. 5400 IN A 10.0.2.2',
        'cls1.example.test. 301 IN A 10.0.3.1',
        'cls2.example.test. 301 IN A 10.0.3.2',
        'a.1.nib.example.test. 60 IN PTR host26.example.org.',
        'b.1.nib.example.test. 60 IN PTR host27.example.org.',
      ].sort(),
    );
  });

  it('leaves the owner that blank-owner lines inherit alone, and sets the TTL they inherit, as BIND does', () => {
    const zone = zoneOf('@ 60 SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nowner A 192.0.2.1\n$GENERATE 1-2 g$ 300 A 192.0.2.$\n  A 192.0.2.9\n');
    expect(rrset(zone, 'owner.example.test', RRType.A)?.records).toEqual([
      { type: RRType.A, address: '192.0.2.1' },
      { type: RRType.A, address: '192.0.2.9' },
    ]);
    expect(rrset(zone, 'g1.example.test', RRType.A)?.ttl).toBe(300);
  });

  it('generates a /24 of PTRs in a reverse zone', () => {
    const r = parse('$TTL 60\n@ SOA ns1.example.test. h.example.test. 1 2 3 4 5\n@ NS ns1.example.test.\n$GENERATE 0-255 $ PTR host-$.example.test.\n', '2.0.192.in-addr.arpa');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.zone.recordCount).toBe(258);
    expect(rrset(r.zone, '42.2.0.192.in-addr.arpa', RRType.PTR)?.records).toEqual([{ type: RRType.PTR, target: 'host-42.example.test' }]);
  });

  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['$GENERATE 3-1 a$ A 10.0.0.$', [{ line: 4, message: '$GENERATE: bad range "3-1": start-stop or start-stop/step, with 0 <= start <= stop < 2^31 and step >= 1' }]],
    ['$GENERATE 0-99999 a$ A 10.0.0.1', [{ line: 4, message: '$GENERATE: range "0-99999" would generate 100000 records; at most 65536 per $GENERATE' }]],
    ['$GENERATE 1-2 a$', [{ line: 4, message: '$GENERATE: takes a range, an owner, [TTL] [class], a type and the RDATA: $GENERATE 1-10 host$ A 192.0.2.$' }]],
    ['$GENERATE 1-2 a$ A', [{ line: 4, message: '$GENERATE: missing the A data' }]],
    ['$GENERATE 1-2 a$ 60', [{ line: 4, message: '$GENERATE: missing type' }]],
    ['$GENERATE 1-2 mx$ MX 10 mx$', [{ line: 4, message: '$GENERATE: unexpected "mx$": the data is one field; quote it when it has spaces ("10 mail$")' }]],
    ['$GENERATE 1-2 "a$" A 10.0.0.1', [{ line: 4, message: '$GENERATE: the owner must not be quoted' }]],
    ['$GENERATE 1-2 a$ FOO 1', [{ line: 4, message: '$GENERATE: unknown type "FOO"' }]],
    ['$GENERATE 1-2 a$ CH A 10.0.0.1', [{ line: 4, message: '$GENERATE: class "CH" is not supported: only IN' }]],
    ['$GENERATE 1-2 a$ 1x A 10.0.0.1', [{ line: 4, message: '$GENERATE: bad TTL "1x"' }]],
    ['$GENERATE 1-2 a${0,3,q} A 10.0.0.1', [{ line: 4, message: '$GENERATE: bad modifier in "a${0,3,q}": ${offset}, ${offset,width} or ${offset,width,base} with base d, o, x, X, n or N' }]],
    ['$GENERATE 254-256 a$ A 10.0.0.$', [{ line: 4, message: '$GENERATE: bad IPv4 address "10.0.0.256" (for 256 of 254-256)' }]],
    ['$GENERATE 26-27 ${0,4,n}.nib A 10.0.0.1', [{ line: 4, message: '$GENERATE: bad name: empty label in "a.1..nib" (for 26 of 26-27)' }]],
    ['$GENERATE 0-1 a$.other.test. A 10.0.0.$', [{ line: 4, message: 'owner "a0.other.test." is outside the zone "example.test."' }]],
    ['$GENERATE 0-1 a$ TXT "unterminated', [{ line: 4, message: 'unterminated quoted string' }]],
    ['$GENERATE 0-1 a$ CNAME b$\na0 A 10.1.1.1', [{ line: 5, message: 'A at "a0.example.test." beside a CNAME (line 4): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['$GENERATE 0-1 a$ A 10.0.0.$ ; a comment', []],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);

  it('needs an origin like any record', () => {
    const r = parse('$GENERATE 1-2 a$ A 10.0.0.$\n', null);
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual(['no origin: name the file after its zone (example.test.zone) or add $ORIGIN']);
  });
});

/**
 * Fuzzing the zone-file parser (fast-check): zone files modelled as lines of directives and
 * records (owners, TTLs, classes, types, RDATA tokens, quotes, escapes, parentheses, comments),
 * then corrupted character by character, plus arbitrary text. Whatever the input, the parser
 * returns (no throw, no "internal error", no hang), its errors name lines of the file, and
 * whatever it accepts is servable: names within limits and inside the zone, TTLs within
 * RFC 2181 §8, every RRset encodable on the wire.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RRClass, Rcode } from '../../dns/constants.js';
import { isSubdomain, MAX_LABEL_OCTETS, MAX_NAME_OCTETS, wireLength } from '../../dns/name.js';
import { buildTemplate } from '../../wire/response.js';
import { parseZoneFile, type ParseResult } from './master-file.js';

const RUNS = process.env.SOAK === '1' ? 50_000 : 5_000;
/** Fixed, so a failure replays; `npm run soak` sets FUZZ_SEED to explore further. */
const SEED = Number(process.env.FUZZ_SEED ?? 4711);

const OWNERS = ['@', 'www', 'WWW', '*', '*.apps', 'a.b.c', 'abs.example.test.', 'other.org.', '', ' ', '\\046dot', 'a\\.b', '\\999', '\\', 'x'.repeat(63), 'y'.repeat(64), `${'z'.repeat(63)}.`.repeat(4), '..', '.', '"quoted"', '_srv._tcp'];
const TTLS = ['', '60', '0', '1h30m', '2w', '2147483647', '2147483648', '4294967296', '99999999999999999999', '-1', '1x', '1h1', 'h'];
const CLASSES = ['', 'IN', 'in', 'CH', 'HS', 'CLASS1', 'CLASS255', 'CLASS99999', 'NONE', 'ANY'];
const TYPES = ['A', 'AAAA', 'NS', 'CNAME', 'DNAME', 'PTR', 'MX', 'SRV', 'TXT', 'SPF', 'SOA', 'CAA', 'HINFO', 'NAPTR', 'TYPE65534', 'TYPE0', 'TYPE65536', 'TYPE41', 'OPT', 'ANY', 'AXFR', 'SSHFP', 'BOGUS', 'a'];
const RDATA_TOKENS = [
  '192.0.2.1', '10.0.0.256', '1.2.3', '2001:db8::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '::', '0', '10', '65535', '65536', '-1',
  'ns1', 'mail.example.test.', '@', '.', '"text"', '"a \\"q\\" b"', '"\\010\\255"', '"\\256"', '"unterminated', '\\#', '3', '010203', 'zz', '0a0b',
  `"${'t'.repeat(300)}"`, '(', ')', '; comment', 'issue', '"ca.example"', 'U', '"E2U+sip"', '"!^.*$!sip:x@y!"', 'tag1', '128',
];

/** One line of a zone file, as tokens. */
const recordLine = fc
  .tuple(
    fc.constantFrom(...OWNERS),
    fc.constantFrom(...TTLS),
    fc.constantFrom(...CLASSES),
    fc.boolean(),
    fc.constantFrom(...TYPES),
    fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...RDATA_TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), { maxLength: 8 }),
    fc.constantFrom('', ' ; trailing comment', ' (', ' )'),
  )
  .map(([owner, ttl, cls, classFirst, type, rdata, tail]) => {
    const middle = classFirst ? [cls, ttl] : [ttl, cls];
    return [owner, ...middle, type, ...rdata].filter((t) => t !== '').join(' ') + tail;
  });

/** A line that is valid on its own (types with matching RDATA), so that whole zones parse too. */
const validLine = fc
  .tuple(
    fc.constantFrom('@', 'www', '*', '*.apps', 'a.b.c', 'abs.example.test.', '_srv._tcp', 'Mixed.Case', 'x\\.y', '\\065'),
    fc.constantFrom('', '60 ', '1h ', 'IN ', '30 IN ', 'IN 30 '),
    fc.constantFrom(
      'A 192.0.2.1',
      'AAAA 2001:db8::1',
      'NS ns1',
      'MX 10 mail',
      'SRV 0 5 443 target.example.test.',
      'TXT "hello" world "with \\"quotes\\""',
      `TXT "${'l'.repeat(400)}"`,
      'CAA 0 issue "ca.example"',
      'HINFO "cpu" "os"',
      'NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:x@example.test!" .',
      'PTR host.example.test.',
      'TYPE65534 \\# 3 010203',
      'SPF "v=spf1 -all"',
      'A ( 192.0.2.7 ) ; split',
    ),
  )
  .map(([owner, ttlClass, rest]) => `${owner} ${ttlClass}${rest}`);

const directiveLine = fc.oneof(
  fc.constantFrom('$ORIGIN example.test.', '$ORIGIN sub', '$ORIGIN .', '$ORIGIN', '$TTL 60', '$TTL 1h', '$TTL', '$TTL -5', '$TTL 4294967296', '$INCLUDE other.zone', '$GENERATE 1-10 $ A 1.2.3.$', '$BOGUS x'),
  fc.tuple(fc.constantFrom('$ORIGIN ', '$TTL '), fc.string({ maxLength: 20 })).map(([d, v]) => d + v),
);

const SOA = '@ 3600 IN SOA ns1 hostmaster ( 1 7200 1800 86400 30 )';

const zoneTextArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.boolean(), // starts with an SOA (a valid zone needs one)
    fc.oneof(
      // Mostly valid lines: the zone as a whole has a chance to parse.
      fc.array(fc.oneof({ weight: 12, arbitrary: validLine }, { weight: 1, arbitrary: recordLine }, { weight: 1, arbitrary: directiveLine }), { maxLength: 25 }),
      // Anything goes.
      fc.array(fc.oneof({ weight: 6, arbitrary: recordLine }, { weight: 1, arbitrary: directiveLine }, { weight: 1, arbitrary: fc.constantFrom('', ';', '   ', '(', ')', '\t x A 1.2.3.4') }), { maxLength: 25 }),
    ),
    fc.constantFrom('\n', '\r\n', '\r'),
    fc.boolean(), // byte-order mark
  )
  .map(([soa, lines, eol, bom]) => (bom ? '\ufeff' : '') + (soa ? [SOA, ...lines] : lines).join(eol) + eol);

type Edit = { at: number; op: 'insert' | 'delete' | 'replace' | 'truncate'; text: string };
const editArb: fc.Arbitrary<Edit> = fc.record({
  at: fc.noBias(fc.integer({ min: 0, max: 9999 })),
  op: fc.constantFrom('insert' as const, 'delete' as const, 'replace' as const, 'truncate' as const),
  text: fc.oneof(fc.constantFrom('(', ')', '"', '\\', ';', '\n', ' ', '.', '@', '*', '\\0', '\\256', '$', '\u0000', '\u00e9', '\ud800'), fc.string({ maxLength: 4 })),
});

function applyEdits(text: string, edits: readonly Edit[]): string {
  let t = text;
  for (const e of edits) {
    const at = Math.floor((e.at / 10000) * (t.length + 1));
    if (e.op === 'insert') t = t.slice(0, at) + e.text + t.slice(at);
    else if (e.op === 'delete') t = t.slice(0, at) + t.slice(at + 1 + e.text.length);
    else if (e.op === 'replace') t = t.slice(0, at) + e.text + t.slice(at + e.text.length);
    else t = t.slice(0, at);
  }
  return t;
}

const inputArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: zoneTextArb },
  { weight: 4, arbitrary: fc.tuple(zoneTextArb, fc.array(editArb, { minLength: 1, maxLength: 5 })).map(([t, e]) => applyEdits(t, e)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('(', ')', '"', '\\', ';', '\n', ' ', 'a', '.', '$', '@', '1'), maxLength: 300 }) },
);

/** What every result must satisfy, whatever the input. */
function checkResult(text: string, result: ParseResult): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  if (!result.ok) {
    expect(result.errors.length).toBeGreaterThan(0);
    // A cap on errors (the first ones are the fix), plus the file-level one.
    expect(result.errors.length).toBeLessThanOrEqual(52);
    for (const e of result.errors) {
      expect(e.message).not.toMatch(/internal error/);
      expect(e.line).toBeGreaterThanOrEqual(0);
      expect(e.line).toBeLessThanOrEqual(lines + 1);
    }
    return;
  }
  const zone = result.zone;
  for (const w of result.warnings) expect(w.message).not.toMatch(/internal error/);
  // Plain checks in the loops (not expect): 100 000 records must be checked quickly.
  const fail = (why: string) => expect.fail(why);
  for (const [name, node] of zone.entries()) {
    if (!isSubdomain(name, zone.origin)) fail(`${name} is outside ${zone.origin}`);
    if (wireLength(name) > MAX_NAME_OCTETS) fail(`${name} is longer than 255 octets`);
    for (const label of name === '' ? [] : name.split('.')) {
      if (label.length === 0 || label.length > MAX_LABEL_OCTETS) fail(`${name} has a label of ${label.length} octets`);
    }
    for (const rrset of node.values()) {
      if (!(rrset.ttl >= 0 && rrset.ttl <= 0x7fffffff)) fail(`${name} has TTL ${rrset.ttl}`);
      // Servable: the RRset encodes on the wire.
      buildTemplate({
        question: { name, type: rrset.type, class: RRClass.IN },
        rcode: Rcode.NOERROR,
        authoritative: true,
        answer: rrset.records.map((data) => ({ name, type: rrset.type, ttl: rrset.ttl, data })),
        authority: [],
        additional: [],
      });
    }
  }
}

function timedParse(text: string): { result: ParseResult; ms: number } {
  const started = performance.now();
  const result = parseZoneFile(text, { file: 'fuzz.zone', origin: 'example.test' });
  return { result, ms: performance.now() - started };
}

describe('parseZoneFile under fuzzing', () => {
  it('returns a result for any text (structured, mutated, random), never throws, and accepts only servable zones', () => {
    let accepted = 0;
    fc.assert(
      fc.property(inputArb, (text) => {
        const { result, ms } = timedParse(text);
        checkResult(text, result);
        if (result.ok) accepted++;
        // Linear in the input: these inputs are under 20 KB.
        expect(ms).toBeLessThan(1000);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The generator is not just producing garbage: a fair share parses.
    expect(accepted).toBeGreaterThan(RUNS / 40);
  }, 120_000);

  it.each([
    ['a million opening parentheses', '@ SOA ns h 1 2 3 4 5\n' + '('.repeat(1_000_000)],
    ['a million closing parentheses', ')'.repeat(1_000_000)],
    ['a 1 MB quoted string', `@ SOA ns h 1 2 3 4 5\nx TXT "${'a'.repeat(1_000_000)}"`],
    ['a million backslashes', `x TXT ${'\\'.repeat(1_000_000)}`],
    ['200 000 lines of garbage', 'x y z\n'.repeat(200_000)],
    ['100 000 valid records', '@ SOA ns h 1 2 3 4 5\n' + Array.from({ length: 100_000 }, (_, i) => `h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join('\n')],
    ['one name of 10 000 labels', `${'a.'.repeat(10_000)} A 1.2.3.4`],
    ['a million-digit TTL', `@ SOA ns h 1 2 3 4 5\nx ${'9'.repeat(1_000_000)} A 1.2.3.4`],
    ['a TXT with 100 000 strings', `@ SOA ns h 1 2 3 4 5\nx TXT ${'"ab" '.repeat(100_000)}`],
  ])('copes with %s in linear time', (_, text) => {
    const { result, ms } = timedParse(text);
    checkResult(text, result);
    expect(ms).toBeLessThan(5000);
  }, 30_000);
});

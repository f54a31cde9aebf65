/**
 * Fuzzing the zone-file parser (fast-check): zone files modelled as lines of directives and
 * records (owners, TTLs, classes, types, RDATA tokens, quotes, escapes, parentheses, comments),
 * then corrupted character by character, plus the example zone corrupted and arbitrary text.
 * Properties that can fail:
 * - whatever the input, the parser returns (no throw, no "internal error", no hang); every
 *   error and warning names the file and a line that exists (0 for the whole file), errors in
 *   file order, at most 50 plus the "too many errors" one;
 * - whatever it accepts is servable: names within limits and inside the zone, TTLs within
 *   RFC 2181 §8, every RRset encodable on the wire;
 * - round trips: records of every type, with arbitrary octets in names and strings, written in
 *   presentation form (dns/present.ts) or with their RDATA in RFC 3597 generic form (bytes from
 *   the wire writer), parse to the same records; and so does every zone the parser accepted.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RRClass, RRType, Rcode } from '../../dns/constants.js';
import { canonicalIPv6 } from '../../dns/ip.js';
import { DOT_IN_LABEL, isSubdomain, MAX_LABEL_OCTETS, MAX_NAME_OCTETS, toPresentation, wireLength, type Name } from '../../dns/name.js';
import { formatRR } from '../../dns/present.js';
import type { RData, RR } from '../../dns/records.js';
import { StaticZone } from '../../table/zone.js';
import { buildTemplate } from '../../wire/response.js';
import { MessageWriter } from '../../wire/writer.js';
import { parseZoneFile, type ParseResult, type ZoneFileError } from './master-file.js';

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
    fc.constantFrom('@', 'www', '*', '*.apps', 'a.b.c', 'abs.example.test.', '_srv._tcp', 'Mixed.Case', 'x\\.y', '\\065', 'we\\"ird', 'semi\\;colon', 'at\\@', 'do\\$lar', '\\200high', 'sp\\ ace', 'par\\(en\\)'),
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
      'TXT "\\000\\255\\"\\\\;()" "" x\\ y',
      'HINFO "\\"cpu\\"" "os\\010"',
      'NAPTR 100 10 "S" "SIP+D2U" "!^.*$!\\\\1!" _sip._udp',
      'CAA 128 tag1 "\\255"',
      'MX 0 .',
      'DS 60485 5 1 2BB183AF5F22588179A3E9A6',
      'SSHFP 1 2 ABCDEF01',
      'TLSA 3 1 1 00ff',
      'TYPE65534 \\# 0',
      'A \\# 4 C0000201',
      'SRV \\# 9 0001 0002 0003 016100',
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

/** The example zone, so that mutations start from a real, well-formed file. */
const EXAMPLE = readFileSync(new URL('../../../zones/example.test.zone', import.meta.url), 'utf8');

const inputArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: zoneTextArb },
  { weight: 2, arbitrary: fc.array(editArb, { minLength: 1, maxLength: 8 }).map((e) => applyEdits(EXAMPLE, e)) },
  { weight: 4, arbitrary: fc.tuple(zoneTextArb, fc.array(editArb, { minLength: 1, maxLength: 5 })).map(([t, e]) => applyEdits(t, e)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('(', ')', '"', '\\', ';', '\n', ' ', 'a', '.', '$', '@', '1'), maxLength: 300 }) },
);

// Records modelled directly, for the round trip: canonical names (any octet but A-Z; a '.'
// octet is DOT_IN_LABEL) and every RDATA shape, with octets a presentation form must escape.
const octet = fc.integer({ min: 0, max: 255 }).filter((b) => b < 0x41 || b > 0x5a);
const labelArb = fc.array(octet, { minLength: 1, maxLength: 12 }).map((bs) => bs.map((b) => (b === 0x2e ? DOT_IN_LABEL : String.fromCharCode(b))).join(''));
const nameArb: fc.Arbitrary<Name> = fc.array(labelArb, { maxLength: 4 }).map((ls) => ls.join('.'));
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.tuple(u16, u16).map(([high, low]) => high * 0x10000 + low);
const bytesArb = (max: number) => fc.uint8Array({ maxLength: max });
/** RFC 8659 §4.1: letters and digits (canonical lower case here); any length up to 255. */
const caaTag = fc.noBias(fc.integer({ min: 1, max: 255 })).chain((n) => fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), { minLength: n, maxLength: n }).map((cs) => cs.join('')));
const rdataArb: fc.Arbitrary<RData> = fc.oneof(
  fc.tuple(u8, u8, u8, u8).map((b) => ({ type: RRType.A, address: b.join('.') })),
  fc.array(u16, { minLength: 8, maxLength: 8 }).map((g) => ({ type: RRType.AAAA, address: canonicalIPv6(g.map((x) => x.toString(16)).join(':'))! })),
  fc.tuple(fc.constantFrom(RRType.NS, RRType.CNAME, RRType.PTR, RRType.DNAME), nameArb).map(([type, target]) => ({ type, target }) as RData),
  fc.tuple(u16, nameArb).map(([preference, exchange]) => ({ type: RRType.MX, preference, exchange })),
  fc.tuple(u16, u16, u16, nameArb).map(([priority, weight, port, target]) => ({ type: RRType.SRV, priority, weight, port, target })),
  fc.tuple(fc.constantFrom(RRType.TXT, RRType.SPF), fc.array(bytesArb(40), { minLength: 1, maxLength: 4 })).map(([type, strings]) => ({ type, strings }) as RData),
  fc.tuple(u8, caaTag, bytesArb(40)).map(([flags, tag, value]) => ({ type: RRType.CAA, flags, tag, value })),
  fc.tuple(bytesArb(20), bytesArb(20)).map(([cpu, os]) => ({ type: RRType.HINFO, cpu, os })),
  fc.tuple(u16, u16, bytesArb(8), bytesArb(20), bytesArb(30), nameArb).map(([order, preference, flags, services, regexp, replacement]) => ({ type: RRType.NAPTR, order, preference, flags, services, regexp, replacement })),
  fc.tuple(fc.constantFrom(RRType.DS, RRType.SSHFP, RRType.TLSA, RRType.SVCB, 65534), bytesArb(40)).map(([type, raw]) => ({ type, generic: true, raw }) as RData),
);
/** Records at distinct owners (so no CNAME or DNAME rule applies), after an SOA at the apex. */
const recordsArb: fc.Arbitrary<RR[]> = fc
  .tuple(
    fc.tuple(nameArb, nameArb, u32, u32, u32, u32, fc.integer({ min: 0, max: 0x7fffffff })),
    fc.array(fc.tuple(nameArb, fc.integer({ min: 0, max: 0x7fffffff }), rdataArb), { maxLength: 12 }),
  )
  .map(([[mname, rname, serial, refresh, retry, expire, minimum], rest]) => [
    { name: 'example.test', type: RRType.SOA, ttl: 3600, data: { type: RRType.SOA, mname, rname, serial, refresh, retry, expire, minimum } },
    ...rest.map(([owner, ttl, data], i) => ({ name: owner === '' ? `r${i}.example.test` : `${owner}.r${i}.example.test`, type: data.type, ttl, data })),
  ]);

/** The line count as the tokenizer sees it: only "\n" ends a line ("\r" is whitespace). */
function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** A problem names the file and lines that exist, in its `line` and in its message. */
function checkProblem(p: ZoneFileError, lines: number): void {
  if (p.file !== 'fuzz.zone') expect.fail(`problem names file ${p.file}: ${JSON.stringify(p)}`);
  if (!Number.isInteger(p.line) || p.line < 0 || p.line > lines) expect.fail(`line ${p.line} of a ${lines}-line file: ${JSON.stringify(p)}`);
  if (/internal error/.test(p.message)) expect.fail(p.message);
  for (const [, cited] of p.message.matchAll(/\bline (\d+)\b/g)) {
    if (Number(cited) > lines) expect.fail(`message cites line ${cited} of a ${lines}-line file: ${p.message}`);
  }
}

/** What every result must satisfy, whatever the input. */
function checkResult(text: string, result: ParseResult): void {
  const lines = lineCount(text);
  if (!result.ok) {
    const { errors } = result;
    expect(errors.length).toBeGreaterThan(0);
    // A cap on errors (the first ones are the fix), plus the one that says so.
    expect(errors.length).toBeLessThanOrEqual(51);
    for (const e of errors) checkProblem(e, lines);
    const capped = errors.at(-1)!.message === 'too many errors; stopped after 50';
    if (capped) expect(errors).toHaveLength(51);
    // In file order; those about the whole file (line 0) last.
    const order = (capped ? errors.slice(0, -1) : errors).map((e) => e.line || Infinity);
    for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) expect.fail(`errors out of order: ${JSON.stringify(errors)}`);
    return;
  }
  const zone = result.zone;
  for (const w of result.warnings) checkProblem(w, lines);
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

/**
 * Parses, timing the CPU this process spent (user + system), not the wall clock: on a loaded
 * machine (CI, load average 16) the wall clock of a linear 100k-record parse reached 7.9 s
 * while a quadratic one would still take minutes of CPU.
 */
function timedParse(text: string): { result: ParseResult; ms: number } {
  const started = process.cpuUsage();
  const result = parseZoneFile(text, { file: 'fuzz.zone', origin: 'example.test' });
  const used = process.cpuUsage(started);
  return { result, ms: (used.user + used.system) / 1000 };
}

/** Every record of a zone, RRset by RRset. */
function recordsOf(zone: StaticZone): RR[] {
  const out: RR[] = [];
  for (const [, node] of zone.entries()) for (const set of node.values()) for (const data of set.records) out.push({ name: set.name, type: set.type, ttl: set.ttl, data });
  return out;
}

/** The zone's content, independent of the order names were first seen in. */
function contentOf(zone: StaticZone) {
  return [...zone.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, node]) => ({ name, sets: [...node.values()].sort((a, b) => a.type - b.type).map((s) => ({ type: s.type, ttl: s.ttl, records: s.records })) }));
}

/**
 * One record with its RDATA in RFC 3597 §5 generic form, the bytes from the wire writer. The SOA
 * stays in presentation form: the writer compresses RNAME against MNAME, as RFC 1035 allows on
 * the wire, and generic RDATA is uncompressed (RFC 3597 §4).
 */
function genericLine(rr: RR): string {
  if (rr.type === RRType.SOA) return formatRR(rr);
  const w = new MessageWriter();
  w.rdata(rr.data);
  const bytes = w.toBuffer();
  return `${toPresentation(rr.name)} ${rr.ttl} IN TYPE${rr.type} \\# ${bytes.length} ${bytes.toString('hex')}`;
}

function reparse(zone: StaticZone, line: (rr: RR) => string): ParseResult {
  const text = recordsOf(zone).map(line).join('\n') + '\n';
  return parseZoneFile(text, { file: 'fuzz.zone', origin: zone.origin });
}

describe('parseZoneFile under fuzzing', () => {
  it('returns a result for any text (structured, mutated, random), never throws, names real lines, and accepts only servable zones', () => {
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

  it('reads back any records written out: presentation form and generic form give the records written', () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const expected = contentOf(StaticZone.fromRecords('example.test', records, 'expected'));
        for (const line of [formatRR, genericLine]) {
          const text = records.map(line).join('\n') + '\n';
          const r = parseZoneFile(text, { file: 'fuzz.zone', origin: 'example.test' });
          if (!r.ok) expect.fail(`${line.name}: ${JSON.stringify(r.errors)}\nof\n${text}`);
          expect(r.warnings).toEqual([]);
          expect(contentOf(r.zone), text).toEqual(expected);
        }
      }),
      { numRuns: RUNS / 5, seed: SEED + 2 },
    );
  }, 120_000);

  it('reads back what it accepted: written out in presentation form and in generic form, the zone parses to itself', () => {
    let checked = 0;
    fc.assert(
      fc.property(inputArb, (text) => {
        const first = parseZoneFile(text, { file: 'fuzz.zone', origin: 'example.test' });
        if (!first.ok) return;
        checked++;
        for (const line of [formatRR, genericLine]) {
          const again = reparse(first.zone, line);
          if (!again.ok) expect.fail(`${line.name}: ${JSON.stringify(again.errors)}\nof\n${recordsOf(first.zone).map(line).join('\n')}`);
          // Every record carries its TTL and each RRset one TTL: nothing to warn about.
          expect(again.warnings).toEqual([]);
          expect(again.zone.origin).toBe(first.zone.origin);
          expect(contentOf(again.zone)).toEqual(contentOf(first.zone));
        }
      }),
      { numRuns: RUNS / 4, seed: SEED + 1 },
    );
    expect(checked).toBeGreaterThan(RUNS / 160);
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

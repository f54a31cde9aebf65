/**
 * Fuzzing the per-type RDATA parsers directly (fast-check): any tokenized fields after any type either
 * give RDATA of that type or throw RecordError, the per-record error the file-level parser
 * reports and moves past. Anything else (a TypeError, a RangeError) would end the whole file's
 * parse with an "internal error".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { RecordError } from './fields.js';
import { parseRData } from './rdata-parsers.js';
import { tokenize, type Entry, type Token } from './tokenizer.js';

const RUNS = process.env.SOAK === '1' ? 50_000 : 5_000;
const SEED = Number(process.env.FUZZ_SEED ?? 1035);

const TOKENS = [
  '\\#', '0', '1', '3', '4', '16', '255', '256', '65535', '65536', '4294967295', '4294967296', '-1', '1h', '99999999999999999999',
  '192.0.2.1', '2001:db8::1', '::', 'c0000201', '00', '0102', '010203', 'zz', 'f', 'ns1', 'a.b.', '@', '.', '..', '\\', '\\.', '\\065',
  '\\256', '\\12', 'issue', 'é', '\u{1F600}', '',
];
/**
 * RDATA tokens as the tokenizer makes them from a line of text (so its guarantees hold: e.g. a
 * token never ends in a lone backslash); lines it refuses are left out.
 */
const tokensArb: fc.Arbitrary<Token[]> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...TOKENS) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
      { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 40 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((t) => `"${t}"`) },
    ),
    { maxLength: 10 },
  )
  .map((parts) => {
    const entries: Entry[] = [];
    tokenize(`x ${parts.join(' ')}`, (e) => (entries.push(e), true));
    const first = entries[0];
    return entries.length === 1 && first!.error === undefined ? first!.tokens.slice(1) : [];
  });
const typeArb = fc.oneof(fc.constantFrom(...Object.values(RRType)), fc.integer({ min: 1, max: 0xffff }));

describe('parseRData under fuzzing', () => {
  it('returns RDATA of the type or throws RecordError, whatever the tokens', () => {
    let parsed = 0;
    fc.assert(
      fc.property(typeArb, tokensArb, (type, tokens) => {
        try {
          const data = parseRData(type, tokens, 0, { origin: 'example.test' });
          expect(data.type).toBe(type);
          parsed++;
        } catch (err) {
          if (!(err instanceof RecordError)) throw new Error(`type ${type}, tokens ${JSON.stringify(tokens.map((t) => t.text))}: threw ${String(err)}`, { cause: err });
          expect(err.code).toBe('ETCDNS_ERR_ZONE_FILE_RECORD');
          expect(err.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Some inputs parse: the property is not only about errors.
    expect(parsed).toBeGreaterThan(RUNS / 100);
  }, 60_000);
});

/**
 * Fuzzing the tokenizer (fast-check): for any text it returns, and the entries it hands on are
 * in order, start on real lines, and hold tokens that are slices of the text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenize, type Entry } from './tokenizer.js';

const RUNS = process.env.SOAK === '1' ? 50_000 : 5_000;
const SEED = Number(process.env.FUZZ_SEED ?? 1034);

const textArb = fc.oneof(
  fc.string({ unit: fc.constantFrom('(', ')', '"', '\\', ';', '\n', '\r', ' ', '\t', 'a', '1', '.', '$', '@', '\ufeff'), maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

describe('tokenize under fuzzing', () => {
  it('hands on entries in line order, on lines that exist, with tokens found in the text', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        const lines = text.split('\n');
        const entries: Entry[] = [];
        tokenize(text, (e) => {
          entries.push(e);
          return true;
        });
        let previous = 0;
        for (const e of entries) {
          expect(e.line).toBeGreaterThan(previous);
          expect(e.line).toBeLessThanOrEqual(lines.length);
          previous = e.line;
          // RFC 1035 §5.1: a line that starts with a blank has no owner of its own.
          const physical = lines[e.line - 1]!.replace(e.line === 1 ? /^\ufeff/ : /^$/, '');
          expect(e.blankOwner).toBe(physical.startsWith(' ') || physical.startsWith('\t'));
          expect(e.tokens.length > 0 || e.error !== undefined).toBe(true);
          for (const t of e.tokens) {
            expect(t.line).toBeGreaterThanOrEqual(e.line);
            expect(t.line).toBeLessThanOrEqual(lines.length);
            expect(lines[t.line - 1]).toContain(t.quoted ? `"${t.text}"` : t.text);
          }
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

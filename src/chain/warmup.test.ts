import { describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import { decodeQuery } from '../wire/query.js';
import { warmUpQueryPath } from './warmup.js';

describe('warmUpQueryPath', () => {
  it('asks the handler well-formed questions about the zones, with and without EDNS', () => {
    const seen: Buffer[] = [];
    warmUpQueryPath((message) => (seen.push(Buffer.from(message)), null), ['example.test', 'other.test'], 500);
    expect(seen).toHaveLength(500);
    const questions = new Set<string>();
    let withEdns = 0;
    for (const message of seen) {
      const decoded = decodeQuery(message);
      if (decoded.kind !== 'query') throw new Error(`not a query: ${JSON.stringify(decoded)}`);
      questions.add(`${decoded.query.name} ${decoded.query.type}`);
      if (decoded.query.edns) withEdns++;
    }
    expect(withEdns).toBe(250);
    expect(questions).toContain(`example.test ${RRType.SOA}`);
    expect(questions).toContain(`www.other.test ${RRType.A}`);
    expect(questions).toContain(`_http._tcp.example.test ${RRType.SRV}`);
    expect(questions).toContain(`warm-up.invalid ${RRType.A}`);
  });

  it('works with no zones at all, and does not leave a forwarded promise unhandled', async () => {
    let calls = 0;
    warmUpQueryPath(() => (calls++, Promise.reject(new Error('upstream down'))), [], 10);
    expect(calls).toBe(10);
    // An unhandled rejection would fail the test run.
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});

import { describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import type { ZoneView } from '../table/zone.js';
import { decodeQuery } from '../wire/query.js';
import { warmUpQueryPath } from './warmup.js';

function zone(text: string): ZoneView {
  const parsed = parseZoneFile(text, { file: 'warm.zone' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.zone;
}

const EXAMPLE = zone(`$ORIGIN example.test.
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 60
@        NS  ns1
ns1      A   192.0.2.1
api      A   192.0.2.10
api      A   192.0.2.11
_http._tcp SRV 0 10 80 api
alias    CNAME api
`);
const OTHER = zone(`$ORIGIN other.test.
@   SOA ns hostmaster 1 3600 600 86400 60
@   NS  ns.example.test.
txt TXT "hello"
`);

function asked(zones: ZoneView[], queries: number): { questions: Set<string>; withEdns: number; total: number } {
  const questions = new Set<string>();
  let withEdns = 0;
  let total = 0;
  warmUpQueryPath([(message) => {
    const decoded = decodeQuery(Buffer.from(message));
    if (decoded.kind !== 'query') throw new Error(`not a query: ${JSON.stringify(decoded)}`);
    questions.add(`${decoded.query.name} ${decoded.query.type}`);
    if (decoded.query.edns) withEdns++;
    total++;
    return null;
  }], zones, queries);
  return { questions, withEdns, total };
}

describe('warmUpQueryPath', () => {
  it('asks the names the zones hold, with the types they own, with and without EDNS', () => {
    const { questions, withEdns, total } = asked([EXAMPLE, OTHER], 500);
    expect(total).toBe(500);
    expect(withEdns).toBe(250);
    for (const q of [
      `example.test ${RRType.SOA}`,
      `example.test ${RRType.NS}`,
      `api.example.test ${RRType.A}`,
      `_http._tcp.example.test ${RRType.SRV}`,
      `alias.example.test ${RRType.CNAME}`,
      `txt.other.test ${RRType.TXT}`,
      `warm-up.invalid ${RRType.A}`,
    ]) expect(questions).toContain(q);
  });

  it('also asks for a type a name lacks (NODATA) and a name that does not exist (NXDOMAIN), never for what a CNAME owns', () => {
    const { questions } = asked([EXAMPLE], 500);
    expect(questions).toContain(`api.example.test ${RRType.AAAA}`);
    expect(questions).toContain(`warm-up-nxdomain.example.test ${RRType.A}`);
    expect([...questions].filter((q) => q.startsWith('alias.example.test '))).toEqual([`alias.example.test ${RRType.CNAME}`]);
  });

  it('asks the apex only SOA and NS: an etcd apex\'s addresses are the whole zone\'s', () => {
    const withApexRecords = zone(`$ORIGIN apex.test.
@   SOA ns hostmaster 1 3600 600 86400 60
@   NS  ns
@   A   192.0.2.1
@   MX  10 ns
ns  A   192.0.2.2
`);
    const { questions } = asked([withApexRecords], 200);
    expect([...questions].filter((q) => q.startsWith('apex.test ')).sort()).toEqual([`apex.test ${RRType.NS}`, `apex.test ${RRType.SOA}`]);
    expect(questions).toContain(`ns.apex.test ${RRType.A}`);
  });

  it('asks every question of each handler in turn', () => {
    const seen: [number, string][] = [];
    const handler = (turn: number) => (message: Uint8Array) => {
      const decoded = decodeQuery(Buffer.from(message));
      if (decoded.kind === 'query') seen.push([turn, `${decoded.query.name} ${decoded.query.type} ${decoded.query.edns ? 'edns' : ''}`]);
      return null;
    };
    warmUpQueryPath([handler(0), handler(1)], [EXAMPLE], 400);
    expect(seen).toHaveLength(400);
    for (let i = 0; i < seen.length; i += 2) {
      expect(seen[i]![0]).toBe(0);
      expect(seen[i + 1]).toEqual([1, seen[i]![1]]);
    }
  });

  it('works with no zones at all, and does not leave a forwarded promise unhandled', async () => {
    let calls = 0;
    warmUpQueryPath([() => (calls++, Promise.reject(new Error('upstream down')))], [], 10);
    expect(calls).toBe(10);
    // An unhandled rejection would fail the test run.
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});

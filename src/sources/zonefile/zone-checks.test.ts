import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { HEAD, expectErrorsAfterHead, parse, rrset } from './test-support.js';

describe('zone rules', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['www A 192.0.2.1\nwww CNAME other', [{ line: 5, message: 'CNAME at "www.example.test." beside other data (A on line 4): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['www CNAME other\nwww TXT "x"', [{ line: 5, message: 'TXT at "www.example.test." beside a CNAME (line 4): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['@ CNAME other', [{ line: 4, message: 'CNAME at "example.test." beside other data (SOA on line 2): a CNAME must be alone (RFC 2181 §10.1)' }]],
    ['www CNAME a\nwww CNAME b', [{ line: 5, message: 'more than one CNAME at "www.example.test." (the first is on line 4)' }]],
    ['www CNAME a\nwww CNAME a', []],
    ['old DNAME a\nold DNAME b', [{ line: 5, message: 'more than one DNAME at "old.example.test." (the first is on line 4)' }]],
    ['old DNAME new\nx.old A 192.0.2.1', [{ line: 5, message: 'owner "x.old.example.test." is below the DNAME at "old.example.test." (line 4) and can never be reached (RFC 6672 §2.4)' }]],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);

  it('warns (once per RRset) when records of one RRset disagree on TTL; the lowest wins', () => {
    const r = parse(HEAD + 'www 300 A 192.0.2.1\nwww 60 A 192.0.2.2\nwww 30 A 192.0.2.3\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toEqual([
      { file: 'test.zone', line: 4, message: 'TTL 300 differs from 30 of the other A records at "www.example.test." (line 6); the lowest is used (RFC 2181 §5.2)' },
    ]);
    expect(rrset(r.zone, 'www.example.test', RRType.A)?.ttl).toBe(30);
  });
});

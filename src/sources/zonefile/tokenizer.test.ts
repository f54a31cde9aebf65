import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { tokenize, type Entry } from './tokenizer.js';
import { HEAD, bytes, errorsOf, expectErrorsAfterHead, rrset, zoneOf } from './test-support.js';

/** Every entry of `text`, tokens as [text, quoted, line]. */
function entries(text: string): { line: number; blankOwner: boolean; tokens: [string, boolean, number][]; error?: string }[] {
  const out: ReturnType<typeof entries> = [];
  tokenize(text, (e: Entry) => {
    out.push({ line: e.line, blankOwner: e.blankOwner, tokens: e.tokens.map((t) => [t.text, t.quoted, t.line]), ...(e.error === undefined ? {} : { error: e.error }) });
    return true;
  });
  return out;
}

describe('tokenize', () => {
  it('keeps escapes in the token text, splits quoted strings and knows blank-owner lines', () => {
    expect(entries('a\\ b\\.c "q \\" ;x" d;comment\n\tTXT ( "1"\n  2 ) \n\n; only a comment\n')).toEqual([
      { line: 1, blankOwner: false, tokens: [['a\\ b\\.c', false, 1], ['q \\" ;x', true, 1], ['d', false, 1]] },
      { line: 2, blankOwner: true, tokens: [['TXT', false, 2], ['1', true, 2], ['2', false, 3]] },
    ]);
  });

  it('stops when emit returns false', () => {
    let seen = 0;
    tokenize('a\nb\nc\n', () => ++seen < 2);
    expect(seen).toBe(2);
  });

  it('names the line of an error inside a parenthesised entry', () => {
    expect(entries('a ( b\n "c\n d )\n')).toEqual([{ line: 1, blankOwner: false, tokens: [['a', false, 1], ['b', false, 1], ['d', false, 3]], error: 'unterminated quoted string (on line 2)' }]);
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

  it('accepts CRLF line endings and a byte-order mark', () => {
    const zone = zoneOf('\ufeff' + HEAD.replace(/\n/g, '\r\n') + 'www A 192.0.2.1\r\n  AAAA ::1\r\n');
    expect([...zone.node('www.example.test')!.keys()]).toEqual([RRType.A, RRType.AAAA]);
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
});

describe('syntax errors', () => {
  // [text after HEAD (line 4 onwards), expected errors]
  const cases: [string, { line: number; message: string }[]][] = [
    ['x CNAME a\\', [{ line: 4, message: 'backslash at the end of a line' }]],
    ['x TXT "abc\ny A 192.0.2.1', [{ line: 4, message: 'unterminated quoted string' }]],
    ['x A 192.0.2.1 )', [{ line: 4, message: 'unbalanced ")"' }]],
    ['x A ( ( 192.0.2.1 )', [{ line: 4, message: 'nested "("' }]],
    ['x TXT ( "a"\n "b"\n', [{ line: 4, message: 'unbalanced "(": no ")" before the end of the file' }]],
  ];
  it.each(cases)('%j', expectErrorsAfterHead);
});

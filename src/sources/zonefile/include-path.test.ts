import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { resolveIncludePath, type IncludeSource } from './include-path.js';
import { parseZoneFile, type ParseResult } from './master-file.js';
import { HEAD, rrset } from './test-support.js';

/** An include root held in memory: the parser's only way to files. */
function memory(files: Record<string, string>, reads: string[] = []): IncludeSource {
  return {
    path: 'example.test.zone',
    displayName: (path) => `zones/${path}`,
    read: (path) => {
      reads.push(path);
      const text = files[path];
      return text === undefined ? { ok: false, error: 'no such file' } : { ok: true, text };
    },
  };
}

function parseWith(text: string, files: Record<string, string>, reads?: string[]): ParseResult {
  return parseZoneFile(text, { file: 'zones/example.test.zone', origin: 'example.test', includes: memory(files, reads) });
}

function errors(r: ParseResult) {
  if (r.ok) throw new Error('expected errors, the zone parsed');
  return r.errors;
}

describe('resolveIncludePath', () => {
  it.each([
    ['example.test.zone', 'inc/hosts', 'inc/hosts'],
    ['example.test.zone', './inc/../inc/hosts', 'inc/hosts'],
    ['inc/a', 'b', 'inc/b'],
    ['inc/a', '../other/b', 'other/b'],
    ['inc/deeper/a', '../../c/d', 'c/d'],
    ['example.test.zone', 'top.inc', 'top.inc'], // the directory source refuses it (include-reader.ts)
  ])('from %s, %s is %s', (from, name, path) => {
    expect(resolveIncludePath(from, name)).toEqual({ path });
  });

  it.each([
    ['example.test.zone', '../secret', 'the path leads outside the zones directory'],
    ['inc/a', '../../secret', 'the path leads outside the zones directory'],
    ['example.test.zone', '..', 'the path leads outside the zones directory'],
    ['example.test.zone', '/etc/passwd', 'an absolute path is not allowed: name the file relative to the including file, inside the zones directory'],
    ['example.test.zone', 'C:\\zones\\x', 'an absolute path is not allowed: name the file relative to the including file, inside the zones directory'],
    ['example.test.zone', 'inc/', 'the path names a directory, not a file'],
    ['example.test.zone', '.', 'the path names a directory, not a file'],
    ['example.test.zone', '', 'empty file name'],
    ['example.test.zone', 'a\0b', 'the file name contains a NUL character'],
  ])('from %s, refuses %j', (from, name, error) => {
    expect(resolveIncludePath(from, name)).toEqual({ error });
  });
});

describe('$INCLUDE', () => {
  it('reads the file with the origin given, then restores origin and owner (RFC 1035 §5.1); $TTL carries on, as in BIND', () => {
    const reads: string[] = [];
    const r = parseWith(
      HEAD + 'owner A 192.0.2.1\n$INCLUDE inc/sub sub\n  A 192.0.2.2\nrel A 192.0.2.3\n$INCLUDE "inc/plain"\n',
      {
        'inc/sub': 'x A 192.0.2.4\n$TTL 120\n$ORIGIN deeper.sub.example.test.\ny A 192.0.2.5\n',
        'inc/plain': 'p A 192.0.2.6\n',
      },
      reads,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(reads).toEqual(['inc/sub', 'inc/plain']);
    expect(r.includes).toEqual(['inc/sub', 'inc/plain']);
    const z = r.zone;
    expect(z.origin).toBe('example.test');
    expect(rrset(z, 'x.sub.example.test', RRType.A)?.ttl).toBe(60);
    expect(rrset(z, 'y.deeper.sub.example.test', RRType.A)?.ttl).toBe(120);
    expect(rrset(z, 'owner.example.test', RRType.A)?.records.map((d) => 'address' in d && d.address)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(rrset(z, 'rel.example.test', RRType.A)?.ttl).toBe(120);
    expect(rrset(z, 'p.example.test', RRType.A)).toBeDefined();
  });

  it('resolves names in an included file against the including file, and nests', () => {
    const r = parseWith(HEAD + '$INCLUDE inc/a\n', { 'inc/a': '$INCLUDE b\na A 192.0.2.1\n', 'inc/b': 'b A 192.0.2.2\n' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.includes).toEqual(['inc/a', 'inc/b']);
    expect(rrset(r.zone, 'b.example.test', RRType.A)).toBeDefined();
  });

  it('takes the zone origin from the zone file, also when the first record is in an included file', () => {
    const r = parseWith('$INCLUDE inc/head\nwww A 192.0.2.1\n', { 'inc/head': '$ORIGIN elsewhere.test.\n$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n' });
    expect(r.ok ? [] : r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`)).toEqual([
      'zones/inc/head:3: owner "elsewhere.test." is outside the zone "example.test."',
      'zones/example.test.zone:0: no SOA record at the zone apex "example.test."',
    ]);
  });

  it('starts an included file with no current owner, as BIND does', () => {
    expect(errors(parseWith(HEAD + 'owner A 192.0.2.1\n$INCLUDE inc/blank\n', { 'inc/blank': '  A 192.0.2.9\n' }))).toEqual([
      { file: 'zones/inc/blank', line: 1, message: 'no owner name: the line starts with whitespace and no record before it names one' },
    ]);
  });

  it('names the included file and its line in errors, in reading order, and cites lines across files', () => {
    const r = parseWith(HEAD + 'www A 192.0.2.1\n$INCLUDE inc/bad\nafter A 192.0.2.300\nsecond CNAME x\n', {
      'inc/bad': '\nbroken A 1.2.3\nwww CNAME other\nsecond A 192.0.2.2\n',
    });
    expect(errors(r)).toEqual([
      { file: 'zones/inc/bad', line: 2, message: 'bad IPv4 address "1.2.3"' },
      { file: 'zones/inc/bad', line: 3, message: 'CNAME at "www.example.test." beside other data (A on line 4 of zones/example.test.zone): a CNAME must be alone (RFC 2181 §10.1)' },
      { file: 'zones/example.test.zone', line: 6, message: 'bad IPv4 address "192.0.2.300"' },
      { file: 'zones/example.test.zone', line: 7, message: 'CNAME at "second.example.test." beside other data (A on line 4 of zones/inc/bad): a CNAME must be alone (RFC 2181 §10.1)' },
    ]);
  });

  it('cites a line of the same file as before when the records are in one included file', () => {
    expect(errors(parseWith(HEAD + '$INCLUDE inc/dup\n', { 'inc/dup': 'a CNAME x\na CNAME y\n' }))).toEqual([
      { file: 'zones/inc/dup', line: 2, message: 'more than one CNAME at "a.example.test." (the first is on line 1)' },
    ]);
  });

  it('reports a file that cannot be read on the $INCLUDE line, and still lists it (so that creating it reloads the zone)', () => {
    const r = parseWith(HEAD + '$INCLUDE inc/missing\n', {});
    expect(errors(r)).toEqual([{ file: 'zones/example.test.zone', line: 4, message: '$INCLUDE "inc/missing": no such file' }]);
    expect(r.includes).toEqual(['inc/missing']);
  });

  it('refuses include loops, naming the chain', () => {
    const r = parseWith(HEAD + '$INCLUDE inc/a\n', { 'inc/a': '$INCLUDE b\n', 'inc/b': '\n$INCLUDE ../inc/a\n' });
    expect(errors(r)).toEqual([
      { file: 'zones/inc/b', line: 2, message: '$INCLUDE "../inc/a": include loop: zones/inc/a includes zones/inc/b includes zones/inc/a' },
    ]);
    expect(errors(parseWith(HEAD + '$INCLUDE example.test.zone\n', {}))[0]!.message).toBe(
      '$INCLUDE "example.test.zone": include loop: zones/example.test.zone includes zones/example.test.zone',
    );
  });

  it('refuses paths out of the root, and nesting past 16', () => {
    expect(errors(parseWith(HEAD + '$INCLUDE ../etc/passwd\n', {}))).toEqual([
      { file: 'zones/example.test.zone', line: 4, message: '$INCLUDE "../etc/passwd": the path leads outside the zones directory' },
    ]);
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`inc/${i}`] = `$INCLUDE ${i + 1}\n`;
    const r = parseWith(HEAD + '$INCLUDE inc/0\n', files);
    expect(errors(r)).toEqual([{ file: 'zones/inc/15', line: 1, message: '$INCLUDE "16": included files nest more than 16 deep' }]);
  });

  it('checks its own line', () => {
    expect(errors(parseWith(HEAD + '$INCLUDE\n$INCLUDE a b c\n$INCLUDE inc/x bad..name\n', {})).map((e) => `${e.line}: ${e.message}`)).toEqual([
      '4: $INCLUDE takes a file name and, optionally, an origin',
      '5: $INCLUDE takes a file name and, optionally, an origin',
      '6: $INCLUDE: bad name: empty label in "bad..name"',
    ]);
  });

  it('is an error where the caller gives no way to read files', () => {
    const r = parseZoneFile(HEAD + '$INCLUDE inc/a\n', { file: 't', origin: 'example.test' });
    expect(errors(r)).toEqual([{ file: 't', line: 4, message: '$INCLUDE is not supported' }]);
  });
});

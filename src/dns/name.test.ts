import { describe, expect, it } from 'vitest';
import { DOT_IN_LABEL, isSubdomain, lowerAscii, parentName, parseName, toPresentation } from './name.js';

describe('names', () => {
  it.each([
    ['www.Example.TEST.', 'www.example.test'],
    ['www.example.test', 'www.example.test'],
    ['.', ''],
    ['a\\.b.test', `a${DOT_IN_LABEL}b.test`],
    ['\\065bc.test', 'abc.test'],
  ])('parses %s', (text, name) => {
    expect(parseName(text)).toEqual({ name });
  });

  it.each([
    ['a..b', 'empty label in "a..b"'],
    ['\\1.test', 'escape in "\\1.test" needs three digits (\\DDD, RFC 1035 §5.1)'],
    ['\\256.test', 'escape \\256 is not a byte'],
    ['a\\', 'name ends with a lone backslash'],
    [`${'x'.repeat(64)}.test`, `"${'x'.repeat(64)}.test": label "${'x'.repeat(20)}…" is longer than 63 octets`],
    [`${'abcdefghi.'.repeat(26)}test`, `"${'abcdefghi.'.repeat(26)}test": name is longer than 255 octets`],
    ['ünï.test', '"ünï.test" has a non-ASCII character; write it as punycode (xn--)'],
  ])('rejects %s', (text, error) => {
    expect(parseName(text)).toEqual({ error });
  });

  it('folds only ASCII case (RFC 4343 §3)', () => {
    expect(lowerAscii('AbC\u00c0')).toBe('abc\u00c0');
  });

  it('knows subdomains by whole labels', () => {
    expect(isSubdomain('www.example.test', 'example.test')).toBe(true);
    expect(isSubdomain('wwwexample.test', 'example.test')).toBe(false);
    expect(isSubdomain('example.test', 'example.test')).toBe(true);
    expect(isSubdomain('anything', '')).toBe(true);
    expect(parentName('a.b')).toBe('b');
    expect(parentName('b')).toBe('');
    expect(parentName('')).toBeUndefined();
  });

  it('presents names with escapes and a trailing dot', () => {
    expect(toPresentation(`a${DOT_IN_LABEL}b.test`)).toBe('a\\.b.test.');
    expect(toPresentation('')).toBe('.');
    expect(toPresentation('x\u0001y')).toBe('x\\001y.');
  });
});

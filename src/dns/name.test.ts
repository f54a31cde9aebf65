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

  it.each(['a..b', '\\1.test', `${'x'.repeat(64)}.test`, `${'abcdefghi.'.repeat(26)}test`, 'ünï.test'])('rejects %s', (text) => {
    expect(parseName(text)).toHaveProperty('error');
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

/** Helpers for the zone-file unit tests (imported by *.test.ts only). */
import { expect } from 'vitest';
import type { StaticZone } from '../../table/zone.js';
import { parseZoneFile, type ParseResult } from './master-file.js';

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

/** Three lines every test zone starts with; records in the tests begin on line 4. */
export const HEAD = '$TTL 60\n@ SOA ns1 hostmaster 1 7200 1800 86400 30\n@ NS ns1\n';

/** `origin` null: no origin from the caller (as for a file not named after its zone). */
export function parse(text: string, origin: string | null = 'example.test'): ParseResult {
  return parseZoneFile(text, { file: 'test.zone', ...(origin === null ? {} : { origin }) });
}

export function zoneOf(text: string, origin?: string | null): StaticZone {
  const r = parse(text, origin);
  if (!r.ok) throw new Error(`unexpected errors: ${JSON.stringify(r.errors)}`);
  return r.zone;
}

/** The errors of a zone that must not parse; each must name the file. */
export function errorsOf(text: string, origin?: string | null): { line: number; message: string }[] {
  const r = parse(text, origin);
  if (r.ok) throw new Error('expected errors, the zone parsed');
  for (const e of r.errors) expect(e.file).toBe('test.zone');
  return r.errors.map(({ line, message }) => ({ line, message }));
}

/**
 * Checks one line (or lines) written after HEAD, i.e. from line 4: `expected` errors, or none
 * (the zone then parses).
 */
export function expectErrorsAfterHead(text: string, expected: { line: number; message: string }[]): void {
  const r = parse(HEAD + text + '\n');
  if (expected.length === 0) {
    expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
    return;
  }
  expect(r.ok ? [] : r.errors.map(({ line, message }) => ({ line, message }))).toEqual(expected);
}

export function rrset(zone: StaticZone, name: string, type: number) {
  return zone.node(name)?.get(type);
}

/**
 * One RDATA or record field in presentation form (RFC 1035 §5.1) to its value: names relative
 * to the origin, <character-string>s with their escapes, TTLs with BIND units, numbers, hex.
 * Each decoder throws RecordError with the message the user sees for that record.
 */
import { EtcdnsError } from '../../errors.js';
import { MAX_NAME_OCTETS, parseName, wireLength, type Name } from '../../dns/name.js';
import type { Token } from './tokenizer.js';

/** RFC 2181 §8: a TTL is an unsigned 31-bit number. */
export const MAX_TTL = 0x7fffffff;
export const MAX_U32 = 0xffffffff;

/**
 * An error in one record; caught per record so that parsing goes on with the next. It never
 * leaves parseZoneFile, which turns it into a ZoneFileError naming the record's line.
 */
export class RecordError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_ZONE_FILE_RECORD';
}

const encoder = new TextEncoder();

/**
 * Bytes of a <character-string> as written (RFC 1035 §5.1): \X is X, \DDD is one octet.
 * `text` is a token from the tokenizer, which never ends one in a lone backslash.
 */
export function decodeBytes(text: string): Uint8Array {
  let simple = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 || c > 127) {
      simple = false;
      break;
    }
  }
  if (simple) {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c === 92) {
      i++;
      c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        const digits = text.slice(i, i + 3);
        if (!/^\d{3}$/.test(digits)) throw new RecordError(`bad escape "\\${digits}": \\DDD takes three decimal digits`);
        const value = Number(digits);
        if (value > 255) throw new RecordError(`escape "\\${digits}" is not an octet (0..255)`);
        out.push(value);
        i += 2;
        continue;
      }
    }
    if (c < 128) {
      out.push(c);
    } else {
      // Text from a UTF-8 file: store the UTF-8 octets, as a byte-oriented parser would.
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of encoder.encode(String.fromCodePoint(cp))) out.push(b);
    }
  }
  return Uint8Array.from(out);
}

/** True when `text` ends in a '.' that is not escaped: an absolute name (RFC 1035 §5.1). */
export function endsWithUnescapedDot(text: string): boolean {
  if (!text.endsWith('.')) return false;
  let backslashes = 0;
  for (let i = text.length - 2; i >= 0 && text.charCodeAt(i) === 92; i--) backslashes++;
  return backslashes % 2 === 0;
}

/**
 * A domain name as written in a zone file: '@' is the origin, a name without a trailing dot
 * is relative to the origin (RFC 1035 §5.1). Returns the canonical Name or throws RecordError.
 */
export function domainName(token: Token, origin: Name): Name {
  const text = token.text;
  if (text === '@' && !token.quoted) return origin;
  if (text === '') throw new RecordError('empty name');
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 127) throw new RecordError(`bad name "${text}": non-ASCII character; write it as punycode (xn--)`);
  }
  const parsed = parseName(text);
  if ('error' in parsed) throw new RecordError(`bad name: ${parsed.error}`);
  if (endsWithUnescapedDot(text) || origin === '') return parsed.name;
  const name = `${parsed.name}.${origin}`;
  // Both parts are valid names already: only the total length can be wrong (RFC 1035 §3.1).
  if (wireLength(name) > MAX_NAME_OCTETS) throw new RecordError(`bad name "${text}": name is longer than ${MAX_NAME_OCTETS} octets once the origin is appended`);
  return name;
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const TTL_WITH_UNITS = /^(?:\d+[smhdw])+$/i;

/** Seconds: a decimal number or BIND units (1h30m, 2d, 1w), case-insensitive. */
function timeValue(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if (!TTL_WITH_UNITS.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/gi)) total += Number(amount) * TTL_UNITS[unit!.toLowerCase()]!;
  return total;
}

export function ttlValue(token: Token, what = 'TTL', max = MAX_TTL): number {
  const value = timeValue(token.text);
  if (value === undefined) throw new RecordError(`bad ${what} "${token.text}"`);
  if (value > max) throw new RecordError(`${what} "${token.text}" is larger than ${max}${max === MAX_TTL ? ' (RFC 2181 §8)' : ''}`);
  return value;
}

export function uintValue(token: Token, what: string, max: number): number {
  if (!/^\d+$/.test(token.text) || Number(token.text) > max) throw new RecordError(`bad ${what} "${token.text}" (0..${max})`);
  return Number(token.text);
}

export function hexBytes(text: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new RecordError(`bad ${what}: "${text.length > 40 ? `${text.slice(0, 40)}…` : text}" is not hexadecimal`);
  if (text.length % 2 !== 0) throw new RecordError(`bad ${what}: odd number of hex digits`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The RDATA fields of one record, consumed left to right. */
export class Fields {
  #i: number;
  constructor(
    readonly tokens: readonly Token[],
    start: number,
    readonly type: string,
  ) {
    this.#i = start;
  }
  get remaining(): number {
    return this.tokens.length - this.#i;
  }
  peek(): Token | undefined {
    return this.tokens[this.#i];
  }
  next(what: string): Token {
    const t = this.tokens[this.#i++];
    if (!t) throw new RecordError(`${this.type}: missing ${what}`);
    return t;
  }
  /** All remaining tokens, at least one. */
  rest(what: string): Token[] {
    if (this.remaining === 0) throw new RecordError(`${this.type}: missing ${what}`);
    const out = this.tokens.slice(this.#i);
    this.#i = this.tokens.length;
    return out;
  }
  end(): void {
    const t = this.tokens[this.#i];
    if (t) throw new RecordError(`unexpected "${t.text}" after the ${this.type} data`);
  }
}

export function characterString(token: Token, what: string): Uint8Array {
  const bytes = decodeBytes(token.text);
  // RFC 1035 §3.3: a <character-string> is at most 255 octets (one length octet).
  if (bytes.length > 255) throw new RecordError(`${what} is longer than 255 octets`);
  return bytes;
}

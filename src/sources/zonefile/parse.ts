/**
 * RFC 1035 §5 master-file ("zone file") parser.
 *
 * Hand-written because the details that matter to operators are exactly the ones generic
 * libraries get wrong: escapes (\X, \DDD) in and out of quotes, parenthesised records spanning
 * lines, and errors that name the line a record starts on. The parser is a single linear pass
 * (tokenizer -> one logical line at a time -> record), collects every error up to a cap instead
 * of stopping at the first, and never throws.
 */
import { basename } from 'node:path';
import { RRType, isMetaType, typeCode, typeName } from '../../dns/constants.js';
import { canonicalIPv6 } from '../../dns/ip.js';
import { DOT_IN_LABEL, MAX_NAME_OCTETS, isSubdomain, lowerAscii, parentName, parseName, toPresentation, wireLength, type Name } from '../../dns/name.js';
import { txtStrings, type RData, type RR, type RRset } from '../../dns/records.js';
import { StaticZone, sameRData } from '../../table/zone.js';

/**
 * One problem in a zone file. `line` is 1-based: the line the record (or its parenthesised
 * group) starts on; 0 when the problem concerns the file as a whole (no SOA, unreadable file).
 */
export interface ZoneFileError {
  file: string;
  line: number;
  message: string;
}

export type ParseResult = { ok: true; zone: StaticZone; warnings: ZoneFileError[] } | { ok: false; errors: ZoneFileError[] };

/** Past this many errors the rest of the file is not worth reading: the first ones are the fix. */
const MAX_ERRORS = 50;
/** RFC 2181 §8: a TTL is an unsigned 31-bit number. */
const MAX_TTL = 0x7fffffff;
const MAX_U32 = 0xffffffff;
/** RR types that RFC 4035 §2.5 allows beside a CNAME. 50 is NSEC3 (RFC 5155). */
const CNAME_COMPANIONS = new Set<number>([RRType.CNAME, RRType.RRSIG, RRType.NSEC, 50]);

const NO_ORIGIN = 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN';

// ---------------------------------------------------------------------------------------------
// Tokenizer (RFC 1035 §5.1)

interface Token {
  /** The token as written, escapes kept: what a backslash means depends on the field. */
  readonly text: string;
  readonly quoted: boolean;
  readonly line: number;
}

/** One logical line: a physical line, or several joined by parentheses. */
interface Entry {
  /** Where the entry starts: every error about it names this line. */
  readonly line: number;
  /** The line started with whitespace: the owner is the previous record's (RFC 1035 §5.1). */
  readonly blankOwner: boolean;
  readonly tokens: Token[];
  error?: string;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Characters that end an unquoted token. */
function isDelimiter(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10 || c === 59 || c === 40 || c === 41 || c === 34;
}

/**
 * Splits `text` into logical lines and hands each to `emit` (which returns false to stop).
 * Linear in the input: tokens are slices of `text`, never built character by character.
 */
function tokenize(text: string, emit: (entry: Entry) => boolean): void {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the zone
  let line = 1;
  let entry: Entry | undefined;
  let parenLine = 0; // line of the open "(", 0 when outside parentheses
  let atLineStart = true;

  const fail = (message: string, at: number): void => {
    if (!entry || entry.error !== undefined) return;
    entry.error = at !== entry.line ? `${message} (on line ${at})` : message;
  };
  const flush = (): boolean => {
    const e = entry;
    entry = undefined;
    if (!e || (e.tokens.length === 0 && e.error === undefined)) return true;
    return emit(e);
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      if (parenLine === 0) {
        if (!flush()) return;
        atLineStart = true;
      }
      continue;
    }
    if (atLineStart) {
      atLineStart = false;
      entry = { line, blankOwner: c === 32 || c === 9, tokens: [] };
    }
    const current = entry!;
    if (isSpace(c)) {
      i++;
    } else if (c === 59) {
      // ';' comment to the end of the line, also inside parentheses
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl;
    } else if (c === 40) {
      if (parenLine !== 0) fail('nested "("', line);
      else parenLine = line;
      i++;
    } else if (c === 41) {
      if (parenLine === 0) fail('unbalanced ")"', line);
      parenLine = 0;
      i++;
    } else if (c === 34) {
      // Quoted <character-string>: runs to the next unescaped '"' on the same line.
      const start = i + 1;
      let j = start;
      let closed = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 34) {
          closed = true;
          break;
        }
        if (d === 10) break;
        if (d === 92) {
          if (j + 1 >= n || text.charCodeAt(j + 1) === 10) break;
          j += 2;
          continue;
        }
        j++;
      }
      if (closed) {
        current.tokens.push({ text: text.slice(start, j), quoted: true, line });
        i = j + 1;
      } else {
        fail('unterminated quoted string', line);
        i = j; // resume at the newline (or the end): the next line is parsed afresh
      }
    } else {
      const start = i;
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 92) {
          const next = j + 1 < n ? text.charCodeAt(j + 1) : -1;
          if (next === -1 || next === 10 || next === 13) {
            fail('backslash at the end of a line', line);
            j++;
            break;
          }
          j += 2; // \X: X is never a delimiter; the digits of \DDD are ordinary characters
          continue;
        }
        if (isDelimiter(d)) break;
        j++;
      }
      current.tokens.push({ text: text.slice(start, j), quoted: false, line });
      i = j;
    }
  }
  if (parenLine !== 0) fail('unbalanced "(": no ")" before the end of the file', parenLine);
  flush();
}

// ---------------------------------------------------------------------------------------------
// Field decoding

/** An error in one record; caught per record so that parsing goes on with the next. */
class RecordError extends Error {}

const encoder = new TextEncoder();

/** Bytes of a <character-string> as written (RFC 1035 §5.1): \X is X, \DDD is one octet. */
function decodeBytes(text: string): Uint8Array {
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
function endsWithUnescapedDot(text: string): boolean {
  if (!text.endsWith('.')) return false;
  let backslashes = 0;
  for (let i = text.length - 2; i >= 0 && text.charCodeAt(i) === 92; i--) backslashes++;
  return backslashes % 2 === 0;
}

/**
 * A domain name as written in a zone file: '@' is the origin, a name without a trailing dot
 * is relative to the origin (RFC 1035 §5.1). Returns the canonical Name or throws RecordError.
 */
function domainName(token: Token, origin: Name): Name {
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

function ttlValue(token: Token, what = 'TTL', max = MAX_TTL): number {
  const value = timeValue(token.text);
  if (value === undefined) throw new RecordError(`bad ${what} "${token.text}"`);
  if (value > max) throw new RecordError(`${what} "${token.text}" is larger than ${max}${max === MAX_TTL ? ' (RFC 2181 §8)' : ''}`);
  return value;
}

function uintValue(token: Token, what: string, max: number): number {
  if (!/^\d+$/.test(token.text) || Number(token.text) > max) throw new RecordError(`bad ${what} "${token.text}" (0..${max})`);
  return Number(token.text);
}

/** Dotted-quad IPv4, strictly: four decimal octets, no leading zeros (which some read as octal). */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** RFC 5952 text of 16 octets, the form etcdns keeps AAAA addresses in (see dns/ip.ts). */
function formatIPv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let g = 0; g < 16; g += 2) groups.push(((bytes[g]! << 8) | bytes[g + 1]!).toString(16));
  return canonicalIPv6(groups.join(':'))!;
}

function hexBytes(text: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new RecordError(`bad ${what}: "${text.length > 40 ? `${text.slice(0, 40)}…` : text}" is not hexadecimal`);
  if (text.length % 2 !== 0) throw new RecordError(`bad ${what}: odd number of hex digits`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// RDATA

/** The RDATA fields of one record, consumed left to right. */
class Fields {
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

function characterString(token: Token, what: string): Uint8Array {
  const bytes = decodeBytes(token.text);
  // RFC 1035 §3.3: a <character-string> is at most 255 octets (one length octet).
  if (bytes.length > 255) throw new RecordError(`${what} is longer than 255 octets`);
  return bytes;
}

/** RDATA in RFC 3597 §5 generic form, `\# <length> <hex>...`, as wire bytes. */
function genericRData(f: Fields): Uint8Array {
  f.next('\\#');
  const length = uintValue(f.next('RDATA length'), 'RDATA length', 0xffff);
  const hex = f.remaining ? f.rest('hex').map((t) => t.text).join('') : '';
  const bytes = hexBytes(hex, 'generic RDATA');
  if (bytes.length !== length) throw new RecordError(`generic RDATA length ${length} does not match the ${bytes.length} octets given`);
  return bytes;
}

/** Reads wire-format RDATA of a type this server has a shape for (RFC 3597 §5). */
class WireReader {
  #p = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly type: string,
  ) {}
  #need(n: number): void {
    if (this.#p + n > this.bytes.length) throw new RecordError(`generic RDATA for ${this.type} is too short`);
  }
  u8(): number {
    this.#need(1);
    return this.bytes[this.#p++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  take(n: number): Uint8Array {
    this.#need(n);
    const out = this.bytes.slice(this.#p, this.#p + n);
    this.#p += n;
    return out;
  }
  characterString(): Uint8Array {
    return this.take(this.u8());
  }
  get done(): boolean {
    return this.#p >= this.bytes.length;
  }
  /** An uncompressed name: RFC 3597 §4 forbids compression in generic RDATA. */
  name(): Name {
    const parts: string[] = [];
    let octets = 1;
    for (;;) {
      const len = this.u8();
      if (len === 0) break;
      if (len > 63) throw new RecordError(`generic RDATA for ${this.type} has a compressed or malformed name`);
      octets += len + 1;
      if (octets > 255) throw new RecordError(`generic RDATA for ${this.type} has a name longer than 255 octets`);
      let label = '';
      for (const b of this.take(len)) label += b === 0x2e ? DOT_IN_LABEL : String.fromCharCode(b);
      parts.push(label);
    }
    return lowerAscii(parts.join('.'));
  }
  end(): void {
    const extra = this.bytes.length - this.#p;
    if (extra > 0) throw new RecordError(`generic RDATA for ${this.type} has ${extra} extra octet${extra === 1 ? '' : 's'}`);
  }
}

/**
 * Generic RDATA of a type that has a shape in records.ts, decoded into that shape so that the
 * rest of the server (CNAME chasing, additional-section processing) sees one representation.
 * Wire round-trips are exact, except that names are lower-cased as everywhere in etcdns.
 */
function fromWire(type: number, bytes: Uint8Array): RData {
  const r = new WireReader(bytes, typeName(type));
  let data: RData;
  switch (type) {
    case RRType.A:
      data = { type, address: Array.from(r.take(4)).join('.') };
      break;
    case RRType.AAAA:
      data = { type, address: formatIPv6(r.take(16)) };
      break;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      data = { type, target: r.name() };
      break;
    case RRType.MX:
      data = { type, preference: r.u16(), exchange: r.name() };
      break;
    case RRType.SRV:
      data = { type, priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
      break;
    case RRType.TXT:
    case RRType.SPF: {
      const strings: Uint8Array[] = [r.characterString()]; // RFC 1035 §3.3.14: one or more
      while (!r.done) strings.push(r.characterString());
      data = { type, strings };
      break;
    }
    case RRType.SOA:
      data = { type, mname: r.name(), rname: r.name(), serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
      break;
    case RRType.CAA: {
      const flags = r.u8();
      const tag = String.fromCharCode(...r.characterString());
      data = { type, flags, tag, value: r.take(bytes.length - 2 - tag.length) };
      break;
    }
    case RRType.HINFO:
      data = { type, cpu: r.characterString(), os: r.characterString() };
      break;
    case RRType.NAPTR:
      data = {
        type,
        order: r.u16(),
        preference: r.u16(),
        flags: r.characterString(),
        services: r.characterString(),
        regexp: r.characterString(),
        replacement: r.name(),
      };
      break;
    default:
      return { type, raw: bytes };
  }
  r.end();
  return data;
}

/** Context RDATA parsing needs: the origin relative names hang from. */
interface RDataContext {
  origin: Name;
}

function parseRData(type: number, tokens: readonly Token[], start: number, ctx: RDataContext): RData {
  const f = new Fields(tokens, start, typeName(type));
  const first = f.peek();
  if (first && !first.quoted && first.text === '\\#') {
    const bytes = genericRData(f);
    f.end();
    return fromWire(type, bytes);
  }
  const name = (what: string) => domainName(f.next(what), ctx.origin);
  const u16 = (what: string) => uintValue(f.next(what), what, 0xffff);
  const u8 = (what: string) => uintValue(f.next(what), what, 0xff);
  let data: RData;
  switch (type) {
    case RRType.A: {
      const t = f.next('address');
      if (!IPV4.test(t.text)) throw new RecordError(`bad IPv4 address "${t.text}"`);
      data = { type, address: t.text };
      break;
    }
    case RRType.AAAA: {
      const t = f.next('address');
      // Canonical (RFC 5952) so that the same address written two ways is one record.
      const address = canonicalIPv6(t.text);
      if (address === undefined) throw new RecordError(`bad IPv6 address "${t.text}"`);
      data = { type, address };
      break;
    }
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      data = { type, target: name('target name') };
      break;
    case RRType.MX:
      data = { type, preference: u16('MX preference'), exchange: name('exchange name') };
      break;
    case RRType.SRV:
      data = { type, priority: u16('SRV priority'), weight: u16('SRV weight'), port: u16('SRV port'), target: name('target name') };
      break;
    case RRType.TXT:
    case RRType.SPF: {
      const strings: Uint8Array[] = [];
      let wire = 0;
      for (const t of f.rest('text')) {
        const bytes = decodeBytes(t.text);
        // A string over 255 octets cannot be one <character-string> (RFC 1035 §3.3): split it
        // the way txtStrings does, rather than make people cut long SPF/DKIM values by hand.
        if (bytes.length > 255) for (const chunk of txtStrings(bytes)) strings.push(chunk);
        else strings.push(bytes);
        wire += bytes.length + Math.ceil(bytes.length / 255 || 1);
      }
      if (wire > 0xffff) throw new RecordError(`${typeName(type)} data is longer than 65535 octets`);
      data = { type, strings };
      break;
    }
    case RRType.SOA: {
      const mname = name('primary server name (MNAME)');
      const rname = name('mailbox name (RNAME)');
      const serial = uintValue(f.next('serial'), 'SOA serial', MAX_U32);
      // RFC 1035 §3.3.13: the four timers are 32-bit; MINIMUM is also the negative-caching
      // TTL (RFC 2308 §4), so it is held to the TTL limit.
      const refresh = ttlValue(f.next('refresh'), 'SOA refresh', MAX_U32);
      const retry = ttlValue(f.next('retry'), 'SOA retry', MAX_U32);
      const expire = ttlValue(f.next('expire'), 'SOA expire', MAX_U32);
      const minimum = ttlValue(f.next('minimum'), 'SOA minimum', MAX_TTL);
      data = { type, mname, rname, serial, refresh, retry, expire, minimum };
      break;
    }
    case RRType.CAA: {
      const flags = u8('CAA flags');
      const tag = f.next('tag').text;
      // RFC 8659 §4.1: the tag is ASCII letters and digits, at least one.
      if (!/^[A-Za-z0-9]{1,255}$/.test(tag)) throw new RecordError(`bad CAA tag "${tag}" (letters and digits only)`);
      const value = decodeBytes(f.next('value').text);
      if (value.length > 0xffff - 2 - tag.length) throw new RecordError('CAA value is too long');
      data = { type, flags, tag, value };
      break;
    }
    case RRType.HINFO:
      data = { type, cpu: characterString(f.next('CPU'), 'HINFO CPU'), os: characterString(f.next('OS'), 'HINFO OS') };
      break;
    case RRType.NAPTR:
      data = {
        type,
        order: u16('NAPTR order'),
        preference: u16('NAPTR preference'),
        flags: characterString(f.next('flags'), 'NAPTR flags'),
        services: characterString(f.next('services'), 'NAPTR services'),
        regexp: characterString(f.next('regexp'), 'NAPTR regexp'),
        replacement: name('replacement name'),
      };
      break;
    // Common hash-carrying types whose presentation form is numbers then hex; the rest of
    // the server treats them as opaque (RFC 3597), so they are stored as wire bytes.
    case RRType.DS: {
      // RFC 4034 §5.3: key tag, algorithm, digest type, digest (hex, may contain spaces)
      const head = [u16('key tag'), u8('algorithm'), u8('digest type')];
      const digest = hexBytes(f.rest('digest').map((t) => t.text).join(''), 'DS digest');
      data = { type, raw: Uint8Array.from([head[0]! >> 8, head[0]! & 0xff, head[1]!, head[2]!, ...digest]) };
      break;
    }
    case RRType.SSHFP: {
      // RFC 4255 §3.2: algorithm, fingerprint type, fingerprint (hex)
      const head = [u8('algorithm'), u8('fingerprint type')];
      const fp = hexBytes(f.rest('fingerprint').map((t) => t.text).join(''), 'SSHFP fingerprint');
      data = { type, raw: Uint8Array.from([...head, ...fp]) };
      break;
    }
    case RRType.TLSA: {
      // RFC 6698 §2.2: usage, selector, matching type, certificate association data (hex)
      const head = [u8('certificate usage'), u8('selector'), u8('matching type')];
      const cad = hexBytes(f.rest('certificate association data').map((t) => t.text).join(''), 'TLSA data');
      data = { type, raw: Uint8Array.from([...head, ...cad]) };
      break;
    }
    default:
      throw new RecordError(`${typeName(type)} data must be written in the RFC 3597 generic form: \\# <length> <hex>`);
  }
  f.end();
  return data;
}

// ---------------------------------------------------------------------------------------------
// Records and the zone

const CLASS_TOKEN = /^(?:IN|CH|CS|HS|NONE|ANY|CLASS\d+)$/i;

function show(name: Name): string {
  return `"${toPresentation(name)}"`;
}

class ZoneFileParser {
  readonly errors: ZoneFileError[] = [];
  readonly warnings: ZoneFileError[] = [];
  readonly records: RR[] = [];
  /** The line each record starts on, parallel to `records`. */
  readonly #lines: number[] = [];
  #origin: Name | undefined;
  #zoneOrigin: Name | undefined;
  #defaultTtl: number | undefined;
  #lastTtl: number | undefined;
  #soaMinimum: number | undefined;
  #soaLine = 0;
  /** The owner blank-owner lines inherit; null after an owner that failed to parse. */
  #lastOwner: Name | null | undefined;
  /** Set once nothing more can usefully be said (too many errors, no origin). */
  stopped = false;

  constructor(
    readonly file: string,
    origin: Name | undefined,
  ) {
    this.#origin = origin;
  }

  error(line: number, message: string): void {
    if (this.stopped) return;
    if (this.errors.length >= MAX_ERRORS) {
      this.errors.push({ file: this.file, line, message: `too many errors; stopped after ${MAX_ERRORS}` });
      this.stopped = true;
      return;
    }
    this.errors.push({ file: this.file, line, message });
  }

  warn(line: number, message: string): void {
    this.warnings.push({ file: this.file, line, message });
  }

  entry(e: Entry): boolean {
    const first = e.tokens[0];
    if (e.error !== undefined) {
      this.error(e.line, e.error);
      // Keep the owner of a broken line so that the blank-owner lines after it do not pile
      // up misleading errors against the record before.
      if (!e.blankOwner && first && !first.text.startsWith('$') && this.#origin !== undefined) {
        try {
          this.#lastOwner = domainName(first, this.#origin);
        } catch {
          this.#lastOwner = null;
        }
      }
    } else if (first && !first.quoted && first.text.startsWith('$')) {
      this.#directive(e);
    } else {
      try {
        this.#record(e);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        this.error(e.line, err.message);
      }
    }
    return !this.stopped;
  }

  #directive(e: Entry): void {
    const [head, ...args] = e.tokens;
    const name = head!.text.toUpperCase();
    switch (name) {
      case '$ORIGIN': {
        if (args.length !== 1) return this.error(e.line, '$ORIGIN takes one name');
        try {
          // A relative $ORIGIN hangs from the previous one (RFC 1035 §5.1); with none, from
          // the root, which is what `$ORIGIN example.test` without the dot plainly means.
          const previous = this.#origin ?? '';
          this.#origin = domainName(args[0]!, previous);
          // Legal, but usually a forgotten dot that silently moves the whole zone.
          if (previous !== '' && !endsWithUnescapedDot(args[0]!.text) && args[0]!.text !== '@') {
            this.warn(e.line, `$ORIGIN ${args[0]!.text} has no trailing dot: it is relative to ${show(previous)} and gives ${show(this.#origin)}`);
          }
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          this.error(e.line, `$ORIGIN: ${err.message}`);
        }
        return;
      }
      case '$TTL': {
        if (args.length !== 1) return this.error(e.line, '$TTL takes one TTL');
        try {
          this.#defaultTtl = ttlValue(args[0]!); // RFC 2308 §4
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          this.error(e.line, `$TTL: ${err.message}`);
        }
        return;
      }
      case '$INCLUDE':
      case '$GENERATE':
        return this.error(e.line, `${name} is not supported`);
      default:
        return this.error(e.line, `unknown directive "${head!.text}"`);
    }
  }

  #record(e: Entry): void {
    const tokens = e.tokens;
    // The zone's origin is the one in force at its first record; a later $ORIGIN only changes
    // what relative names hang from.
    if (this.#zoneOrigin === undefined) {
      if (this.#origin === undefined) {
        this.error(e.line, NO_ORIGIN);
        this.stopped = true; // every name after this would be a guess
        return;
      }
      this.#zoneOrigin = this.#origin;
    }
    const origin = this.#origin!;
    const zoneOrigin = this.#zoneOrigin;
    let k = 0;
    let owner: Name | null;
    if (e.blankOwner) {
      if (this.#lastOwner === undefined) throw new RecordError('no owner name: the line starts with whitespace and no record before it names one');
      owner = this.#lastOwner;
    } else {
      k = 1;
      this.#lastOwner = null;
      owner = domainName(tokens[0]!, origin);
      this.#lastOwner = owner;
    }

    // [<TTL>] [<class>] or [<class>] [<TTL>] before the type (RFC 1035 §5.1, RFC 2308 §4).
    let ttl: number | undefined;
    let classSeen = false;
    for (;;) {
      const t = tokens[k];
      if (!t) throw new RecordError('missing type');
      if (ttl === undefined && /^\d/.test(t.text)) {
        ttl = ttlValue(t);
      } else if (!classSeen && CLASS_TOKEN.test(t.text)) {
        const upper = t.text.toUpperCase();
        if (upper !== 'IN' && upper !== 'CLASS1') throw new RecordError(`class "${t.text}" is not supported: only IN`);
        classSeen = true;
      } else break;
      k++;
    }
    const typeToken = tokens[k++]!;
    const type = typeToken.quoted ? undefined : typeCode(typeToken.text);
    if (type === undefined) throw new RecordError(`unknown type "${typeToken.text}"`);
    if (isMetaType(type)) throw new RecordError(`${typeName(type)} is a query-only (meta) type, not data (RFC 6895 §3.1)`);
    if (type === 0) throw new RecordError('type 0 is reserved (RFC 6895 §3.1)');

    const data = parseRData(type, tokens, k, { origin });
    if (data.type === RRType.SOA && 'minimum' in data) this.#soaMinimum = data.minimum;

    if (ttl === undefined) {
      if (this.#defaultTtl !== undefined) ttl = this.#defaultTtl;
      else if (this.#lastTtl !== undefined) ttl = this.#lastTtl; // RFC 1035 §5.1
      else if (this.#soaMinimum !== undefined) {
        // What RFC 1035 servers did before $TTL existed (RFC 2308 §4); BIND does the same.
        ttl = this.#soaMinimum;
        this.warn(e.line, `no TTL and no $TTL: using the SOA MINIMUM ${ttl}; add a $TTL line`);
      } else throw new RecordError('no TTL: give the record a TTL or add a $TTL line before it');
    }
    this.#lastTtl = ttl;

    // Inherited from a line whose owner was already reported as bad: check the rest, keep nothing.
    if (owner === null) return;
    this.#add(e.line, { name: owner, type, ttl, data }, zoneOrigin);
  }

  /** The checks that need no index; the others run on the built zone (see #checkZone). */
  #add(line: number, rr: RR, zoneOrigin: Name): void {
    const { name, type } = rr;
    if (!isSubdomain(name, zoneOrigin)) return this.error(line, `owner ${show(name)} is outside the zone ${show(zoneOrigin)}`);
    if (type === RRType.SOA) {
      if (name !== zoneOrigin) return this.error(line, `SOA record at ${show(name)}: it belongs at the zone apex ${show(zoneOrigin)}`);
      if (this.#soaLine) return this.error(line, `second SOA record (the first is on line ${this.#soaLine}): a zone has exactly one`);
      this.#soaLine = line;
    }
    this.records.push(rr);
    this.#lines.push(line);
  }

  finish(): ParseResult {
    const zoneOrigin = this.#zoneOrigin ?? this.#origin;
    if (zoneOrigin === undefined) {
      this.error(0, NO_ORIGIN);
      return { ok: false, errors: this.errors };
    }
    if (this.stopped) return { ok: false, errors: this.errors };
    let records = this.records;
    if (!this.#soaLine) {
      this.error(0, `no SOA record at the zone apex ${show(zoneOrigin)}`);
      // Build the zone anyway, around a stand-in SOA, so the other rules still get checked.
      const soa: RData = { type: RRType.SOA, mname: '', rname: '', serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0 };
      records = [...records, { name: zoneOrigin, type: RRType.SOA, ttl: 0, data: soa }];
    }
    // StaticZone groups records by owner and type; checking its nodes costs no second index,
    // which on a 100k-record file is a third of the parse time.
    const zone = StaticZone.fromRecords(zoneOrigin, records, this.file);
    this.#checkZone(zone);
    if (this.errors.length > 0) {
      // Zone-level errors were found after the line-by-line ones: present them in file order.
      const stop = this.errors.findIndex((e) => e.message.startsWith('too many errors'));
      const sorted = (stop < 0 ? this.errors : this.errors.slice(0, stop)).sort((a, b) => (a.line || Infinity) - (b.line || Infinity));
      return { ok: false, errors: stop < 0 ? sorted : [...sorted, this.errors[stop]!] };
    }
    return { ok: true, zone, warnings: this.warnings };
  }

  /**
   * RFC 2181 §10.1 (a CNAME is alone at its name), RFC 1034 §3.6.2 and RFC 6672 §2.4 (one CNAME
   * or DNAME per name), RFC 6672 §2.4 (nothing below a DNAME) and RFC 2181 §5.2 (one TTL per
   * RRset). Conflicts are found per node; the lines to cite are looked up afterwards in one pass
   * over the records, and only for the names involved.
   */
  #checkZone(zone: StaticZone): void {
    const conflicts = new Set<Name>();
    const dnames: Name[] = [];
    for (const [name, node] of zone.entries()) {
      const cname = node.get(RRType.CNAME);
      const dname = node.get(RRType.DNAME);
      if (dname) dnames.push(name);
      if ((cname && (cname.records.length > 1 || [...node.keys()].some((t) => !CNAME_COMPANIONS.has(t)))) || (dname && dname.records.length > 1)) {
        conflicts.add(name);
      }
    }
    const below = new Map<Name, Name>(); // owner -> the DNAME above it
    if (dnames.length > 0) {
      const dnameSet = new Set(dnames);
      for (const [name, node] of zone.entries()) {
        if (node.size === 0) continue;
        for (let up = parentName(name); up !== undefined && isSubdomain(up, zone.origin); up = parentName(up)) {
          if (dnameSet.has(up)) {
            below.set(name, up);
            break;
          }
        }
      }
    }
    // One pass over the records: TTL disagreements, and the lines of the names found above.
    const wanted = new Set<Name>([...conflicts, ...below.keys(), ...below.values()]);
    const seen = new Map<Name, { type: number; line: number; data: RData }[]>();
    const ttlOff = new Map<RRset, { line: number; rr: RR }>();
    for (let i = 0; i < this.records.length; i++) {
      const rr = this.records[i]!;
      if (wanted.size > 0 && wanted.has(rr.name)) {
        let list = seen.get(rr.name);
        if (!list) seen.set(rr.name, (list = []));
        list.push({ type: rr.type, line: this.#lines[i]!, data: rr.data });
      }
      const set = zone.node(rr.name)?.get(rr.type);
      if (set && set.ttl !== rr.ttl && !ttlOff.has(set)) ttlOff.set(set, { line: this.#lines[i]!, rr });
    }
    // And, only when some RRset disagrees, one more for the line holding each lowest TTL.
    const lowestLine = new Map<RRset, number>();
    if (ttlOff.size > 0) {
      for (let i = 0; i < this.records.length; i++) {
        const rr = this.records[i]!;
        const set = zone.node(rr.name)?.get(rr.type);
        if (set && set.ttl === rr.ttl && ttlOff.has(set) && !lowestLine.has(set)) lowestLine.set(set, this.#lines[i]!);
      }
    }
    for (const name of conflicts) this.#reportConflicts(name, seen.get(name) ?? []);
    for (const [name, dname] of below) {
      const first = seen.get(name)?.[0];
      const at = seen.get(dname)?.find((r) => r.type === RRType.DNAME);
      this.error(first?.line ?? 0, `owner ${show(name)} is below the DNAME at ${show(dname)} (line ${at?.line ?? 0}) and can never be reached (RFC 6672 §2.4)`);
    }
    for (const [set, { line, rr }] of ttlOff) {
      this.warn(line, `TTL ${rr.ttl} differs from ${set.ttl} of the other ${typeName(rr.type)} records at ${show(rr.name)} (line ${lowestLine.get(set) ?? 0}); the lowest is used (RFC 2181 §5.2)`);
    }
  }

  #reportConflicts(name: Name, records: { type: number; line: number; data: RData }[]): void {
    const firstOf = new Map<number, { line: number; data: RData }>();
    for (const r of records) {
      const first = firstOf.get(r.type);
      if (!first) {
        firstOf.set(r.type, r);
        const cname = firstOf.get(RRType.CNAME);
        if (r.type === RRType.CNAME) {
          const other = records.find((o) => o.line < r.line && !CNAME_COMPANIONS.has(o.type));
          if (other) this.error(r.line, `CNAME at ${show(name)} beside other data (${typeName(other.type)} on line ${other.line}): a CNAME must be alone (RFC 2181 §10.1)`);
        } else if (cname && !CNAME_COMPANIONS.has(r.type)) {
          this.error(r.line, `${typeName(r.type)} at ${show(name)} beside a CNAME (line ${cname.line}): a CNAME must be alone (RFC 2181 §10.1)`);
        }
      } else if ((r.type === RRType.CNAME || r.type === RRType.DNAME) && !sameRData(first.data, r.data)) {
        this.error(r.line, `more than one ${typeName(r.type)} at ${show(name)} (the first is on line ${first.line})`);
      }
    }
  }
}

/**
 * Parses the text of one zone file. `origin` is where relative names hang from (usually from
 * the file name); a `$ORIGIN` before the first record overrides it. Never throws.
 */
export function parseZoneFile(text: string, options: { file: string; origin?: Name }): ParseResult {
  const parser = new ZoneFileParser(options.file, options.origin);
  try {
    tokenize(text, (entry) => parser.entry(entry));
    return parser.finish();
  } catch (err) {
    // Not expected; but a zone file must never take the server down.
    return {
      ok: false,
      errors: [...parser.errors, { file: options.file, line: 0, message: `internal error while parsing: ${err instanceof Error ? err.message : String(err)}` }],
    };
  }
}

/**
 * The zone a file is named after: "example.test.zone", "example.test.db", "db.example.test"
 * and "example.test" all give example.test. Undefined when the rest is not a usable name.
 */
export function originFromFileName(path: string): Name | undefined {
  let base = basename(path);
  if (/\.(zone|db)$/i.test(base)) base = base.replace(/\.(zone|db)$/i, '');
  else if (/^db\./i.test(base)) base = base.slice(3);
  if (base === '' || base === '.' || base.startsWith('.')) return undefined;
  for (let i = 0; i < base.length; i++) if (base.charCodeAt(i) > 127 || base.charCodeAt(i) <= 32) return undefined;
  const parsed = parseName(base);
  if ('error' in parsed || parsed.name === '') return undefined;
  return parsed.name;
}

/**
 * RFC 1035 §5 master-file ("zone file") parsing: the file-level pass. Directives ($ORIGIN,
 * $TTL, $INCLUDE, and BIND's $GENERATE), owner and TTL inheritance between lines, the record
 * line's [TTL] [class] type prefix, the per-line zone rules (inside the zone, one SOA at the
 * apex), then the zone built and its cross-record rules checked (zone-checks.ts).
 *
 * Hand-written because the details that matter to operators are exactly the ones generic
 * libraries get wrong: escapes (\X, \DDD) in and out of quotes, parenthesised records spanning
 * lines, and errors that name the line a record starts on. The parser is a single linear pass
 * (tokenizer -> one logical line at a time -> record), collects every error up to a cap instead
 * of stopping at the first, and never throws.
 */
import { RRType, isMetaType, typeCode, typeName } from '../../dns/constants.js';
import { isSubdomain, type Name } from '../../dns/name.js';
import type { RData, RR } from '../../dns/records.js';
import { errorMessage } from '../../errors.js';
import { StaticZone } from '../../table/zone.js';
import { RecordError, decodeBytes, domainName, endsWithUnescapedDot, ttlValue } from './fields.js';
import { generateRange, generateTemplate } from './generate.js';
import { resolveIncludePath, type IncludeSource } from './include-path.js';
import { parseRData } from './rdata-parsers.js';
import { tokenize, type Entry, type Token } from './tokenizer.js';
import { checkZone, show } from './zone-checks.js';

/**
 * One problem in a zone file. `line` is 1-based: the line the record (or its parenthesised
 * group) starts on; 0 when the problem concerns the file as a whole (no SOA, unreadable file).
 */
export interface ZoneFileError {
  file: string;
  line: number;
  message: string;
}

/**
 * `includes`: every file a $INCLUDE named (paths inside the include root), read or not, in the
 * order named: the files whose changes must reload this zone.
 */
export type ParseResult =
  | { ok: true; zone: StaticZone; warnings: ZoneFileError[]; includes: string[] }
  | { ok: false; errors: ZoneFileError[]; includes: string[] };

/** Past this many errors the rest of the file is not worth reading: the first ones are the fix. */
const MAX_ERRORS = 50;

const NO_ORIGIN = 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN';

const CLASS_TOKEN = /^(?:IN|CH|CS|HS|NONE|ANY|CLASS\d+)$/i;

/** Deeper than this is a mistake, not a layout (BIND stops at its open-file limit). */
const MAX_INCLUDE_DEPTH = 16;
/** $INCLUDEs one zone may read in all; a file that includes the same file over and over is not worth reading. */
const MAX_INCLUDES = 1000;

/**
 * A run of lines of one file. Errors, and the records' lines that the zone checks cite, are
 * kept as locations: one number increasing in reading order across the zone file and the files
 * it includes, so that sorting them sorts into reading order. A segment maps its locations back
 * to (file, line); for the zone file alone there is one segment and a location is its line.
 */
interface Segment {
  readonly base: number;
  readonly firstLine: number;
  readonly file: string;
}

/** The file being read, and what a $INCLUDE saved of the file that includes it. */
interface Frame {
  readonly path: string;
  readonly file: string;
}
interface Saved {
  readonly frame: Frame;
  readonly origin: Name | undefined;
  readonly lastOwner: Name | null | undefined;
}

function recordType(token: Token): number {
  const type = token.quoted ? undefined : typeCode(token.text);
  if (type === undefined) throw new RecordError(`unknown type "${token.text}"`);
  if (isMetaType(type)) throw new RecordError(`${typeName(type)} is a query-only (meta) type, not data (RFC 6895 §3.1)`);
  if (type === 0) throw new RecordError('type 0 is reserved (RFC 6895 §3.1)');
  return type;
}

/** The tokens of a generated RDATA text, which BIND reads again as RDATA. */
function templateTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let error: string | undefined;
  tokenize(text, (entry) => {
    tokens.push(...entry.tokens);
    error ??= entry.error;
    return true;
  });
  if (error !== undefined) throw new RecordError(error);
  return tokens;
}

/** A $INCLUDE file name as written: quotes and \X escapes as in a <character-string>. */
function fileName(token: Token): string {
  return token.text.includes('\\') ? new TextDecoder().decode(decodeBytes(token.text)) : token.text;
}

class ZoneFileParser {
  readonly errors: ZoneFileError[] = [];
  readonly warnings: ZoneFileError[] = [];
  readonly records: RR[] = [];
  /** The location (see Segment) each record starts at, parallel to `records`. */
  readonly #lines: number[] = [];
  /** The location of each error, parallel to `errors`, to sort them into reading order. */
  readonly #errorLocs: number[] = [];
  readonly #segments: Segment[];
  #segment: Segment;
  #maxLoc = 0;
  #frame: Frame;
  readonly #stack: Saved[] = [];
  readonly includes: string[] = [];
  /** Set by #prefix: the TTL written on the line, if any. */
  #explicitTtl: number | undefined;
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
    readonly source: IncludeSource | undefined,
  ) {
    this.#origin = origin;
    this.#segment = { base: 0, firstLine: 0, file };
    this.#segments = [this.#segment];
    this.#frame = { path: source?.path ?? file, file };
  }

  /** The location of `line` of the file being read. */
  #loc(line: number): number {
    const loc = this.#segment.base + line - this.#segment.firstLine;
    if (loc > this.#maxLoc) this.#maxLoc = loc;
    return loc;
  }

  /** Starts a segment for `file`, whose next line to be read is `line`. */
  #startSegment(file: string, line: number): void {
    this.#segment = { base: this.#maxLoc + 1, firstLine: line, file };
    this.#segments.push(this.#segment);
  }

  #place(loc: number): { file: string; line: number } {
    if (loc === 0) return { file: this.file, line: 0 };
    let i = this.#segments.length - 1;
    while (i > 0 && this.#segments[i]!.base > loc) i--;
    const s = this.#segments[i]!;
    return { file: s.file, line: loc - s.base + s.firstLine };
  }

  /** How a message about the record at `from` cites the one at `loc`: "line N", "line N of FILE" in another file. */
  where(loc: number, from: number): string {
    const at = this.#place(loc);
    return at.file === this.#place(from).file ? `line ${at.line}` : `line ${at.line} of ${at.file}`;
  }

  error(loc: number, message: string): void {
    if (this.stopped) return;
    const { file, line } = this.#place(loc);
    this.#errorLocs.push(loc);
    if (this.errors.length >= MAX_ERRORS) {
      this.errors.push({ file, line, message: `too many errors; stopped after ${MAX_ERRORS}` });
      this.stopped = true;
      return;
    }
    this.errors.push({ file, line, message });
  }

  warn(loc: number, message: string): void {
    this.warnings.push({ ...this.#place(loc), message });
  }

  entry(e: Entry): boolean {
    const first = e.tokens[0];
    const at = this.#loc(e.line);
    if (e.error !== undefined) {
      this.error(at, e.error);
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
      this.#directive(e, at);
    } else {
      try {
        this.#record(e, at);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        this.error(at, err.message);
      }
    }
    return !this.stopped;
  }

  #directive(e: Entry, at: number): void {
    const [head, ...args] = e.tokens;
    const name = head!.text.toUpperCase();
    switch (name) {
      case '$ORIGIN': {
        if (args.length !== 1) return this.error(at, '$ORIGIN takes one name');
        try {
          // A relative $ORIGIN hangs from the previous one (RFC 1035 §5.1); with none, from
          // the root, which is what `$ORIGIN example.test` without the dot plainly means.
          const previous = this.#origin ?? '';
          this.#origin = domainName(args[0]!, previous);
          // Legal, but usually a forgotten dot that silently moves the whole zone.
          if (previous !== '' && !endsWithUnescapedDot(args[0]!.text) && args[0]!.text !== '@') {
            this.warn(at, `$ORIGIN ${args[0]!.text} has no trailing dot: it is relative to ${show(previous)} and gives ${show(this.#origin)}`);
          }
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          this.error(at, `$ORIGIN: ${err.message}`);
        }
        return;
      }
      case '$TTL': {
        if (args.length !== 1) return this.error(at, '$TTL takes one TTL');
        try {
          this.#defaultTtl = ttlValue(args[0]!); // RFC 2308 §4
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          this.error(at, `$TTL: ${err.message}`);
        }
        return;
      }
      case '$INCLUDE':
        return this.#include(e, at);
      case '$GENERATE':
        return this.#generate(e, at);
      default:
        return this.error(at, `unknown directive "${head!.text}"`);
    }
  }

  /**
   * The zone's origin: the zone file's own origin in force at the first record (read there or
   * in an included file); a later $ORIGIN only changes what relative names hang from.
   */
  #zoneOriginAt(at: number): Name | undefined {
    if (this.#zoneOrigin === undefined) {
      const top = this.#stack.length > 0 ? this.#stack[0]!.origin : this.#origin;
      if (top === undefined || this.#origin === undefined) {
        this.error(at, NO_ORIGIN);
        this.stopped = true; // every name after this would be a guess
        return undefined;
      }
      this.#zoneOrigin = top;
    }
    return this.#zoneOrigin;
  }

  /** [<TTL>] [<class>] or [<class>] [<TTL>] from tokens[k] (RFC 1035 §5.1, RFC 2308 §4): the type's index; the TTL in #explicitTtl. */
  #prefix(tokens: readonly Token[], k: number): number {
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
    this.#explicitTtl = ttl;
    return k;
  }

  /** The TTL of a record without one on its line; it is then the one later records inherit. */
  #ttl(explicit: number | undefined, at: number): number {
    let ttl = explicit;
    if (ttl === undefined) {
      if (this.#defaultTtl !== undefined) ttl = this.#defaultTtl;
      else if (this.#lastTtl !== undefined) ttl = this.#lastTtl; // RFC 1035 §5.1
      else if (this.#soaMinimum !== undefined) {
        // What RFC 1035 servers did before $TTL existed (RFC 2308 §4); BIND does the same.
        ttl = this.#soaMinimum;
        this.warn(at, `no TTL and no $TTL: using the SOA MINIMUM ${ttl}; add a $TTL line`);
      } else throw new RecordError('no TTL: give the record a TTL or add a $TTL line before it');
    }
    this.#lastTtl = ttl;
    return ttl;
  }

  #record(e: Entry, at: number): void {
    const tokens = e.tokens;
    const zoneOrigin = this.#zoneOriginAt(at);
    if (zoneOrigin === undefined) return;
    const origin = this.#origin!;
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

    k = this.#prefix(tokens, k);
    const explicit = this.#explicitTtl;
    const type = recordType(tokens[k++]!);
    const data = parseRData(type, tokens, k, { origin });
    if (data.type === RRType.SOA && 'minimum' in data) this.#soaMinimum = data.minimum;
    const ttl = this.#ttl(explicit, at);

    // Inherited from a line whose owner was already reported as bad: check the rest, keep nothing.
    if (owner === null) return;
    this.#add(at, { name: owner, type, ttl, data }, zoneOrigin);
  }

  /**
   * `$INCLUDE <file-name> [<domain-name>]` (RFC 1035 §5.1): the file's records are read with the
   * origin given (else the current one) and no current owner; after it, origin and owner are
   * what they were. $TTL and the last TTL carry on, as in BIND.
   */
  #include(e: Entry, at: number): void {
    const args = e.tokens.slice(1);
    const source = this.source;
    if (!source) return this.error(at, '$INCLUDE is not supported');
    if (args.length < 1 || args.length > 2) return this.error(at, '$INCLUDE takes a file name and, optionally, an origin');
    let name: string;
    let origin = this.#origin;
    try {
      name = fileName(args[0]!);
      if (args[1]) origin = domainName(args[1], this.#origin ?? '');
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      return this.error(at, `$INCLUDE: ${err.message}`);
    }
    const resolved = resolveIncludePath(this.#frame.path, name);
    if ('error' in resolved) return this.error(at, `$INCLUDE "${name}": ${resolved.error}`);
    const path = resolved.path;
    const chain = [...this.#stack.map((s) => s.frame.path), this.#frame.path];
    if (chain.includes(path)) {
      const loop = [...chain.slice(chain.indexOf(path)), path].map((p) => source.displayName(p));
      return this.error(at, `$INCLUDE "${name}": include loop: ${loop.join(' includes ')}`);
    }
    if (this.#stack.length >= MAX_INCLUDE_DEPTH) return this.error(at, `$INCLUDE "${name}": included files nest more than ${MAX_INCLUDE_DEPTH} deep`);
    if (this.includes.length >= MAX_INCLUDES) return this.error(at, `$INCLUDE "${name}": more than ${MAX_INCLUDES} $INCLUDEs in one zone`);
    this.includes.push(path);
    const read = source.read(path);
    if (!read.ok) return this.error(at, `$INCLUDE "${name}": ${read.error}`);

    this.#stack.push({ frame: this.#frame, origin: this.#origin, lastOwner: this.#lastOwner });
    this.#frame = { path, file: source.displayName(path) };
    this.#origin = origin;
    this.#lastOwner = undefined;
    this.#startSegment(this.#frame.file, 1);
    tokenize(read.text, (entry) => this.entry(entry));
    const saved = this.#stack.pop()!;
    this.#frame = saved.frame;
    this.#origin = saved.origin;
    this.#lastOwner = saved.lastOwner;
    this.#startSegment(saved.frame.file, e.line + 1);
  }

  /**
   * BIND's `$GENERATE range lhs [ttl] [class] type rhs` (see generate.ts). Every record is
   * checked as if written out; the first bad one ends the directive with one error. As in
   * BIND, the owner blank-owner lines inherit is not changed, and the RDATA template is one
   * field (quoted when it has spaces).
   */
  #generate(e: Entry, at: number): void {
    const args = e.tokens;
    const zoneOrigin = this.#zoneOriginAt(at);
    if (zoneOrigin === undefined) return;
    const origin = this.#origin!;
    let value = -1;
    let range;
    try {
      if (args.length < 4) throw new RecordError('takes a range, an owner, [TTL] [class], a type and the RDATA: $GENERATE 1-10 host$ A 192.0.2.$');
      range = generateRange(args[1]!.text);
      if (args[2]!.quoted) throw new RecordError('the owner must not be quoted');
      const lhs = generateTemplate(args[2]!.text);
      const k = this.#prefix(args, 3);
      const explicit = this.#explicitTtl;
      const type = recordType(args[k]!);
      const rhsToken = args[k + 1];
      if (!rhsToken) throw new RecordError(`missing the ${typeName(type)} data`);
      const extra = args[k + 2];
      if (extra) throw new RecordError(`unexpected "${extra.text}": the data is one field; quote it when it has spaces ("10 mail$")`);
      const rhs = generateTemplate(rhsToken.text);
      const ttl = this.#ttl(explicit, at);
      const fixed = rhs.constant ? parseRData(type, templateTokens(rhs.expand(0)), 0, { origin }) : undefined;
      for (let n = 0, v = range.start; n < range.count; n++, v += range.step) {
        value = v;
        const name = domainName({ text: lhs.expand(v), quoted: false, line: e.line }, origin);
        const data = fixed ?? parseRData(type, templateTokens(rhs.expand(v)), 0, { origin });
        const before = this.errors.length;
        this.#add(at, { name, type, ttl, data }, zoneOrigin);
        if (this.errors.length > before) return;
      }
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      const where = value >= 0 && range ? ` (for ${value} of ${args[1]!.text})` : '';
      this.error(at, `$GENERATE: ${err.message}${where}`);
    }
  }

  /** The checks that need no index; the others run on the built zone (see zone-checks.ts). */
  #add(line: number, rr: RR, zoneOrigin: Name): void {
    const { name, type } = rr;
    if (!isSubdomain(name, zoneOrigin)) return this.error(line, `owner ${show(name)} is outside the zone ${show(zoneOrigin)}`);
    if (type === RRType.SOA) {
      if (name !== zoneOrigin) return this.error(line, `SOA record at ${show(name)}: it belongs at the zone apex ${show(zoneOrigin)}`);
      if (this.#soaLine) return this.error(line, `second SOA record (the first is on ${this.where(this.#soaLine, line)}): a zone has exactly one`);
      this.#soaLine = line;
    }
    this.records.push(rr);
    this.#lines.push(line);
  }

  finish(): ParseResult {
    const includes = this.includes;
    const zoneOrigin = this.#zoneOrigin ?? this.#origin;
    if (zoneOrigin === undefined) {
      this.error(0, NO_ORIGIN);
      return { ok: false, errors: this.errors, includes };
    }
    if (this.stopped) return { ok: false, errors: this.errors, includes };
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
    checkZone(zone, this.records, this.#lines, this);
    if (this.errors.length > 0) return { ok: false, errors: this.#inOrder(), includes };
    return { ok: true, zone, warnings: this.warnings, includes };
  }

  /**
   * The errors in reading order: zone-level errors are found after the line-by-line ones, and
   * errors about the whole file (line 0) come last, as does "too many errors".
   */
  #inOrder(): ZoneFileError[] {
    const stop = this.errors.findIndex((e) => e.message.startsWith('too many errors'));
    const order = [...this.errors.keys()].filter((i) => i !== stop);
    const key = (i: number) => this.#errorLocs[i] || Infinity;
    order.sort((a, b) => key(a) - key(b) || a - b);
    if (stop >= 0) order.push(stop);
    return order.map((i) => this.errors[i]!);
  }
}

/**
 * Parses the text of one zone file. `origin` is where relative names hang from (usually from
 * the file name); a `$ORIGIN` before the first record overrides it. `includes` reads the files
 * `$INCLUDE` names; without it $INCLUDE is an error. Never throws.
 */
export function parseZoneFile(text: string, options: { file: string; origin?: Name; includes?: IncludeSource }): ParseResult {
  const parser = new ZoneFileParser(options.file, options.origin, options.includes);
  try {
    tokenize(text, (entry) => parser.entry(entry));
    return parser.finish();
  } catch (err) {
    // Not expected; but a zone file must never take the server down.
    return {
      ok: false,
      errors: [...parser.errors, { file: options.file, line: 0, message: `internal error while parsing: ${errorMessage(err)}` }],
      includes: parser.includes,
    };
  }
}

/**
 * RFC 1035 §5 master-file ("zone file") parsing: the file-level pass. Directives ($ORIGIN,
 * $TTL), owner and TTL inheritance between lines, the record line's [TTL] [class] type prefix,
 * the per-line zone rules (inside the zone, one SOA at the apex), then the zone built and its
 * cross-record rules checked (zone-checks.ts).
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
import { RecordError, domainName, endsWithUnescapedDot, ttlValue } from './fields.js';
import { parseRData } from './rdata-parsers.js';
import { tokenize, type Entry } from './tokenizer.js';
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

export type ParseResult = { ok: true; zone: StaticZone; warnings: ZoneFileError[] } | { ok: false; errors: ZoneFileError[] };

/** Past this many errors the rest of the file is not worth reading: the first ones are the fix. */
const MAX_ERRORS = 50;

const NO_ORIGIN = 'no origin: name the file after its zone (example.test.zone) or add $ORIGIN';

const CLASS_TOKEN = /^(?:IN|CH|CS|HS|NONE|ANY|CLASS\d+)$/i;

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

  /** The checks that need no index; the others run on the built zone (see zone-checks.ts). */
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
    checkZone(zone, this.records, this.#lines, this);
    if (this.errors.length > 0) {
      // Zone-level errors were found after the line-by-line ones: present them in file order.
      const stop = this.errors.findIndex((e) => e.message.startsWith('too many errors'));
      const sorted = (stop < 0 ? this.errors : this.errors.slice(0, stop)).sort((a, b) => (a.line || Infinity) - (b.line || Infinity));
      return { ok: false, errors: stop < 0 ? sorted : [...sorted, this.errors[stop]!] };
    }
    return { ok: true, zone, warnings: this.warnings };
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
      errors: [...parser.errors, { file: options.file, line: 0, message: `internal error while parsing: ${errorMessage(err)}` }],
    };
  }
}

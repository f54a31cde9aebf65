/**
 * BIND's `$GENERATE range lhs [ttl] [class] type rhs` (BIND 9 ARM, "The $GENERATE Directive";
 * lib/dns/master.c genname()): the range and the templates. Not in RFC 1035, but reverse zones
 * kept for years are written with it, so etcdns reads it the way named-compilezone does:
 *
 * - range `start-stop[/step]`, all decimal, 0 <= start <= stop, step >= 1;
 * - in a template `$` is the iterator, `${offset[,width[,base]]}` adds offset, pads to width with
 *   zeros and writes it in base d (decimal), o (octal), x/X (hex) or n/N (nibbles, least
 *   significant first, one per label: the form of ip6.arpa names);
 * - `$$` and `\$` are a literal `$` (both names as BIND 9.18 writes them back), and any other
 *   `\X` is kept for the name or RDATA parser that reads the result.
 */
import { RecordError } from './fields.js';

/**
 * Records one directive may generate. BIND has no bound (a 0-2147483647 range runs for
 * minutes); 65536 covers every nibble of a /112 or a /16 of PTRs, and a typo in a range then
 * costs an error instead of the server's memory.
 */
export const MAX_GENERATED = 65536;

const INT_MAX = 0x7fffffff;

/** BIND formats into a 128-octet buffer; wider conversions are an error there too. */
const MAX_CONVERSION = 127;

export interface GenerateRange {
  start: number;
  stop: number;
  step: number;
  /** How many values the range takes. */
  count: number;
}

export function generateRange(text: string): GenerateRange {
  const m = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(text);
  const start = Number(m?.[1]);
  const stop = Number(m?.[2]);
  const step = m?.[3] === undefined ? 1 : Number(m[3]);
  if (!m || start > INT_MAX || stop > INT_MAX || step > INT_MAX || stop < start || step < 1) {
    throw new RecordError(`bad range "${text}": start-stop or start-stop/step, with 0 <= start <= stop < 2^31 and step >= 1`);
  }
  const count = Math.floor((stop - start) / step) + 1;
  if (count > MAX_GENERATED) {
    throw new RecordError(`range "${text}" would generate ${count} records; at most ${MAX_GENERATED} per $GENERATE`);
  }
  return { start, stop, step, count };
}

/** One piece of a template: literal text, or the iterator with its modifiers. */
type Part = string | { offset: number; width: number; base: string };

/** A compiled template: expand(value) is the text for one value of the range. */
export interface GenerateTemplate {
  readonly constant: boolean;
  expand(value: number): string;
}

/** `{offset}`, `{offset,width}` or `{offset,width,base}` right after a `$` (BIND's sscanf format). */
const MODIFIER = /^\{([+-]?\d+)(?:\}|,(\d+)(?:\}|,([doxXnN])\}))/;

export function generateTemplate(text: string): GenerateTemplate {
  const parts: Part[] = [];
  let literal = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '\\') {
      // Kept whole: the name or RDATA parser gives \X its meaning (\$ is then a plain $).
      literal += text.slice(i, i + 2);
      i += 2;
    } else if (c !== '$') {
      literal += c;
      i++;
    } else if (text[i + 1] === '$') {
      literal += '$';
      i += 2;
    } else {
      if (literal) parts.push(literal);
      literal = '';
      if (text[i + 1] !== '{') {
        parts.push({ offset: 0, width: 0, base: 'd' });
        i++;
        continue;
      }
      const m = MODIFIER.exec(text.slice(i + 1));
      if (!m) throw new RecordError(`bad modifier in "${text}": \${offset}, \${offset,width} or \${offset,width,base} with base d, o, x, X, n or N`);
      const offset = Number(m[1]);
      const width = m[2] === undefined ? 0 : Number(m[2]);
      if (Math.abs(offset) > INT_MAX || width > MAX_CONVERSION) throw new RecordError(`modifier "$${m[0]}" is out of range`);
      parts.push({ offset, width, base: m[3] ?? 'd' });
      i += 1 + m[0].length;
    }
  }
  if (literal) parts.push(literal);
  const constant = parts.every((p) => typeof p === 'string');
  return {
    constant,
    expand: (value) => {
      let out = '';
      for (const p of parts) out += typeof p === 'string' ? p : convert(value, p);
      return out;
    },
  };
}

function convert(value: number, { offset, width, base }: { offset: number; width: number; base: string }): string {
  const v = value + offset;
  if (v > INT_MAX) throw new RecordError(`${value} + ${offset} is out of range`);
  let out: string;
  if (base === 'n' || base === 'N') {
    if (v < 0) throw new RecordError(`${value} + ${offset} is negative, which has no nibble form`);
    out = nibbles(v, width, base === 'N');
  } else if (base === 'd') {
    out = v < 0 ? `-${String(-v).padStart(width - 1, '0')}` : String(v).padStart(width, '0');
  } else {
    // printf's %o/%x/%X read the int as unsigned.
    const digits = (v >>> 0).toString(base === 'o' ? 8 : 16);
    out = (base === 'X' ? digits.toUpperCase() : digits).padStart(width, '0');
  }
  if (out.length > MAX_CONVERSION) throw new RecordError(`modifier width ${width} is too wide`);
  return out;
}

/**
 * BIND's nibble form: hex digits least significant first, separated by dots, until the value
 * is used up and `width` characters (dots included) are written. An even width therefore ends
 * in a dot, as in BIND, which makes `${0,4,n}.rest` an empty label there and here.
 */
function nibbles(value: number, width: number, upper: boolean): string {
  const digits = upper ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = '';
  let v = value;
  let w = width;
  do {
    out += digits[v & 0xf];
    v >>>= 4;
    if (w > 0) w--;
    if (w > 0 || v !== 0) {
      out += '.';
      if (w > 0) w--;
    }
  } while (v !== 0 || w > 0);
  return out;
}

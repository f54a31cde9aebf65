/**
 * Domain names inside etcdns.
 *
 * A `Name` is a string: labels joined by '.', no trailing dot, the root is ''. Each label
 * byte is one char (0-255), with ASCII A-Z folded to a-z (DNS compares names
 * case-insensitively for ASCII only, RFC 4343 §3). A '.' *inside* a label (legal on the wire,
 * RFC 2181 §11) is stored as U+012E so that splitting on '.' is always safe; no byte can
 * produce that char any other way. Keeping names as plain strings makes a lookup a single
 * Map.get and lets V8 intern them.
 */
export type Name = string;

/** Stands for a 0x2e byte inside a label. */
export const DOT_IN_LABEL = '\u012e';

export const MAX_LABEL_OCTETS = 63;
export const MAX_NAME_OCTETS = 255;

/** ASCII-only lower-casing (RFC 4343 §3): other bytes are distinct characters. */
export function lowerAscii(s: string): string {
  // Fast exit: most names arrive lower-case already.
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

export function labels(name: Name): string[] {
  return name === '' ? [] : name.split('.');
}


/** The name one label up; the root's parent is undefined. */
export function parentName(name: Name): Name | undefined {
  if (name === '') return undefined;
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

/** True when `name` is `zone` or below it. */
export function isSubdomain(name: Name, zone: Name): boolean {
  if (zone === '') return true;
  if (name.length === zone.length) return name === zone;
  return name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46;
}

/** `label.parent`, for building child names. */
export function childName(label: string, parent: Name): Name {
  return parent === '' ? label : `${label}.${parent}`;
}

/** Octets `name` takes on the wire, uncompressed (RFC 1035 §3.1). */
export function wireLength(name: Name): number {
  return name === '' ? 1 : name.length + 2;
}

/** Why `name` cannot be a DNS name, or undefined when it can (RFC 1035 §2.3.4). */
function nameError(name: Name): string | undefined {
  if (name === '') return undefined;
  for (const label of name.split('.')) {
    if (label.length === 0) return 'empty label';
    if (label.length > MAX_LABEL_OCTETS) return `label "${label.slice(0, 20)}…" is longer than ${MAX_LABEL_OCTETS} octets`;
  }
  if (wireLength(name) > MAX_NAME_OCTETS) return `name is longer than ${MAX_NAME_OCTETS} octets`;
  return undefined;
}

/** Label bytes of `name`, in wire order, for the encoder. */
export function labelBytes(label: string): Uint8Array {
  const out = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    out[i] = c === 0x12e ? 0x2e : c;
  }
  return out;
}

/**
 * Presentation form with a trailing dot (RFC 1035 §5.1): '.', '\\', '"', ';', '(', ')' and
 * whitespace are escaped with a backslash, non-printable bytes as \DDD.
 */
export function toPresentation(name: Name): string {
  if (name === '') return '.';
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) out += '.';
    else if (c === 0x12e) out += '\\.';
    else if (c === 92 || c === 34 || c === 59 || c === 40 || c === 41 || c === 64 || c === 36) out += `\\${name[i]}`;
    else if (c <= 32 || c >= 127) out += `\\${String(c).padStart(3, '0')}`;
    else out += name[i];
  }
  return `${out}.`;
}

/**
 * Parses a name typed by a person (CLI flag, config, etcd key part): dots separate labels, a
 * trailing dot is optional, and RFC 1035 §5.1 escapes (\X, \DDD) are honoured. Returns the
 * canonical Name or an error message.
 */
export function parseName(text: string): { name: Name } | { error: string } {
  if (text === '.' || text === '') return { name: '' };
  let out = '';
  let label = 0;
  for (let i = 0; i < text.length; i++) {
    let ch = text[i]!;
    if (ch === '\\') {
      const digits = /^\d{3}/.exec(text.slice(i + 1, i + 4));
      if (digits) {
        const value = Number(digits[0]);
        if (value > 255) return { error: `escape \\${digits[0]} is not a byte` };
        ch = value === 46 ? DOT_IN_LABEL : String.fromCharCode(value);
        i += 3;
      } else if (/^\d/.test(text.slice(i + 1, i + 2))) {
        return { error: `escape in "${text}" needs three digits (\\DDD, RFC 1035 §5.1)` };
      } else if (i + 1 < text.length) {
        ch = text[i + 1] === '.' ? DOT_IN_LABEL : text[i + 1]!;
        i += 1;
      } else {
        return { error: 'name ends with a lone backslash' };
      }
      out += lowerAscii(ch);
      label++;
      continue;
    }
    if (ch === '.') {
      if (label === 0) return { error: `empty label in "${text}"` };
      if (i === text.length - 1) break; // trailing dot: absolute name
      label = 0;
      out += '.';
      continue;
    }
    const c = ch.charCodeAt(0);
    // Non-ASCII text is Unicode, not bytes: an IDN goes on the wire as punycode (RFC 5891).
    if (c > 127) return { error: `"${text}" has a non-ASCII character; write it as punycode (xn--)` };
    out += lowerAscii(ch);
    label++;
  }
  const error = nameError(out);
  return error ? { error: `"${text}": ${error}` } : { name: out };
}

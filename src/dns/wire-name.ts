/**
 * Reading a domain name in wire format (RFC 1035 §3.1, §4.1.4) into a canonical `Name`. Here
 * rather than in wire/ because two layers read names from bytes: the wire layer (queries,
 * upstream replies) and the zone-file source (RFC 3597 generic RDATA), which may not import
 * wire/; one reader keeps both to the same rules.
 */
import { DOT_IN_LABEL, MAX_NAME_OCTETS, type Name } from './name.js';
import { latin1Interned } from './name-intern.js';

/** A name read from a message: its canonical form, the offset just past it, and whether it was written without a pointer. */
export interface ReadName {
  name: Name;
  end: number;
  inline: boolean;
}

/**
 * Reads a (possibly compressed) name into canonical form. `into`, when given, is filled and
 * returned instead of a new object (the query decoder reuses one: it runs for every query). Returns an error string for
 * anything malformed: reserved label types, pointers that do not point backwards (which rules
 * out loops), names over 255 octets (RFC 1035 §4.1.4, §2.3.4).
 */
export function readName(msg: Buffer, offset: number, into?: ReadName): ReadName | string {
  // The canonical text is assembled as bytes in `nameBytes` and turned into a string once: one
  // allocation per name instead of one per character (this runs for every query).
  let length = 0;
  // Positions of '.' octets inside labels, rare: they become DOT_IN_LABEL, which is not Latin-1.
  let dotsInLabels: number[] | undefined;
  let pos = offset;
  let end = -1;
  let octets = 1;
  let lowestJump = offset;
  for (;;) {
    if (pos >= msg.length) return 'runs past the end of the message';
    const len = msg[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) return 'compression pointer runs past the end';
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (end < 0) end = pos + 2;
      // Only strictly backwards pointers: this forbids loops and forward references.
      if (target >= lowestJump) return 'compression pointer does not point backwards';
      lowestJump = target;
      pos = target;
      continue;
    }
    if (kind !== 0) return `reserved label type 0x${kind.toString(16)}`;
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) return 'longer than 255 octets';
    if (pos + 1 + len > msg.length) return 'label runs past the end of the message';
    if (length > 0) nameBytes[length++] = 0x2e;
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = msg[i]!;
      if (c === 0x2e) (dotsInLabels ??= []).push(length);
      // Canonical form: ASCII upper case folded (RFC 4343); other octets as they are.
      nameBytes[length++] = c >= 65 && c <= 90 ? c + 32 : c;
    }
    pos += len + 1;
  }
  // Latin-1 maps each octet to the code point of the same value, as String.fromCharCode does.
  // Interned: the same question name comes with query after query (name-intern.ts).
  if (!dotsInLabels) return result(latin1Interned(nameBytes, length), end, lowestJump === offset, into);
  let name = nameBytes.toString('latin1', 0, length);
  for (const at of dotsInLabels) name = name.slice(0, at) + DOT_IN_LABEL + name.slice(at + 1);
  return result(name, end, lowestJump === offset, into);
}

/** Scratch space for readName; a name is at most 255 octets, so its text at most 254 characters. */
const nameBytes = Buffer.alloc(MAX_NAME_OCTETS);

function result(name: Name, end: number, inline: boolean, into: ReadName | undefined): ReadName {
  if (into === undefined) return { name, end, inline };
  into.name = name;
  into.end = end;
  into.inline = inline;
  return into;
}

/**
 * The text of a name read from the wire, as the same string every time the same bytes come in.
 *
 * A server hears the same few thousand names over and over. Making a new string for each query's
 * name (a call into C++ and an allocation) brought V8's next young-generation collection closer,
 * and each collection pauses every query waiting behind it (docs/performance.md, Latency). Here
 * the bytes are hashed and compared with the strings last made from bytes of that hash: when one
 * matches, it is returned and nothing is allocated.
 *
 * A fixed table, two entries per hash (the newer replaces the older), so it holds at most SLOTS
 * strings whatever the clients send. Strings are values: which copy a caller gets is invisible,
 * so one table serves every reader in the process.
 */
const SLOTS = 16384; // a power of two: ~1 MiB of 60-character names at most

const table: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

/** `bytes[0, length)` as Latin-1 text (each octet the code point of its value). */
export function latin1Interned(bytes: Buffer, length: number): string {
  // FNV-1a: cheap, and spreads names that differ in one character.
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  const slot = hash & (SLOTS - 2);
  const first = table[slot];
  if (first !== undefined && sameText(first, bytes, length)) return first;
  const second = table[slot + 1];
  if (second !== undefined && sameText(second, bytes, length)) return second;
  const text = bytes.toString('latin1', 0, length);
  table[slot + 1] = first;
  table[slot] = text;
  return text;
}

function sameText(text: string, bytes: Buffer, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) !== bytes[i]) return false;
  return true;
}

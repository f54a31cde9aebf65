/**
 * One string per label text for the labels the name trie keeps (its children's labels): a
 * label cut from each key (`splitKey`) is a new string every time, and most keys end in a label
 * thousands of others share (`x1`, `_tcp`, `_http`, an instance index). Measured with the
 * bench's 1M-key sync data: ~40 bytes per key.
 *
 * A fixed table, two slots per hash (the newer replaces the older), as dns/name-intern.ts: it
 * holds at most SLOTS strings whatever the keys, and a label pushed out only costs a duplicate.
 * One per index (its labels live as long as the index's tries).
 */
const SLOTS = 8192; // a power of two

export class LabelTable {
  readonly #table: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

  /** `label`, or an equal string this table handed out before. */
  intern(label: string): string {
    // FNV-1a over the UTF-16 units (labels are ASCII: splitKey allows letters, digits, '-', '_', '*').
    let hash = 0x811c9dc5;
    for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    const slot = hash & (SLOTS - 2);
    const table = this.#table;
    const first = table[slot];
    if (first === label) return first;
    const second = table[slot + 1];
    if (second === label) return second;
    table[slot + 1] = first;
    table[slot] = label;
    return label;
  }
}

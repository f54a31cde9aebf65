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

/** Longest list of children's labels `internList` shares (lists of a name with few children). */
const MAX_LIST = 8;

export class LabelTable {
  readonly #table: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  readonly #lists: (readonly string[] | undefined)[] = new Array<readonly string[] | undefined>(SLOTS).fill(undefined);

  /**
   * `labels`, or an equal list this table handed out before. The trie keeps the sorted labels of
   * a name's children in a list it never writes in place (name-trie.ts Kids), so names whose
   * children have the same labels can share one: every service of a registry has `_tcp` below
   * it and `_http` below that, often the same instance labels too (measured with the bench's
   * sync data: ~60 bytes per key).
   */
  internList(labels: readonly string[]): readonly string[] {
    if (labels.length > MAX_LIST) return labels;
    let hash = 0x811c9dc5;
    for (const label of labels) {
      for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
      hash = Math.imul(hash ^ 0x2f, 0x01000193); // a separator: ['ab'] is not ['a', 'b']
    }
    const slot = hash & (SLOTS - 2);
    const table = this.#lists;
    const first = table[slot];
    if (first && sameLabels(first, labels)) return first;
    const second = table[slot + 1];
    if (second && sameLabels(second, labels)) return second;
    table[slot + 1] = first;
    table[slot] = labels;
    return labels;
  }

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

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

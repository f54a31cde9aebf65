/**
 * The name trie behind the etcd zones: one trie per configured zone, one node per name that has
 * a key at or below it, children in sorted chunks. Nodes are immutable once a batch is
 * published; a batch copies only the path from the zone apex to each changed key (path
 * copying, `insertEntry` / `removeEntry`), so every untouched subtree - and whatever is memoised
 * for it - is shared between the views before and after. A lookup is one binary search per label.
 *
 * A name with exactly one key and nothing below it (every instance of a service: most names)
 * is that key's Entry itself, not a TNode holding a one-entry list: at the bench's sync data
 * (three instances per service) the node and the list cost 136 of ~850 bytes per key.
 */
import { childName, type Name } from '../../dns/name.js';
import { sameService, type Service } from '../../skydns/codec.js';
import { isRecordKey } from './record-owner.js';

/**
 * One valid key, as stored in the trie: in its name's TNode's `entries`, or, when it is the
 * only key at its name and nothing is below it, as that name's trie node (a leaf). Immutable:
 * a change of the key makes a new Entry, so it is as safe a memo key as a TNode.
 */
export class Entry {
  constructor(
    readonly key: string,
    /** The name the key stands for (the SRV/MX/NS target synthesized for address hosts). */
    readonly name: Name,
    readonly service: Service,
    /** The record TTL: service ttl or the default, capped by the lease TTL. */
    readonly ttl: number,
  ) {}

  /**
   * Labels in `name`: "shortest key" for groups (CoreDNS counts '/' in the key: same order).
   * Computed, not stored: only entries with a group are ever asked (codec.ts groupFilter).
   */
  get depth(): number {
    const name = this.name;
    if (name === '') return 0;
    let n = 1;
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) n++;
    return n;
  }

  /** As a trie node: a leaf has no children. */
  get kids(): undefined {
    return undefined;
  }

  /** As a trie node: the one key of its subtree. */
  get size(): number {
    return 1;
  }
}

/** A name in the trie: a TNode, or a leaf that is its one key's Entry. */
export type TrieNode = TNode | Entry;

/** The entries whose key is exactly this name (a leaf's: itself). */
export function entriesOf(t: TrieNode): readonly Entry[] | undefined {
  return t instanceof TNode ? t.entries : [t];
}

/** A run of children, sorted by label; copied whole when a batch changes one of them. */
interface Chunk {
  owner: number;
  labels: readonly string[];
  nodes: readonly TrieNode[];
}

/** What the trie keeps one of for equal labels and lists of children's labels (label-table.ts). */
export interface Interning {
  intern(label: string): string;
  internList(labels: readonly string[]): readonly string[];
}

const NO_INTERNING: Interning = { intern: (label) => label, internList: (labels) => labels };

/** Children per chunk before a split: bounds what one copy-on-write copies. */
const CHUNK_MAX = 64;

const NO_LABELS: readonly string[] = Object.freeze([]);
const NO_NODES: readonly TrieNode[] = Object.freeze([]);

/** Whether `nodes` is a list of children rather than a lone child (a TrieNode is never an array). */
function isList(nodes: readonly TrieNode[] | TrieNode): nodes is readonly TrieNode[] {
  return Array.isArray(nodes);
}

/** The children as a list (a lone child in a new array of one). */
function asList(nodes: readonly TrieNode[] | TrieNode): readonly TrieNode[] {
  return isList(nodes) ? nodes : [nodes];
}

/**
 * The children of a trie node, sorted by label: up to CHUNK_MAX of them in two plain arrays
 * (`labels`, `nodes`; `chunks` undefined), more in chunks of at most CHUNK_MAX. A Map would be
 * O(1) to read but O(fan-out) to copy, and path copying copies the children of every node on
 * the path: with 100k instances under one name a 1-key batch cost 20-40 ms. Chunked, a copy is
 * the chunk index (fan-out/64 pointers) plus one chunk; a lookup is two binary searches. Sorted
 * order also gives answers in a stable order without sorting.
 *
 * Most names have one to three children: for them a chunk index and a chunk object (about 100
 * bytes) would cost more than the children (measured: ~88 bytes per key of the bench's sync
 * data set, 3 instances per service), hence the plain arrays up to CHUNK_MAX.
 *
 * A TNode is its own Kids and copies them with itself; chunks carry their own owner. A lone
 * child (`svc1` → `_tcp` → `_http` in a registry's layout) is kept in `nodes` itself, not in an
 * array of one (a 56-byte array, two per service of the bench's sync data).
 *
 * Arrays are replaced (toSpliced) rather than grown in place: V8 grows an array that is
 * pushed or spliced into to a capacity of 17+ slots, and most trie nodes have one to three
 * children, so growing in place cost ~130 bytes per array, ~220 bytes per key at 100k keys
 * (measured with 100k SkyDNS keys in one process: the index went from ~1065 to ~846 bytes
 * per key).
 */
export class Kids {
  constructor(
    public labels: readonly string[],
    /** The children, or the only child itself (see above). */
    public nodes: readonly TrieNode[] | TrieNode,
    /** Undefined, or never empty: a chunked list emptied by deletes goes back to the arrays. */
    public chunks: readonly Chunk[] | undefined,
  ) {}

  get(label: string): TrieNode | undefined {
    const chunks = this.chunks;
    if (chunks) {
      if (chunks.length === 0) return undefined;
      const c = chunks[chunks.length === 1 ? 0 : this.#locate(label)]!;
      const j = lowerBound(c.labels, label);
      return c.labels[j] === label ? c.nodes[j] : undefined;
    }
    const labels = this.labels;
    const i = lowerBound(labels, label);
    if (labels[i] !== label) return undefined;
    const nodes = this.nodes;
    return isList(nodes) ? nodes[i] : nodes;
  }

  /** `interning`: keeps an equal list instead of a new list of labels (label-table.ts internList). */
  set(label: string, node: TrieNode, epoch: number, interning: Interning = NO_INTERNING): void {
    if (!this.chunks) {
      const i = lowerBound(this.labels, label);
      const nodes = this.nodes;
      if (this.labels[i] === label) {
        this.nodes = isList(nodes) ? nodes.with(i, node) : node;
        return;
      }
      this.labels = interning.internList(this.labels.toSpliced(i, 0, label));
      this.nodes = this.labels.length === 1 ? node : asList(nodes).toSpliced(i, 0, node);
      if (this.labels.length > CHUNK_MAX) {
        const half = this.labels.length >> 1;
        const list = asList(this.nodes);
        this.chunks = [
          { owner: epoch, labels: this.labels.slice(0, half), nodes: list.slice(0, half) },
          { owner: epoch, labels: this.labels.slice(half), nodes: list.slice(half) },
        ];
        this.labels = NO_LABELS;
        this.nodes = NO_NODES;
      }
      return;
    }
    if (this.chunks.length === 0) {
      this.chunks = [{ owner: epoch, labels: [label], nodes: [node] }];
      return;
    }
    const ci = this.#locate(label);
    const c = this.#own(ci, epoch);
    const i = lowerBound(c.labels, label);
    if (c.labels[i] === label) {
      c.nodes = c.nodes.with(i, node);
      return;
    }
    c.labels = c.labels.toSpliced(i, 0, label);
    c.nodes = c.nodes.toSpliced(i, 0, node);
    if (c.labels.length > CHUNK_MAX) {
      const half = c.labels.length >> 1;
      const upper: Chunk = { owner: epoch, labels: c.labels.slice(half), nodes: c.nodes.slice(half) };
      c.labels = c.labels.slice(0, half);
      c.nodes = c.nodes.slice(0, half);
      this.chunks = this.chunks.toSpliced(ci + 1, 0, upper);
    }
  }

  delete(label: string, epoch: number): void {
    if (!this.chunks) {
      const i = lowerBound(this.labels, label);
      if (this.labels[i] !== label) return;
      this.labels = this.labels.toSpliced(i, 1);
      const rest = asList(this.nodes).toSpliced(i, 1);
      this.nodes = rest.length === 1 ? rest[0]! : rest.length === 0 ? NO_NODES : rest;
      return;
    }
    if (this.chunks.length === 0) return;
    const ci = this.#locate(label);
    const c0 = this.chunks[ci]!;
    const i = lowerBound(c0.labels, label);
    if (c0.labels[i] !== label) return;
    const c = this.#own(ci, epoch);
    c.labels = c.labels.toSpliced(i, 1);
    c.nodes = c.nodes.toSpliced(i, 1);
    if (c.labels.length === 0) this.chunks = this.chunks.length === 1 ? undefined : this.chunks.toSpliced(ci, 1);
  }

  /** Children in label order. */
  forEach(f: (node: TrieNode) => void): void {
    const nodes = this.nodes;
    if (this.chunks) for (const c of this.chunks) for (const n of c.nodes) f(n);
    else if (isList(nodes)) for (const n of nodes) f(n);
    else f(nodes);
  }

  /** Labels and children in label order, as two arrays (the chunks' copied into new ones). */
  flat(): readonly [readonly string[], readonly TrieNode[]] {
    if (!this.chunks) return [this.labels, asList(this.nodes)];
    return [this.chunks.flatMap((c) => c.labels), this.chunks.flatMap((c) => c.nodes)];
  }

  /** Children whose label starts with `prefix`, in label order: a binary search, then only those. */
  forEachWithPrefix(prefix: string, f: (node: TrieNode) => void): void {
    const chunks = this.chunks;
    if (!chunks) {
      eachWithPrefix(this.labels, asList(this.nodes), prefix, f);
      return;
    }
    for (let ci = chunks.length === 0 ? 0 : this.#locate(prefix); ci < chunks.length; ci++) {
      const c = chunks[ci]!;
      if (!eachWithPrefix(c.labels, c.nodes, prefix, f)) return;
    }
  }

  /** The last chunk whose first label is <= label (or the first chunk). */
  #locate(label: string): number {
    const chunks = this.chunks!;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (chunks[mid]!.labels[0]! <= label) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #own(ci: number, epoch: number): Chunk {
    const c = this.chunks![ci]!;
    if (c.owner === epoch) return c;
    // The arrays are never written in place (see above): sharing them until replaced is safe.
    const copy: Chunk = { owner: epoch, labels: c.labels, nodes: c.nodes };
    this.chunks = this.chunks!.with(ci, copy);
    return copy;
  }
}

/**
 * A trie node: the entries whose key is exactly this name (usually one; keys differing only in
 * case share a name) and the children by label. `size` counts entries in the subtree, so a node
 * exists exactly when something is at or below it, and a delete knows when to prune.
 *
 * The node is its own Kids (not a Kids object beside it: 64 bytes per name with children,
 * about one per key of the bench's sync data); `kids` is undefined when it has none.
 *
 * Fields are written only while `owner` is the epoch of the batch being applied (nodes created
 * or copied by that batch and not yet published); after `apply` returns they never change, which
 * is what makes them safe to share between views and to key memos on.
 */
export class TNode extends Kids {
  constructor(
    readonly name: Name,
    public owner: number,
    public entries: readonly Entry[] | undefined,
    /** The children to start with: shared, not copied (their arrays are replaced, never written in place). */
    kids: Kids | undefined,
    public size: number,
  ) {
    super(kids?.labels ?? NO_LABELS, kids?.nodes ?? NO_NODES, kids?.chunks);
  }

  /** The children, or undefined when there are none. */
  get kids(): Kids | undefined {
    // No count of its own (8 bytes per name): no chunks and no labels, or no chunk, is none.
    return (this.chunks === undefined ? this.labels.length : this.chunks.length) === 0 ? undefined : this;
  }
}

/**
 * Calls `f` for the nodes whose label starts with `prefix` in one sorted run; false once a label
 * past them is seen (no later run can hold more).
 */
function eachWithPrefix(labels: readonly string[], nodes: readonly TrieNode[], prefix: string, f: (node: TrieNode) => void): boolean {
  for (let i = lowerBound(labels, prefix); i < labels.length; i++) {
    if (!labels[i]!.startsWith(prefix)) return false;
    f(nodes[i]!);
  }
  return true;
}

/** First index whose label is >= `label`. */
function lowerBound(labels: readonly string[], label: string): number {
  let lo = 0;
  let hi = labels.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (labels[mid]! < label) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function child(t: TrieNode, label: string): TrieNode | undefined {
  return t.kids?.get(label);
}

/** The entry stored for `key` at segments[from..] below `root`, if any. */
export function findEntry(root: TNode, segments: readonly string[], from: number, key: string): Entry | undefined {
  let t: TrieNode | undefined = root;
  for (let i = from; i < segments.length && t; i++) t = child(t, segments[i]!);
  if (!t) return undefined;
  if (!(t instanceof TNode)) return t.key === key ? t : undefined;
  if (!t.entries) return undefined;
  for (const e of t.entries) if (e.key === key) return e;
  return undefined;
}

/**
 * Everything in the subtree, parents before children, siblings in label order. `ownOnly`: the
 * records DNS UPDATE wrote (record-owner.ts) belong to their own name, so below `t` they are
 * left out.
 */
export function collect(t: TrieNode, out: Entry[], ownOnly = false): void {
  if (!(t instanceof TNode)) {
    out.push(t);
    return;
  }
  if (t.entries) for (const e of t.entries) out.push(e);
  const k = t.kids;
  if (!k) return;
  const below = ownOnly ? collectOthers : collect;
  const nodes = k.nodes;
  if (k.chunks) for (const c of k.chunks) for (const n of c.nodes) below(n, out);
  else if (isList(nodes)) for (const n of nodes) below(n, out);
  else below(nodes, out);
}

/** `collect` without the records DNS UPDATE wrote: a loop of its own, no test per entry in the other. */
function collectOthers(t: TrieNode, out: Entry[]): void {
  if (!(t instanceof TNode)) {
    if (!isRecordKey(t.key)) out.push(t);
    return;
  }
  if (t.entries) for (const e of t.entries) if (!isRecordKey(e.key)) out.push(e);
  const k = t.kids;
  if (!k) return;
  const nodes = k.nodes;
  if (k.chunks) for (const c of k.chunks) for (const n of c.nodes) collectOthers(n, out);
  else if (isList(nodes)) for (const n of nodes) collectOthers(n, out);
  else collectOthers(nodes, out);
}

// -- updates (path copying) -----------------------------------------------------------------------

/** `node` itself if this batch (epoch) already owns it, else a copy it may write (a leaf becomes a TNode). */
function own(node: TrieNode, epoch: number): TNode {
  if (!(node instanceof TNode)) return new TNode(node.name, epoch, [node], undefined, 1);
  if (node.owner === epoch) return node;
  return new TNode(node.name, epoch, node.entries, node, node.size);
}

/**
 * What to keep for a node the batch owns: the node, or its one entry when that is all it holds
 * (a leaf, see Entry).
 */
function settled(t: TNode): TrieNode {
  return t.kids === undefined && t.entries?.length === 1 ? t.entries[0]! : t;
}

/**
 * Puts `entry` at the path segments[from..] below the root of `zone` in `roots`; copies the
 * nodes on the path that batch `epoch` does not own yet. `replacing`: the key is already there.
 * `interning`: the strings and lists to keep for a new child's label (label-table.ts).
 */
export function insertEntry(
  roots: Map<Name, TNode>,
  epoch: number,
  zone: Name,
  entry: Entry,
  segments: readonly string[],
  from: number,
  replacing: boolean,
  interning: Interning = NO_INTERNING,
): void {
  const delta = replacing ? 0 : 1;
  let t = own(roots.get(zone)!, epoch);
  roots.set(zone, t);
  t.size += delta;
  const last = segments.length - 1;
  // A new node's name is the tail of the key's name (`_tcp.svc1.example.test` of
  // `x1._http._tcp.svc1.example.test`): a slice of that string is one small object (V8 keeps a
  // slice of 13 or more characters as a view), where `label + '.' + parent` made a string and
  // two concatenations per name (measured: ~56 bytes per key of the bench's sync data).
  // `start`: where segments[i]'s label starts in entry.name.
  let start = 0;
  for (let i = last; i > from; i--) start += segments[i]!.length + 1;
  for (let i = from; i < last; i++) {
    let label = segments[i]!;
    const existing = child(t, label);
    if (!existing) label = interning.intern(label);
    const next = existing ? own(existing, epoch) : new TNode(nameTail(entry.name, start, label, t.name), epoch, undefined, undefined, 0);
    start -= segments[i + 1]!.length + 1;
    next.size += delta;
    if (next !== existing) t.set(label, next, epoch, interning);
    t = next;
  }
  if (last < from) {
    // The key is at the zone apex: the root is always a TNode.
    t.entries = withEntry(t.entries, entry);
    return;
  }
  // The key's own name: the entry itself when it is alone there, else the name's node.
  const label = segments[last]!;
  const existing = child(t, label);
  let node: TrieNode;
  if (!existing) node = entry;
  else if (!(existing instanceof TNode) && existing.key === entry.key) node = entry;
  else {
    const next = own(existing, epoch);
    next.size += delta;
    next.entries = withEntry(next.entries, entry);
    node = settled(next);
  }
  t.set(existing ? label : interning.intern(label), node, epoch, interning);
}

/** `label.parent` as the tail of `name` from `start`, when it is that (else built: a caller's mismatch costs memory, never a wrong name). */
function nameTail(name: Name, start: number, label: string, parent: Name): Name {
  const tail = name.slice(start);
  const exact = parent === '' ? tail === label : tail.length === label.length + 1 + parent.length && tail.startsWith(label) && tail.charCodeAt(label.length) === 46 && tail.endsWith(parent);
  return exact ? tail : childName(label, parent);
}

/** Removes `entry` (which is in the trie) and prunes the names left with nothing at or below them. */
export function removeEntry(roots: Map<Name, TNode>, epoch: number, zone: Name, entry: Entry): void {
  let t = own(roots.get(zone)!, epoch);
  roots.set(zone, t);
  t.size -= 1;
  let parent: TNode | undefined;
  let label = '';
  for (const next of pathBelow(entry.name, zone)) {
    const existing = child(t, next);
    if (!existing) return; // cannot happen: the entry was found on this path
    if (existing.size <= 1) {
      // The subtree held only this entry: prune it (a name with nothing at or below it
      // does not exist).
      t.delete(next, epoch);
      if (parent && t.size === 1) parent.set(label, settled(t), epoch);
      return;
    }
    const owned = own(existing, epoch);
    owned.size -= 1;
    t.set(next, owned, epoch);
    parent = t;
    label = next;
    t = owned;
  }
  t.entries = withoutEntry(t.entries, entry.key);
  // A name left with one key and nothing below is that key's leaf again.
  if (parent && t.size === 1) parent.set(label, settled(t), epoch);
}
/** Labels from just below `zone` down to `name`: the trie path. */
function pathBelow(name: Name, zone: Name): string[] {
  if (name === zone) return [];
  const rel = zone === '' ? name : name.slice(0, name.length - zone.length - 1);
  return rel.split('.').reverse();
}

function withEntry(entries: readonly Entry[] | undefined, entry: Entry): readonly Entry[] {
  if (!entries) return [entry];
  if (entries.length === 1 && entries[0]!.key === entry.key) return [entry];
  const out = entries.filter((e) => e.key !== entry.key);
  out.push(entry);
  // Key order, as etcd returns a range: CoreDNS's "first" service is the first by key.
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

function withoutEntry(entries: readonly Entry[] | undefined, key: string): readonly Entry[] | undefined {
  if (!entries) return undefined;
  const out = entries.filter((e) => e.key !== key);
  return out.length === 0 ? undefined : out;
}

/**
 * Whether two tries hold the same entries under the same names (the same keys with the same
 * TTL and service). O(entries) when they are equal, and usually far less when not (sizes
 * differ, or the first difference ends it); how chunks happen to be split, and whether a
 * one-key name is a leaf or a node holding it, do not matter.
 */
export function sameTrie(a: TrieNode, b: TrieNode): boolean {
  if (a === b) return true;
  if (a.size !== b.size || a.name !== b.name || !sameEntries(entriesOf(a), entriesOf(b))) return false;
  const ka = a.kids;
  const kb = b.kids;
  if (!ka || !kb) return ka === kb;
  const [la, na] = ka.flat();
  const [lb, nb] = kb.flat();
  if (la.length !== lb.length) return false;
  for (let i = 0; i < la.length; i++) if (la[i] !== lb[i] || !sameTrie(na[i]!, nb[i]!)) return false;
  return true;
}

function sameEntries(a: readonly Entry[] | undefined, b: readonly Entry[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.key !== y.key || x.ttl !== y.ttl || !sameService(x.service, y.service))) return false;
  }
  return true;
}

/**
 * The etcd record index: SkyDNS services mirrored from etcd, served as immutable ZoneViews with
 * the answers CoreDNS's etcd plugin gives (plugin/etcd, plugin/backend_lookup.go), computed from
 * memory instead of one etcd range read per query.
 *
 * Shape: one trie per configured zone, one trie node per name that has a key at or below it.
 * Trie nodes are immutable once a batch is published; `apply` copies only the path from the
 * zone apex to each changed key (path copying; children in sorted chunks, so a copy costs
 * O(fan-out/64 + 64) per node, see Kids), and every untouched subtree - with the answers
 * memoised for it - is shared with the previous views. A lookup is one binary search per
 * label. Answers are computed lazily, per (trie node, type), on the first `node()` call, so a
 * change costs nothing at query time for names outside the changed path. Only the CoreDNS
 * search wildcards (`any`, non-leftmost `*`) walk more than one path.
 */
import { RRType } from '../../dns/constants.js';
import { childName, isSubdomain, lowerAscii, type Name } from '../../dns/name.js';
import { txtStrings, type Node, type RData, type RRset } from '../../dns/records.js';
import type { ZoneView } from '../../table/zone.js';
import type { KeyChange, MirrorBatch } from './changes.js';
import { groupFilter, normalizePrefix, parseService, sameService, splitKey, srvWeights, targetStrip, type Service } from './skydns.js';

export interface EtcdIndexOptions {
  /** Key prefix, e.g. `/skydns` (CoreDNS `path`). */
  readonly prefix: string;
  /** Zones served from etcd, canonical names (forward and reverse, e.g. `in-addr.arpa`). */
  readonly zones: readonly Name[];
  /** TTL in seconds for records without `ttl`, and the SOA TTL/minimum (e.g. 10). */
  readonly defaultTtl: number;
  /** A key was skipped; called once per key until it changes. */
  readonly onInvalid?: (key: string, reason: string) => void;
  /** A key reported through onInvalid is valid again, or gone. */
  readonly onValid?: (key: string) => void;
}

/** SOA timers of CoreDNS's synthesized SOA (backend_lookup.go `SOA`). */
export const SOA_REFRESH = 7200;
export const SOA_RETRY = 1800;
export const SOA_EXPIRE = 86400;

/** One valid key, as stored in the trie. */
interface Entry {
  readonly key: string;
  /** The name the key stands for (the SRV/MX/NS target synthesized for address hosts). */
  readonly name: Name;
  readonly zone: Name;
  /** Labels in `name`: "shortest key" for groups (CoreDNS counts '/' in the key: same order). */
  readonly depth: number;
  readonly service: Service;
  /** The record TTL: service ttl or the default, capped by the lease TTL. */
  readonly ttl: number;
}

/**
 * A trie node: the entries whose key is exactly this name (usually one; keys differing only in
 * case share a name) and the children by label. `size` counts entries in the subtree, so a node
 * exists exactly when something is at or below it, and a delete knows when to prune.
 *
 * Fields are written only while `owner` is the epoch of the batch being applied (nodes created
 * or copied by that batch and not yet published); after `apply` returns they never change, which
 * is what makes them safe to share between views and to key memos on.
 */
class TNode {
  constructor(
    readonly name: Name,
    public owner: number,
    public entries: readonly Entry[] | undefined,
    public kids: Kids | undefined,
    public size: number,
  ) {}
}

/** A run of children, sorted by label; copied whole when a batch changes one of them. */
interface Chunk {
  owner: number;
  labels: readonly string[];
  nodes: readonly TNode[];
}

/** Children per chunk before a split: bounds what one copy-on-write copies. */
const CHUNK_MAX = 64;

/**
 * The children of a trie node, sorted by label, in chunks of at most CHUNK_MAX. A Map would
 * be O(1) to read but O(fan-out) to copy, and path copying copies the children of every node
 * on the path: with 100k instances under one name a 1-key batch cost 20-40 ms. Chunked, a copy
 * is the chunk index (fan-out/64 pointers) plus one chunk; a lookup is two binary searches.
 * Sorted order also gives answers in a stable order without sorting.
 *
 * A Kids object belongs to one TNode and is copied with it; chunks carry their own owner.
 *
 * Arrays are replaced (toSpliced) rather than grown in place: V8 grows an array that is
 * pushed or spliced into to a capacity of 17+ slots, and most trie nodes have one to three
 * children, so growing in place cost ~130 bytes per array, ~220 bytes per key at 100k keys
 * (measured with 100k SkyDNS keys in one process: the index went from ~1065 to ~846 bytes
 * per key).
 */
class Kids {
  constructor(
    public chunks: readonly Chunk[],
    public size: number,
  ) {}

  clone(): Kids {
    // The chunk index is replaced, never written in place: the copy may share it.
    return new Kids(this.chunks, this.size);
  }

  get(label: string): TNode | undefined {
    const chunks = this.chunks;
    if (chunks.length === 0) return undefined;
    const c = chunks[chunks.length === 1 ? 0 : this.#locate(label)]!;
    const i = lowerBound(c.labels, label);
    return c.labels[i] === label ? c.nodes[i] : undefined;
  }

  set(label: string, node: TNode, epoch: number): void {
    if (this.chunks.length === 0) {
      this.chunks = [{ owner: epoch, labels: [label], nodes: [node] }];
      this.size = 1;
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
    this.size++;
    if (c.labels.length > CHUNK_MAX) {
      const half = c.labels.length >> 1;
      const upper: Chunk = { owner: epoch, labels: c.labels.slice(half), nodes: c.nodes.slice(half) };
      c.labels = c.labels.slice(0, half);
      c.nodes = c.nodes.slice(0, half);
      this.chunks = this.chunks.toSpliced(ci + 1, 0, upper);
    }
  }

  delete(label: string, epoch: number): void {
    if (this.chunks.length === 0) return;
    const ci = this.#locate(label);
    const c0 = this.chunks[ci]!;
    const i = lowerBound(c0.labels, label);
    if (c0.labels[i] !== label) return;
    const c = this.#own(ci, epoch);
    c.labels = c.labels.toSpliced(i, 1);
    c.nodes = c.nodes.toSpliced(i, 1);
    this.size--;
    if (c.labels.length === 0) this.chunks = this.chunks.toSpliced(ci, 1);
  }

  /** Children in label order. */
  forEach(f: (node: TNode) => void): void {
    for (const c of this.chunks) for (const n of c.nodes) f(n);
  }

  /** The last chunk whose first label is <= label (or the first chunk). */
  #locate(label: string): number {
    const chunks = this.chunks;
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
    const c = this.chunks[ci]!;
    if (c.owner === epoch) return c;
    // The arrays are never written in place (see above): sharing them until replaced is safe.
    const copy: Chunk = { owner: epoch, labels: c.labels, nodes: c.nodes };
    this.chunks = this.chunks.with(ci, copy);
    return copy;
  }
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

function child(t: TNode, label: string): TNode | undefined {
  return t.kids?.get(label);
}

/**
 * Keys that are not served. Valid keys are only in the tries (their entry says all there is to
 * know), so a 100k-key sync does not also fill a 100k-entry map.
 */
type OtherState = { readonly kind: 'ignored' } | { readonly kind: 'invalid'; readonly reason: string };

const IGNORED: OtherState = Object.freeze({ kind: 'ignored' });

/** What one `apply` works on. */
interface Work {
  readonly epoch: number;
  readonly roots: Map<Name, TNode>;
  readonly others: Map<string, OtherState>;
  /** On reset: the states before it, to tell which invalid keys were already reported. */
  readonly before: ReadonlyMap<string, OtherState> | undefined;
  /** On reset: keys whose invalid report was cleared (onValid) during this batch. */
  readonly cleared: Set<string>;
  readonly changed: Set<Name>;
}

/** The entry stored for `key` at segments[from..] below `root`, if any. */
function findEntry(root: TNode, segments: readonly string[], from: number, key: string): Entry | undefined {
  let t: TNode | undefined = root;
  for (let i = from; i < segments.length && t; i++) t = child(t, segments[i]!);
  if (!t?.entries) return undefined;
  for (const e of t.entries) if (e.key === key) return e;
  return undefined;
}

/** Configured zones as a trie over key segments: the most specific zone of a key in O(depth). */
interface ZoneTrie {
  zone: Name | undefined;
  depth: number;
  readonly next: Map<string, ZoneTrie>;
}

export class SkyDnsIndex {
  readonly #prefix: string;
  readonly #zoneSet: ReadonlySet<Name>;
  readonly #zoneTrie: ZoneTrie = { zone: undefined, depth: 0, next: new Map() };
  readonly #defaultTtl: number;
  readonly #onInvalid: ((key: string, reason: string) => void) | undefined;
  readonly #onValid: ((key: string) => void) | undefined;
  /** Per-trie-node answers, shared by every view holding that node (see EtcdNode). */
  readonly #memo = new WeakMap<TNode, EtcdNode>();

  #roots = new Map<Name, TNode>();
  #others = new Map<string, OtherState>();
  #views: ReadonlyMap<Name, ZoneView>;
  #revision = 0;
  #epoch = 0;
  #invalid = 0;
  #ignored = 0;

  constructor(o: EtcdIndexOptions) {
    this.#prefix = normalizePrefix(o.prefix);
    this.#zoneSet = new Set(o.zones.map((z) => lowerAscii(z.endsWith('.') ? z.slice(0, -1) : z)));
    // A programming or config error, not data: say so at construction rather than serve NaN TTLs.
    if (!Number.isInteger(o.defaultTtl) || o.defaultTtl < 0 || o.defaultTtl > 2 ** 31 - 1) {
      throw new RangeError(`defaultTtl must be an integer 0..2147483647 (seconds), got ${o.defaultTtl}`);
    }
    this.#defaultTtl = o.defaultTtl;
    this.#onInvalid = o.onInvalid;
    this.#onValid = o.onValid;
    // Every zone has a view from the start, so names in it are NXDOMAIN-with-SOA rather than
    // REFUSED while etcd is empty or not yet listed.
    const views = new Map<Name, ZoneView>();
    for (const zone of this.#zoneSet) {
      let z = this.#zoneTrie;
      const path = zone === '' ? [] : zone.split('.').reverse();
      for (const label of path) {
        let next = z.next.get(label);
        if (!next) z.next.set(label, (next = { zone: undefined, depth: z.depth + 1, next: new Map() }));
        z = next;
      }
      z.zone = zone;
      const root = new TNode(zone, 0, undefined, undefined, 0);
      this.#roots.set(zone, root);
      views.set(zone, this.#view(zone, root));
    }
    this.#views = views;
  }

  get zones(): ReadonlyMap<Name, ZoneView> {
    return this.#views;
  }
  /** The etcd revision the views reflect. */
  get revision(): number {
    return this.#revision;
  }
  /** Keys the index knows: served, invalid and out-of-zone. */
  get keyCount(): number {
    return this.recordCount + this.#invalid + this.#ignored;
  }
  /** Keys that are served: valid services in a configured zone (the tries' sizes). */
  get recordCount(): number {
    let n = 0;
    for (const root of this.#roots.values()) n += root.size;
    return n;
  }
  /** Keys currently skipped as invalid (bad key or value). */
  get invalidCount(): number {
    return this.#invalid;
  }
  /** Valid keys whose name is in no configured zone (ignored, like CoreDNS ignores them). */
  get ignoredCount(): number {
    return this.#ignored;
  }

  /**
   * Applies one mirror batch and returns the zone views. Views of zones the batch did not change
   * are the same objects as before (and the map itself is when nothing changed). Never throws:
   * a key that cannot be used is reported through `onInvalid` and skipped.
   */
  apply(batch: MirrorBatch): ReadonlyMap<Name, ZoneView> {
    try {
      const changes = batch.changes;
      if (!changes || typeof changes[Symbol.iterator] !== 'function') return this.#views;
      const epoch = ++this.#epoch;
      const reset = batch.reset === true;
      const work: Work = {
        epoch,
        roots: reset ? new Map() : new Map(this.#roots),
        others: reset ? new Map() : this.#others,
        before: reset ? this.#others : undefined,
        cleared: new Set(),
        changed: new Set(),
      };
      if (reset) {
        this.#invalid = this.#ignored = 0;
        for (const zone of this.#zoneSet) {
          work.roots.set(zone, new TNode(zone, epoch, undefined, undefined, 0));
          work.changed.add(zone);
        }
      }
      for (const change of changes) {
        try {
          this.#change(work, change);
        } catch {
          // Only a malformed change object gets here (the codec does not throw): skip it.
        }
      }
      if (reset) {
        // Keys reported invalid that the new listing no longer has are gone: clear them.
        for (const [key, state] of work.before!) {
          if (state.kind === 'invalid' && !work.others.has(key) && !work.cleared.has(key)) this.#notifyValid(key);
        }
      }
      this.#roots = work.roots;
      this.#others = work.others;
      if (typeof batch.revision === 'number' && Number.isFinite(batch.revision)) this.#revision = batch.revision;
      if (work.changed.size > 0) {
        const views = new Map<Name, ZoneView>();
        for (const [zone, view] of this.#views) {
          views.set(zone, work.changed.has(zone) ? this.#view(zone, work.roots.get(zone)!) : view);
        }
        this.#views = views;
      }
    } catch {
      // Nothing sensible to do with a batch that is not a batch: keep serving what we have.
    }
    return this.#views;
  }

  #change(work: Work, change: KeyChange): void {
    const key = change.key;
    if (typeof key !== 'string') return;
    if (change.type !== 'put' && change.type !== 'delete') return;
    const parts = splitKey(key, this.#prefix);
    // Where the key's entry would be, when the key names something in a zone.
    const z = 'error' in parts ? undefined : this.#zoneOf(parts.segments);
    const prev = z && !('error' in parts) ? findEntry(work.roots.get(z.zone!)!, parts.segments, z.depth, key) : undefined;

    if (change.type === 'delete') {
      if (prev) this.#remove(work, prev);
      this.#setOther(work, key, undefined);
      return;
    }
    if ('error' in parts) return this.#setOther(work, key, { kind: 'invalid', reason: parts.error });
    // Out of every zone: ignored without even parsing the value.
    if (!z) return this.#setOther(work, key, IGNORED);

    const { name, segments } = parts;
    const zone = z.zone!;
    const service = parseService(change.value);
    // dns/ns/<label> entries are the zone's name servers: CoreDNS refuses a name host there
    // ("NS record must be an IP address", backend_lookup.go `NS`) and fails the whole NS
    // query; we skip just that key.
    const reason =
      'error' in service
        ? service.error
        : (service.kind === 'name' || service.kind === 'none') && segments[z.depth] === 'dns' && segments[z.depth + 1] === 'ns'
          ? `name server entry under ${childName('ns', childName('dns', zone))} needs an IP address as host, got ${JSON.stringify(service.host)}`
          : undefined;
    if (reason !== undefined || 'error' in service) {
      if (prev) this.#remove(work, prev);
      return this.#setOther(work, key, { kind: 'invalid', reason: reason ?? '' });
    }

    let ttl = service.ttl ?? this.#defaultTtl;
    // A leased key lives at most leaseTtl more seconds (keepalives reset it to that), so an
    // answer must not be cached longer (CoreDNS clamps the remaining lease TTL, etcd.go `TTL`).
    const leaseTtl = change.leaseTtl;
    if (change.lease !== undefined && typeof leaseTtl === 'number' && Number.isFinite(leaseTtl) && leaseTtl >= 0) {
      ttl = Math.min(ttl, Math.floor(leaseTtl));
    }
    if (prev && prev.ttl === ttl && sameService(prev.service, service)) {
      // Same data again (writers re-put unchanged values): no new trie nodes, no new view.
      return;
    }
    this.#insert(work, { key, name, zone, depth: segments.length, service, ttl }, segments, z.depth, prev !== undefined);
    this.#setOther(work, key, undefined);
  }

  /**
   * Records whether a key is invalid or ignored (undefined: neither - valid or gone), keeping
   * the counters and the onInvalid/onValid contract.
   */
  #setOther(work: Work, key: string, next: OtherState | undefined): void {
    const current = work.others.get(key);
    // What was last reported for this key: within a reset, a key not yet seen carries the
    // state from before the reset, so a still-invalid key is not reported twice.
    const reported = current ?? work.before?.get(key);
    if (current === next) return;
    if (current) this.#count(current, -1);
    if (next) {
      work.others.set(key, next);
      this.#count(next, 1);
    } else if (current) {
      work.others.delete(key);
    }
    const wasInvalid = reported?.kind === 'invalid';
    if (next?.kind === 'invalid') {
      if (!wasInvalid || reported.reason !== next.reason) this.#notify(() => this.#onInvalid?.(key, next.reason));
    } else if (wasInvalid) {
      if (work.before) work.cleared.add(key);
      this.#notifyValid(key);
    }
  }

  #notifyValid(key: string): void {
    this.#notify(() => this.#onValid?.(key));
  }

  /** Callbacks are the caller's code: whatever they do, apply goes on. */
  #notify(f: () => void): void {
    try {
      f();
    } catch {
      // ignored
    }
  }

  #count(state: OtherState, delta: number): void {
    if (state.kind === 'invalid') this.#invalid += delta;
    else this.#ignored += delta;
  }

  /**
   * The most specific configured zone holding the key's name (like Snapshot.findZone and
   * CoreDNS `Zones.Matches`), walking the key's segments top-down.
   */
  #zoneOf(segments: readonly string[]): ZoneTrie | undefined {
    let z: ZoneTrie | undefined = this.#zoneTrie;
    let found = z.zone !== undefined ? z : undefined;
    for (let i = 0; i < segments.length; i++) {
      z = z.next.get(segments[i]!);
      if (!z) break;
      if (z.zone !== undefined) found = z;
    }
    return found;
  }

  // -- trie updates (path copying) ------------------------------------------------------------

  #own(node: TNode, epoch: number): TNode {
    if (node.owner === epoch) return node;
    return new TNode(node.name, epoch, node.entries, node.kids?.clone(), node.size);
  }

  /** Puts `entry` at the path segments[from..]; copies the nodes on the path not yet owned. */
  #insert(work: Work, entry: Entry, segments: readonly string[], from: number, replacing: boolean): void {
    const epoch = work.epoch;
    const delta = replacing ? 0 : 1;
    let t = this.#own(work.roots.get(entry.zone)!, epoch);
    work.roots.set(entry.zone, t);
    t.size += delta;
    for (let i = from; i < segments.length; i++) {
      const label = segments[i]!;
      const existing = child(t, label);
      // The leaf's name is the entry's (already a flat string): one string fewer per key.
      const name = i === segments.length - 1 ? entry.name : childName(label, t.name);
      const next = existing ? this.#own(existing, epoch) : new TNode(name, epoch, undefined, undefined, 0);
      next.size += delta;
      if (next !== existing) (t.kids ??= new Kids([], 0)).set(label, next, epoch);
      t = next;
    }
    t.entries = withEntry(t.entries, entry);
    work.changed.add(entry.zone);
  }

  #remove(work: Work, entry: Entry): void {
    const epoch = work.epoch;
    let t = this.#own(work.roots.get(entry.zone)!, epoch);
    work.roots.set(entry.zone, t);
    work.changed.add(entry.zone);
    t.size -= 1;
    for (const label of pathBelow(entry.name, entry.zone)) {
      const existing = child(t, label);
      if (!existing) return; // cannot happen: the entry was found on this path
      if (existing.size <= 1) {
        // The subtree held only this entry: prune it (a name with nothing at or below it
        // does not exist).
        t.kids!.delete(label, epoch);
        if (t.kids!.size === 0) t.kids = undefined;
        return;
      }
      const next = this.#own(existing, epoch);
      next.size -= 1;
      t.kids!.set(label, next, epoch);
      t = next;
    }
    t.entries = withoutEntry(t.entries, entry.key);
  }

  #view(zone: Name, root: TNode): ZoneView {
    return new EtcdZoneView(zone, root, this.#revision, this.#defaultTtl, this.#prefix, this.#memo);
  }
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

// -----------------------------------------------------------------------------------------------
// Views

/** Most distinct search-wildcard names a view remembers answers for (a client picks them). */
const SEARCH_CACHE_LIMIT = 256;

class EtcdZoneView implements ZoneView {
  readonly origin: Name;
  readonly soa: RRset;
  readonly source: string;
  readonly #root: TNode;
  readonly #memo: WeakMap<TNode, EtcdNode>;
  #apex: EtcdNode | undefined;
  #search: Map<Name, EtcdNode | null> | undefined;

  constructor(origin: Name, root: TNode, revision: number, defaultTtl: number, prefix: string, memo: WeakMap<TNode, EtcdNode>) {
    this.origin = origin;
    this.#root = root;
    this.#memo = memo;
    this.source = `etcd ${prefix}`;
    // CoreDNS backend_lookup.go `SOA`: mname ns.dns.<zone>, rname hostmaster.<zone>, timers
    // 7200/1800/86400. The serial is the etcd revision of the batch that made this view
    // (mod 2^32, RFC 1982 arithmetic wraps): the same data gives the same serial on every
    // replica, where CoreDNS's Unix time differs per replica and per second. The minimum and
    // TTL are our default TTL instead of CoreDNS's fixed 30 s, so negative answers are cached
    // no longer than positive ones.
    this.soa = Object.freeze({
      name: origin,
      type: RRType.SOA,
      ttl: defaultTtl,
      records: Object.freeze([
        {
          type: RRType.SOA,
          mname: childName('ns', childName('dns', origin)),
          rname: childName('hostmaster', origin),
          serial: revision >>> 0,
          refresh: SOA_REFRESH,
          retry: SOA_RETRY,
          expire: SOA_EXPIRE,
          minimum: defaultTtl,
        },
      ]),
    });
  }

  node(name: Name): Node | undefined {
    if (name === this.origin) return (this.#apex ??= this.#apexNode());
    if (!isSubdomain(name, this.origin)) return undefined;
    const rel = this.origin === '' ? name : name.slice(0, name.length - this.origin.length - 1);
    const parts = rel.split('.');
    if (isSearch(parts)) return this.#searchNode(name, parts);
    let t: TNode | undefined = this.#root;
    for (let i = parts.length - 1; i >= 0 && t; i--) t = child(t, parts[i]!);
    if (!t) return undefined;
    let node = this.#memo.get(t);
    if (!node) this.#memo.set(t, (node = new EtcdNode(t.name, [t], t.entries ?? NO_ENTRIES, undefined)));
    return node;
  }

  /**
   * The apex: SOA, NS from `dns/ns/...` (names = the keys, e.g. `a.ns.dns.<zone>`), and
   * A/AAAA/TXT/MX from `dns/apex/...` plus a key exactly at the zone, if any.
   *
   * Deliberately NOT the whole zone: CoreDNS falls back to aggregating every key of the zone
   * when `dns/apex` has nothing (`checkForApex`), which for an apex query means returning every
   * address in the zone and reading the whole zone per query (coredns#6071, and the warning
   * added to its README in coredns#8465). Here an apex without `dns/apex` data is NODATA.
   * Never a CNAME: the apex has SOA and NS (RFC 1034 §3.6.2).
   */
  #apexNode(): EtcdNode {
    const dns = child(this.#root, 'dns');
    const apexDir = dns && child(dns, 'apex');
    const nsDir = dns && child(dns, 'ns');
    return new EtcdNode(this.origin, apexDir ? [apexDir] : [], this.#root.entries ?? NO_ENTRIES, { soa: this.soa, nsDir });
  }

  /**
   * CoreDNS query wildcards (msg.PathWithWildcard, etcd.go loopNodes): a `*` or `any` label in
   * the query matches any one label there; the answer aggregates every matching name's
   * subtree. `prod.*.skydns.test`, `prod.any.skydns.test`, `any.region1.skydns.test`.
   *
   * Except a `*` as the *leftmost* label, which is the literal `*` key (the RFC 4592 wildcard
   * owner). The resolver probes `*.<closest encloser>` to synthesize answers for names that do
   * not exist; if that probe aggregated all siblings, every made-up name under a populated
   * name (`typo.api.example.test`) would answer with api's records instead of NXDOMAIN. A
   * client wanting CoreDNS's `*.region1.skydns.test` search asks `any.region1.skydns.test`.
   */
  #searchNode(name: Name, parts: readonly string[]): Node | undefined {
    const cached = this.#search?.get(name);
    if (cached !== undefined) return cached ?? undefined;
    let frontier: TNode[] = [this.#root];
    for (let i = parts.length - 1; i >= 0 && frontier.length > 0; i--) {
      const label = parts[i]!;
      const next: TNode[] = [];
      if (isSearchLabel(label, i)) {
        for (const t of frontier) t.kids?.forEach((c) => next.push(c));
      } else {
        for (const t of frontier) {
          const c = child(t, label);
          if (c) next.push(c);
        }
      }
      frontier = next;
    }
    const node = frontier.length > 0 ? new EtcdNode(name, frontier, NO_ENTRIES, undefined) : null;
    this.#search ??= new Map();
    if (this.#search.size >= SEARCH_CACHE_LIMIT) this.#search.clear();
    this.#search.set(name, node);
    return node ?? undefined;
  }
}

function isSearchLabel(label: string, index: number): boolean {
  return label === 'any' || (label === '*' && index > 0);
}

function isSearch(parts: readonly string[]): boolean {
  for (let i = 0; i < parts.length; i++) if (isSearchLabel(parts[i]!, i)) return true;
  return false;
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/** Everything in the subtrees, parents before children, siblings in label order. */
function collect(t: TNode, out: Entry[]): void {
  if (t.entries) for (const e of t.entries) out.push(e);
  if (t.kids) for (const c of t.kids.chunks) for (const n of c.nodes) collect(n, out);
}

/** Types a node can hold, in the order ANY (first RRset, RFC 8482) and iteration see them. */
const NODE_TYPES = [RRType.SOA, RRType.NS, RRType.A, RRType.AAAA, RRType.CNAME, RRType.MX, RRType.SRV, RRType.TXT, RRType.PTR] as const;

interface ApexInfo {
  readonly soa: RRset;
  readonly nsDir: TNode | undefined;
}

/**
 * The records at one name, computed lazily per type and memoised. Immutable from the outside:
 * it depends only on immutable trie nodes.
 *
 * Aggregated (the whole subtree, CoreDNS non-exact lookups): A, AAAA, TXT, SRV, MX, and the
 * CNAME used when the asked type is missing. Exact key only: PTR (CoreDNS `exact=true`).
 */
class EtcdNode implements Node {
  readonly #name: Name;
  readonly #roots: readonly TNode[];
  readonly #exact: readonly Entry[];
  readonly #apex: ApexInfo | undefined;
  /** Grouped entries with a host: what A/AAAA/CNAME/SRV/MX queries see. */
  #hosts: readonly Entry[] | undefined;
  /** Grouped entries with a host or a text: what TXT queries see. */
  #texts: readonly Entry[] | undefined;
  readonly #sets = new Map<number, RRset | null>();
  #all: Map<number, RRset> | undefined;

  constructor(name: Name, roots: readonly TNode[], exact: readonly Entry[], apex: ApexInfo | undefined) {
    this.#name = name;
    this.#roots = roots;
    this.#exact = exact;
    this.#apex = apex;
  }

  get(type: number): RRset | undefined {
    if (type === RRType.SOA) return this.#apex?.soa;
    let set = this.#sets.get(type);
    if (set === undefined) {
      set = this.#compute(type);
      this.#sets.set(type, set);
    }
    return set ?? undefined;
  }

  has(type: number): boolean {
    return this.get(type) !== undefined;
  }

  get size(): number {
    return this.#materialize().size;
  }

  forEach(callbackfn: (value: RRset, key: number, map: ReadonlyMap<number, RRset>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#materialize()) callbackfn.call(thisArg, v, k, this);
  }

  entries() {
    return this.#materialize().entries();
  }

  keys() {
    return this.#materialize().keys();
  }

  values() {
    return this.#materialize().values();
  }

  [Symbol.iterator]() {
    return this.#materialize().entries();
  }

  #materialize(): Map<number, RRset> {
    if (!this.#all) {
      const all = new Map<number, RRset>();
      for (const type of NODE_TYPES) {
        const set = this.get(type);
        if (set) all.set(type, set);
      }
      this.#all = all;
    }
    return this.#all;
  }

  /**
   * The services of this name (CoreDNS `Records` + `msg.Group`). As in CoreDNS `shouldInclude`,
   * an entry without a host only takes part in TXT answers, and the group is chosen among the
   * entries a query type sees.
   */
  #load(): void {
    const all: Entry[] = [...(this.#apex ? this.#exact : NO_ENTRIES)];
    for (const root of this.#roots) collect(root, all);
    this.#hosts = groupFilter(all.filter((e) => e.service.kind !== 'none'));
    this.#texts = groupFilter(all.filter((e) => e.service.kind !== 'none' || e.service.text !== ''));
  }

  #hostEntries(): readonly Entry[] {
    if (!this.#hosts) this.#load();
    return this.#hosts!;
  }

  #compute(type: number): RRset | null {
    switch (type) {
      case RRType.A:
      case RRType.AAAA:
        return this.#addresses(type);
      case RRType.CNAME:
        return this.#cname();
      case RRType.TXT:
        return this.#txt();
      case RRType.SRV:
        return this.#srv();
      case RRType.MX:
        return this.#mx();
      case RRType.PTR:
        return this.#ptr();
      case RRType.NS:
        return this.#ns();
      default:
        return null;
    }
  }

  /** CoreDNS backend_lookup.go `A`/`AAAA`: address hosts of the family, deduplicated by address. */
  #addresses(type: typeof RRType.A | typeof RRType.AAAA): RRset | null {
    const kind = type === RRType.A ? 'ipv4' : 'ipv6';
    const b = new SetBuilder();
    for (const e of this.#hostEntries()) {
      if (e.service.kind === kind) b.add(e.service.address!, { type, address: e.service.address! } as RData, e.ttl);
    }
    return b.build(this.#name, type);
  }

  /**
   * The CNAME the resolver follows when this name lacks the asked type: the first entry by key
   * order whose host is a name (the exact key comes first, as in etcd's key order). CoreDNS
   * emits one CNAME per such entry and chases each, which puts several CNAMEs at one owner
   * (illegal, RFC 2181 §10.1); one is what a DNS answer can carry.
   *
   * As in CoreDNS (backend_lookup.go `A`: "w.x CNAME x is also direct loop due to the
   * recursive nature of search results"), hosts at or below this name are skipped.
   *
   * Two deliberate differences:
   * - A name host with a `text` still gives the CNAME. CoreDNS's `HostType` makes such an
   *   entry TXT-only, which breaks every CNAME external-dns writes with its TXT registry
   *   (coredns#6110, coredns#7028, external-dns#4953); here it gives both CNAME and TXT.
   * - CoreDNS answers a CNAME *query* from the exact key only, so external-dns's layout
   *   (`www/149a1668` holding the CNAME) gives CNAME for A queries but nothing for CNAME
   *   queries. One rule here, so a CNAME query and the CNAME in an A answer agree.
   * A node whose entries have addresses too keeps its A/AAAA: an A query gets those, and the
   * CNAME only answers types the node lacks (as CoreDNS's AAAA for v4-only data chases it).
   */
  #cname(): RRset | null {
    if (this.#apex) return null;
    let first: Entry | undefined;
    for (const e of this.#hostEntries()) {
      if (e.service.kind !== 'name' || isSubdomain(e.service.hostName!, this.#name)) continue;
      if (!first || e.key < first.key) first = e;
    }
    if (!first) return null;
    return freezeSet(this.#name, RRType.CNAME, first.ttl, [{ type: RRType.CNAME, target: first.service.hostName! }]);
  }

  /**
   * Every entry with a text (CoreDNS `TXT`, deduplicated by text), split into 255-octet strings.
   * Unlike CoreDNS, the text of an entry whose host is an address or a name is served too
   * (CoreDNS's `HostType` decides one type per entry, coredns#6110).
   */
  #txt(): RRset | null {
    if (!this.#texts) this.#load();
    const b = new SetBuilder();
    for (const e of this.#texts!) {
      if (e.service.text !== '') b.add(e.service.text, { type: RRType.TXT, strings: txtStrings(e.service.text) }, e.ttl);
    }
    return b.build(this.#name, RRType.TXT);
  }

  /**
   * CoreDNS backend_lookup.go `SRV`: one record per entry with a host and port != -1. The
   * target is the host when it is a name, else the entry's own key as a name minus `targetstrip`
   * labels, whose addresses the resolver adds from `node(target)` - both A and AAAA, where
   * CoreDNS adds only A for in-zone targets ("TODO(miek): AAAA as well here").
   *
   * Weights are percentages per priority (`srvWeights`). Entries with port -1 are left out of
   * the sums as well as the answer (CoreDNS counts them in the sum, which shrinks every
   * percentage for records that are not there).
   */
  #srv(): RRset | null {
    const srv = this.#hostEntries().filter((e) => e.service.port !== -1);
    const weights = srvWeights(srv.map((e) => e.service));
    const b = new SetBuilder();
    srv.forEach((e, i) => {
      const s = e.service;
      const target = s.kind === 'name' ? s.hostName! : targetStrip(e.name, s.targetstrip);
      const weight = weights[i]!;
      b.add(`${s.priority} ${weight} ${s.port} ${target}`, { type: RRType.SRV, priority: s.priority, weight, port: s.port, target }, e.ttl);
    });
    return b.build(this.#name, RRType.SRV);
  }

  /** CoreDNS `MX`: entries with `mail: true`; preference = priority; exchange as an SRV target. */
  #mx(): RRset | null {
    const b = new SetBuilder();
    for (const e of this.#hostEntries()) {
      const s = e.service;
      if (!s.mail) continue;
      const exchange = s.kind === 'name' ? s.hostName! : targetStrip(e.name, s.targetstrip);
      b.add(`${s.priority} ${exchange}`, { type: RRType.MX, preference: s.priority, exchange }, e.ttl);
    }
    return b.build(this.#name, RRType.MX);
  }

  /** CoreDNS `PTR`: exact key only (`exact=true`), hosts that are names. */
  #ptr(): RRset | null {
    const b = new SetBuilder();
    for (const e of this.#exact) {
      if (e.service.kind === 'name') b.add(e.service.hostName!, { type: RRType.PTR, target: e.service.hostName! }, e.ttl);
    }
    return b.build(this.#name, RRType.PTR);
  }

  /**
   * CoreDNS `NS`: at the apex only, one per entry under `dns/ns` (all have address hosts: the
   * index rejects the others), named by the key (`a.ns.dns.<zone>`, minus `targetstrip`); the
   * resolver adds their addresses from `node(name)`.
   */
  #ns(): RRset | null {
    if (!this.#apex?.nsDir) return null;
    const entries: Entry[] = [];
    collect(this.#apex.nsDir, entries);
    const b = new SetBuilder();
    for (const e of groupFilter(entries)) {
      const target = targetStrip(e.name, e.service.targetstrip);
      b.add(target, { type: RRType.NS, target }, e.ttl);
    }
    return b.build(this.#name, RRType.NS);
  }
}

/** Collects distinct records and the lowest TTL among their sources (RFC 2181 §5.2). */
class SetBuilder {
  readonly #seen = new Set<string>();
  readonly #records: RData[] = [];
  #ttl = Infinity;

  add(id: string, data: RData, ttl: number): void {
    if (ttl < this.#ttl) this.#ttl = ttl;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.#records.push(data);
  }

  build(name: Name, type: number): RRset | null {
    return this.#records.length === 0 ? null : freezeSet(name, type, this.#ttl, this.#records);
  }
}

function freezeSet(name: Name, type: number, ttl: number, records: RData[]): RRset {
  return Object.freeze({ name, type, ttl, records: Object.freeze(records) });
}

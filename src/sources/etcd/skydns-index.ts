/**
 * The etcd record index: SkyDNS services mirrored from etcd, served as immutable ZoneViews with
 * the answers CoreDNS's etcd plugin gives (skydns-answers.ts), computed from memory instead of
 * one etcd range read per query.
 *
 * `apply` takes one mirror batch into the zones' tries (name-trie.ts: path copying, so every
 * untouched subtree - with the answers memoised for it - is shared with the previous views) and
 * publishes a new EtcdZoneView only for the zones the batch changed. Keys it cannot serve are
 * remembered as invalid (reported once) or ignored (in no configured zone).
 */
import { childName, lowerAscii, type Name } from '../../dns/name.js';
import { zoneSerial, type ZoneView } from '../../table/zone.js';
import type { KeyChange, MirrorBatch } from '../../etcd/changes.js';
import { EtcdZoneView, type Compat } from './etcd-zone.js';
import { LabelTable } from './label-table.js';
import { Entry, findEntry, insertEntry, removeEntry, sameTrie, TNode, type TrieNode } from './name-trie.js';
import type { EtcdNode, OnOversize } from './skydns-answers.js';
import { normalizePrefix, parseService, sameService, splitKey, type KeyParts } from '../../skydns/codec.js';
import { extensionLabelError } from '../../skydns/update-records.js';
import { isRecordLabel, ownerSegments } from './record-owner.js';

export interface EtcdIndexOptions {
  /** Key prefix, e.g. `/skydns` (CoreDNS `path`). */
  readonly prefix: string;
  /** Zones served from etcd, canonical names (forward and reverse, e.g. `in-addr.arpa`). */
  readonly zones: readonly Name[];
  /** TTL in seconds for records without `ttl`, and the SOA TTL/minimum (e.g. 10). */
  readonly defaultTtl: number;
  /** `--compat`: CoreDNS's answers where they break an RFC, or the RFC's (default). */
  readonly compat?: Compat;
  /** A key was skipped; called once per key until it changes. */
  readonly onInvalid?: (key: string, reason: string) => void;
  /** A key reported through onInvalid is valid again, or gone. */
  readonly onValid?: (key: string) => void;
  /** A key under the prefix but in none of the zones was skipped; called once per key while it stays so. */
  readonly onIgnored?: (key: string) => void;
  /**
   * An answer was cut to the RRset bounds (skydns-answers.ts MAX_RRSET_*): called when the cut
   * set is computed, so once per name and type per version of the data that holds it.
   */
  readonly onOversize?: OnOversize;
  /**
   * Something that is not etcd data was skipped rather than thrown (apply never throws): a
   * change or batch object of the wrong shape (only a caller's bug makes one), or an
   * onInvalid/onValid callback that threw. Called every time (the caller decides what to log);
   * must not throw itself.
   */
  readonly onSkipped?: (what: SkippedKind, error: unknown) => void;
}

export type SkippedKind = 'change' | 'batch' | 'callback';

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
  /** Not on reset: per zone, the names whose entries the batch put or deleted (ZoneView.changedFrom). */
  readonly names: Map<Name, Set<Name>> | undefined;
  /** Not on reset: per zone, the revision of the batch's last change to it (the zone's serial). */
  readonly revisions: Map<Name, number> | undefined;
  /** The modRevision of the change being applied. */
  revision: number;
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
  readonly #compat: Compat;
  readonly #onInvalid: ((key: string, reason: string) => void) | undefined;
  readonly #onValid: ((key: string) => void) | undefined;
  readonly #onIgnored: ((key: string) => void) | undefined;
  readonly #onOversize: OnOversize | undefined;
  readonly #onSkipped: ((what: SkippedKind, error: unknown) => void) | undefined;
  readonly #labels = new LabelTable();
  /** Per-trie-node answers, shared by every view holding that node (see EtcdNode). */
  readonly #memo = new WeakMap<TrieNode, EtcdNode>();

  #roots = new Map<Name, TNode>();
  #others = new Map<string, OtherState>();
  #views: ReadonlyMap<Name, ZoneView>;
  #revision = 0;
  /** A reset batch has been applied (the first listing is done). */
  #listed = false;
  #epoch = 0;
  #invalid = 0;
  #ignored = 0;
  #skipped = 0;

  constructor(o: EtcdIndexOptions) {
    this.#prefix = normalizePrefix(o.prefix);
    this.#zoneSet = new Set(o.zones.map((z) => lowerAscii(z.endsWith('.') ? z.slice(0, -1) : z)));
    // A programming or config error, not data: say so at construction rather than serve NaN TTLs.
    if (!Number.isInteger(o.defaultTtl) || o.defaultTtl < 0 || o.defaultTtl > 2 ** 31 - 1) {
      throw new RangeError(`defaultTtl must be an integer 0..2147483647 (seconds), got ${o.defaultTtl}`);
    }
    this.#defaultTtl = o.defaultTtl;
    this.#compat = o.compat ?? 'rfc';
    this.#onInvalid = o.onInvalid;
    this.#onValid = o.onValid;
    this.#onIgnored = o.onIgnored;
    this.#onOversize = o.onOversize;
    this.#onSkipped = o.onSkipped;
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
  /** Changes, batches and callbacks skipped since start (see onSkipped). */
  get skippedCount(): number {
    return this.#skipped;
  }

  /**
   * Applies one mirror batch and returns the zone views. Views of zones the batch did not change
   * are the same objects as before (and the map itself is when nothing changed); so are those
   * a re-list (reset) finds exactly as they were. Never throws: a key that cannot be used is
   * reported through `onInvalid` and skipped.
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
        names: reset ? undefined : new Map(),
        revisions: reset ? undefined : new Map(),
        revision: 0,
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
          work.revision = typeof change.modRevision === 'number' && Number.isFinite(change.modRevision) ? change.modRevision : 0;
          this.#change(work, change);
        } catch (error) {
          // Only a malformed change object gets here (the codec does not throw): skip it.
          this.#skip('change', error);
        }
      }
      if (reset) {
        // Keys reported invalid that the new listing no longer has are gone: clear them.
        for (const [key, state] of work.before!) {
          if (state.kind === 'invalid' && !work.others.has(key) && !work.cleared.has(key)) this.#notifyValid(key);
        }
        // A re-list (after a compaction, a gap, a replaced cluster) usually finds most zones as
        // they were: keep those zones' tries and views, so that what is cached per view (the
        // memoised answers, the server's encoded replies) survives it, as it survives a batch
        // that does not touch the zone. Not on the first listing: the views made at
        // construction carry serial 0, and the listing's revision is the first real one.
        if (this.#listed) {
          for (const zone of this.#zoneSet) {
            const old = this.#roots.get(zone)!;
            if (sameTrie(old, work.roots.get(zone)!)) {
              work.roots.set(zone, old);
              work.changed.delete(zone);
            }
          }
        }
        this.#listed = true;
      }
      this.#roots = work.roots;
      this.#others = work.others;
      if (typeof batch.revision === 'number' && Number.isFinite(batch.revision)) this.#revision = batch.revision;
      if (work.changed.size > 0) {
        const views = new Map<Name, ZoneView>();
        for (const [zone, view] of this.#views) {
          views.set(zone, work.changed.has(zone) ? this.#view(zone, work.roots.get(zone)!, view, work.names?.get(zone), work.revisions?.get(zone)) : view);
        }
        this.#views = views;
      }
    } catch (error) {
      // Nothing sensible to do with a batch that is not a batch: keep serving what we have.
      this.#skip('batch', error);
    }
    return this.#views;
  }

  #change(work: Work, change: KeyChange): void {
    const key = change.key;
    if (typeof key !== 'string') return;
    if (change.type !== 'put' && change.type !== 'delete') return;
    const parts = this.#owner(splitKey(key, this.#prefix));
    // Where the key's entry would be, when the key names something in a zone.
    const z = 'error' in parts ? undefined : this.#zoneOf(parts.segments);
    const prev = z && !('error' in parts) ? findEntry(work.roots.get(z.zone!)!, parts.segments, z.depth, key) : undefined;

    if (change.type === 'delete') {
      if (prev) this.#remove(work, z!.zone!, prev);
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
          : service.extension && extensionLabelError(key.slice(key.lastIndexOf('/') + 1), service.extension.type);
    if (reason !== undefined || 'error' in service) {
      if (prev) this.#remove(work, zone, prev);
      return this.#setOther(work, key, { kind: 'invalid', reason: reason ?? '' });
    }

    // SkyDNS reads a TTL of 0 as the default (codec.ts `ttl`); a record DNS UPDATE wrote keeps
    // the TTL its client sent, 0 too (external-dns's default; RFC 2181 §8: 0 means do not
    // cache), in `--compat rfc`, where such a key is a record of its name (record-owner.ts).
    const asWritten = service.ttl === 0 && this.#compat === 'rfc' && isRecordLabel(key.slice(key.lastIndexOf('/') + 1));
    let ttl = service.ttl === undefined || (service.ttl === 0 && !asWritten) ? this.#defaultTtl : service.ttl;
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
    this.#insert(work, zone, new Entry(key, name, service, ttl), segments, z.depth, prev !== undefined);
    this.#setOther(work, key, undefined);
  }

  /**
   * Where a key's entry goes: the name it stands for, or in `--compat rfc` for a record DNS
   * UPDATE wrote, the name the record belongs to (record-owner.ts).
   */
  #owner(parts: KeyParts | { error: string }): KeyParts | { error: string } {
    // Most keys are not UPDATE's: they cost one string compare here (a sync maps 100k keys).
    if (this.#compat !== 'rfc' || 'error' in parts || !isRecordLabel(parts.segments[parts.segments.length - 1]!)) return parts;
    const z = this.#zoneOf(parts.segments);
    const owner = z && ownerSegments(parts.segments, z.depth);
    if (!owner) return parts;
    const name = [...owner].reverse().join('.');
    return { name: name === '' ? z.zone! : name, segments: owner };
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
    if (next?.kind === 'ignored' && reported?.kind !== 'ignored') this.#notify(() => this.#onIgnored?.(key));
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
    } catch (error) {
      // The index's state is already updated: a callback's failure must not undo the batch.
      this.#skip('callback', error);
    }
  }

  #skip(what: SkippedKind, error: unknown): void {
    this.#skipped++;
    this.#onSkipped?.(what, error);
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

  #insert(work: Work, zone: Name, entry: Entry, segments: readonly string[], from: number, replacing: boolean): void {
    insertEntry(work.roots, work.epoch, zone, entry, segments, from, replacing, this.#labels);
    this.#changed(work, zone, entry);
  }

  #remove(work: Work, zone: Name, entry: Entry): void {
    removeEntry(work.roots, work.epoch, zone, entry);
    this.#changed(work, zone, entry);
  }

  #changed(work: Work, zone: Name, entry: Entry): void {
    work.changed.add(zone);
    if (work.revisions && work.revision > (work.revisions.get(zone) ?? 0)) work.revisions.set(zone, work.revision);
    if (!work.names) return;
    let names = work.names.get(zone);
    if (!names) work.names.set(zone, (names = new Set()));
    names.add(entry.name);
  }

  /** `names` given: the batch changed those names of `previous` (an incremental change). */
  #view(zone: Name, root: TNode, previous?: ZoneView, names?: ReadonlySet<Name>, revision?: number): ZoneView {
    const changedFrom = previous && names ? { serial: zoneSerial(previous), names: [...names] } : undefined;
    // The serial: the revision of the zone's own last change, the same on every replica that
    // saw the same history, whatever else the batch carried. After a (re-)list, the list's
    // revision: a delete leaves no key to date the zone by, and a serial must never go back
    // (RFC 1982: secondaries would stop following).
    const serial = revision !== undefined && previous !== undefined && revision > zoneSerial(previous) ? revision : this.#revision;
    return new EtcdZoneView(zone, root, serial, this.#defaultTtl, this.#prefix, this.#memo, this.#compat, changedFrom, this.#onOversize);
  }
}

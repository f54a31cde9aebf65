/**
 * The IXFR journal (RFC 1995): per zone, the versions a secondary may hold, so that one holding
 * any of them gets only what changed since.
 *
 * Every version the table served is kept, as the data it was made of (ZoneView.detached: the
 * trie of an etcd zone, shared with the current one where unchanged) and the names each change
 * touched (ZoneView.changedFrom). Replicas mirror the same etcd history and number an etcd zone
 * by the revision of its last change, so a secondary that transferred from one replica (or
 * worker) can ask any other from that serial. Differences are computed when a secondary asks,
 * from its version to the current one in one step (which is the condensed form, RFC 1995 §5),
 * over the names changed since and their ancestors, and remembered for the next secondary that
 * asks the same. A serial the journal does not hold (older than it, from before a restart or
 * an etcd re-list, or one this replica's batches skipped) gets the whole zone (RFC 1995 §4).
 */
import { isSubdomain, parentName, type Name } from '../dns/name.js';
import type { RData, RR, RRset } from '../dns/records.js';
import type { Snapshot } from '../table/snapshot.js';
import { zoneSerial, type ZoneView } from '../table/zone.js';
import { transferRRsets } from './zone-records.js';

export interface JournalOptions {
  /** Most past versions kept per zone (--ixfr-journal). */
  readonly maxEntries: number;
  /** Most bytes the kept versions may hold per zone, estimated (--ixfr-journal-bytes). */
  readonly maxBytes: number;
}

/** One past version: its data, and what changed from the version before it. */
interface Version {
  readonly serial: number;
  readonly view: ZoneView;
  /** The names whose records changed from the previous version to this one. */
  readonly names: readonly Name[];
  readonly bytes: number;
}

interface ZoneJournal {
  /** Oldest first; the last is the current version. */
  versions: Version[];
  current: ZoneView;
  bytes: number;
  /** Differences from a serial to the current version, computed for a secondary that asked. */
  diffs: Map<number, Difference>;
}

interface Difference {
  readonly deleted: readonly RR[];
  readonly added: readonly RR[];
}

/**
 * Estimated bytes one kept version costs per changed name: the name, and the trie path its
 * change copied (a node and a chunk of up to 64 children per label, name-trie.ts).
 */
const BYTES_PER_CHANGED_NAME = 512;

/** How to answer an IXFR from a serial. */
export type IxfrPlan =
  /** The client is up to date (or ahead): one SOA (RFC 1995 §2). */
  | { readonly kind: 'current'; readonly zone: ZoneView }
  /** The condensed differences from the client's serial to ours (RFC 1995 §4, §5). */
  | { readonly kind: 'incremental'; readonly zone: ZoneView; readonly from: number; readonly deleted: readonly RR[]; readonly added: readonly RR[] }
  /** The whole zone (RFC 1995 §4: "the server may send the entire zone"), and why. */
  | { readonly kind: 'full'; readonly zone: ZoneView; readonly reason: string };

export class TransferJournal {
  readonly #options: JournalOptions;
  readonly #zones = new Map<Name, ZoneJournal>();

  constructor(options: JournalOptions) {
    if (!(options.maxEntries >= 0) || !(options.maxBytes >= 0)) throw new Error('TransferJournal: maxEntries and maxBytes must be >= 0');
    this.#options = options;
  }

  /** The table swapped in a snapshot: note the new versions. O(zones) when nothing changed. */
  observe(snapshot: Snapshot): void {
    for (const [origin, view] of snapshot.zones) {
      const journal = this.#zones.get(origin);
      if (journal?.current === view) continue;
      const from = view.changedFrom;
      if (!journal || !from || from.serial !== zoneSerial(journal.current) || this.#options.maxEntries === 0) {
        // Not known to follow the version we hold: nothing before it can be diffed to it.
        this.#zones.set(origin, { versions: [version(view, [])], current: view, bytes: 0, diffs: new Map() });
        continue;
      }
      const next = version(view, from.names);
      journal.versions.push(next);
      journal.bytes += next.bytes;
      journal.current = view;
      journal.diffs.clear();
      // The current version plus at most maxEntries past ones, within the byte bound.
      while (journal.versions.length > 1 && (journal.versions.length - 1 > this.#options.maxEntries || journal.bytes > this.#options.maxBytes)) {
        journal.bytes -= journal.versions.shift()!.bytes;
      }
    }
    for (const origin of this.#zones.keys()) if (!snapshot.zones.has(origin)) this.#zones.delete(origin);
  }

  /** How to answer an IXFR for `origin` from `serial`. */
  plan(origin: Name, serial: number): IxfrPlan | undefined {
    const journal = this.#zones.get(origin);
    if (!journal) return undefined;
    const zone = journal.current;
    const ours = zoneSerial(zone);
    // RFC 1982 serial arithmetic: the client at or ahead of us gets our SOA alone.
    if (serial === ours || serialGreater(serial, ours)) return { kind: 'current', zone };
    const at = journal.versions.findIndex((v) => v.serial === serial);
    if (at < 0 || at === journal.versions.length - 1) {
      const oldest = journal.versions[0]!;
      const reason = journal.versions.length === 1 ? 'no past versions kept for this zone' : `serial ${serial} is not in the journal (it holds ${oldest.serial} on)`;
      return { kind: 'full', zone, reason };
    }
    let diff = journal.diffs.get(serial);
    if (!diff) {
      const changed = new Set<Name>();
      for (let i = at + 1; i < journal.versions.length; i++) for (const name of journal.versions[i]!.names) changed.add(name);
      // The old side on a throwaway view: what the diff computes there is not kept with the
      // versions. The current side is the live view, whose answers queries need anyway.
      diff = diffZones(detach(journal.versions[at]!.view), zone, changed);
      journal.diffs.set(serial, diff);
    }
    return { kind: 'incremental', zone, from: serial, deleted: diff.deleted, added: diff.added };
  }

  /** What the journal holds, for metrics: past versions, and their estimated bytes. */
  size(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const j of this.#zones.values()) {
      entries += j.versions.length - 1;
      bytes += j.bytes;
    }
    return { entries, bytes };
  }
}

function version(view: ZoneView, names: readonly Name[]): Version {
  return { serial: zoneSerial(view), view: detach(view), names, bytes: names.length * BYTES_PER_CHANGED_NAME };
}

function detach(view: ZoneView): ZoneView {
  return view.detached ? view.detached() : view;
}

/** RFC 1982 §3.2: s1 > s2 in 32-bit serial number arithmetic. */
export function serialGreater(s1: number, s2: number): boolean {
  const a = s1 >>> 0;
  const b = s2 >>> 0;
  return (a < b && b - a > 0x80000000) || (a > b && a - b < 0x80000000);
}

/**
 * The records deleted from and added to `before` to make `after`, looking only at the changed
 * names and their ancestors (SkyDNS names aggregate the records below them). The SOA is not in
 * either list: IXFR frames each difference with its SOAs itself.
 */
function diffZones(before: ZoneView, after: ZoneView, changed: Iterable<Name>): { deleted: RR[]; added: RR[] } {
  const origin = after.origin;
  const names = new Set<Name>();
  for (const name of changed) {
    for (let n: Name | undefined = name; n !== undefined && isSubdomain(n, origin) && !names.has(n); n = parentName(n)) names.add(n);
  }
  const deleted: RR[] = [];
  const added: RR[] = [];
  for (const name of names) {
    const old = setsAt(before, name);
    const now = setsAt(after, name);
    for (const [type, set] of old) diffSets(set, now.get(type), deleted, added);
    for (const [type, set] of now) if (!old.has(type)) diffSets(undefined, set, deleted, added);
  }
  return { deleted, added };
}

function setsAt(zone: ZoneView, name: Name): Map<number, RRset> {
  const node = zone.node(name);
  const sets = new Map<number, RRset>();
  if (node) for (const set of transferRRsets(name, node, zone.origin)) sets.set(set.type, set);
  return sets;
}

function diffSets(old: RRset | undefined, now: RRset | undefined, deleted: RR[], added: RR[]): void {
  if (old === now) return;
  // A changed TTL changes every record of the set (RFC 2181 §5.2: one TTL per RRset).
  const sameTtl = old !== undefined && now !== undefined && old.ttl === now.ttl;
  const oldKeys = old ? keyed(old) : EMPTY_KEYS;
  const nowKeys = now ? keyed(now) : EMPTY_KEYS;
  if (old) for (const [k, d] of oldKeys) if (!sameTtl || !nowKeys.has(k)) deleted.push({ name: old.name, type: old.type, ttl: old.ttl, data: d });
  if (now) for (const [k, d] of nowKeys) if (!sameTtl || !oldKeys.has(k)) added.push({ name: now.name, type: now.type, ttl: now.ttl, data: d });
}

const EMPTY_KEYS: ReadonlyMap<string, RData> = new Map();

/**
 * An RRset's records by rdataKey, made once per RRset: the set a seal finds in the current
 * version is the old side of the next seal (an etcd zone's apex aggregates every address of
 * the zone, 100k records in a large zone). Weak: it goes with the RRset.
 */
const keyedSets = new WeakMap<RRset, ReadonlyMap<string, RData>>();

function keyed(set: RRset): ReadonlyMap<string, RData> {
  let keys = keyedSets.get(set);
  if (!keys) {
    const map = new Map<string, RData>();
    for (const d of set.records) map.set(rdataKey(d), d);
    keyedSets.set(set, (keys = map));
  }
  return keys;
}

/** One text per distinct RDATA: what makes two records of one RRset the same record. */
function rdataKey(data: RData): string {
  // Addresses, by far the most records of an etcd zone, as they are (canonical text).
  if ('address' in data) return data.address;
  let key = '';
  for (const value of Object.values(data)) {
    if (value instanceof Uint8Array) key += `|${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
    else if (Array.isArray(value)) key += `|${value.map((v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')).join(',')}`;
    else key += `|${String(value)}`;
  }
  return key;
}

function recordKey(rr: RR): string {
  return `${rr.name}|${rr.type}|${rr.ttl}${rdataKey(rr.data)}`;
}

/**
 * Several differences as one (RFC 1995 §5, condensation): a record deleted and then added
 * again is neither, one added and then deleted is neither.
 */
export function condense(entries: readonly { deleted: readonly RR[]; added: readonly RR[] }[]): { deleted: RR[]; added: RR[] } {
  if (entries.length === 1) return { deleted: [...entries[0]!.deleted], added: [...entries[0]!.added] };
  const deleted = new Map<string, RR>();
  const added = new Map<string, RR>();
  for (const entry of entries) {
    for (const rr of entry.deleted) {
      const key = recordKey(rr);
      if (added.has(key)) added.delete(key);
      else deleted.set(key, rr);
    }
    for (const rr of entry.added) {
      const key = recordKey(rr);
      if (deleted.has(key)) deleted.delete(key);
      else added.set(key, rr);
    }
  }
  return { deleted: [...deleted.values()], added: [...added.values()] };
}

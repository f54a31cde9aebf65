/**
 * The IXFR journal (RFC 1995): per zone, the differences between the versions of it that were
 * sent to secondaries, so that a secondary holding one of them gets only what changed since.
 *
 * Differences are not computed per etcd batch (with 100 puts/s into a 100k-name zone that would
 * diff the zone-wide apex addresses 100 times a second) but when a transfer needs them: the
 * journal keeps the version last sealed (`base`), the current one and the names changed
 * between (from ZoneView.changedFrom), and seals them into one entry at the start of each
 * transfer of the zone. Every serial a secondary can hold was sent in a transfer, so every
 * serial a secondary asks from is an entry boundary; a serial that is not (older than the
 * journal, from before a restart or a re-list, or made up) gets a full transfer (RFC 1995 §4).
 */
import { isSubdomain, parentName, type Name } from '../dns/name.js';
import type { RData, RR, RRset } from '../dns/records.js';
import type { Snapshot } from '../table/snapshot.js';
import { zoneSerial, type ZoneView } from '../table/zone.js';
import { transferRRsets } from './zone-records.js';

export interface JournalOptions {
  /** Most entries (sealed versions) kept per zone (--ixfr-journal). */
  readonly maxEntries: number;
  /** Most bytes of differences kept per zone, counted as records would be on the wire (roughly). */
  readonly maxBytes: number;
}

/** One sealed change: from one serial to the next one sent. */
interface JournalEntry {
  readonly from: number;
  readonly to: number;
  readonly deleted: readonly RR[];
  readonly added: readonly RR[];
  readonly bytes: number;
}

interface ZoneJournal {
  /** The version of the last entry's `to` (or the first one seen). */
  base: ZoneView;
  current: ZoneView;
  /** Names whose records changed between base and current (ancestors not included). */
  readonly pending: Set<Name>;
  entries: JournalEntry[];
  bytes: number;
}

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

  /** The table swapped in a snapshot: note what changed in each zone. O(zones) when nothing did. */
  observe(snapshot: Snapshot): void {
    for (const [origin, view] of snapshot.zones) {
      const journal = this.#zones.get(origin);
      if (!journal) {
        this.#zones.set(origin, { base: view, current: view, pending: new Set(), entries: [], bytes: 0 });
        continue;
      }
      if (journal.current === view) continue;
      const from = view.changedFrom;
      if (from && from.serial === zoneSerial(journal.current) && this.#options.maxEntries > 0) {
        for (const name of from.names) journal.pending.add(name);
        journal.current = view;
      } else {
        // Not known to follow the version we hold: nothing before it can be diffed to it.
        this.#zones.set(origin, { base: view, current: view, pending: new Set(), entries: [], bytes: 0 });
      }
    }
    for (const origin of this.#zones.keys()) if (!snapshot.zones.has(origin)) this.#zones.delete(origin);
  }

  /**
   * Seals what changed since the last transfer of `origin` into an entry and returns the
   * version to send, so that the serial sent is one the journal can start from later.
   */
  seal(origin: Name): ZoneView | undefined {
    const journal = this.#zones.get(origin);
    if (!journal) return undefined;
    if (journal.current === journal.base) return journal.current;
    const from = zoneSerial(journal.base);
    const to = zoneSerial(journal.current);
    if (from === to) {
      // A change that kept the serial (a zone file edited without a new serial): the versions
      // cannot be told apart by serial, so none before it can be the start of an IXFR.
      this.#restart(journal);
      return journal.current;
    }
    const { deleted, added } = diffZones(journal.base, journal.current, journal.pending);
    const bytes = recordBytes(deleted) + recordBytes(added);
    journal.entries.push({ from, to, deleted, added, bytes });
    journal.bytes += bytes;
    while (journal.entries.length > 0 && (journal.entries.length > this.#options.maxEntries || journal.bytes > this.#options.maxBytes)) {
      journal.bytes -= journal.entries.shift()!.bytes;
    }
    journal.base = journal.current;
    journal.pending.clear();
    return journal.current;
  }

  /** How to answer an IXFR for `origin` from `serial`; seals pending changes first. */
  plan(origin: Name, serial: number): IxfrPlan | undefined {
    const zone = this.seal(origin);
    if (!zone) return undefined;
    const journal = this.#zones.get(origin)!;
    const ours = zoneSerial(zone);
    // RFC 1982 serial arithmetic: the client at or ahead of us gets our SOA alone.
    if (serial === ours || serialGreater(serial, ours)) return { kind: 'current', zone };
    const start = journal.entries.findIndex((e) => e.from === serial);
    if (start < 0) {
      const reason = journal.entries.length === 0 ? 'no differences kept for this zone' : `serial ${serial} is not in the journal (it holds ${journal.entries[0]!.from} on)`;
      return { kind: 'full', zone, reason };
    }
    const { deleted, added } = condense(journal.entries.slice(start));
    return { kind: 'incremental', zone, from: serial, deleted, added };
  }

  /** What the journal holds, for metrics. */
  size(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const j of this.#zones.values()) {
      entries += j.entries.length;
      bytes += j.bytes;
    }
    return { entries, bytes };
  }

  #restart(journal: ZoneJournal): void {
    journal.base = journal.current;
    journal.pending.clear();
    journal.entries = [];
    journal.bytes = 0;
  }
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

/** Roughly what records take on the wire: the owner uncompressed, 10 octets of fixed fields, the RDATA. */
function recordBytes(rrs: readonly RR[]): number {
  let bytes = 0;
  for (const rr of rrs) bytes += rr.name.length + 12 + rdataBytes(rr.data);
  return bytes;
}

function rdataBytes(data: RData): number {
  let bytes = 0;
  for (const value of Object.values(data)) {
    if (value instanceof Uint8Array) bytes += value.length;
    else if (Array.isArray(value)) for (const v of value as Uint8Array[]) bytes += v.length + 1;
    else if (typeof value === 'string') bytes += value.length + 2;
    else bytes += 2;
  }
  return bytes;
}

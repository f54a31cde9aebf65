import { RRType } from '../dns/constants.js';
import { isSubdomain, parentName, type Name } from '../dns/name.js';
import type { Node, RData, RR, RRset } from '../dns/records.js';

/**
 * What the resolver needs from one zone, whoever holds its data (a zone file, the etcd mirror,
 * or both layered). Implementations are immutable: a change makes a new ZoneView.
 */
export interface ZoneView {
  /** The zone apex. */
  readonly origin: Name;
  /** The apex SOA, used for negative answers (RFC 2308 §3). */
  readonly soa: RRset;
  /**
   * The records owned by exactly `name` (at or below the origin). An empty map means the name
   * exists without records (an empty non-terminal, RFC 8020); undefined means it does not exist.
   */
  node(name: Name): Node | undefined;
  /** Where the data came from, for logs and diagnostics. */
  readonly source: string;
  /**
   * Whether any name in the zone may own a DNAME (RFC 6672), known when the view is built: the
   * resolver looks for a DNAME above the query name only when this is true, so zones without
   * one pay nothing per query for it. Absent means false.
   */
  readonly hasDname?: boolean;
  /**
   * Set by etcd views: answer as the CoreDNS etcd plugin does (docs/etcd-data.md). Both values:
   * SRV/MX/NS targets reached through CNAMEs get the chain and its addresses in the additional
   * section, and a CNAME loop is NODATA. `coredns` also where CoreDNS breaks an RFC: a CNAME
   * answers only A, AAAA and TXT queries, and a chain that ends without records is NODATA.
   * Absent: none of this (zone files).
   */
  readonly skydns?: 'rfc' | 'coredns';
  /**
   * CoreDNS's query wildcard (etcd views): what a query name whose leftmost label is `*` stands
   * for when no record owns that literal name (every name at that level). Asked only for query
   * names and CNAME targets, never for the RFC 4592 wildcard probe, which uses node().
   */
  searchWildcard?(name: Name): Node | undefined;
  /**
   * Every name that owns records, with its records, the apex first: what a zone transfer sends
   * (RFC 5936 §2.2). Names without records (empty non-terminals) are left out. Lazy, and an
   * implementation may compute each node as it is reached and forget it after: a transfer of
   * a large zone then costs one node at a time, not a second copy of the zone.
   */
  transferNodes(): Iterable<readonly [Name, Node]>;
  /**
   * Set by a source that knows what one change did: the serial of the view this one replaced,
   * and the names whose own records changed (an ancestor's may have changed too where records
   * aggregate up the tree, as SkyDNS answers do). Absent when that is not known (a zone file
   * reloaded, an etcd re-list): an incremental transfer across this view falls back to a full
   * one (RFC 1995 §4).
   */
  readonly changedFrom?: ChangedFrom;
  /**
   * The same data without what this view has memoised for queries: what the IXFR journal keeps
   * of a past version, so that keeping a thousand versions costs their data (shared with the
   * current one where unchanged), not their computed answers. Absent: the view itself is kept.
   */
  detached?(): ZoneView;
}

/** The serial of the zone's SOA (RFC 1035 §3.3.13). */
export function zoneSerial(zone: ZoneView): number {
  const soa = zone.soa.records[0];
  return soa && soa.type === RRType.SOA && 'serial' in soa ? soa.serial : 0;
}

/** See ZoneView.changedFrom. */
export interface ChangedFrom {
  readonly serial: number;
  readonly names: readonly Name[];
}

const EMPTY_NODE: Node = new Map();

/**
 * A zone held as a plain map of owner name to records, built once: the shape a zone file
 * gives. Empty non-terminals between the apex and each owner are materialised so that
 * `node()` is a single Map lookup.
 */
export class StaticZone implements ZoneView {
  readonly origin: Name;
  readonly soa: RRset;
  readonly source: string;
  readonly recordCount: number;
  readonly hasDname: boolean;
  readonly #nodes: ReadonlyMap<Name, Node>;

  private constructor(origin: Name, soa: RRset, nodes: ReadonlyMap<Name, Node>, source: string, recordCount: number, hasDname: boolean) {
    this.origin = origin;
    this.soa = soa;
    this.#nodes = nodes;
    this.source = source;
    this.recordCount = recordCount;
    this.hasDname = hasDname;
  }

  node(name: Name): Node | undefined {
    return this.#nodes.get(name);
  }

  /** Every owner name with its records, apex first; for tools (`check-zone`) and tests. */
  *entries(): IterableIterator<[Name, Node]> {
    yield* this.#nodes;
  }

  *transferNodes(): IterableIterator<readonly [Name, Node]> {
    for (const entry of this.#nodes) if (entry[1].size > 0) yield entry;
  }

  /**
   * Builds a zone from records. The caller (the zone-file parser) has validated them: every
   * owner is at or below `origin` and there is one SOA at the apex.
   */
  static fromRecords(origin: Name, records: readonly RR[], source: string): StaticZone {
    const building = new Map<Name, Map<number, { ttl: number; records: RData[] }>>();
    let hasDname = false;
    for (const rr of records) {
      if (rr.type === RRType.DNAME) hasDname = true;
      let node = building.get(rr.name);
      if (!node) building.set(rr.name, (node = new Map()));
      const set = node.get(rr.type);
      // RFC 2181 §5.2: one TTL per RRset; where a file disagrees, the lowest wins.
      if (set) {
        if (!set.records.some((d) => sameRData(d, rr.data))) set.records.push(rr.data);
        set.ttl = Math.min(set.ttl, rr.ttl);
      } else node.set(rr.type, { ttl: rr.ttl, records: [rr.data] });
    }
    const nodes = new Map<Name, Node>();
    for (const [name, types] of building) {
      const node = new Map<number, RRset>();
      for (const [type, set] of types) node.set(type, Object.freeze({ name, type, ttl: set.ttl, records: Object.freeze(set.records) }));
      nodes.set(name, node);
    }
    for (const name of building.keys()) {
      for (let up = parentName(name); up !== undefined && isSubdomain(up, origin); up = parentName(up)) {
        if (nodes.has(up)) break;
        nodes.set(up, EMPTY_NODE);
      }
    }
    if (!nodes.has(origin)) nodes.set(origin, EMPTY_NODE);
    const soa = nodes.get(origin)?.get(RRType.SOA);
    if (!soa) throw new Error(`zone ${origin || '.'} has no SOA at its apex`);
    // Apex first so listings read like a zone file.
    const ordered = new Map<Name, Node>([[origin, nodes.get(origin)!]]);
    for (const [k, v] of nodes) if (k !== origin) ordered.set(k, v);
    return new StaticZone(origin, soa, ordered, source, records.length, hasDname);
  }
}

/** Structural equality of two RDATA values (duplicate records collapse, RFC 2181 §5). */
export function sameRData(a: RData, b: RData): boolean {
  if (a.type !== b.type) return false;
  const ka = a as unknown as Record<string, unknown>;
  const kb = b as unknown as Record<string, unknown>;
  for (const key of Object.keys(ka)) {
    const va = ka[key];
    const vb = kb[key];
    if (va instanceof Uint8Array && vb instanceof Uint8Array) {
      if (!bytesEqual(va, vb)) return false;
    } else if (Array.isArray(va) && Array.isArray(vb)) {
      if (va.length !== vb.length) return false;
      for (let i = 0; i < va.length; i++) if (!bytesEqual(va[i] as Uint8Array, vb[i] as Uint8Array)) return false;
    } else if (va !== vb) return false;
  }
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

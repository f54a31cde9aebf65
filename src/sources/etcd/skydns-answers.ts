/**
 * The answers CoreDNS's etcd plugin gives (plugin/etcd, plugin/backend_lookup.go), computed from
 * memory: one EtcdNode per name aggregates the SkyDNS services at and below it into RRsets,
 * lazily per type and memoised, so a change costs nothing at query time for names outside the
 * changed path.
 */
import { RRType } from '../../dns/constants.js';
import { isSubdomain, type Name } from '../../dns/name.js';
import { hasShape, txtStrings, type Node, type RData, type RRset } from '../../dns/records.js';
import { collect, entriesOf, type Entry, type TNode, type TrieNode } from './name-trie.js';
import { isCnameKey, isRecordKey } from './record-owner.js';
import { groupFilter, srvWeights, targetStrip } from '../../skydns/codec.js';
import { LABEL_PREFIX } from '../../skydns/update-records.js';

export const NO_ENTRIES: readonly Entry[] = Object.freeze([]);
const NO_NAMES: readonly Name[] = Object.freeze([]);
const NO_SETS: ReadonlyMap<number, RRset> = new Map();
/** Reverse-mapping names answer PTR (RFC 1035 §3.5, RFC 3596 §2.5): never an alias. */
const REVERSE = /(^|\.)(in-addr|ip6)\.arpa$/;

/** Types a node can hold, in the order ANY (first RRset, RFC 8482) and iteration see them. */
const NODE_TYPES = [RRType.SOA, RRType.NS, RRType.A, RRType.AAAA, RRType.CNAME, RRType.MX, RRType.SRV, RRType.TXT, RRType.PTR] as const;

/**
 * Most records one RRset is served with, and most octets its records may take on the wire. A
 * DNS message counts records in 16 bits and a TCP message carries at most 65,535 octets
 * (RFC 1035 §4.1.1, §4.2.2): a name aggregating 100k services could not be answered at all, and
 * every query for it would pay for the attempt. 48 KiB leaves room for the question, the
 * authority section and additional addresses; the records beyond are left out (the first by key
 * order are kept, so every replica serves the same subset).
 */
export const MAX_RRSET_RECORDS = 4096;
export const MAX_RRSET_OCTETS = 48 * 1024;

/** An RRset was cut to the bounds above: `total` records were there to serve. */
export type OnOversize = (name: Name, type: number, total: number) => void;

export interface ApexInfo {
  readonly soa: RRset;
  readonly nsDir: TrieNode | undefined;
  /** The zone's root when `dns/apex` is empty: A and AAAA then come from the whole zone. */
  readonly zoneWide?: TrieNode | undefined;
  /** The zone's root, whose `_rr-` children hold the apex's extension records (#extensions). */
  readonly zoneRoot?: TNode;
}

/**
 * The records at one name, computed lazily per type and memoised. Immutable from the outside:
 * it depends only on immutable trie nodes.
 *
 * Aggregated (the whole subtree, CoreDNS non-exact lookups): A, AAAA, TXT, SRV, MX, and the
 * CNAME used when the asked type is missing. Exact key only: PTR (CoreDNS `exact=true`).
 */
export class EtcdNode implements Node {
  readonly #name: Name;
  readonly #roots: readonly TrieNode[];
  readonly #exact: readonly Entry[];
  readonly #apex: ApexInfo | undefined;
  readonly #onOversize: OnOversize | undefined;
  /** Grouped entries with a host: what A/AAAA/CNAME/SRV/MX queries see. */
  #hosts: readonly Entry[] | undefined;
  /** Grouped entries with a host or a text: what TXT queries see. */
  #texts: readonly Entry[] | undefined;
  /** At an apex without `dns/apex`: the whole zone's grouped entries with a host. */
  #zoneHosts: readonly Entry[] | undefined;
  readonly #sets = new Map<number, RRset | null>();
  #all: Map<number, RRset> | undefined;
  #extension: ReadonlyMap<number, RRset> | undefined;
  /** `--compat rfc`: one answer shape per name whatever type is asked (see #alias). */
  readonly #rfc: boolean;
  #aliasMemo: boolean | undefined;

  constructor(name: Name, roots: readonly TrieNode[], exact: readonly Entry[], apex: ApexInfo | undefined, onOversize?: OnOversize, rfc = false) {
    this.#name = name;
    this.#onOversize = onOversize;
    this.#roots = roots;
    this.#exact = exact;
    this.#apex = apex;
    this.#rfc = rfc;
  }

  /**
   * `--compat rfc`: whether this name is an alias, answered with its CNAME for every type. A
   * name must not answer A with a CNAME and SRV, MX or TXT with data of its own (RFC 2181
   * §10.1, RFC 1034 §3.6.2): a resolver that asked A first caches the CNAME and answers the
   * other types from the target. So a name whose services are all host names with no port,
   * no `mail` (an alias as external-dns and scripts write it, texts allowed) is an alias; any
   * other name (a service with ports, mail exchangers, addresses; any name in a
   * reverse zone, which answers PTR) has no CNAME, and its A/AAAA are the addresses of its
   * targets in the zone (ServiceNode, etcd-zone.ts). CoreDNS's mix is `--compat coredns`.
   */
  #alias(): boolean {
    if (this.#aliasMemo === undefined) {
      const hosts = this.#hostEntries();
      this.#aliasMemo =
        !this.#apex &&
        !REVERSE.test(this.#name) &&
        hosts.length > 0 &&
        hosts.every((e) => e.service.kind === 'name' && e.service.port <= 0 && !e.service.mail && (!isRecordKey(e.key) || isCnameKey(e.key)));
    }
    return this.#aliasMemo;
  }

  /**
   * `--compat rfc`: the host names of a name that is not an alias, whose addresses (where the
   * zone has them) are this name's A and AAAA. Empty in CoreDNS mode and for aliases.
   */
  nameTargets(): readonly Name[] {
    if (!this.#rfc || this.#apex || this.#alias()) return NO_NAMES;
    const out: Name[] = [];
    for (const e of this.#hostEntries()) {
      // An MX or SRV that DNS UPDATE wrote is that record only, as in a plain zone (record-owner.ts).
      if (e.service.kind === 'name' && e.service.hostName !== this.#name && !isRecordKey(e.key) && !out.includes(e.service.hostName!)) out.push(e.service.hostName!);
    }
    return out;
  }

  /** The owner name. */
  get name(): Name {
    return this.#name;
  }

  get(type: number): RRset | undefined {
    if (type === RRType.SOA) return this.#apex?.soa;
    let set = this.#sets.get(type);
    if (set === undefined) {
      set = this.#compute(type);
      this.#sets.set(type, set);
      const total = set ? (set as Bounded).total : undefined;
      if (total !== undefined) {
        try {
          this.#onOversize?.(this.#name, type, total);
        } catch {
          // The caller's reporting must not cost the answer.
        }
      }
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
      for (const type of this.#extensions().keys()) {
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
    for (const root of this.#roots) collect(root, all, this.#rfc);
    this.#hosts = groupFilter(all.filter((e) => e.service.kind !== 'none'));
    this.#texts = groupFilter(all.filter((e) => e.service.kind !== 'none' || e.service.text !== ''));
  }

  #hostEntries(): readonly Entry[] {
    if (!this.#hosts) this.#load();
    return this.#hosts!;
  }

  /** What A/AAAA see: the host entries, or at an apex without `dns/apex` the whole zone's. */
  #addressEntries(): readonly Entry[] {
    const zoneWide = this.#apex?.zoneWide;
    if (!zoneWide) return this.#hostEntries();
    if (!this.#zoneHosts) {
      const all: Entry[] = [];
      collect(zoneWide, all, this.#rfc);
      this.#zoneHosts = groupFilter(all.filter((e) => e.service.kind !== 'none'));
    }
    return this.#zoneHosts;
  }

  #compute(type: number): RRset | null {
    if (this.#rfc && type !== RRType.CNAME && type !== RRType.NS && this.#alias()) return null;
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
        return this.#extensions().get(type) ?? null;
    }
  }

  /**
   * Records of types SkyDNS cannot express (skydns/extension.ts), by type: the values of this
   * name's `_rr-<type>-<hash>` children (the zone key's at the apex). Exact, like PTR: they
   * answer at the name UPDATE wrote them at, never aggregated into the names above it.
   */
  #extensions(): ReadonlyMap<number, RRset> {
    if (!this.#extension) {
      const builders = new Map<number, SetBuilder>();
      const add = (e: Entry): void => {
        const data = e.service.extension;
        if (!data) return;
        let b = builders.get(data.type);
        if (!b) builders.set(data.type, (b = new SetBuilder()));
        b.add(Buffer.from(data.raw.buffer, data.raw.byteOffset, data.raw.byteLength).toString('base64'), data, e.ttl);
      };
      // `--compat rfc` files a record key under its owner (record-owner.ts): the name's own
      // entries. `--compat coredns` keeps the `_rr-` label a name, so they are its children.
      for (const e of this.#exact) add(e);
      const holders = this.#apex ? (this.#apex.zoneRoot ? [this.#apex.zoneRoot] : []) : this.#roots;
      for (const t of holders) {
        t.kids?.forEachWithPrefix(LABEL_PREFIX, (kid) => {
          for (const e of entriesOf(kid) ?? NO_ENTRIES) add(e);
        });
      }
      // Nearly every name has none: share one empty map rather than hold one per memoised name.
      const sets = new Map<number, RRset>();
      for (const [type, b] of builders) {
        const set = b.build(this.#name, type);
        if (set) sets.set(type, set);
      }
      this.#extension = sets.size === 0 ? NO_SETS : sets;
    }
    return this.#extension;
  }

  /** CoreDNS backend_lookup.go `A`/`AAAA`: address hosts of the family, deduplicated by address. */
  #addresses(type: typeof RRType.A | typeof RRType.AAAA): RRset | null {
    const kind = type === RRType.A ? 'ipv4' : 'ipv6';
    const b = new SetBuilder();
    for (const e of this.#addressEntries()) {
      if (e.service.kind === kind) b.add(e.service.address!, { type, address: e.service.address! }, e.ttl);
    }
    return b.build(this.#name, type);
  }

  /**
   * The CNAME the resolver follows when this name lacks the asked type: the first entry by key
   * order whose host is a name (the exact key comes first, as in etcd's key order). CoreDNS
   * emits one CNAME per such entry and chases each, which puts several CNAMEs at one owner
   * (illegal, RFC 2181 §10.1); one is what a DNS answer can carry.
   *
   * The exact key's own host comes first, whatever it is but this name itself: that is what
   * CoreDNS's CNAME query answers. Among the keys below, as in CoreDNS (backend_lookup.go `A`:
   * "w.x CNAME x is also direct loop due to the recursive nature of search results"), hosts at
   * or below this name are skipped.
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
    if (this.#apex || (this.#rfc && !this.#alias())) return null;
    let first: Entry | undefined;
    // CoreDNS's CNAME query reads the exact key (backend_lookup.go `CNAME`): its host, even one
    // below the name (cname_test.go: region2 CNAME mainendpoint.region2), only not x CNAME x.
    for (const e of this.#exact) {
      if (e.service.kind === 'name' && e.service.hostName !== this.#name && (!first || e.key < first.key)) first = e;
    }
    if (first) return freezeSet(this.#name, RRType.CNAME, first.ttl, [{ type: RRType.CNAME, target: first.service.hostName! }]);
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

  /**
   * CoreDNS `PTR`: exact key only (`exact=true`), hosts that are names. Not a record DNS UPDATE
   * wrote as another type (its MX, SRV, CNAME: record-owner.ts); UPDATE writes a PTR at the
   * name's own key.
   */
  #ptr(): RRset | null {
    const b = new SetBuilder();
    for (const e of this.#exact) {
      if (e.service.kind === 'name' && !(this.#rfc && isRecordKey(e.key))) b.add(e.service.hostName!, { type: RRType.PTR, target: e.service.hostName! }, e.ttl);
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

/** An RRset cut to the bounds: how many distinct records there were. */
type Bounded = RRset & { readonly total?: number };

/**
 * Collects distinct records and the lowest TTL among their sources (RFC 2181 §5.2), up to
 * MAX_RRSET_RECORDS records and MAX_RRSET_OCTETS octets (an upper estimate: no compression).
 */
class SetBuilder {
  readonly #seen = new Set<string>();
  readonly #records: RData[] = [];
  #ttl = Infinity;
  #octets = 0;
  #full = false;
  /** Distinct records seen, kept or not. */
  #distinct = 0;

  add(id: string, data: RData, ttl: number): void {
    if (ttl < this.#ttl) this.#ttl = ttl;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.#distinct++;
    if (this.#full) return;
    // Owner (a compression pointer at best, but count the fixed fields generously) + RDATA.
    const octets = 12 + rdataOctets(data);
    // Later records may be smaller, but the kept set is a prefix in key order: stop at the first miss.
    // The first record is always kept: one record alone fits a message (values are at most 64 KiB).
    if (this.#records.length >= MAX_RRSET_RECORDS || (this.#records.length > 0 && this.#octets + octets > MAX_RRSET_OCTETS)) {
      this.#full = true;
      return;
    }
    this.#octets += octets;
    this.#records.push(data);
  }

  build(name: Name, type: number): RRset | null {
    if (this.#records.length === 0) return null;
    if (this.#distinct === this.#records.length) return freezeSet(name, type, this.#ttl, this.#records);
    return Object.freeze({ name, type, ttl: this.#ttl, records: Object.freeze(this.#records), total: this.#distinct });
  }
}

/** Upper bound of a record's RDATA on the wire (names uncompressed: length + 2). */
function rdataOctets(data: RData): number {
  if (hasShape(data, RRType.A)) return 4;
  if (hasShape(data, RRType.AAAA)) return 16;
  if (hasShape(data, RRType.CNAME) || hasShape(data, RRType.PTR) || hasShape(data, RRType.NS)) return data.target.length + 2;
  if (hasShape(data, RRType.MX)) return 2 + data.exchange.length + 2;
  if (hasShape(data, RRType.SRV)) return 6 + data.target.length + 2;
  if (hasShape(data, RRType.TXT)) {
    let n = 0;
    for (const s of data.strings) n += s.length + 1;
    return n;
  }
  if ('generic' in data) return data.raw.length;
  return 255;
}

function freezeSet(name: Name, type: number, ttl: number, records: RData[]): RRset {
  return Object.freeze({ name, type, ttl, records: Object.freeze(records) });
}

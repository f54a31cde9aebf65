/**
 * One etcd zone as the resolver sees it (a ZoneView): the synthesized SOA, lookups down the
 * zone's trie, the apex, and CoreDNS's search wildcards (`any`, non-leftmost `*`), which are the
 * only lookups that walk more than one path. Immutable: a batch that changes the zone makes a
 * new view; the old one keeps answering the old data.
 */
import { RRType } from '../../dns/constants.js';
import { childName, isSubdomain, type Name } from '../../dns/name.js';
import type { Node, RRset } from '../../dns/records.js';
import type { ChangedFrom, ZoneView } from '../../table/zone.js';
import { child, entriesOf, type TNode, type TrieNode } from './name-trie.js';
import { leafNode, serviceLeavesNode } from './leaf-node.js';
import { isRecordKey } from './record-owner.js';
import { serviceNode } from './service-node.js';
import { EtcdNode, NO_ENTRIES, type OnOversize } from './skydns-answers.js';

/** SOA timers of CoreDNS's synthesized SOA (backend_lookup.go `SOA`). */
const SOA_REFRESH = 7200;
const SOA_RETRY = 1800;
const SOA_EXPIRE = 86400;

/** Most distinct search-wildcard names a view remembers answers for (a client picks them). */
const SEARCH_CACHE_LIMIT = 256;

/** CoreDNS's SOA minimum and TTL (`MinTTL`, xfr.go): 30 s. */
const COREDNS_SOA_MINIMUM = 30;

/** `--compat`: which answers etcd zones give where CoreDNS's break an RFC (ZoneView.skydns). */
export type Compat = 'rfc' | 'coredns';

export class EtcdZoneView implements ZoneView {
  readonly origin: Name;
  readonly soa: RRset;
  readonly source: string;
  readonly skydns: Compat;
  readonly changedFrom: ChangedFrom | undefined;
  readonly #root: TNode;
  readonly #memo: WeakMap<TrieNode, EtcdNode>;
  readonly #args: { readonly revision: number; readonly defaultTtl: number; readonly prefix: string };
  readonly #onOversize: OnOversize | undefined;
  #apex: EtcdNode | undefined;
  readonly #rfc: boolean;
  /** This view's ServiceNodes (their addresses come from other names, which may change with the view). */
  readonly #services = new WeakMap<EtcdNode, Node>();
  #search: Map<Name, EtcdNode | null> | undefined;
  #starSearch: Map<Name, EtcdNode | null> | undefined;

  constructor(
    origin: Name,
    root: TNode,
    revision: number,
    defaultTtl: number,
    prefix: string,
    memo: WeakMap<TrieNode, EtcdNode>,
    compat: Compat = 'rfc',
    changedFrom?: ChangedFrom,
    onOversize?: OnOversize,
  ) {
    this.#onOversize = onOversize;
    this.origin = origin;
    this.skydns = compat;
    this.#rfc = compat === 'rfc';
    this.changedFrom = changedFrom;
    this.#args = { revision, defaultTtl, prefix };
    this.#root = root;
    this.#memo = memo;
    this.source = `etcd ${prefix}`;
    // CoreDNS backend_lookup.go `SOA`: mname ns.dns.<zone>, rname hostmaster.<zone>, timers
    // 7200/1800/86400. The serial is the etcd revision of the batch that made this view
    // (mod 2^32, RFC 1982 arithmetic wraps): the same data gives the same serial on every
    // replica, where CoreDNS's Unix time differs per replica and per second. The minimum and
    // TTL are CoreDNS's 30 s, or the default TTL where that is shorter, so negative answers are
    // never cached longer than positive ones.
    const minimum = Math.min(COREDNS_SOA_MINIMUM, defaultTtl);
    this.soa = Object.freeze({
      name: origin,
      type: RRType.SOA,
      ttl: minimum,
      records: Object.freeze([
        {
          type: RRType.SOA,
          mname: childName('ns', childName('dns', origin)),
          rname: childName('hostmaster', origin),
          serial: revision >>> 0,
          refresh: SOA_REFRESH,
          retry: SOA_RETRY,
          expire: SOA_EXPIRE,
          minimum,
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
    let t: TrieNode | undefined = this.#root;
    for (let i = parts.length - 1; i >= 0 && t; i--) t = child(t, parts[i]!);
    if (!t) return undefined;
    let node = this.#memo.get(t);
    if (!node) this.#memo.set(t, (node = new EtcdNode(t.name, [t], entriesOf(t) ?? NO_ENTRIES, undefined, this.#onOversize, this.#rfc)));
    return this.#withTargets(node);
  }

  /** `node` itself, or in `--compat rfc` with the addresses of its in-zone targets as its own (service-node.ts). */
  #withTargets(node: EtcdNode): Node {
    const targets = node.nameTargets();
    if (targets.length === 0) return node;
    let service = this.#services.get(node);
    if (!service) this.#services.set(node, (service = serviceNode(node.name, node, targets, (name) => this.#plainNode(name))));
    return service;
  }

  /** The node of a name in this zone without following its targets (one level, so no loops). */
  #plainNode(name: Name): Node | undefined {
    if (!isSubdomain(name, this.origin) || name === this.origin) return undefined;
    const rel = this.origin === '' ? name : name.slice(0, name.length - this.origin.length - 1);
    const parts = rel.split('.');
    if (isSearch(parts)) return undefined;
    let t: TrieNode | undefined = this.#root;
    for (let i = parts.length - 1; i >= 0 && t; i--) t = child(t, parts[i]!);
    if (!t) return undefined;
    let node = this.#memo.get(t);
    if (!node) this.#memo.set(t, (node = new EtcdNode(t.name, [t], entriesOf(t) ?? NO_ENTRIES, undefined, this.#onOversize, this.#rfc)));
    return node;
  }

  /** The same trie, a memo of its own (ZoneView.detached): nothing computed for queries is kept. */
  detached(): EtcdZoneView {
    const { revision, defaultTtl, prefix } = this.#args;
    return new EtcdZoneView(this.origin, this.#root, revision, defaultTtl, prefix, new WeakMap(), this.skydns, undefined, this.#onOversize);
  }

  /**
   * The apex, then every name with a key at or below it, depth first in label order: each
   * node as node() gives it (the services of its subtree, aggregated), so a secondary answers
   * what we answer. Nodes not already memoised are made for the transfer and dropped after it:
   * a transfer of a 100k-key zone must not leave the aggregate of every name in memory. A name
   * with one address key and nothing below it (most names) has its records written straight
   * from that key, and a service name whose children are all such address leaves straight from
   * them (leaf-node.ts): the same RRsets without the aggregation.
   */
  *transferNodes(): IterableIterator<readonly [Name, Node]> {
    const apex = this.node(this.origin)!;
    if (apex.size > 0) yield [this.origin, apex];
    const stack: TrieNode[] = [];
    const push = (t: TrieNode): void => {
      if (!t.kids) return;
      const kids: TrieNode[] = [];
      t.kids?.forEach((k) => kids.push(k));
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    };
    push(this.#root);
    for (let t = stack.pop(); t; t = stack.pop()) {
      push(t);
      const memo = this.#memo.get(t);
      const node = (!memo && (leafNode(t) ?? serviceLeavesNode(t))) || this.#withTargets(memo ?? new EtcdNode(t.name, [t], entriesOf(t) ?? NO_ENTRIES, undefined, this.#onOversize, this.#rfc));
      if (node.size > 0) yield [t.name, node];
    }
  }

  /**
   * The apex: SOA, NS from `dns/ns/...` (names = the keys, e.g. `a.ns.dns.<zone>`), and
   * A/AAAA/TXT/MX from `dns/apex/...` plus a key exactly at the zone, if any.
   *
   * When `dns/apex` has nothing, A and AAAA are every address of the zone, as CoreDNS's
   * `checkForApex` falls back to the whole zone (lookup_test.go: "backward compatibility for
   * zone records"). CoreDNS reads the whole zone from etcd per such query (coredns#6071); here
   * the answer is computed once per view, on the first apex address query after a change.
   * Never a CNAME: the apex has SOA and NS (RFC 1034 §3.6.2).
   */
  #apexNode(): EtcdNode {
    const dns = child(this.#root, 'dns');
    const apexDir = dns && child(dns, 'apex');
    const nsDir = dns && child(dns, 'ns');
    // Addresses DNS UPDATE wrote at the apex (record-owner.ts puts them on the root) are apex
    // records, as `dns/apex` keys are: no zone-wide fallback beside them. Its other records
    // there (CAA, …: skydns/extension.ts) leave the fallback alone, as CoreDNS does.
    const updated = this.#root.entries?.some((e) => isRecordKey(e.key) && (e.service.kind === 'ipv4' || e.service.kind === 'ipv6')) === true;
    const zoneWide = (apexDir === undefined || apexDir.size === 0) && !updated ? this.#root : undefined;
    return new EtcdNode(this.origin, apexDir ? [apexDir] : [], this.#root.entries ?? NO_ENTRIES, { soa: this.soa, nsDir, zoneWide, zoneRoot: this.#root }, this.#onOversize, this.#rfc);
  }

  /**
   * CoreDNS query wildcards (msg.PathWithWildcard, etcd.go loopNodes): a `*` or `any` label in
   * the query matches any one label there; the answer aggregates every matching name's
   * subtree. `prod.*.skydns.test`, `prod.any.skydns.test`, `any.region1.skydns.test`.
   *
   * Except a `*` as the *leftmost* label: node() gives the literal `*` key (the RFC 4592
   * wildcard owner), because the resolver probes `*.<closest encloser>` to synthesize answers
   * for names that do not exist, and if that probe aggregated all siblings every made-up name
   * under a populated name (`typo.api.example.test`) would answer with api's records instead of
   * NXDOMAIN. The resolver asks `searchWildcard` for the query name itself, which searches.
   */
  #searchNode(name: Name, parts: readonly string[], leftmostStar = false): Node | undefined {
    const cache = leftmostStar ? (this.#starSearch ??= new Map()) : (this.#search ??= new Map());
    const cached = cache.get(name);
    if (cached !== undefined) return cached ?? undefined;
    let frontier: TrieNode[] = [this.#root];
    for (let i = parts.length - 1; i >= 0 && frontier.length > 0; i--) {
      const label = parts[i]!;
      const next: TrieNode[] = [];
      if (isSearchLabel(label, i) || (leftmostStar && i === 0)) {
        for (const t of frontier) t.kids?.forEach((c) => next.push(c));
      } else {
        for (const t of frontier) {
          const c = child(t, label);
          if (c) next.push(c);
        }
      }
      frontier = next;
    }
    const node = frontier.length > 0 ? new EtcdNode(name, frontier, NO_ENTRIES, undefined, this.#onOversize, this.#rfc) : null;
    if (cache.size >= SEARCH_CACHE_LIMIT) cache.clear();
    cache.set(name, node);
    return node ?? undefined;
  }

  /**
   * CoreDNS's `*.region1.skydns.test` (ZoneView.searchWildcard): a query name whose leftmost
   * label is `*` and that owns no record stands for every name at that level, as `any` does.
   */
  searchWildcard(name: Name): Node | undefined {
    if (!isSubdomain(name, this.origin) || name === this.origin) return undefined;
    const rel = this.origin === '' ? name : name.slice(0, name.length - this.origin.length - 1);
    const parts = rel.split('.');
    if (parts[0] !== '*') return undefined;
    return this.#searchNode(name, parts, true);
  }
}

function isSearchLabel(label: string, index: number): boolean {
  return label === 'any' || (label === '*' && index > 0);
}

function isSearch(parts: readonly string[]): boolean {
  for (let i = 0; i < parts.length; i++) if (isSearchLabel(parts[i]!, i)) return true;
  return false;
}

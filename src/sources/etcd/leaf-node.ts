/**
 * The records of a name with exactly one key and nothing below it, holding an address: most
 * names of a SkyDNS zone (every instance of a service). A zone transfer walks every name, and
 * building each one's EtcdNode (skydns-answers.ts: collect the subtree, group, filter, one
 * deduplicating builder per type) cost more than writing its records (measured: 100k instance
 * names, about half the server's CPU of an AXFR). For this one shape the aggregation has nothing
 * to aggregate, so the RRsets are written straight from the key's parsed value.
 *
 * The RRsets are exactly EtcdNode's for the same node (leaf-node.test.ts compares the two over
 * every field of a service, in both --compat modes), in the same order; anything else (a name
 * host, a text-only key, a record DNS UPDATE wrote, several keys at one name) is EtcdNode's.
 */
import { RRType } from '../../dns/constants.js';
import type { Node, RData, RRset } from '../../dns/records.js';
import { txtStrings } from '../../dns/records.js';
import { targetStrip } from '../../skydns/codec.js';
import { type Entry, TNode, type TrieNode } from './name-trie.js';
import { isRecordKey } from './record-owner.js';

/** The leaf's RRsets (A or AAAA, MX, SRV, TXT: EtcdNode's order), or undefined when `t` is not such a leaf. */
export function leafNode(t: TrieNode): Node | undefined {
  // A name with one key and nothing below is usually that key's Entry (name-trie.ts).
  const e = !(t instanceof TNode) ? t : t.kids === undefined && t.entries?.length === 1 ? t.entries[0]! : undefined;
  if (e === undefined) return undefined;
  const s = e.service;
  if ((s.kind !== 'ipv4' && s.kind !== 'ipv6') || s.extension !== undefined || isRecordKey(e.key)) return undefined;
  const name = t.name;
  const ttl = e.ttl;
  const out = new Map<number, RRset>();
  const address = s.kind === 'ipv4' ? RRType.A : RRType.AAAA;
  out.set(address, set(name, address, ttl, { type: address, address: s.address! }));
  // SRV and MX targets of an address host: the key's own name, minus `targetstrip` labels.
  if (s.mail) out.set(RRType.MX, set(name, RRType.MX, ttl, { type: RRType.MX, preference: s.priority, exchange: targetStrip(e.name, s.targetstrip) }));
  if (s.port !== -1) {
    // srvWeights([s]) for the one service, without its two arrays and map: the same arithmetic.
    const own = s.weight === 0 ? 100 : s.weight;
    const weight = Math.floor((100 / own) * own) || 1;
    out.set(RRType.SRV, set(name, RRType.SRV, ttl, { type: RRType.SRV, priority: s.priority, weight, port: s.port, target: targetStrip(e.name, s.targetstrip) }));
  }
  if (s.text !== '') out.set(RRType.TXT, set(name, RRType.TXT, ttl, { type: RRType.TXT, strings: txtStrings(s.text) }));
  return out;
}

/**
 * Not frozen, unlike the memoised sets of EtcdNode: these live for one transfer's step and are
 * never shared, and freezing a new object costs it a map transition (measured: ~4% of an AXFR).
 */
function set(name: string, type: number, ttl: number, data: RData): RRset {
  return { name, type, ttl, records: [data] };
}

/** SetBuilder's bounds (skydns-answers.ts): a set beyond them is cut, which EtcdNode reports. */
const MAX_SET_RECORDS = 4096;
const MAX_SET_OCTETS = 48 * 1024;
/** SetBuilder's estimate per record: 12 octets of owner and fixed fields, then the RDATA's. */
const A_OCTETS = 12 + 4;
const AAAA_OCTETS = 12 + 16;

/**
 * The records of a service name: no key of its own, and every child a leaf holding an address
 * with no text, no `mail`, no `targetstrip` and not written by DNS UPDATE (the 100 instances of
 * each service of the bench-xfr zone). Its EtcdNode collects the children, filters groups,
 * computes SRV weights through two arrays and a map and deduplicates SRV by a template string
 * per record (measured: a quarter of the server's CPU of an AXFR); here the same RRsets are
 * written from the children in one pass. Undefined for every other shape (EtcdNode's).
 *
 * Why nothing of the general path is lost for this shape:
 * - groupFilter (CoreDNS msg.Group) picks the group of the shortest grouped keys; the children
 *   are all one level deep, so either the groups disagree (no filter) or all grouped entries
 *   share one group (kept, with the ungrouped): every entry stays.
 * - No name host: no alias (--compat rfc) and no CNAME (coredns), no in-zone targets to merge
 *   (service-node.ts), no PTR (exact keys only: there are none).
 * - The SRV targets are the children's own names (targetstrip 0), distinct labels under one
 *   name: no two SRV records are equal, so only A and AAAA need deduplicating (by address).
 * - A set that SetBuilder would cut (and report) is left to EtcdNode.
 * The RRsets come in EtcdNode's order (A, AAAA, SRV), each with the lowest TTL of the entries
 * that give it, duplicates included (RFC 2181 §5.2); leaf-node.test.ts compares the two.
 */
export function serviceLeavesNode(t: TrieNode): Node | undefined {
  if (!(t instanceof TNode) || (t.entries !== undefined && t.entries.length > 0)) return undefined;
  const kids = t.kids;
  if (kids === undefined) return undefined;
  const leaves: Entry[] = [];
  let plain = true;
  kids.forEach((k) => {
    if (!plain) return;
    const e = !(k instanceof TNode) ? k : k.kids === undefined && k.entries?.length === 1 ? k.entries[0]! : undefined;
    const s = e?.service;
    if (e === undefined || s === undefined || (s.kind !== 'ipv4' && s.kind !== 'ipv6') || s.extension !== undefined || s.text !== '' || s.mail || s.targetstrip > 0 || isRecordKey(e.key)) plain = false;
    // More children than a set keeps: EtcdNode's (it cuts and reports), without listing the rest.
    else if (leaves.push(e) > MAX_SET_RECORDS) plain = false;
  });
  if (!plain) return undefined;
  // A and AAAA: distinct addresses in key order (CoreDNS backend_lookup.go `A`/`AAAA`).
  const seen = new Set<string>();
  const v4: RData[] = [];
  const v6: RData[] = [];
  let v4Ttl = Infinity;
  let v6Ttl = Infinity;
  // SRV (backend_lookup.go `SRV`): the entries with a port, weights as percentages per priority.
  const sums = new Map<number, number>();
  let srvCount = 0;
  let srvTtl = Infinity;
  let srvOctets = 0;
  for (const e of leaves) {
    const s = e.service;
    const address = s.address!;
    if (s.kind === 'ipv4') {
      if (e.ttl < v4Ttl) v4Ttl = e.ttl;
      if (!seen.has(address)) v4.push({ type: RRType.A, address });
    } else {
      if (e.ttl < v6Ttl) v6Ttl = e.ttl;
      if (!seen.has(address)) v6.push({ type: RRType.AAAA, address });
    }
    seen.add(address);
    if (s.port !== -1) {
      srvCount++;
      if (e.ttl < srvTtl) srvTtl = e.ttl;
      srvOctets += 12 + 6 + e.name.length + 2;
      sums.set(s.priority, (sums.get(s.priority) ?? 0) + (s.weight === 0 ? 100 : s.weight));
    }
  }
  if (v4.length * A_OCTETS > MAX_SET_OCTETS || v6.length * AAAA_OCTETS > MAX_SET_OCTETS || srvOctets > MAX_SET_OCTETS) return undefined;
  const name = t.name;
  const out = new Map<number, RRset>();
  if (v4.length > 0) out.set(RRType.A, { name, type: RRType.A, ttl: v4Ttl, records: v4 });
  if (v6.length > 0) out.set(RRType.AAAA, { name, type: RRType.AAAA, ttl: v6Ttl, records: v6 });
  if (srvCount > 0) {
    const srv: RData[] = [];
    for (const e of leaves) {
      const s = e.service;
      if (s.port === -1) continue;
      // srvWeights' arithmetic, in its order, so float rounding agrees.
      const own = s.weight === 0 ? 100 : s.weight;
      const weight = Math.floor((100 / sums.get(s.priority)!) * own) || 1;
      srv.push({ type: RRType.SRV, priority: s.priority, weight, port: s.port, target: e.name });
    }
    out.set(RRType.SRV, { name, type: RRType.SRV, ttl: srvTtl, records: srv });
  }
  return out;
}

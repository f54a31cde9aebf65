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
import { TNode, type TrieNode } from './name-trie.js';
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

/**
 * `--compat rfc`: a SkyDNS name whose services point at host names (an SRV-style service, a
 * mail exchanger) answers A and AAAA with the addresses of those targets that are in its zone,
 * as records of its own, instead of CoreDNS's CNAME to the first target. A name then answers
 * every type the same way whatever order a resolver asks them in (RFC 2181 §10.1: a CNAME
 * owner has no other data, so a resolver that cached the CNAME from an A query answers SRV
 * from the target). Targets outside the zone add nothing here (their addresses are not ours
 * to give); the SRV and MX records still name them.
 *
 * Made per zone view: the targets' addresses belong to other names, which a later view may
 * change while this name's own keys stay the same.
 */
import { RRType } from '../../dns/constants.js';
import type { Name } from '../../dns/name.js';
import type { Node, RData, RRset } from '../../dns/records.js';

const ADDRESS_TYPES = [RRType.A, RRType.AAAA] as const;

/** `base` with A and AAAA merged from its own and its targets' (looked up with `plainNode`, which does not follow targets). */
export function serviceNode(name: Name, base: Node, targets: readonly Name[], plainNode: (name: Name) => Node | undefined): Node {
  const out = new Map<number, RRset>(base);
  const targetNodes = targets.map(plainNode);
  for (const type of ADDRESS_TYPES) {
    const own = base.get(type);
    const records: RData[] = own ? [...own.records] : [];
    const seen = new Set(records.map(addressOf));
    let ttl = own ? own.ttl : Infinity;
    for (const node of targetNodes) {
      const set = node?.get(type);
      if (!set) continue;
      ttl = Math.min(ttl, set.ttl);
      for (const r of set.records) {
        const address = addressOf(r);
        if (seen.has(address)) continue;
        seen.add(address);
        records.push(r);
      }
    }
    if (records.length === 0) continue;
    out.set(type, Object.freeze({ name, type, ttl, records: Object.freeze(records) }));
  }
  return out;
}

function addressOf(r: RData): string {
  return 'address' in r ? String(r.address) : '';
}

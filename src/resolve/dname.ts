import { RRType } from '../dns/constants.js';
import { MAX_NAME_OCTETS, parentName, wireLength, type Name } from '../dns/name.js';
import { hasShape, type RR } from '../dns/records.js';
import type { ZoneView } from '../table/zone.js';

/**
 * DNAME redirection (RFC 6672), the resolver's step for a name below a DNAME owner: kept apart
 * from resolve.ts so that zones without a DNAME never run it (resolve calls it only when the
 * zone's `hasDname`, computed when the zone is built).
 *
 * - `dname`: the DNAME, and the CNAME synthesized from it for the query name (§3.1), whose
 *   target the resolver goes on with as for any CNAME (§3.2 step 3c, "go back to step 1").
 * - `yxdomain`: the substituted name would be longer than 255 octets; the DNAME is the proof
 *   that goes with RCODE YXDOMAIN (§2.2).
 */
export type DnameStep = { kind: 'dname'; dname: RR; cname: RR; target: Name } | { kind: 'yxdomain'; dname: RR };

/**
 * The redirection that applies to `name` in `zone`, if any: the DNAME at the highest proper
 * ancestor of `name` (the apex included) that has one. Matching goes down from the apex
 * (RFC 1034 §4.3.2 step 3), so the first DNAME met wins and whatever lies below it is
 * occluded (RFC 6672 §2.4); a zone cut met first makes the name the child zone's (step 3b),
 * which the resolver's own lookup answers. The owner of a DNAME is not redirected itself (§2.3):
 * its own data answers it.
 */
export function dnameStep(zone: ZoneView, name: Name): DnameStep | undefined {
  if (name === zone.origin) return undefined;
  let dname: RR | undefined;
  let dnameTarget: Name = '';
  // Bottom-up, so the last DNAME or cut seen is the highest one, the one matching meets first.
  for (let n = parentName(name); n !== undefined; n = parentName(n)) {
    const node = zone.node(n);
    if (node) {
      const set = node.get(RRType.DNAME);
      const data = set?.records[0];
      if (set && data && hasShape(data, RRType.DNAME)) {
        dname = { name: n, type: RRType.DNAME, ttl: set.ttl, data };
        dnameTarget = data.target;
      }
      // A delegation at or above the DNAME puts the DNAME in the child's data, not ours.
      if (n !== zone.origin && node.has(RRType.NS)) dname = undefined;
    }
    if (n === zone.origin) break;
  }
  if (!dname) return undefined;

  // §2.2: the labels of `name` below the owner, followed by the DNAME's target.
  const owner = dname.name;
  const prefix = owner === '' ? name : name.slice(0, name.length - owner.length - 1);
  const target = dnameTarget === '' ? prefix : `${prefix}.${dnameTarget}`;
  if (wireLength(target) > MAX_NAME_OCTETS) return { kind: 'yxdomain', dname };
  // §3.1: the synthesized CNAME takes the DNAME's TTL.
  const cname: RR = { name, type: RRType.CNAME, ttl: dname.ttl, data: { type: RRType.CNAME, target } };
  return { kind: 'dname', dname, cname, target };
}

/**
 * Adds a DNAME to the answer unless a redirection earlier in the chain already put it there
 * (a DNAME whose target lies below its own owner meets itself again); an RRset appears once in
 * a section (RFC 2181 §5), as Knot and BIND answer.
 */
export function addDname(answer: RR[], dname: RR): void {
  if (!answer.some((rr) => rr.type === RRType.DNAME && rr.name === dname.name)) answer.push(dname);
}

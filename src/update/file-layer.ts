/**
 * UPDATE in a layered zone: a zone with both a zone file and etcd data (docs/etcd-data.md,
 * "Zone files and etcd together", table/layered.ts). The file wins per RRset, so an UPDATE may
 * change what etcd holds but not an RRset the file defines, and its prerequisites are judged
 * against what a query answers: the file's RRsets over etcd's.
 *
 * Refused (REFUSED, with the reason), rather than written to etcd where no query would see it
 * or silently dropped:
 * - any record of a (name, type) the file has an RRset of: etcd's would be shadowed, and a
 *   delete cannot remove the file's;
 * - anything at a name where the file has a CNAME: it stands alone (RFC 2181 §10.1), etcd data
 *   there is ignored;
 * - a CNAME at a name where the file has data: the CNAME would claim the whole name, which is the
 *   file's; in a plain zone RFC 2136 §3.4.2.2 ignores it, here the client learns why;
 * - "delete all RRsets" at a name where the file has data: the file's would survive it. At the
 *   apex the file's SOA and NS are left out of that, as §3.4.2.3 keeps them anyway;
 * - anything below a delegation or a DNAME the file makes: the cut occludes it (RFC 1034 §4.2.1,
 *   RFC 6672 §2.4), so no query would reach it.
 */
import { RRClass, RRType, Rcode, typeName } from '../dns/constants.js';
import { isSubdomain, parentName, toPresentation, type Name } from '../dns/name.js';
import type { Node } from '../dns/records.js';
import { recordHash, type UpdateRecord } from '../wire/update.js';
import type { HeldRecord, HeldRecords, Verdict } from './semantics.js';

/** A zone file's records, as the zone's file layer holds them (a ZoneView). */
export interface FileLayer {
  node(name: Name): Node | undefined;
}

/** Why `updates` may not be made in a zone whose file is `file`; undefined when they may. */
export function fileLayerRefusal(zone: Name, file: FileLayer, updates: readonly UpdateRecord[]): Verdict | undefined {
  const refuse = (name: Name, what: string): Verdict => ({ rcode: Rcode.REFUSED, reason: `${what} at ${toPresentation(name)} is the zone file's` });
  for (const rr of updates) {
    if (!isSubdomain(rr.name, zone)) continue; // NOTZONE, after the prerequisites (RFC 2136 §3.4.1.3)
    const cut = occludingCut(zone, file, rr.name);
    if (cut) return { rcode: Rcode.REFUSED, reason: `${toPresentation(rr.name)} is below the ${cut.type} the zone file has at ${toPresentation(cut.name)}` };
    const node = file.node(rr.name);
    if (!node || node.size === 0) continue;
    if (node.has(RRType.CNAME)) return refuse(rr.name, 'the name (a CNAME)');
    const deleteAll = rr.class === RRClass.ANY && rr.type === RRType.ANY;
    if (deleteAll) {
      const kept = (type: number) => rr.name === zone && (type === RRType.SOA || type === RRType.NS);
      const types = [...node.keys()].filter((t) => !kept(t));
      if (types.length > 0) return refuse(rr.name, `the ${types.map(typeName).join(', ')} RRset${types.length > 1 ? 's' : ''}`);
      continue;
    }
    if (rr.type === RRType.CNAME && rr.class === RRClass.IN) return { rcode: Rcode.REFUSED, reason: `a CNAME at ${toPresentation(rr.name)} would stand beside the zone file's data there` };
    if (node.has(rr.type)) return refuse(rr.name, `the ${typeName(rr.type)} RRset`);
  }
  return undefined;
}

/** The file's delegation (NS below the apex) or DNAME strictly above `name`, if any. */
function occludingCut(zone: Name, file: FileLayer, name: Name): { name: Name; type: string } | undefined {
  for (let at = parentName(name); at !== undefined && at !== zone && isSubdomain(at, zone); at = parentName(at)) {
    const node = file.node(at);
    if (node?.has(RRType.NS)) return { name: at, type: 'delegation (NS)' };
    if (node?.has(RRType.DNAME)) return { name: at, type: 'DNAME' };
  }
  return undefined;
}

/**
 * What the prerequisites see of each name (RFC 2136 §3.2), the layered view a query answers
 * from: the file's RRsets, then etcd's of the types the file has not, at a name where the file
 * has a CNAME only that, and an etcd CNAME dropped beside file data (table/layered.ts).
 */
export function layeredHeld(held: HeldRecords, names: readonly Name[], file: FileLayer): HeldRecords {
  const view = new Map(held);
  for (const name of names) {
    const node = file.node(name);
    if (!node || node.size === 0) continue;
    const fromFile: HeldRecord[] = [];
    for (const set of node.values()) for (const data of set.records) fromFile.push({ id: recordHash(data), data, ttl: set.ttl });
    const etcd = node.has(RRType.CNAME) ? [] : (held.get(name) ?? []).filter((r) => r.data.type !== RRType.CNAME && !node.has(r.data.type));
    view.set(name, [...fromFile, ...etcd]);
  }
  return view;
}

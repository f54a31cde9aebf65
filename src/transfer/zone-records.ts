/**
 * What a zone transfer carries of a zone: its RRsets as a secondary can hold them. A zone file
 * gives exactly that; etcd zones answer some names with data a zone cannot hold, and those are
 * shaped here, once, for AXFR and IXFR alike.
 */
import { RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { Node, RR, RRset } from '../dns/records.js';
import type { ZoneView } from '../table/zone.js';

/**
 * The RRsets of one name as transferred. A CNAME must stand alone at its name (RFC 1034
 * §3.6.2, RFC 2181 §10.1: Knot and NSD refuse a zone that breaks this), but a SkyDNS name whose
 * services are host names answers a CNAME for address queries beside SRV (and TXT) for the
 * others. The secondary gets what address queries see: the CNAME alone where the name has no
 * address records, else the other RRsets without it (the CNAME there only stood in for a
 * missing address type). The SOA is the caller's (first and last of a transfer).
 */
export function transferRRsets(name: Name, node: Node, origin: Name): RRset[] {
  const alias = aloneCname(name, node, origin);
  if (alias) return [alias];
  const sets: RRset[] = [];
  for (const set of node.values()) if (transferred(set)) sets.push(set);
  return sets;
}

/** The CNAME that stands alone at its name in a transfer (transferRRsets). */
function aloneCname(name: Name, node: Node, origin: Name): RRset | undefined {
  const cname = node.get(RRType.CNAME);
  return cname && name !== origin && !node.has(RRType.A) && !node.has(RRType.AAAA) ? cname : undefined;
}

/** Whether a set of a name that is not an alone CNAME goes into transfers (transferRRsets). */
function transferred(set: RRset): boolean {
  const type = set.type;
  return type !== RRType.SOA && type !== RRType.CNAME && set.records.length > 0 && set.records.length <= MAX_TRANSFER_RRSET;
}

/**
 * The most records of one RRset a transfer carries. Knot stores an RRset's record count in
 * 16 bits and refuses the whole zone when one has more (65 536 A records at a name: "not
 * enough space provided", measured with Knot 3.2.6). Only aggregated SkyDNS names get there: the
 * apex of an etcd zone without `dns/apex` answers A with every address of the zone. Such a set
 * is left out of transfers (the secondary gets the rest of the zone) and named in the log.
 */
const MAX_TRANSFER_RRSET = 0xffff;

/**
 * The apex RRsets a transfer leaves out (see MAX_TRANSFER_RRSET), for the log: the apex is
 * where they occur (below it a name would need 65 536 instances); checked without a walk.
 */
export function* oversizeRRsets(zone: ZoneView): Generator<RRset> {
  const apex = zone.node(zone.origin);
  if (apex) for (const set of apex.values()) if (set.records.length > MAX_TRANSFER_RRSET) yield set;
}

/** The apex SOA as the one record that opens and closes a transfer (RFC 5936 §2.2). */
export function soaRecord(zone: ZoneView): RR {
  return { name: zone.origin, type: RRType.SOA, ttl: zone.soa.ttl, data: zone.soa.records[0]! };
}

/**
 * A full transfer (AXFR, RFC 5936 §2.2; also the IXFR answer that sends the whole zone, RFC
 * 1995 §4) as RRsets: the SOA, every other RRset once, the SOA again. Lazy: the zone is read a
 * node at a time as the messages are sent; the records are written from the sets, with no
 * object per record.
 */
export function* axfrSets(zone: ZoneView): Generator<RRset> {
  const soa = zone.soa;
  yield soa;
  const origin = zone.origin;
  // transferRRsets inline: no array per name (a 100k-key zone has 100k names).
  for (const [name, node] of zone.transferNodes()) {
    const alias = aloneCname(name, node, origin);
    if (alias) yield alias;
    else for (const set of node.values()) if (transferred(set)) yield set;
  }
  yield soa;
}

/** axfrSets, record by record. */
export function* axfrRecords(zone: ZoneView): Generator<RR> {
  for (const set of axfrSets(zone)) for (const data of set.records) yield { name: set.name, type: set.type, ttl: set.ttl, data };
}

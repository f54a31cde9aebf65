/**
 * The rules a zone must keep across records, checked once the whole file is read: RFC 2181
 * §10.1 (a CNAME is alone at its name), RFC 1034 §3.6.2 and RFC 6672 §2.4 (one CNAME or DNAME
 * per name), RFC 6672 §2.4 (nothing below a DNAME) and RFC 2181 §5.2 (one TTL per RRset).
 */
import { RRType, typeName } from '../../dns/constants.js';
import { isSubdomain, parentName, toPresentation, type Name } from '../../dns/name.js';
import type { RData, RR, RRset } from '../../dns/records.js';
import { sameRData, type StaticZone } from '../../table/zone.js';

/** RR types that RFC 4035 §2.5 allows beside a CNAME. 50 is NSEC3 (RFC 5155). */
const CNAME_COMPANIONS = new Set<number>([RRType.CNAME, RRType.RRSIG, RRType.NSEC, 50]);

/** A name as error messages quote it: absolute, in presentation form. */
export function show(name: Name): string {
  return `"${toPresentation(name)}"`;
}

/**
 * Where the checks report. `line` is where the record concerned starts (as in `lines` below), 0
 * when none is; `where` is how a message about the record at `from` names the line of another
 * ("line 12", or "line 3 of zones/inc/hosts" when that record is in another file).
 */
export interface ZoneReport {
  error(line: number, message: string): void;
  warn(line: number, message: string): void;
  where(line: number, from: number): string;
}

/**
 * Checks `zone`, built from `records` (in file order; `lines[i]` is the line records[i] starts
 * on). Conflicts are found per node of the zone, which costs no second index (on a 100k-record
 * file that is a third of the parse time); the lines to cite are looked up afterwards in one
 * pass over the records, and only for the names involved.
 */
export function checkZone(zone: StaticZone, records: readonly RR[], lines: readonly number[], report: ZoneReport): void {
  const conflicts = new Set<Name>();
  const dnames: Name[] = [];
  for (const [name, node] of zone.entries()) {
    const cname = node.get(RRType.CNAME);
    const dname = node.get(RRType.DNAME);
    if (dname) dnames.push(name);
    if ((cname && (cname.records.length > 1 || [...node.keys()].some((t) => !CNAME_COMPANIONS.has(t)))) || (dname && dname.records.length > 1)) {
      conflicts.add(name);
    }
  }
  const below = new Map<Name, Name>(); // owner -> the DNAME above it
  if (dnames.length > 0) {
    const dnameSet = new Set(dnames);
    for (const [name, node] of zone.entries()) {
      if (node.size === 0) continue;
      for (let up = parentName(name); up !== undefined && isSubdomain(up, zone.origin); up = parentName(up)) {
        if (dnameSet.has(up)) {
          below.set(name, up);
          break;
        }
      }
    }
  }
  // One pass over the records: TTL disagreements, and the lines of the names found above.
  const wanted = new Set<Name>([...conflicts, ...below.keys(), ...below.values()]);
  const seen = new Map<Name, { type: number; line: number; data: RData }[]>();
  const ttlOff = new Map<RRset, { line: number; rr: RR }>();
  for (let i = 0; i < records.length; i++) {
    const rr = records[i]!;
    if (wanted.size > 0 && wanted.has(rr.name)) {
      let list = seen.get(rr.name);
      if (!list) seen.set(rr.name, (list = []));
      list.push({ type: rr.type, line: lines[i]!, data: rr.data });
    }
    const set = zone.node(rr.name)?.get(rr.type);
    if (set && set.ttl !== rr.ttl && !ttlOff.has(set)) ttlOff.set(set, { line: lines[i]!, rr });
  }
  // And, only when some RRset disagrees, one more for the line holding each lowest TTL.
  const lowestLine = new Map<RRset, number>();
  if (ttlOff.size > 0) {
    for (let i = 0; i < records.length; i++) {
      const rr = records[i]!;
      const set = zone.node(rr.name)?.get(rr.type);
      if (set && set.ttl === rr.ttl && ttlOff.has(set) && !lowestLine.has(set)) lowestLine.set(set, lines[i]!);
    }
  }
  for (const name of conflicts) reportConflicts(report, name, seen.get(name) ?? []);
  for (const [name, dname] of below) {
    const first = seen.get(name)?.[0];
    const at = seen.get(dname)?.find((r) => r.type === RRType.DNAME);
    const line = first?.line ?? 0;
    report.error(line, `owner ${show(name)} is below the DNAME at ${show(dname)} (${report.where(at?.line ?? 0, line)}) and can never be reached (RFC 6672 §2.4)`);
  }
  for (const [set, { line, rr }] of ttlOff) {
    const other = report.where(lowestLine.get(set) ?? 0, line);
    report.warn(line, `TTL ${rr.ttl} differs from ${set.ttl} of the other ${typeName(rr.type)} records at ${show(rr.name)} (${other}); the lowest is used (RFC 2181 §5.2)`);
  }
}

function reportConflicts(report: ZoneReport, name: Name, records: { type: number; line: number; data: RData }[]): void {
  const firstOf = new Map<number, { line: number; data: RData }>();
  for (const r of records) {
    const first = firstOf.get(r.type);
    if (!first) {
      firstOf.set(r.type, r);
      const cname = firstOf.get(RRType.CNAME);
      if (r.type === RRType.CNAME) {
        const other = records.find((o) => o.line < r.line && !CNAME_COMPANIONS.has(o.type));
        if (other) report.error(r.line, `CNAME at ${show(name)} beside other data (${typeName(other.type)} on ${report.where(other.line, r.line)}): a CNAME must be alone (RFC 2181 §10.1)`);
      } else if (cname && !CNAME_COMPANIONS.has(r.type)) {
        report.error(r.line, `${typeName(r.type)} at ${show(name)} beside a CNAME (${report.where(cname.line, r.line)}): a CNAME must be alone (RFC 2181 §10.1)`);
      }
    } else if ((r.type === RRType.CNAME || r.type === RRType.DNAME) && !sameRData(first.data, r.data)) {
      report.error(r.line, `more than one ${typeName(r.type)} at ${show(name)} (the first is on ${report.where(first.line, r.line)})`);
    }
  }
}

/**
 * What an UPDATE means (RFC 2136 §3.2-§3.4), as pure functions over the records a zone holds
 * at the names the UPDATE mentions: prerequisites checked, then the update section's prescan,
 * then the update section applied to a working copy, in order, and the difference returned
 * (`evaluate`). No etcd and no bytes here: the writer (writer.ts) reads the records and
 * commits the difference; the stage answers.
 */
import { RRClass, RRType, Rcode, isMetaType } from '../dns/constants.js';
import { isSubdomain, type Name } from '../dns/name.js';
import type { RData } from '../dns/records.js';
import { recordHash } from '../wire/update.js';
import type { UpdateRecord } from '../wire/update.js';
import { layeredHeld, type FileLayer } from './file-layer.js';

/** RFC 2136 §2.2 RCODEs beyond RFC 1035's. */
export const UpdateRcode = {
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;

/** One record held at a name: its data, TTL, and identity within the name (its hash). */
export interface HeldRecord {
  readonly id: string;
  readonly data: RData;
  readonly ttl: number;
}

/** The records held at each name an UPDATE mentions (a name not in the map holds none). */
export type HeldRecords = ReadonlyMap<Name, readonly HeldRecord[]>;

/** A refusal or failure, with why (logged, and sent as an Extended DNS Error). */
export interface Verdict {
  readonly rcode: number;
  readonly reason: string;
}

/** What to write: records to put (new, or with a new TTL) and records to delete, by name. */
export interface Difference {
  readonly puts: readonly { readonly name: Name; readonly record: HeldRecord }[];
  readonly deletes: readonly { readonly name: Name; readonly id: string }[];
  /** Records the update section adds that were there already, unchanged (a lease refresh re-puts them). */
  readonly readded: readonly { readonly name: Name; readonly record: HeldRecord }[];
}

/** What an UPDATE is judged by besides the records etcd holds: the zone's own rules. */
export interface ZoneRules {
  /** The update section's prescan (RFC 2136 §3.4.1, `prescan` below with the zone's storable types). */
  readonly prescan: (updates: readonly UpdateRecord[]) => Verdict | undefined;
  /** A layered zone's file, whose RRsets the prerequisites see above etcd's (file-layer.ts). */
  readonly file?: FileLayer;
}

/**
 * RFC 2136 §3.2 then §3.4, in that order: prerequisites first (against what a query answers:
 * in a layered zone the file's RRsets over etcd's), then the update section's form, then the
 * update applied to etcd's records (the stage has refused anything touching the file's). So a
 * failed prerequisite answers its own RCODE even when the update section is malformed, as
 * Knot DNS answers (BIND 9.18's named prescans first).
 */
export function evaluate(
  zone: Name,
  update: { readonly prerequisites: readonly UpdateRecord[]; readonly updates: readonly UpdateRecord[] },
  held: HeldRecords,
  rules: ZoneRules,
): { readonly verdict: Verdict } | { readonly difference: Difference } {
  const view = rules.file ? layeredHeld(held, namesOf(update.prerequisites, []), rules.file) : held;
  const failed = checkPrerequisites(zone, update.prerequisites, view) ?? rules.prescan(update.updates);
  return failed ? { verdict: failed } : { difference: applyUpdates(zone, update.updates, held) };
}

/** The names an UPDATE reads: every owner in its prerequisite and update sections. */
export function namesOf(prerequisites: readonly UpdateRecord[], updates: readonly UpdateRecord[]): Name[] {
  return [...new Set([...prerequisites, ...updates].map((r) => r.name))];
}

/**
 * RFC 2136 §3.2: the prerequisite section against the records held. Undefined when every
 * prerequisite holds. The apex always owns its SOA, which the zone synthesises.
 */
export function checkPrerequisites(zone: Name, prerequisites: readonly UpdateRecord[], held: HeldRecords): Verdict | undefined {
  const rrsetOf = (name: Name, type: number) => (held.get(name) ?? []).filter((r) => r.data.type === type);
  const inUse = (name: Name) => name === zone || (held.get(name)?.length ?? 0) > 0;
  const hasRRset = (name: Name, type: number) => (name === zone && type === RRType.SOA) || rrsetOf(name, type).length > 0;
  // §3.2.3: value-dependent prerequisites name whole RRsets, compared after the loop.
  const wanted = new Map<string, { name: Name; type: number; ids: Set<string> }>();
  for (const rr of prerequisites) {
    if (rr.ttl !== 0) return { rcode: Rcode.FORMERR, reason: `prerequisite ${rr.name} has TTL ${rr.ttl}, not 0 (RFC 2136 §3.2.1)` };
    if (!isSubdomain(rr.name, zone)) return { rcode: UpdateRcode.NOTZONE, reason: `prerequisite ${rr.name} is outside the zone` };
    if (rr.class === RRClass.ANY || rr.class === RRClass.NONE) {
      if (rr.rdlength !== 0) return { rcode: Rcode.FORMERR, reason: `class ${rr.class === RRClass.ANY ? 'ANY' : 'NONE'} prerequisite with RDATA (RFC 2136 §3.2.1)` };
      const exists = rr.type === RRType.ANY ? inUse(rr.name) : hasRRset(rr.name, rr.type);
      if (rr.class === RRClass.ANY && !exists) {
        return rr.type === RRType.ANY
          ? { rcode: Rcode.NXDOMAIN, reason: `prerequisite: ${rr.name} is not in use` }
          : { rcode: UpdateRcode.NXRRSET, reason: `prerequisite: no ${rr.type} RRset at ${rr.name}` };
      }
      if (rr.class === RRClass.NONE && exists) {
        return rr.type === RRType.ANY
          ? { rcode: UpdateRcode.YXDOMAIN, reason: `prerequisite: ${rr.name} is in use` }
          : { rcode: UpdateRcode.YXRRSET, reason: `prerequisite: a ${rr.type} RRset exists at ${rr.name}` };
      }
    } else if (rr.class === RRClass.IN) {
      if (isMetaType(rr.type) || !rr.data) return { rcode: Rcode.FORMERR, reason: `value-dependent prerequisite of type ${rr.type} (RFC 2136 §3.2.1)` };
      const k = `${rr.name}/${rr.type}`;
      const entry = wanted.get(k) ?? { name: rr.name, type: rr.type, ids: new Set<string>() };
      entry.ids.add(recordHash(rr.data));
      wanted.set(k, entry);
    } else {
      return { rcode: Rcode.FORMERR, reason: `prerequisite of class ${rr.class} (RFC 2136 §3.2.4)` };
    }
  }
  for (const { name, type, ids } of wanted.values()) {
    const have = new Set(rrsetOf(name, type).map((r) => r.id));
    if (have.size !== ids.size || [...ids].some((id) => !have.has(id))) {
      return { rcode: UpdateRcode.NXRRSET, reason: `prerequisite: the ${type} RRset at ${name} is not the one given` };
    }
  }
  return undefined;
}

/**
 * RFC 2136 §3.4.1.3: the update section's prescan, before anything is read. `writable` says
 * why an added record cannot be stored (types the layout cannot express), undefined when it can.
 */
export function prescan(zone: Name, updates: readonly UpdateRecord[], writable: (rr: UpdateRecord) => string | undefined): Verdict | undefined {
  for (const rr of updates) {
    if (!isSubdomain(rr.name, zone)) return { rcode: UpdateRcode.NOTZONE, reason: `update of ${rr.name}, outside the zone` };
    if (rr.class === RRClass.IN) {
      if (isMetaType(rr.type) || !rr.data) return { rcode: Rcode.FORMERR, reason: `add of type ${rr.type} without data or of a meta type` };
      if (rr.type === RRType.SOA) continue;
      const why = writable(rr);
      if (why) return { rcode: Rcode.REFUSED, reason: why };
    } else if (rr.class === RRClass.ANY) {
      if (rr.ttl !== 0 || rr.rdlength !== 0 || (isMetaType(rr.type) && rr.type !== RRType.ANY)) {
        return { rcode: Rcode.FORMERR, reason: 'class ANY delete with a TTL, RDATA or meta type (RFC 2136 §3.4.1.3)' };
      }
    } else if (rr.class === RRClass.NONE) {
      if (rr.ttl !== 0 || isMetaType(rr.type) || !rr.data) return { rcode: Rcode.FORMERR, reason: 'class NONE delete with a TTL, no RDATA or a meta type (RFC 2136 §3.4.1.3)' };
    } else {
      return { rcode: Rcode.FORMERR, reason: `update of class ${rr.class}` };
    }
  }
  return undefined;
}

/**
 * RFC 2136 §3.4.2: the update section applied in order to a copy of the records held, and
 * the difference from what is held. Rules kept:
 * - CNAME and other data never share a name: an add that would break this is ignored;
 *   a CNAME added where a CNAME is replaces it (§3.4.2.2);
 * - adding a record already present is ignored but for its TTL;
 * - all records of an RRset share one TTL (RFC 2181 §5.2): an add sets the RRset's TTL;
 * - SOA adds are ignored (the etcd zone's SOA is synthesised), as are deletes of the apex's SOA
 *   and NS, and "delete all RRsets" at the apex keeps them (§3.4.2.3, §3.4.2.4).
 */
export function applyUpdates(zone: Name, updates: readonly UpdateRecord[], held: HeldRecords): Difference {
  const work = new Map<Name, Map<string, HeldRecord>>();
  const at = (name: Name) => {
    let m = work.get(name);
    if (!m) work.set(name, (m = new Map((held.get(name) ?? []).map((r) => [r.id, r]))));
    return m;
  };
  const apexKept = (type: number) => type === RRType.SOA || type === RRType.NS;
  for (const rr of updates) {
    const records = at(rr.name);
    if (rr.class === RRClass.IN) {
      if (rr.type === RRType.SOA || !rr.data) continue;
      const types = new Set([...records.values()].map((r) => r.data.type));
      if (rr.type === RRType.CNAME ? [...types].some((t) => t !== RRType.CNAME) : types.has(RRType.CNAME)) continue;
      if (rr.type === RRType.CNAME) for (const [id, r] of records) if (r.data.type === RRType.CNAME) records.delete(id);
      const id = recordHash(rr.data);
      for (const [other, r] of records) if (r.data.type === rr.type && r.ttl !== rr.ttl) records.set(other, { ...r, ttl: rr.ttl });
      records.set(id, { id, data: rr.data, ttl: rr.ttl });
    } else if (rr.class === RRClass.ANY) {
      for (const [id, r] of records) {
        if (rr.type !== RRType.ANY && r.data.type !== rr.type) continue;
        if (rr.name === zone && apexKept(r.data.type)) continue;
        records.delete(id);
      }
    } else if (rr.class === RRClass.NONE && rr.data) {
      if (rr.name === zone && apexKept(rr.type)) continue;
      records.delete(recordHash(rr.data));
    }
  }
  const added = new Set(updates.filter((rr) => rr.class === RRClass.IN && rr.data).map((rr) => `${rr.name}/${recordHash(rr.data!)}`));
  const puts: { name: Name; record: HeldRecord }[] = [];
  const deletes: { name: Name; id: string }[] = [];
  const readded: { name: Name; record: HeldRecord }[] = [];
  for (const [name, records] of work) {
    const before = new Map((held.get(name) ?? []).map((r) => [r.id, r]));
    for (const [id, r] of records) {
      if (before.get(id)?.ttl !== r.ttl) puts.push({ name, record: r });
      else if (added.has(`${name}/${id}`)) readded.push({ name, record: r });
    }
    for (const id of before.keys()) if (!records.has(id)) deletes.push({ name, id });
  }
  return { puts, deletes, readded };
}

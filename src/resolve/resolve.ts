import { RRType } from '../dns/constants.js';
import { childName, isSubdomain, parentName, type Name } from '../dns/name.js';
import { hasShape, type Node, type RData, type RR, type RRset } from '../dns/records.js';
import type { Snapshot } from '../table/snapshot.js';
import type { ZoneView } from '../table/zone.js';
import { addDname, dnameStep, type DnameStep } from './dname.js';
import { NOT_OURS, type Outcome } from './outcome.js';

export interface Question {
  /** Canonical (lower-case) name; the wire layer echoes the case the client sent. */
  readonly name: Name;
  readonly type: number;
}

/**
 * Longest CNAME chain followed inside our data. BIND and CoreDNS stop around 8-10; a chain that
 * long is a misconfiguration, and the client's resolver can carry on from the last target.
 */
export const MAX_CNAME_CHAIN = 10;

/**
 * Resolves one class-IN question against a snapshot: a pure function of its arguments
 * (RFC 1034 §4.3.2, with wildcards per RFC 4592 and ANY per RFC 8482).
 */
export function resolve(question: Question, snapshot: Snapshot): Outcome {
  const firstZone = snapshot.findZone(question.name);
  if (!firstZone) return NOT_OURS;

  const answer: RR[] = [];
  const seen = new Set<Name>();
  const consulted: ZoneView[] = [firstZone];
  const origin = firstZone.origin;
  // CoreDNS etcd plugin rules (ZoneView.skydns), decided by the question's zone.
  const skydns = firstZone.skydns;
  let zone: ZoneView = firstZone;
  let name = question.name;

  for (;;) {
    seen.add(name);
    // RFC 6672 §3.2 step 3c, only in zones that hold a DNAME (dname.ts).
    const found = (zone.hasDname === true && dnameStep(zone, name)) || lookup(zone, name, question.type, skydns);
    switch (found.kind) {
      case 'records':
        answer.push(...found.records);
        return { kind: 'answer', zone: origin, answer, authority: [], additional: additionalFor(answer, snapshot, consulted, skydns !== undefined), consulted };
      case 'nodata':
        // CoreDNS keeps a CNAME only when following it gave records (backend_lookup.go `A`).
        if (skydns === 'coredns' && answer.length > 0) return dropChain(origin, firstZone, consulted);
        return { kind: 'nodata', zone: origin, answer, authority: [negativeSoa(zone)], additional: [], consulted };
      case 'nxdomain':
        if (skydns === 'coredns' && answer.length > 0) return dropChain(origin, firstZone, consulted);
        return { kind: 'nxdomain', zone: origin, answer, authority: [negativeSoa(zone)], additional: [], consulted };
      case 'referral':
        // Behind a CNAME the client's resolver follows the delegation itself.
        if (answer.length > 0) return { kind: 'answer', zone: origin, answer, authority: [], additional: [], consulted };
        return { kind: 'referral', zone: origin, answer, authority: found.ns, additional: found.glue, consulted };
      case 'yxdomain':
        addDname(answer, found.dname);
        return { kind: 'yxdomain', zone: origin, answer, authority: [], additional: [], consulted };
      case 'dname':
      case 'cname': {
        // Below a DNAME: the DNAME, then its synthesized CNAME, followed as any CNAME; a CNAME
        // query is answered by that CNAME (RFC 6672 §3.2 step 3c, RFC 1034 §4.3.2 step 3a).
        if (found.kind === 'dname') addDname(answer, found.dname);
        answer.push(found.cname);
        if (found.kind === 'dname' && question.type === RRType.CNAME) {
          return { kind: 'answer', zone: origin, answer, authority: [], additional: [], consulted };
        }
        const target = found.target;
        const nextZone = snapshot.findZone(target);
        // A loop in etcd data is NODATA, as in CoreDNS: the chain can never end in records.
        if (skydns !== undefined && seen.has(target)) return dropChain(origin, firstZone, consulted);
        // Stop at a loop, at the chain limit, or where the chain leaves our data: what we have
        // is a valid answer and the client's resolver continues from the last target.
        if (seen.has(target) || answer.length >= MAX_CNAME_CHAIN || !nextZone) {
          return { kind: 'answer', zone: origin, answer, authority: [], additional: [], consulted };
        }
        if (!consulted.includes(nextZone)) consulted.push(nextZone);
        zone = nextZone;
        name = target;
      }
    }
  }
}

type Lookup =
  | DnameStep
  | { kind: 'records'; records: RR[] }
  | { kind: 'cname'; cname: RR; target: Name }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'referral'; ns: RR[]; glue: RR[] };

const NODATA: Lookup = { kind: 'nodata' };
const NXDOMAIN: Lookup = { kind: 'nxdomain' };

function lookup(zone: ZoneView, name: Name, type: number, skydns: ZoneView['skydns']): Lookup {
  const cut = findZoneCut(zone, name, type);
  if (cut) return referral(zone, cut);

  const node = zone.node(name) ?? (zone.searchWildcard && name.startsWith('*.') ? zone.searchWildcard(name) : undefined);
  if (node) return fromNode(node, name, type, skydns);

  // RFC 4592 §3.3.1: the closest encloser is the longest existing ancestor; a wildcard
  // `*.<closest encloser>` then answers for the name, owner rewritten to the query name.
  // The apex always exists, which bounds the walk.
  let encloser = parentName(name)!;
  while (encloser !== zone.origin && !zone.node(encloser)) encloser = parentName(encloser)!;
  const wildcard = zone.node(childName('*', encloser));
  return wildcard ? fromNode(wildcard, name, type, skydns) : NXDOMAIN;
}

/**
 * The types CoreDNS's etcd plugin follows a host name for (handler.go: A, AAAA, TXT); for the
 * others it answers the records it has, or NODATA.
 */
const COREDNS_CNAME_TYPES: ReadonlySet<number> = new Set([RRType.A, RRType.AAAA, RRType.TXT]);

/** CoreDNS's answer where a CNAME chain gives nothing: NODATA with the question zone's SOA. */
function dropChain(origin: Name, zone: ZoneView, consulted: ZoneView[]): Outcome {
  return { kind: 'nodata', zone: origin, answer: [], authority: [negativeSoa(zone)], additional: [], consulted };
}

function fromNode(node: Node, owner: Name, type: number, skydns: ZoneView['skydns']): Lookup {
  if (type === RRType.ANY) {
    // RFC 8482 §4.1: answer ANY with one RRset rather than everything, which keeps replies
    // small and useless for amplification; the first RRset is as good as any.
    for (const set of node.values()) return { kind: 'records', records: toRRs(set, owner) };
    return NODATA;
  }
  const set = node.get(type);
  if (set) return { kind: 'records', records: toRRs(set, owner) };
  // RFC 1034 §3.6.2: a CNAME stands for every type at its owner.
  if (skydns === 'coredns' && !COREDNS_CNAME_TYPES.has(type)) return NODATA;
  const cname = node.get(RRType.CNAME);
  const data = cname?.records[0];
  if (cname && data && hasShape(data, RRType.CNAME)) return { kind: 'cname', cname: { name: owner, type: RRType.CNAME, ttl: cname.ttl, data }, target: data.target };
  return NODATA;
}

/**
 * The highest delegation (NS below the apex) between the apex and `name`, if any
 * (RFC 1034 §4.3.2 step 3b). A DS query at the cut itself belongs to the parent side
 * (RFC 4035 §3.1.4.1).
 */
function findZoneCut(zone: ZoneView, name: Name, type: number): Name | undefined {
  let cut: Name | undefined;
  for (let n: Name | undefined = name; n !== undefined && n !== zone.origin; n = parentName(n)) {
    if (n === name && type === RRType.DS) continue;
    if (zone.node(n)?.has(RRType.NS)) cut = n;
  }
  return cut;
}

function referral(zone: ZoneView, cut: Name): Lookup {
  const nsSet = zone.node(cut)!.get(RRType.NS)!;
  const ns = toRRs(nsSet, cut);
  const glue: RR[] = [];
  for (const rr of ns) {
    if (!hasShape(rr.data, RRType.NS)) continue;
    const target = rr.data.target;
    // Glue lives below the cut in the parent's data (RFC 1034 §4.2.1); only it is needed.
    if (!isSubdomain(target, cut)) continue;
    const node = zone.node(target);
    for (const type of ADDRESS_TYPES) {
      const set = node?.get(type);
      if (set) glue.push(...toRRs(set, target));
    }
  }
  return { kind: 'referral', ns, glue };
}

const ADDRESS_TYPES = [RRType.A, RRType.AAAA] as const;

/**
 * Additional-section processing (RFC 1035 §3.3.9, §3.3.13; RFC 2782): addresses of SRV
 * targets, MX exchanges and NS hosts that we hold, so clients need no second query. With
 * `chase` (etcd zones, as CoreDNS's etcd plugin does), a target that is a CNAME inside our data
 * brings the chain and the addresses it ends in, when it ends in some.
 */
function additionalFor(answer: readonly RR[], snapshot: Snapshot, consulted: ZoneView[], chase: boolean): RR[] {
  let targets: Name[] | undefined;
  for (const rr of answer) {
    const target = additionalTarget(rr.data);
    if (target !== undefined && target !== '') (targets ??= []).includes(target) || targets.push(target);
  }
  if (!targets) return [];
  const out: RR[] = [];
  // Names whose records are in `out` already: two targets may end their chains at one name.
  const added = new Set<Name>();
  for (const target of targets) {
    const chain: RR[] = [];
    for (let name = target; chain.length < MAX_CNAME_CHAIN; ) {
      const zone = snapshot.findZone(name);
      if (!zone) break;
      if (!consulted.includes(zone)) consulted.push(zone);
      const node = zone.node(name);
      if (!node) break;
      const addresses = addressesOf(node, name);
      if (addresses.length > 0) {
        for (const rr of chain) if (!added.has(rr.name)) added.add(rr.name), out.push(rr);
        if (!added.has(name)) added.add(name), out.push(...addresses);
        break;
      }
      const cname = chase ? node.get(RRType.CNAME) : undefined;
      const data = cname?.records[0];
      if (!cname || !data || !hasShape(data, RRType.CNAME) || data.target === target || chain.some((rr) => rr.name === data.target)) break;
      chain.push({ name, type: RRType.CNAME, ttl: cname.ttl, data });
      name = data.target;
    }
  }
  return out;
}

function addressesOf(node: Node, owner: Name): RR[] {
  const out: RR[] = [];
  for (const type of ADDRESS_TYPES) {
    const set = node.get(type);
    if (set) out.push(...toRRs(set, owner));
  }
  return out;
}

function additionalTarget(data: RData): Name | undefined {
  if ('generic' in data) return undefined;
  switch (data.type) {
    case RRType.SRV:
      return data.target;
    case RRType.MX:
      return data.exchange;
    case RRType.NS:
      return data.target;
    default:
      return undefined;
  }
}

/**
 * The SOA for a negative answer: its TTL is the lesser of the SOA's own TTL and its MINIMUM
 * field, which is how long resolvers may cache the negative answer (RFC 2308 §3, §5).
 */
function negativeSoa(zone: ZoneView): RR {
  const soa = zone.soa;
  const data = soa.records[0]!;
  // The apex SOA set holds SOA data; the fallback (no cap) only keeps the types honest.
  const minimum = hasShape(data, RRType.SOA) ? data.minimum : soa.ttl;
  return { name: zone.origin, type: RRType.SOA, ttl: Math.min(soa.ttl, minimum), data };
}

function toRRs(set: RRset, owner: Name): RR[] {
  const out = new Array<RR>(set.records.length);
  for (let i = 0; i < set.records.length; i++) out[i] = { name: owner, type: set.type, ttl: set.ttl, data: set.records[i]! };
  return out;
}

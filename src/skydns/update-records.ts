/**
 * How records written by DNS UPDATE sit in the SkyDNS layout (docs/etcd-data.md, "Written by
 * DNS UPDATE"): one key per record, `<key of the name>/_rr-<type>-<hash>`, whose value is the
 * SkyDNS JSON that CoreDNS and etcdns read back as that record. At the zone apex the keys go
 * under `dns/apex/`, where SkyDNS reads the apex's own addresses.
 *
 * Only record shapes that read back as written are stored; `unstorable` says why not for the
 * others, and the update is refused rather than written in a form that would answer otherwise.
 */
import { RRType, typeCode, typeName } from '../dns/constants.js';
import { isSubdomain, childName, type Name } from '../dns/name.js';
import { txtStrings, type RData } from '../dns/records.js';
import { nameToKey, parseService } from './codec.js';

/** The first characters of an UPDATE record's label: no other writer's keys start this way. */
export const LABEL_PREFIX = '_rr-';
const STORED_TYPES = new Set<number>([RRType.A, RRType.AAAA, RRType.CNAME, RRType.TXT, RRType.MX, RRType.SRV, RRType.PTR]);
const APEX_TYPES = new Set<number>([RRType.A, RRType.AAAA]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The etcd key prefix under which the UPDATE records of `name` live (every key starting with
 * it is one record of `name`): `/skydns/test/example/www/_rr-`.
 */
export function recordKeyPrefix(prefix: string, zone: Name, name: Name): string {
  const base = name === zone ? nameToKey(childName('apex', childName('dns', zone)), prefix) : nameToKey(name, prefix);
  return `${base}/${LABEL_PREFIX}`;
}

/**
 * The key of one record: the name's prefix, the type's mnemonic, the record's hash. A PTR is
 * the exception: SkyDNS (CoreDNS's `PTR`, etcdns's too) reads it from the name's own key
 * only, so that is where it goes, and a name holds one PTR.
 */
export function recordKey(prefix: string, zone: Name, name: Name, type: number, hash: string): string {
  if (type === RRType.PTR) return nameToKey(name, prefix);
  return `${recordKeyPrefix(prefix, zone, name)}${typeName(type).toLowerCase()}-${hash}`;
}

/** Whether UPDATE reads and writes `name`'s own key: a PTR lives there (names under arpa). */
export function ownKeyHoldsPtr(name: Name): boolean {
  return isSubdomain(name, 'arpa') && name !== 'arpa';
}

/** The PTR a name's own key holds (its host, when a name), as UPDATE sees it; any writer's. */
export function readOwnPtr(value: Uint8Array): { data: RData; ttl: number } | undefined {
  const s = parseService(value);
  if ('error' in s || s.kind !== 'name') return undefined;
  return { data: { type: RRType.PTR, target: s.hostName! }, ttl: s.ttl ?? 0 };
}

/** Why a record cannot be stored so that it reads back as written; undefined when it can. */
export function unstorable(zone: Name, name: Name, data: RData, ttl: number): string | undefined {
  const type = typeName(data.type);
  if (!STORED_TYPES.has(data.type) || 'generic' in data) return `type ${type} has no SkyDNS form (UPDATE writes A, AAAA, CNAME, TXT, MX, SRV, PTR)`;
  if (name === zone && !APEX_TYPES.has(data.type)) return `only A and AAAA can be written at the zone apex (dns/apex), not ${type}`;
  if (name !== zone && isSubdomain(name, childName('dns', zone))) return `names under dns.${zone} are the SkyDNS layout's own (NS, apex)`;
  if (ttl === 0) return 'TTL 0 reads back as the default TTL in SkyDNS';
  if (data.type === RRType.PTR && !isSubdomain(name, 'arpa')) return 'PTR records are written in reverse zones (under arpa) only';
  if (data.type === RRType.MX && data.preference === 0) return 'MX preference 0 reads back as 10 in SkyDNS';
  if (data.type === RRType.SRV && data.priority === 0) return 'SRV priority 0 reads back as 10 in SkyDNS';
  if (data.type === RRType.TXT) {
    const joined = joinTxt(data.strings);
    if (joined === undefined) return 'TXT strings that are not UTF-8, empty, or not split at 255 octets have no SkyDNS form';
  }
  return undefined;
}

/** TXT strings as SkyDNS `text`, when `text` splits back into exactly these strings. */
function joinTxt(strings: readonly Uint8Array[]): string | undefined {
  if (strings.length === 0 || strings.some((s, i) => (i < strings.length - 1 ? s.length !== 255 : s.length === 0))) return undefined;
  try {
    const text = utf8.decode(Buffer.concat(strings.map((s) => Buffer.from(s))));
    return txtStrings(text).length === strings.length ? text : undefined;
  } catch {
    return undefined;
  }
}

/** The SkyDNS JSON of a record `unstorable` accepted. `port: -1` keeps it out of SRV answers. */
export function recordValue(data: RData, ttl: number): string {
  if ('generic' in data) throw new Error(`no SkyDNS value for type ${data.type}`);
  switch (data.type) {
    case RRType.A:
    case RRType.AAAA:
      return JSON.stringify({ host: data.address, ttl, port: -1 });
    case RRType.CNAME:
    case RRType.PTR:
      return JSON.stringify({ host: data.target, ttl, port: -1 });
    case RRType.TXT:
      return JSON.stringify({ text: joinTxt(data.strings), ttl });
    case RRType.MX:
      return JSON.stringify({ host: data.exchange, mail: true, priority: data.preference, ttl, port: -1 });
    case RRType.SRV:
      return JSON.stringify({ host: data.target, port: data.port, priority: data.priority, weight: data.weight, ttl });
    default:
      throw new Error(`no SkyDNS value for type ${data.type}`);
  }
}

/**
 * A stored UPDATE record back from its key's last label and its value; undefined for a key
 * that does not hold one (another writer's value under a `_rr-` label).
 */
export function readRecord(label: string, value: Uint8Array): { data: RData; ttl: number } | undefined {
  const m = /^_rr-([a-z]+)-[0-9a-f]{16}$/.exec(label);
  const type = m ? typeCode(m[1]!) : undefined;
  if (type === undefined || !STORED_TYPES.has(type)) return undefined;
  const s = parseService(value);
  if ('error' in s || s.ttl === undefined) return undefined;
  const ttl = s.ttl;
  switch (type) {
    case RRType.A:
      return s.kind === 'ipv4' ? { data: { type, address: s.address! }, ttl } : undefined;
    case RRType.AAAA:
      return s.kind === 'ipv6' ? { data: { type, address: s.address! }, ttl } : undefined;
    case RRType.CNAME:
    case RRType.PTR:
      return s.kind === 'name' ? { data: { type, target: s.hostName! }, ttl } : undefined;
    case RRType.TXT:
      return s.text !== '' ? { data: { type, strings: txtStrings(s.text).map((b) => Uint8Array.from(b)) }, ttl } : undefined;
    case RRType.MX:
      return s.kind === 'name' && s.mail ? { data: { type, preference: s.priority, exchange: s.hostName! }, ttl } : undefined;
    case RRType.SRV:
      return s.kind === 'name' && s.port >= 0 ? { data: { type, priority: s.priority, weight: s.weight, port: s.port, target: s.hostName! }, ttl } : undefined;
    default:
      return undefined;
  }
}

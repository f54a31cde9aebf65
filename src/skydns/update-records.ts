/**
 * How records written by DNS UPDATE sit in the SkyDNS layout (docs/etcd-data.md, "Written by
 * DNS UPDATE"): one key per record, `<key of the name>/_rr-<type>-<hash>`, whose value is the
 * SkyDNS JSON that CoreDNS and etcdns read back as that record. At the zone apex the keys of
 * A and AAAA go under `dns/apex/`, where SkyDNS reads the apex's own addresses.
 *
 * Types the SkyDNS message cannot express (DHCID, CAA, SSHFP, TLSA, HTTPS, …) are written in
 * the etcdns extension (extension.ts: `{"ttl":T,"etcdns":{"type":N,"rdata":"<base64>"}}`),
 * which CoreDNS skips and etcdns answers at the name; at the apex too under the zone's own key
 * (`/skydns/test/example/_rr-caa-…`), not `dns/apex/`, whose mere presence turns off the
 * zone-wide apex addresses of CoreDNS's `checkForApex`.
 *
 * Only record shapes that read back as written are stored; `unstorable` says why not for the
 * others, and the update is refused rather than written in a form that would answer otherwise.
 */
import { RRType, typeCode, typeName } from '../dns/constants.js';
import { isSubdomain, childName, type Name } from '../dns/name.js';
import { txtStrings, type RData } from '../dns/records.js';
import { MAX_VALUE_BYTES, nameToKey, parseService } from './codec.js';
import { extensionRefusal, extensionValue } from './extension.js';

/** The first characters of an UPDATE record's label: no other writer's keys start this way. */
export const LABEL_PREFIX = '_rr-';
/** An UPDATE record's label: the type's mnemonic (or `type<N>`, RFC 3597 §5) and the record's hash. */
const LABEL = /^_rr-([a-z0-9]+)-[0-9a-f]{16}$/;
const STORED_TYPES = new Set<number>([RRType.A, RRType.AAAA, RRType.CNAME, RRType.TXT, RRType.MX, RRType.SRV, RRType.PTR]);
const APEX_TYPES = new Set<number>([RRType.A, RRType.AAAA]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether records of `type` are written in the etcdns extension rather than as SkyDNS JSON. */
function isExtension(type: number): boolean {
  return !STORED_TYPES.has(type);
}

/**
 * The etcd key prefix under which the UPDATE records of `name` of `type` live (every key
 * starting with it is one record of `name`): `/skydns/test/example/www/_rr-`.
 */
function keyPrefix(prefix: string, zone: Name, name: Name, type: number): string {
  const base = name === zone && !isExtension(type) ? nameToKey(childName('apex', childName('dns', zone)), prefix) : nameToKey(name, prefix);
  return `${base}/${LABEL_PREFIX}`;
}

/**
 * Every key prefix holding UPDATE records of `name`: one, or at the apex two (the SkyDNS
 * addresses under `dns/apex/`, the extension records under the zone's own key).
 */
export function recordKeyPrefixes(prefix: string, zone: Name, name: Name): string[] {
  const skydns = keyPrefix(prefix, zone, name, RRType.A);
  const extension = keyPrefix(prefix, zone, name, RRType.CAA);
  return skydns === extension ? [skydns] : [skydns, extension];
}

/** Whether a record of `type` read from a key under `start` (one of recordKeyPrefixes) is where UPDATE keeps it. */
export function inItsPlace(prefix: string, zone: Name, name: Name, type: number, start: string): boolean {
  return keyPrefix(prefix, zone, name, type) === start;
}

/**
 * The key of one record: the name's prefix, the type's mnemonic, the record's hash. A PTR is
 * the exception: SkyDNS (CoreDNS's `PTR`, etcdns's too) reads it from the name's own key
 * only, so that is where it goes, and a name holds one PTR.
 */
export function recordKey(prefix: string, zone: Name, name: Name, type: number, hash: string): string {
  if (type === RRType.PTR) return nameToKey(name, prefix);
  return `${keyPrefix(prefix, zone, name, type)}${typeName(type).toLowerCase()}-${hash}`;
}

/**
 * Why a key's last label cannot hold an extension record of `type`; undefined when it can.
 * The index answers extension records at the name above an UPDATE record label only, so a
 * value elsewhere, or under another type's label, would be a record nobody can find.
 */
export function extensionLabelError(label: string, type: number): string | undefined {
  const m = LABEL.exec(label);
  if (m && typeCode(m[1]!) === type) return undefined;
  return `etcdns: a record of type ${typeName(type)} belongs at a key ending in /${LABEL_PREFIX}${typeName(type).toLowerCase()}-<16 hex digits>`;
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
  if (isExtension(data.type)) {
    const refused = extensionRefusal(data.type);
    if (refused) return `type ${type} cannot be written: ${refused}`;
    // wire/update.ts reads every type it has no field-by-field reader for as opaque RDATA.
    if (!('generic' in data)) return `type ${type} arrived field by field, not as RDATA`;
  } else if ('generic' in data) {
    return `type ${type} RDATA could not be read`;
  }
  if (name === zone && !APEX_TYPES.has(data.type) && !isExtension(data.type)) return `only A, AAAA and types without a SkyDNS form can be written at the zone apex, not ${type}`;
  if (name !== zone && isSubdomain(name, childName('dns', zone))) return `names under dns.${zone} are the SkyDNS layout's own (NS, apex)`;
  if ('generic' in data) {
    const octets = Buffer.byteLength(extensionValue(data, ttl));
    return octets > MAX_VALUE_BYTES ? `${type} RDATA of ${data.raw.length} octets makes a value of ${octets} octets; one holds at most ${MAX_VALUE_BYTES}` : undefined;
  }
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

/**
 * The SkyDNS JSON of a record `unstorable` accepted (`port: -1` keeps it out of SRV answers),
 * or its extension value.
 */
export function recordValue(data: RData, ttl: number): string {
  if ('generic' in data) return extensionValue(data, ttl);
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
  const m = LABEL.exec(label);
  const type = m ? typeCode(m[1]!) : undefined;
  if (type === undefined) return undefined;
  const s = parseService(value);
  if ('error' in s || s.ttl === undefined) return undefined;
  const ttl = s.ttl;
  if (isExtension(type)) return s.extension?.type === type ? { data: s.extension, ttl } : undefined;
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

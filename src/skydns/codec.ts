/**
 * The SkyDNS data format as CoreDNS's etcd plugin reads it: etcd keys to DNS names and JSON
 * values to services. Pure functions, no DNS answers here (see `index.ts` for those).
 *
 * References: CoreDNS `plugin/etcd/msg/path.go` (key layout), `plugin/etcd/msg/service.go`
 * (the JSON message, `Group`, `targetStrip`), `plugin/etcd/msg/type.go` (`HostType`),
 * `plugin/backend_lookup.go` (SRV weights).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIPv6, ipv6Bytes } from '../dns/ip.js';
import { labels, lowerAscii, MAX_LABEL_OCTETS, MAX_NAME_OCTETS, wireLength, type Name } from '../dns/name.js';
import type { GenericRData } from '../dns/records.js';
import { readExtension, sameExtension } from './extension.js';

/** CoreDNS `path` default (`setup.go`). */
export const DEFAULT_PREFIX = '/skydns';

/**
 * Largest value we parse. Real services are a few hundred bytes; the cap bounds the work one
 * bad key can cost (parse time, memory) whatever a writer puts in etcd.
 */
export const MAX_VALUE_BYTES = 64 * 1024;

/** SRV priority / MX preference when `priority` is 0 or missing (CoreDNS `etcd.go`: `priority = 10`). */
const DEFAULT_PRIORITY = 10;

/**
 * Longest `text` we accept. Split into 255-octet strings, each with a length octet (RFC 1035
 * §3.3.14), a text of n octets takes n + ceil(n/255) octets of RDATA, and the whole answer — header
 * (12), question (up to 259), the record's own fields (12) and an OPT (11) — must fit the 65535
 * octets of a DNS message (RFC 1035 §4.2.2). 64000 + 251 + 294 leaves room: anything longer
 * could never reach a client, over UDP or TCP.
 */
export const MAX_TEXT_BYTES = 64_000;

const MAX_U16 = 65535;
/** RFC 2181 §8: a TTL is an unsigned 31-bit number. */
const MAX_TTL = 2 ** 31 - 1;

export type HostKind = 'none' | 'ipv4' | 'ipv6' | 'name';

/** One SkyDNS service (CoreDNS `msg.Service`), validated and normalised. */
export interface Service {
  /** `host` as written. */
  readonly host: string;
  /** What `host` holds: nothing (TXT-only entry), an address, or a domain name. */
  readonly kind: HostKind;
  /** Canonical address text when `kind` is ipv4/ipv6 (IPv6 per RFC 5952). */
  readonly address: string | undefined;
  /** Canonical name when `kind` is name. */
  readonly hostName: Name | undefined;
  /** SRV port; -1 means "no SRV" (the kubernetes plugin's convention); missing is 0 as in CoreDNS. */
  readonly port: number;
  /** SRV priority / MX preference, already defaulted: 0 or missing is 10. */
  readonly priority: number;
  /** SRV weight as written; 0 means unset (counts as 100 in `srvWeights`). */
  readonly weight: number;
  readonly text: string;
  readonly mail: boolean;
  /**
   * Record TTL in seconds as written; undefined when missing. CoreDNS's field is a Go `uint32`
   * with `omitempty`, so 0 and absent are the same thing there (`etcd.go: TTL` uses the
   * default for 0), and a reader answering as SkyDNS does must read 0 as the default too
   * (skydns-index.ts does). Only a record DNS UPDATE wrote keeps a TTL of 0 (update-records.ts).
   */
  readonly ttl: number | undefined;
  readonly targetstrip: number;
  /** '' when no group. */
  readonly group: string;
  /**
   * A record of a type SkyDNS cannot express, from the `etcdns` field (extension.ts); such a
   * value has no host and no text, so CoreDNS skips it. Absent on every other value.
   */
  readonly extension?: GenericRData;
}

export type ParsedService = Service | { readonly error: string };

// ---------------------------------------------------------------------------------------------
// Keys

/** `/skydns`, `skydns`, `/skydns/` all mean the same prefix; the result has no trailing slash. */
export function normalizePrefix(prefix: string): string {
  let p = prefix.trim();
  while (p.endsWith('/')) p = p.slice(0, -1);
  if (p !== '' && !p.startsWith('/')) p = `/${p}`;
  return p;
}

/**
 * The DNS name an etcd key stands for (CoreDNS `msg.Domain`): the segments after the prefix,
 * reversed, lower-cased (CoreDNS lower-cases query names before building paths, so only the
 * lower-case spelling is ever looked up: `request/request.go`). Returns why not, for keys that
 * are not under the prefix or do not make a valid name.
 */
export function parseKey(key: string, prefix: string): { name: Name } | { error: string } {
  const parsed = splitKey(key, normalizePrefix(prefix));
  return 'error' in parsed ? parsed : { name: parsed.name };
}

/**
 * A key split into its name and its segments, top-down (`['test', 'example', 'api', 'x1']`).
 *
 * A segment may hold letters, digits, '-', '_' (`_http._tcp` style names), or be a whole '*'
 * (an RFC 4592 wildcard owner). Anything else - a '.', a space, UTF-8 - cannot round-trip:
 * CoreDNS joins segments with '.' (`msg.Domain`), so `a.b` would become two labels and CoreDNS
 * itself would never find the key again.
 */
export interface KeyParts {
  readonly name: Name;
  /** Lower-cased key segments after the prefix, in key order: the trie path from the root. */
  readonly segments: readonly string[];
}

/**
 * `parseKey` for a prefix already passed through `normalizePrefix`, keeping the segments. One
 * pass over the characters: a full listing runs this for every key (100k keys in a sync).
 */
export function splitKey(key: string, prefix: string): KeyParts | { error: string } {
  if (typeof key !== 'string') return { error: 'key is not a string' };
  const n = key.length;
  if (n <= prefix.length || key.charCodeAt(prefix.length) !== 47 || !key.startsWith(prefix)) {
    return { error: `key is not under the prefix "${prefix}/"` };
  }
  const from = prefix.length + 1;
  if (from === n) return { error: 'key names the root, which no zone can hold' };
  const segments: string[] = [];
  let upper = false;
  let segStart = from;
  for (let i = from; i <= n; i++) {
    const c = i < n ? key.charCodeAt(i) : 47;
    if (c === 47) {
      const length = i - segStart;
      if (length === 0) return { error: 'empty label (a doubled or trailing "/")' };
      if (length > MAX_LABEL_OCTETS) return { error: `label "${key.slice(segStart, segStart + 20)}…" is longer than ${MAX_LABEL_OCTETS} octets` };
      segments.push(key.slice(segStart, i));
      segStart = i + 1;
    } else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95) {
      // a-z 0-9 - _
    } else if (c >= 65 && c <= 90) {
      upper = true;
    } else if (c !== 42 || i !== segStart || (i + 1 < n && key.charCodeAt(i + 1) !== 47)) {
      // Anything else, or a '*' that is not a whole segment.
      const end = key.indexOf('/', i);
      const segment = key.slice(segStart, end < 0 ? n : end);
      return { error: `label "${clip(segment)}" may only hold letters, digits, "-" and "_" (or be a lone "*")` };
    }
  }
  // The name has the key's characters after the prefix, '/' becoming '.': same length.
  if (n - from + 2 > MAX_NAME_OCTETS) return { error: `name is longer than ${MAX_NAME_OCTETS} octets` };
  const count = segments.length;
  const reversed = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    if (upper) segments[i] = lowerAscii(segments[i]!);
    reversed[count - 1 - i] = segments[i]!;
  }
  return { name: reversed.join('.'), segments };
}

/** `parseKey` without the reason. */
export function keyToName(key: string, prefix: string): Name | undefined {
  const parsed = parseKey(key, prefix);
  return 'name' in parsed ? parsed.name : undefined;
}

/**
 * The key for a name (CoreDNS `msg.Path`): `x1.api.example.test` -> `/skydns/test/example/api/x1`.
 * The root has no key of its own; it maps to the prefix directory.
 */
export function nameToKey(name: Name, prefix: string): string {
  return `${normalizePrefix(prefix)}/${labels(name).reverse().join('/')}`;
}

// ---------------------------------------------------------------------------------------------
// Values

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses and validates one value. Unknown fields are ignored (CoreDNS decodes into a struct and
 * ignores them; external-dns and other writers add their own). Known fields must have the right
 * JSON type and range; `null` counts as absent, as Go's encoding/json treats it.
 */
export function parseService(value: Uint8Array): ParsedService {
  if (!(value instanceof Uint8Array)) return { error: 'value is not bytes' };
  // Size first: everything after this is bounded by it.
  if (value.length > MAX_VALUE_BYTES) return { error: `value is ${value.length} bytes; the limit is ${MAX_VALUE_BYTES} (64 KiB)` };
  const hostPort = parseHostPort(value);
  if (hostPort !== undefined) return hostPort;
  let text: string;
  try {
    text = decoder.decode(value);
  } catch {
    return { error: 'value is not valid UTF-8' };
  }
  let json: unknown;
  try {
    // V8's JSON.parse is iterative, so deeply nested input cannot overflow the stack; nothing
    // below recurses into values either.
    json = JSON.parse(text);
  } catch (e) {
    return { error: `invalid JSON: ${(e as Error).message.slice(0, 120)}` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { error: `expected a JSON object, got ${describe(json)}` };
  }

  // Go's encoding/json matches field names case-insensitively ({"Host": ...} works in
  // CoreDNS), later keys overriding earlier ones; do the same so such data keeps working.
  let host: unknown = '';
  let port: unknown = 0;
  let priority: unknown = 0;
  let weight: unknown = 0;
  let txt: unknown = '';
  let mail: unknown = false;
  let ttl: unknown;
  let targetstrip: unknown = 0;
  let group: unknown = '';
  let extension: unknown;
  const obj = json as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if (v === null || !Object.hasOwn(obj, k)) continue;
    switch (k.length <= 11 ? lowerAscii(k) : '') {
      case 'host':
        host = v;
        break;
      case 'port':
        port = v;
        break;
      case 'priority':
        priority = v;
        break;
      case 'weight':
        weight = v;
        break;
      case 'text':
        txt = v;
        break;
      case 'mail':
        mail = v;
        break;
      case 'ttl':
        ttl = v;
        break;
      case 'targetstrip':
        targetstrip = v;
        break;
      case 'group':
        group = v;
        break;
      case 'etcdns':
        extension = v;
        break;
      default:
      // Unknown fields are ignored, as in CoreDNS.
    }
  }

  if (typeof host !== 'string') return typeError('host', 'a string', host);
  if (!isIntIn(port, -1, MAX_U16)) return typeError('port', 'an integer -1..65535', port);
  if (!isIntIn(priority, 0, MAX_U16)) return typeError('priority', 'an integer 0..65535', priority);
  if (!isIntIn(weight, 0, MAX_U16)) return typeError('weight', 'an integer 0..65535', weight);
  if (typeof txt !== 'string') return typeError('text', 'a string', txt);
  if (typeof mail !== 'boolean') return typeError('mail', 'true or false', mail);
  if (ttl !== undefined && !isIntIn(ttl, 0, MAX_TTL)) return typeError('ttl', `an integer 0..${MAX_TTL}`, ttl);
  if (!isIntIn(targetstrip, 0, MAX_TTL)) return typeError('targetstrip', 'a non-negative integer', targetstrip);
  if (typeof group !== 'string') return typeError('group', 'a string', group);

  // A UTF-16 unit is at most 3 UTF-8 bytes: only long texts need counting.
  const textBytes = txt.length * 3 <= MAX_TEXT_BYTES ? 0 : Buffer.byteLength(txt, 'utf8');
  if (textBytes > MAX_TEXT_BYTES) return { error: `text: ${textBytes} bytes do not fit one TXT record (at most ${MAX_TEXT_BYTES})` };

  const classified = classifyHost(host);
  if ('error' in classified) return classified;
  const record = extension === undefined ? undefined : readExtension(extension, host, txt);
  if (record && 'error' in record) return record;

  // Nearly every value a registry writes is a host and maybe a port: keep those as a record of
  // four fields, every other field its default (see HostPort).
  if (priority === 0 && weight === 0 && txt === '' && !mail && ttl === undefined && targetstrip === 0 && group === '' && !record) {
    return hostAndPort(host, classified, port);
  }
  return {
    host,
    kind: classified.kind,
    address: classified.address,
    hostName: classified.hostName,
    port,
    priority: priority === 0 ? DEFAULT_PRIORITY : priority,
    weight,
    text: txt,
    mail,
    ttl: ttl as number | undefined,
    targetstrip,
    group,
    ...(record ? { extension: record } : {}),
  };
}

/**
 * A service with only `host` and `port` set (`{"host": "10.0.0.1", "port": 8080}`): a few fields
 * where the plain object holds thirteen, the rest read as their defaults from the prototype. The
 * etcd index keeps one parsed service per key for as long as the key exists: with a million keys
 * that is ~90 bytes per key (bench/mem.mjs: 128 bytes of object against 40 for an IPv4 host).
 */
abstract class HostAndPort implements Service {
  abstract readonly host: string;
  abstract readonly kind: HostKind;
  abstract readonly address: string | undefined;
  abstract readonly hostName: Name | undefined;
  abstract readonly port: number;

  get priority(): number {
    return DEFAULT_PRIORITY;
  }
  get weight(): number {
    return 0;
  }
  get text(): string {
    return '';
  }
  get mail(): boolean {
    return false;
  }
  get ttl(): number | undefined {
    return undefined;
  }
  get targetstrip(): number {
    return 0;
  }
  get group(): string {
    return '';
  }
  get extension(): undefined {
    return undefined;
  }
}

/** An IPv4 host written as its canonical address (nearly every value): two fields. */
class Ipv4HostPort extends HostAndPort {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super();
  }

  get kind(): HostKind {
    return 'ipv4';
  }
  get address(): string {
    return this.host;
  }
  get hostName(): undefined {
    return undefined;
  }
}

/** Any other host: its kind and its address or canonical name kept beside it. */
class HostPort extends HostAndPort {
  readonly host: string;
  readonly kind: HostKind;
  /** The address (ipv4, ipv6) or the canonical name (name). */
  readonly #target: string | undefined;
  readonly port: number;

  constructor(host: string, kind: HostKind, target: string | undefined, port: number) {
    super();
    this.host = host;
    this.kind = kind;
    this.#target = target;
    this.port = port;
  }

  get address(): string | undefined {
    return this.kind === 'ipv4' || this.kind === 'ipv6' ? this.#target : undefined;
  }
  get hostName(): Name | undefined {
    return this.kind === 'name' ? this.#target : undefined;
  }
}

/** The compact record of a host-and-port value (see HostAndPort). */
function hostAndPort(host: string, classified: { kind: HostKind; address?: string; hostName?: Name }, port: number): Service {
  if (classified.kind === 'ipv4' && classified.address === host) return new Ipv4HostPort(host, port);
  return new HostPort(host, classified.kind, classified.address ?? classified.hostName, port);
}

// `{"host":"` and `,"port":` as bytes.
const HOST_OPEN = Buffer.from('{"host":"');
const PORT_FIELD = Buffer.from(',"port":');

/**
 * The value as `parseService` reads it when it is exactly `{"host":"<ASCII>"}` or
 * `{"host":"<ASCII>","port":<integer>}` with no spaces (JSON.stringify's output, what registries
 * write: every key of a big sync), read from the bytes without decoding, JSON.parse and the
 * object it makes; undefined for anything else, which takes the general path (so every error
 * message, escape and odd number stays that path's). A third of a 1M-key sync's index build was
 * parsing values (docs/performance.md).
 */
function parseHostPort(value: Uint8Array): Service | { error: string } | undefined {
  const n = value.length;
  if (n < HOST_OPEN.length + 2 || value[n - 1] !== 125 /* } */) return undefined;
  for (let i = 0; i < HOST_OPEN.length; i++) if (value[i] !== HOST_OPEN[i]) return undefined;
  // The host: printable ASCII without '"' and '\\' is the same text in JSON and out of it.
  let i = HOST_OPEN.length;
  const hostStart = i;
  for (; i < n; i++) {
    const c = value[i]!;
    if (c === 34) break;
    if (c < 32 || c > 126 || c === 92) return undefined;
  }
  if (i >= n) return undefined;
  const hostEnd = i++;
  let port = 0;
  if (i !== n - 1) {
    for (let j = 0; j < PORT_FIELD.length; j++, i++) if (value[i] !== PORT_FIELD[j]) return undefined;
    const digits = n - 1 - i;
    if (digits === 2 && value[i] === 45 /* - */ && value[i + 1] === 49 /* 1 */) port = -1;
    else {
      // 1 to 5 digits, no leading zero (JSON has none; "-", fractions and exponents go the general way).
      if (digits < 1 || digits > 5 || (value[i] === 48 && digits > 1)) return undefined;
      for (; i < n - 1; i++) {
        const c = value[i]! - 48;
        if (c < 0 || c > 9) return undefined;
        port = port * 10 + c;
      }
      if (port > MAX_U16) return undefined;
    }
  }
  // One flat string (a loop of += would make a chain of concatenations, kept as long as the key).
  const host = Buffer.from(value.buffer, value.byteOffset + hostStart, hostEnd - hostStart).toString('latin1');
  const classified = classifyHost(host);
  if ('error' in classified) return classified;
  return hostAndPort(host, classified, port);
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function typeError(field: string, expected: string, got: unknown): { error: string } {
  return { error: `${field}: expected ${expected}, got ${describe(got)}` };
}

/** A short, bounded description of a JSON value; never recursive (values may be deeply nested). */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(clip(v));
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Host name labels: letters, digits, '-', '_' (RFC 952/1123 plus the underscore names of RFC 8552). */
const HOST_LABEL = /^[A-Za-z0-9_-]+$/;

type HostClass = { kind: HostKind; address?: string; hostName?: Name } | { error: string };

/**
 * CoreDNS `msg.HostType`: an IPv4 address (including the IPv4-mapped IPv6 form, which Go's
 * `ip.To4()` turns into A), an IPv6 address, or else a name. CoreDNS accepts any string as a
 * name and emits it as a CNAME target; we reject what cannot be a host name, so a typo shows up
 * as an invalid key instead of a CNAME into nowhere.
 */
export function classifyHost(host: string): HostClass {
  if (host === '') return { kind: 'none' };
  const c = host.charCodeAt(0);
  if (c >= 48 && c <= 57 && isIPv4(host)) return { kind: 'ipv4', address: host };
  // Looks like IPv6 (hex, colons, maybe a zone id): judge it as one, for a precise message.
  if (host.includes(':') && /^[0-9A-Fa-f:.]+(?:%.*)?$/.test(host)) {
    const bytes = isIPv6(host) ? ipv6Bytes(host) : undefined;
    if (!bytes) return { error: `host: ${JSON.stringify(clip(host))} is not a valid IPv6 address` };
    if (isV4Mapped(bytes)) return { kind: 'ipv4', address: `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}` };
    return { kind: 'ipv6', address: canonicalIPv6(host)! };
  }
  if (/^[0-9.]*[0-9][0-9.]*$/.test(host)) return { error: `host: ${JSON.stringify(clip(host))} is not a valid IPv4 address` };
  const text = host.endsWith('.') ? host.slice(0, -1) : host;
  const parts = text.split('.');
  for (const label of parts) {
    if (label.length === 0 || label.length > MAX_LABEL_OCTETS || !HOST_LABEL.test(label)) {
      return { error: `host: ${JSON.stringify(clip(host))} is neither an IP address nor a valid host name` };
    }
  }
  const name = lowerAscii(text);
  if (wireLength(name) > MAX_NAME_OCTETS) return { error: `host: name is longer than ${MAX_NAME_OCTETS} octets` };
  return { kind: 'name', hostName: name };
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Field-by-field equality: a re-put of the same service is not a change. */
export function sameService(a: Service, b: Service): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.priority === b.priority &&
    a.weight === b.weight &&
    a.text === b.text &&
    a.mail === b.mail &&
    a.ttl === b.ttl &&
    a.targetstrip === b.targetstrip &&
    a.group === b.group &&
    sameExtension(a.extension, b.extension)
  );
}

// ---------------------------------------------------------------------------------------------
// Answer-building helpers (pure; the index calls them on its aggregated service lists)

/**
 * CoreDNS `targetStrip` (msg/service.go): drop `n` leftmost labels; when that would consume the
 * whole name ("we overshot the name"), keep the original.
 */
export function targetStrip(name: Name, n: number): Name {
  if (n <= 0) return name;
  const parts = labels(name);
  if (n >= parts.length) return name;
  return parts.slice(n).join('.');
}

/** What `groupFilter` needs of an entry: its group and how deep its key is. */
export interface Groupable {
  readonly depth: number;
  readonly service: { readonly group: string };
}

/**
 * CoreDNS `msg.Group` (service.go, group_test.go) as documented: the group of the shortest
 * key(s) that have a group selects the answer set; entries of that group and entries with no
 * group are kept, other groups dropped. If the shortest grouped keys disagree, no grouping.
 *
 * The Go loop is order-dependent in one corner (a shorter *group-less* key met before the
 * grouped ones ends its scan early); we implement the documented rule, which agrees with every
 * case in group_test.go.
 */
export function groupFilter<T extends Groupable>(items: readonly T[]): readonly T[] {
  let depth = Infinity;
  let group = '';
  let disagree = false;
  for (const item of items) {
    const g = item.service.group;
    if (g === '') continue;
    if (item.depth < depth) {
      depth = item.depth;
      group = g;
      disagree = false;
    } else if (item.depth === depth && g !== group) {
      disagree = true;
    }
  }
  if (group === '' || disagree) return items;
  return items.filter((item) => item.service.group === '' || item.service.group === group);
}

/**
 * SRV weights as percentages per priority class (CoreDNS backend_lookup.go `SRV`; SkyDNS README
 * "weight as a percentage"): per priority, sum the weights with 0 counting as 100; each record
 * gets floor(100 / sum * (weight or 100)), at least 1. The arithmetic is done in the same order
 * as the Go code so float rounding agrees (120/100/130 -> 34/28/37; three equal -> 33 each).
 */
export function srvWeights(items: readonly { readonly priority: number; readonly weight: number }[]): number[] {
  const sums = new Map<number, number>();
  for (const s of items) sums.set(s.priority, (sums.get(s.priority) ?? 0) + (s.weight === 0 ? 100 : s.weight));
  return items.map((s) => {
    const w = Math.floor((100 / sums.get(s.priority)!) * (s.weight === 0 ? 100 : s.weight));
    return w === 0 ? 1 : w;
  });
}

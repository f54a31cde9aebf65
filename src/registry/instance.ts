/**
 * Pure parts of the registry: option and instance validation, the default instance id, and the
 * mapping between instances and SkyDNS keys/values - in both directions, so that what register
 * writes is exactly what the DNS server (and CoreDNS) reads and what discovery reads back.
 *
 * Layout: instance `id` of service `payments` in domain `svc.example.test` is the DNS name
 * `<id>.payments.svc.example.test`, stored at `nameToKey(name, prefix)` =
 * `/skydns/test/example/svc/payments/<id>`, value `{"host","port","priority"?,"weight"?,"ttl"?,
 * "metadata":{}}`. The DNS server aggregates the keys below `payments.svc.example.test`, so
 * `dig payments.svc.example.test SRV` lists every instance with target `<id>.payments...`.
 */
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { MAX_NAME_OCTETS, wireLength } from '../dns/name.js';
import { EtcdnsError } from '../errors.js';
import { classifyHost, nameToKey, normalizePrefix, parseService, splitKey, DEFAULT_PREFIX } from '../skydns/codec.js';
import { isLogger } from './log.js';
import type { DiscoveredInstance, RegisteredInstance, RegistryOptions, ServiceInstance } from './types.js';

export { DEFAULT_PREFIX };
export const DEFAULT_LEASE_TTL_SECONDS = 10;
export const DEFAULT_MAX_BACKOFF_MS = 2000;
/** getService/listServices/watch: the first sync with etcd (a list of the domain) within this. */
export const DEFAULT_SYNC_TIMEOUT_MS = 5000;
/**
 * register(): the first grant + put within this. Longer than the sync deadline: one attempt may
 * take up to 5 s (etcd3's retries), and a second attempt after a fail-over must fit.
 */
export const DEFAULT_REGISTER_TIMEOUT_MS = 15_000;
/** Metadata as JSON, at most: it rides in every value the DNS server parses and mirrors. */
export const MAX_METADATA_BYTES = 4096;
const MAX_U16 = 65535;
const MAX_TTL = 2 ** 31 - 1;

/** A service or domain label: letters, digits, '-', '_' (`_grpc._tcp` style), no edge '-'. */
const SERVICE_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** An instance id becomes a host name (the SRV target): letters, digits, '-' only (RFC 1123). */
const ID_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An instance or options the registry refuses (bad label, id, TTL, metadata, ...): nothing was written. */
export class RegistryValidationError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_REGISTRY_VALIDATION';
}

function fail(message: string): never {
  throw new RegistryValidationError(`registry: ${message}`);
}

export interface ResolvedRegistryOptions {
  /** Normalised, no trailing slash (may be '' for keys straight under '/'). */
  readonly prefix: string;
  /** Lower-case, no trailing dot. */
  readonly domain: string;
  readonly leaseTtlSeconds: number;
  readonly maxBackoffMs: number;
  readonly syncTimeoutMs: number;
  readonly registerTimeoutMs: number;
}

/** Every option RegistryOptions has: anything else is a typo, refused (it would be silently ignored). */
const OPTION_KEYS: ReadonlySet<string> = new Set([
  'endpoints', 'caFile', 'certFile', 'keyFile', 'username', 'password', 'client',
  'prefix', 'domain', 'leaseTtlSeconds', 'maxBackoffMs', 'syncTimeoutMs', 'registerTimeoutMs', 'logger', 'clock',
]);

export function resolveOptions(o: RegistryOptions): ResolvedRegistryOptions {
  if (o === null || typeof o !== 'object') fail('options are required');
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) fail(`unknown option ${JSON.stringify(k)} (known: ${[...OPTION_KEYS].join(', ')})`);
  if (o.client !== undefined) {
    if (typeof o.client !== 'object' || o.client === null || typeof (o.client as { lease?: unknown }).lease !== 'function') fail('client must be an etcd3 Etcd3 instance');
    if (o.endpoints !== undefined) fail('give either client or endpoints, not both');
  } else if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
    fail('endpoints: at least one etcd endpoint is required (or pass an etcd3 client as client)');
  }
  if (o.logger !== undefined && !isLogger(o.logger)) fail('logger must have debug, info, warn and error methods (pino, console, ...)');
  if (typeof o.domain !== 'string') fail('domain is required (e.g. "svc.example.test", one of the DNS server\'s --etcd-zone)');
  const domain = normalizeDnsName(o.domain, 'domain');
  if (domain === '') fail('domain must not be the root');
  const prefix = normalizePrefix(o.prefix ?? DEFAULT_PREFIX);
  const leaseTtlSeconds = o.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  if (!Number.isInteger(leaseTtlSeconds) || leaseTtlSeconds < 1 || leaseTtlSeconds > 9_000_000_000) {
    fail(`leaseTtlSeconds must be a whole number of seconds >= 1, got ${String(o.leaseTtlSeconds)}`);
  }
  const maxBackoffMs = o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  if (!Number.isFinite(maxBackoffMs) || maxBackoffMs < 10) fail(`maxBackoffMs must be a number >= 10, got ${String(o.maxBackoffMs)}`);
  const syncTimeoutMs = checkTimeout(o.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS, 'syncTimeoutMs');
  const registerTimeoutMs = checkTimeout(o.registerTimeoutMs ?? DEFAULT_REGISTER_TIMEOUT_MS, 'registerTimeoutMs');
  return Object.freeze({ prefix, domain, leaseTtlSeconds, maxBackoffMs, syncTimeoutMs, registerTimeoutMs });
}

/** A timeout option or per-call `timeoutMs`: ms > 0, or Infinity for no bound. */
export function checkTimeout(v: unknown, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) fail(`${what} must be a number of ms > 0 (or Infinity), got ${String(v)}`);
  return v;
}

/** Lower-cases, drops one trailing dot, checks every label. */
function normalizeDnsName(raw: string, what: string): string {
  let name = raw.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return '';
  for (const label of name.split('.')) {
    if (label === '') fail(`${what} ${JSON.stringify(raw)} has an empty label`);
    if (label.length > 63) fail(`${what} ${JSON.stringify(raw)}: label "${label.slice(0, 20)}…" is longer than 63 characters`);
    if (!SERVICE_LABEL.test(label)) {
      fail(`${what} ${JSON.stringify(raw)}: label ${JSON.stringify(label)} may only hold letters, digits, "-" and "_", and must not start or end with "-"`);
    }
  }
  return name;
}

/** A service name as keys and lookups use it: lower-case labels. */
export function normalizeServiceName(service: unknown): string {
  if (typeof service !== 'string') fail(`service must be a string, got ${typeof service}`);
  const name = normalizeDnsName(service, 'service');
  if (name === '') fail('service is required (e.g. "payments")');
  return name;
}

export function normalizeInstanceId(id: unknown): string {
  if (typeof id !== 'string') fail(`id must be a string, got ${typeof id}`);
  const label = id.trim().toLowerCase();
  if (!ID_LABEL.test(label)) {
    fail(`id ${JSON.stringify(id)} must be one DNS label: 1-63 letters, digits and "-", not starting or ending with "-" (it becomes the SRV target host name)`);
  }
  return label;
}

/**
 * `${hostname}-${pid}-${random}` as one DNS label: lower-case, anything but [a-z0-9-] becomes
 * '-', the hostname shortened so the pid and random part always fit in 63 characters.
 */
export function defaultInstanceId(hostname: string = osHostname(), pid: number = process.pid, random: string = randomBytes(4).toString('hex')): string {
  const tail = `-${pid}-${random}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  let head = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '');
  head = head.slice(0, 63 - tail.length).replace(/-+$/, '');
  if (head === '') head = 'instance';
  return `${head}${tail}`.replace(/-+/g, '-');
}

/** Validates an instance and fills in the id; names lower-cased, host canonical. */
export function normalizeInstance(inst: ServiceInstance, domain: string, makeId: () => string = () => defaultInstanceId()): RegisteredInstance {
  if (inst === null || typeof inst !== 'object') fail('instance must be an object');
  const service = normalizeServiceName(inst.service);
  const id = normalizeInstanceId(inst.id ?? makeId());
  const srv = normalizeSrvName(inst);
  const name = instanceName({ id, service, ...srv }, domain);
  if (wireLength(name) > MAX_NAME_OCTETS) fail(`the instance name ${name} is longer than ${MAX_NAME_OCTETS} octets; use a shorter id or service`);

  if (typeof inst.host !== 'string' || inst.host.trim() === '') fail(`host is required (an IP address or a host name) for ${service}/${id}`);
  if (inst.host !== inst.host.trim()) fail(`host ${JSON.stringify(inst.host)} has surrounding whitespace`);
  const hc = classifyHost(inst.host);
  if ('error' in hc) fail(`${hc.error} (instance ${service}/${id})`);
  const host = hc.address ?? hc.hostName ?? inst.host;

  if (!isIntIn(inst.port, 1, MAX_U16)) fail(`port must be an integer 1..65535, got ${String(inst.port)}`);
  const out: { -readonly [K in keyof RegisteredInstance]: RegisteredInstance[K] } = { service, id, host, port: inst.port, ...srv };
  if (inst.priority !== undefined) {
    if (!isIntIn(inst.priority, 0, MAX_U16)) fail(`priority must be an integer 0..65535, got ${String(inst.priority)}`);
    out.priority = inst.priority;
  }
  if (inst.weight !== undefined) {
    if (!isIntIn(inst.weight, 0, MAX_U16)) fail(`weight must be an integer 0..65535, got ${String(inst.weight)}`);
    out.weight = inst.weight;
  }
  if (inst.ttl !== undefined) {
    // 0 would mean "the server's default" in SkyDNS (omitempty); say so rather than store it.
    if (!isIntIn(inst.ttl, 1, MAX_TTL)) fail(`ttl must be an integer number of seconds 1..${MAX_TTL} (leave it out for the server's default), got ${String(inst.ttl)}`);
    out.ttl = inst.ttl;
  }
  out.metadata = normalizeMetadata(inst.metadata);
  return Object.freeze(out);
}

function normalizeMetadata(md: unknown): Readonly<Record<string, string>> {
  if (md === undefined) return Object.freeze({});
  if (md === null || typeof md !== 'object' || Array.isArray(md)) fail('metadata must be an object of string values');
  const proto = Object.getPrototypeOf(md) as unknown;
  if (proto !== Object.prototype && proto !== null) fail('metadata must be a plain object of string values');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md as Record<string, unknown>)) {
    if (k === '') fail('metadata keys must not be empty');
    if (typeof v !== 'string') fail(`metadata.${k} must be a string, got ${v === null ? 'null' : typeof v}`);
    out[k] = v;
  }
  const bytes = Buffer.byteLength(JSON.stringify(out), 'utf8');
  if (bytes > MAX_METADATA_BYTES) fail(`metadata is ${bytes} bytes as JSON; the limit is ${MAX_METADATA_BYTES}`);
  return Object.freeze(out);
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** RFC 2782 `_Service._Proto` parts: portName `grpc` → `_grpc`, protocol defaulting to tcp. */
const PORT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,60}[a-z0-9])?$/;

export function normalizeSrvName(inst: Pick<ServiceInstance, 'portName' | 'protocol'>): { portName?: string; protocol?: 'tcp' | 'udp' } {
  if (inst.portName === undefined) {
    if (inst.protocol !== undefined) fail('protocol needs portName (the RFC 2782 name, e.g. portName "grpc", protocol "tcp")');
    return {};
  }
  if (typeof inst.portName !== 'string') fail(`portName must be a string, got ${typeof inst.portName}`);
  const portName = inst.portName.toLowerCase().replace(/^_/, '');
  if (!PORT_NAME.test(portName)) fail(`portName ${JSON.stringify(inst.portName)} must be one label of letters, digits and "-" (e.g. "grpc", "http")`);
  const protocol = inst.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') fail(`protocol must be "tcp" or "udp", got ${JSON.stringify(inst.protocol)}`);
  return { portName, protocol };
}

/**
 * `<id>.<service>.<domain>`, or with a port name `<id>._<portName>._<protocol>.<service>.<domain>`:
 * one key per instance either way. The DNS server (and CoreDNS) answer SRV at every name above
 * a key with all the keys below it, so `_grpc._tcp.greeter.<domain>` lists the gRPC instances
 * and `greeter.<domain>` still lists every instance, exactly once.
 */
function instanceName(i: { id: string; service: string; portName?: string | undefined; protocol?: string | undefined }, domain: string): string {
  const srv = i.portName === undefined ? '' : `_${i.portName}._${i.protocol ?? 'tcp'}.`;
  return `${i.id}.${srv}${i.service}.${domain}`;
}

export function instanceKey(
  inst: Pick<RegisteredInstance, 'id' | 'service' | 'portName' | 'protocol'>,
  o: Pick<ResolvedRegistryOptions, 'prefix' | 'domain'>,
): string {
  return nameToKey(instanceName(inst, o.domain), o.prefix);
}

/** The DNS name of an instance (the SRV target). */
export function instanceDnsName(inst: Pick<RegisteredInstance, 'id' | 'service' | 'portName' | 'protocol'>, domain: string): string {
  return instanceName(inst, domain);
}

/** `_grpc._tcp.greeter` → greeter + grpc/tcp; anything else as it is. */
function splitSrvService(service: string): { base: string; portName?: string; protocol?: string } {
  const m = /^_([^.]+)\._([^.]+)\.(.+)$/.exec(service);
  return m ? { base: m[3]!, portName: m[1]!, protocol: m[2]! } : { base: service };
}

/** The etcd prefix holding every service of the domain, with its trailing '/'. */
export function domainKeyPrefix(o: Pick<ResolvedRegistryOptions, 'prefix' | 'domain'>): string {
  return `${nameToKey(o.domain, o.prefix)}/`;
}

/**
 * The SkyDNS value. Only the fields the instance has; `metadata` always (an extra field that
 * the DNS server and CoreDNS ignore, as they ignore unknown fields).
 */
export function instanceValue(inst: RegisteredInstance): string {
  const v: Record<string, unknown> = { host: inst.host, port: inst.port };
  if (inst.priority !== undefined) v.priority = inst.priority;
  if (inst.weight !== undefined) v.weight = inst.weight;
  if (inst.ttl !== undefined) v.ttl = inst.ttl;
  v.metadata = inst.metadata ?? {};
  return JSON.stringify(v);
}

/**
 * Which service and id an etcd key under the domain stands for: the segments between the
 * domain and the last one are the service (reversed), the last is the id. Keys straight under
 * the domain (`/skydns/test/example/svc/x`: a record, not an instance) and keys that are not
 * valid names give undefined.
 */
export function parseInstanceKey(key: string, o: Pick<ResolvedRegistryOptions, 'prefix' | 'domain'>): { service: string; id: string; name: string } | undefined {
  const parts = splitKey(key, o.prefix);
  if ('error' in parts) return undefined;
  const depth = o.domain.split('.').length;
  const rest = parts.segments.slice(depth);
  if (rest.length < 2) return undefined;
  if (rest.some((s) => s === '*')) return undefined;
  // splitKey has lower-cased the segments; make sure the key really is under the domain.
  const domainSegments = o.domain.split('.').reverse();
  for (let i = 0; i < depth; i++) if (parts.segments[i] !== domainSegments[i]) return undefined;
  const id = rest[rest.length - 1]!;
  const service = rest.slice(0, -1).reverse().join('.');
  return { service, id, name: parts.name };
}

/**
 * A discovered instance from a key and its value, or why it is skipped. Values are parsed with
 * the DNS server's own parser (`parseService`), so discovery skips exactly what DNS skips;
 * entries without a host (TXT-only) are not instances.
 */
export function parseDiscovered(
  key: string,
  value: Uint8Array,
  o: Pick<ResolvedRegistryOptions, 'prefix' | 'domain'>,
): { instance: DiscoveredInstance } | { error: string } | undefined {
  const where = parseInstanceKey(key, o);
  if (where === undefined) return undefined;
  const svc = parseService(value);
  if ('error' in svc) return { error: svc.error };
  if (svc.kind === 'none') return { error: 'no host' };
  if (svc.port < 0) return { error: 'port -1 (no SRV)' };
  const srv = splitSrvService(where.service);
  const instance: DiscoveredInstance = Object.freeze({
    service: srv.base,
    portName: srv.portName,
    protocol: srv.protocol,
    id: where.id,
    name: where.name,
    key,
    host: svc.address ?? svc.hostName ?? svc.host,
    port: svc.port,
    priority: svc.priority,
    weight: svc.weight,
    // 0 is SkyDNS's "the server's default", as when missing (codec.ts `ttl`).
    ttl: svc.ttl || undefined,
    metadata: readMetadata(value),
  });
  return { instance };
}

const EMPTY_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/** The `metadata` object's string entries; anything else in it is ignored, never fatal. */
function readMetadata(value: Uint8Array): Readonly<Record<string, string>> {
  let json: unknown;
  try {
    // parseService has already checked size, UTF-8 and JSON; this cannot fail in practice.
    json = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch {
    return EMPTY_METADATA;
  }
  const md = (json as { metadata?: unknown }).metadata;
  if (md === null || typeof md !== 'object' || Array.isArray(md)) return EMPTY_METADATA;
  const out: Record<string, string> = {};
  let any = false;
  for (const [k, v] of Object.entries(md as Record<string, unknown>)) {
    if (typeof v === 'string') {
      out[k] = v;
      any = true;
    }
  }
  return any ? Object.freeze(out) : EMPTY_METADATA;
}

/** Structural equality of two discovered instances (what a watcher would see change). */
export function sameInstance(a: DiscoveredInstance, b: DiscoveredInstance): boolean {
  if (
    a.key !== b.key ||
    a.service !== b.service ||
    a.portName !== b.portName ||
    a.protocol !== b.protocol ||
    a.id !== b.id ||
    a.host !== b.host ||
    a.port !== b.port ||
    a.priority !== b.priority ||
    a.weight !== b.weight ||
    a.ttl !== b.ttl
  ) {
    return false;
  }
  if (a.metadata === b.metadata) return true;
  const ka = Object.keys(a.metadata);
  const kb = Object.keys(b.metadata);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a.metadata[k] !== b.metadata[k]) return false;
  return true;
}

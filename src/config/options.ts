/**
 * The options of `etcdns serve`, as one table.
 *
 * Each entry says everything about one option: its flag (`--name`), its environment
 * variable (`ETCDNS_NAME`), its config-file key (`name` or `nameInCamelCase`), its default
 * and how a value is checked and turned into what `ServeConfig` holds. The yargs
 * definitions, `--help`, the README table, the loader and `ServeConfig`'s type are all
 * derived from it, so adding an option is adding one entry here.
 *
 * Defaults are written the way a user would type them (`'10s'`, `['127.0.0.1:5353']`) and go
 * through the same parser as user input: help shows exactly what one could type, and a bad
 * default cannot sneak in (the defaults test parses every one of them).
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { extname, resolve } from 'node:path';
import { canonicalIPv6 } from '../dns/ip.js';
import { parseName, type Name } from '../dns/name.js';
import { formatCidr, parseCidr, unmapIPv4 } from '../forward/acl.js';
import { LOG_FORMATS, LOG_LEVELS } from '../log.js';
import { formatHostPort } from '../net.js';

export type OptionKind = 'string' | 'integer' | 'boolean' | 'duration' | 'size' | 'list' | 'enum';

/** A default as a user would write it on the command line or in a config file. */
export type DefaultInput = string | number | boolean | readonly string[] | undefined;

/** What parsers may need besides the value: relative paths are resolved against `cwd`. */
export interface ParseContext {
  readonly cwd: string;
}

/**
 * A value that cannot be used. The loader prefixes where it came from (flag, env variable,
 * config file key); `offending` is the part shown, when it is not the whole value (one item
 * of a list).
 */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly offending?: unknown,
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

export interface OptionSpec<K extends string = string, V = unknown> {
  /** kebab-case: the flag is `--name`, the config-file key `name` (or its camelCase). */
  readonly name: string;
  /** The ServeConfig field. */
  readonly key: K;
  readonly kind: OptionKind;
  /** One or two sentences for --help and the README. */
  readonly description: string;
  /** What a value looks like, for help: `HOST:PORT`, `N`, `DURATION`. Empty for booleans. */
  readonly placeholder: string;
  /** In user syntax; undefined means "not set" (the value is then undefined). */
  readonly default: DefaultInput;
  /** `ETCDNS_` + the name in UPPER_SNAKE. */
  readonly env: string;
  /** False for options that make no sense inside a config file (`config` itself). */
  readonly inConfigFile: boolean;
  /**
   * A credential: error messages and `redactConfig` never show its value, so that it cannot
   * end up in a terminal scrollback or a log collector.
   */
  readonly secret?: boolean;
  readonly choices?: readonly string[];
  /** Bounds, in the parsed unit (milliseconds for durations). */
  readonly min?: number;
  readonly max?: number;
  /**
   * Turns one raw value into the stored one, or throws ValueError. Raw values are strings
   * (flags, env variables), or what JSON/YAML produce (numbers, booleans, arrays, ...).
   */
  parse(raw: unknown, ctx: ParseContext): V;
}

export function envName(optionName: string): string {
  return `ETCDNS_${optionName.toUpperCase().replaceAll('-', '_')}`;
}

export function camelName(optionName: string): string {
  return optionName.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The default as help and docs show it. */
export function defaultText(spec: Pick<OptionSpec, 'default'>): string {
  const d = spec.default;
  if (d === undefined) return 'none';
  // An empty list (no etcd endpoints) reads as "none", not as an empty string in help. Items
  // are joined with ", " (which the parser takes as well) so that help can wrap a long list
  // between items rather than inside an address.
  if (Array.isArray(d)) return d.length === 0 ? 'none' : d.join(', ');
  return String(d);
}

// ---------------------------------------------------------------------------------------------
// Kinds. Each builder fills in the derived fields so that a table entry stays short.

interface Common<K extends string> {
  readonly name: string;
  readonly key: K;
  readonly description: string;
}

function spec<K extends string, V>(
  common: Common<K>,
  rest: Omit<OptionSpec<K, V>, 'name' | 'key' | 'description' | 'env' | 'inConfigFile'> & { inConfigFile?: boolean },
): OptionSpec<K, V> {
  const { name, key, description } = common;
  return Object.freeze({ name, key, description, env: envName(name), inConfigFile: true, ...rest });
}

function expectString(raw: unknown): string {
  if (typeof raw !== 'string') throw new ValueError('must be a string');
  return raw;
}

export function stringOption<const K extends string>(
  o: Common<K> & {
    readonly default: string;
    readonly placeholder: string;
    readonly path?: boolean;
    /** Further checks on the text; throws ValueError. */
    readonly check?: (text: string) => void;
  },
): OptionSpec<K, string> {
  return spec(o, {
    kind: 'string',
    default: o.default,
    placeholder: o.placeholder,
    parse(raw, ctx) {
      const text = expectString(raw);
      if (text === '') throw new ValueError('must not be empty');
      o.check?.(text);
      return o.path ? resolve(ctx.cwd, text) : text;
    },
  });
}

/** A string that is unset by default (ServeConfig holds undefined then). */
export function optionalStringOption<const K extends string>(
  o: Common<K> & { readonly placeholder: string; readonly secret?: boolean },
): OptionSpec<K, string | undefined> {
  return spec(o, {
    kind: 'string',
    default: undefined,
    placeholder: o.placeholder,
    ...(o.secret ? { secret: true } : {}),
    parse(raw) {
      const text = expectString(raw);
      if (text === '') throw new ValueError('must not be empty');
      return text;
    },
  });
}

/** A path that is unset by default (ServeConfig holds undefined then), resolved against cwd. */
export function optionalPathOption<const K extends string>(
  o: Common<K> & {
    readonly placeholder: string;
    readonly inConfigFile?: boolean;
    /**
     * The file must exist and be readable now. For files read long after startup (TLS
     * material used at the first etcd connection, or a reconnect hours later), a typo should
     * stop the server at once rather than surface as a connection error in a log.
     */
    readonly readableFile?: boolean;
  },
): OptionSpec<K, string | undefined> {
  return spec(o, {
    kind: 'string',
    default: undefined,
    placeholder: o.placeholder,
    inConfigFile: o.inConfigFile ?? true,
    parse(raw, ctx) {
      const text = expectString(raw);
      if (text === '') throw new ValueError('must not be empty');
      const path = resolve(ctx.cwd, text);
      if (o.readableFile) checkReadableFile(path);
      return path;
    },
  });
}

/** Throws ValueError unless `path` is a regular file this process may read. */
export function checkReadableFile(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new ValueError('not a regular file');
    accessSync(path, fsConstants.R_OK);
  } catch (err) {
    if (err instanceof ValueError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ValueError('file not found');
    if (code === 'EACCES' || code === 'EPERM') throw new ValueError('file not readable (permission denied)');
    throw new ValueError(`cannot read: ${(err as Error).message}`);
  }
}

function rangeText(min: number | undefined, max: number | undefined, show: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return `must be ${show(min)}-${show(max)}`;
  if (min !== undefined) return `must be at least ${show(min)}`;
  return `must be at most ${show(max ?? 0)}`;
}

const WHOLE = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseInteger(raw: unknown, min?: number, max?: number): number {
  let n: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new ValueError('not a number');
    if (!Number.isInteger(raw)) throw new ValueError('must be a whole number');
    n = raw;
  } else if (typeof raw === 'string') {
    const text = raw.trim();
    // Number() alone would take '', '0x10', '1e3' and ' 12 '; a config value should mean
    // what it looks like, so only plain decimal digits pass.
    if (!WHOLE.test(text)) throw new ValueError(DECIMAL.test(text) ? 'must be a whole number' : 'not a number');
    n = Number(text);
  } else {
    throw new ValueError('not a number');
  }
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) throw new ValueError(rangeText(min, max, String));
  // Beyond this, digits no longer map to distinct numbers.
  if (!Number.isSafeInteger(n)) throw new ValueError(`must be at most ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

export function integerOption<const K extends string>(
  o: Common<K> & { readonly default: number; readonly min?: number; readonly max?: number },
): OptionSpec<K, number> {
  return spec(o, {
    kind: 'integer',
    default: o.default,
    placeholder: 'N',
    min: o.min,
    max: o.max,
    parse: (raw) => parseInteger(raw, o.min, o.max),
  });
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

export function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 1 || raw === 0) return raw === 1;
  if (typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  // Deliberately short: 'on', 'y', 'enabled' are not accepted, so that a typo is an error
  // rather than a guess.
  throw new ValueError('must be true or false (or 1/0, yes/no)');
}

export function booleanOption<const K extends string>(o: Common<K> & { readonly default: boolean }): OptionSpec<K, boolean> {
  return spec(o, { kind: 'boolean', default: o.default, placeholder: '', parse: parseBoolean });
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
/** Node's timers overflow past 2^31-1 ms (they then fire after 1 ms): the most a duration can be. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `500ms`, `10s`, `2m`, `1h`, `1m30s`, or a bare number of seconds; returns milliseconds. */
export function parseDuration(raw: unknown, minMs = 0, maxMs = MAX_TIMER_MS): number {
  let ms: number;
  const bad = 'not a duration (write e.g. 500ms, 10s, 2m, 1h, or a number of seconds)';
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw new ValueError(bad);
    ms = raw * 1000;
  } else if (typeof raw === 'string') {
    const text = raw.trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      ms = Number(text) * 1000;
    } else if (DURATION.test(text)) {
      ms = 0;
      for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    } else {
      throw new ValueError(bad);
    }
  } else {
    throw new ValueError(bad);
  }
  ms = Math.round(ms);
  if (ms < minMs || ms > maxMs) throw new ValueError(rangeText(minMs, maxMs, formatDuration));
  return ms;
}

/** Milliseconds in the largest unit that divides them exactly: 10000 → '10s'. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function durationOption<const K extends string>(
  o: Common<K> & {
    readonly default: string;
    readonly min?: string;
    readonly max?: string;
    /** For values that end up in whole seconds (DNS TTLs): refuse 1500ms rather than round it. */
    readonly wholeSeconds?: boolean;
  },
): OptionSpec<K, number> {
  const min = o.min === undefined ? 0 : parseDuration(o.min);
  const max = o.max === undefined ? MAX_TIMER_MS : parseDuration(o.max);
  return spec(o, {
    kind: 'duration',
    default: o.default,
    placeholder: 'DURATION',
    min,
    max,
    parse(raw) {
      const ms = parseDuration(raw, min, max);
      if (o.wholeSeconds && ms % 1000 !== 0) throw new ValueError('must be a whole number of seconds');
      return ms;
    },
  });
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const SIZE = /^(\d+)([kmg]?)$/i;

/** Bytes, or a whole number with a binary suffix: `65536`, `64k`, `64m`, `1g` (k = 1024). */
export function parseByteSize(raw: unknown, min = 0): number {
  const bad = 'not a size (write bytes, or a whole number with k, m or g, e.g. 64m; 1k is 1024)';
  let bytes: number;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0) throw new ValueError(bad);
    bytes = raw;
  } else if (typeof raw === 'string') {
    const m = SIZE.exec(raw.trim());
    if (!m) throw new ValueError(bad);
    bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  } else {
    throw new ValueError(bad);
  }
  if (bytes < min) throw new ValueError(`must be at least ${formatByteSize(min)}`);
  if (!Number.isSafeInteger(bytes)) throw new ValueError(`must be at most ${Number.MAX_SAFE_INTEGER}`);
  return bytes;
}

/** Bytes in the largest binary unit that divides them exactly: 67108864 → '64m'. */
export function formatByteSize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const size = SIZE_UNITS[unit]!;
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

export function byteSizeOption<const K extends string>(
  o: Common<K> & { readonly default: string; readonly min?: number },
): OptionSpec<K, number> {
  return spec(o, {
    kind: 'size',
    default: o.default,
    placeholder: 'BYTES',
    min: o.min,
    parse: (raw) => parseByteSize(raw, o.min),
  });
}

export function enumOption<const K extends string, const C extends readonly string[]>(
  o: Common<K> & { readonly choices: C; readonly default: C[number] },
): OptionSpec<K, C[number]> {
  return spec(o, {
    kind: 'enum',
    default: o.default,
    placeholder: o.choices.join('|'),
    choices: o.choices,
    parse(raw) {
      const word = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      const found = o.choices.find((c) => c === word);
      if (found === undefined) throw new ValueError(`must be one of ${o.choices.join(', ')}`);
      return found;
    },
  });
}

/**
 * A repeatable option. Values arrive as one string per flag occurrence, comma-separated in
 * an env variable (or a flag), or as an array (or comma-separated string) in a config file.
 * A later source replaces the whole list rather than adding to it, so that a flag can
 * override a list from the config file.
 */
export function listOption<const K extends string, T>(
  o: Common<K> & {
    readonly default: readonly string[];
    readonly placeholder: string;
    /** Parses one item; throws ValueError (the loader shows the item, not the whole list). */
    readonly item: (text: string) => T;
    readonly minItems?: number;
    readonly maxItems?: number;
    /** Identity for duplicate detection; undefined for items that may repeat. */
    readonly identity?: (item: T) => string | undefined;
  },
): OptionSpec<K, readonly T[]> {
  return spec(o, {
    kind: 'list',
    default: o.default,
    placeholder: o.placeholder,
    parse(raw) {
      const pieces = Array.isArray(raw) ? raw : [raw];
      const texts: string[] = [];
      for (const piece of pieces) {
        if (typeof piece !== 'string') throw new ValueError('must be a string', piece);
        // An empty string on its own is "no items" (checked below), not one empty item.
        if (piece.trim() === '' && pieces.length === 1) break;
        for (const part of piece.split(',')) {
          const text = part.trim();
          if (text === '') throw new ValueError('empty item in list', piece);
          texts.push(text);
        }
      }
      const minItems = o.minItems ?? 0;
      if (texts.length < minItems) throw new ValueError(`needs at least ${minItems} item${minItems === 1 ? '' : 's'}`);
      if (o.maxItems !== undefined && texts.length > o.maxItems) throw new ValueError(`takes at most ${o.maxItems} items`);
      const seen = new Set<string>();
      return texts.map((text) => {
        let item: T;
        try {
          item = o.item(text);
        } catch (err) {
          if (err instanceof ValueError) throw new ValueError(err.message, err.offending ?? text);
          throw err;
        }
        const id = o.identity?.(item);
        if (id !== undefined) {
          if (seen.has(id)) throw new ValueError('listed twice', text);
          seen.add(id);
        }
        return item;
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Value parsers specific to etcdns.

export interface ListenAddress {
  /** An IP literal, without brackets. */
  readonly host: string;
  /** 0 asks the OS for a free port (the same one is then used for UDP and TCP). */
  readonly port: number;
}

/** `HOST:PORT` with an IPv4 literal, or `[IPv6]:PORT`. Names are refused: a DNS server must not need DNS to start. */
export function parseListenAddress(text: string): ListenAddress {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new ValueError('missing "]" after the IPv6 address');
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (!rest.startsWith(':')) throw new ValueError('missing ":PORT" after "]"');
    portText = rest.slice(1);
    if (isIP(host) !== 6) throw new ValueError('not an IPv6 address inside [...]');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new ValueError('missing ":PORT" (write HOST:PORT, e.g. 127.0.0.1:53 or [::1]:53)');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new ValueError('an IPv6 address must be in brackets, e.g. [::1]:53');
    if (isIP(host) !== 4) throw new ValueError('host must be an IP address (e.g. 127.0.0.1, 0.0.0.0, [::])');
  }
  if (portText === '') throw new ValueError('missing port');
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ValueError('port must be 0-65535');
  return { host, port: Number(portText) };
}

export function formatListenAddress(a: ListenAddress): string {
  return formatHostPort(a.host, a.port);
}

/** `HOST:PORT` as for --listen, or `off` (undefined: the endpoint is not served). */
export function listenOrOffOption<const K extends string>(
  o: Common<K> & { readonly default: string },
): OptionSpec<K, ListenAddress | undefined> {
  return spec(o, {
    kind: 'string',
    default: o.default,
    placeholder: 'HOST:PORT|off',
    parse(raw) {
      const text = expectString(raw).trim();
      if (text.toLowerCase() === 'off') return undefined;
      return parseListenAddress(text);
    },
  });
}

const ETCD_URL_EXAMPLE = 'e.g. http://127.0.0.1:2379';

/**
 * An etcd endpoint, `http://HOST:PORT` or `https://HOST:PORT`, returned as exactly that
 * (host lower-cased, IPv6 in brackets): the etcd client strips the scheme and hands
 * `HOST:PORT` to gRPC, so anything else in the URL would be silently ignored or misread.
 */
export function parseEtcdUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueError(`not a URL (${ETCD_URL_EXAMPLE})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValueError(`must start with http:// or https:// (${ETCD_URL_EXAMPLE})`);
  if (url.username !== '' || url.password !== '') {
    throw new ValueError('must not contain a user or password (use --etcd-username and --etcd-password)');
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new ValueError('must not have a path, query or fragment (only scheme, host and port)');
  // URL drops a port equal to the scheme's default (http://x:80 → port ''), so an explicit
  // port is looked for in the text itself. Without one, gRPC would pick 443 for both schemes,
  // which is etcd's port for nothing: refuse rather than guess.
  const written = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/i.exec(text);
  if (!written) throw new ValueError('missing port (etcd clients usually connect to 2379, e.g. http://127.0.0.1:2379)');
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return `${url.protocol}//${url.hostname}:${port}`;
}

/** `/skydns`: starts with '/', no trailing '/', no empty segment. */
export function checkEtcdPrefix(text: string): void {
  if (!text.startsWith('/')) throw new ValueError('must start with "/" (e.g. /skydns)');
  // Keys are `prefix/com/example/...`: a trailing '/' would make that `prefix//com/...`, and
  // the bare root '/' would take every key in etcd as DNS data.
  if (text.endsWith('/')) throw new ValueError('must not end with "/" (e.g. /skydns)');
  if (text.includes('//')) throw new ValueError('must not contain an empty segment ("//")');
}

/** A zone served from etcd, canonical (see dns/name.ts). */
export function parseEtcdZone(text: string): Name {
  const parsed = parseName(text);
  if ('error' in parsed) throw new ValueError(parsed.error);
  // Authoritative for the root would make etcdns answer NXDOMAIN for every name on the
  // internet it does not hold (CoreDNS issue 3316 shows how `etcd .` goes wrong).
  if (parsed.name === '') throw new ValueError('the root zone cannot be served from etcd');
  return parsed.name;
}

/** An upstream resolver to forward to. */
export interface UpstreamAddress {
  /** An IP literal, without brackets; IPv6 in RFC 5952 form, IPv4-mapped IPv6 as IPv4. */
  readonly host: string;
  readonly port: number;
}

/** `--forward`: the names at and below `zone` go to these upstreams instead of --upstream. */
export interface ForwardZone {
  readonly zone: Name;
  readonly upstreams: readonly UpstreamAddress[];
}

/** The DNS port, for upstreams written without one. */
export const DNS_PORT = 53;
/** CoreDNS `forward` takes at most 15 upstreams per zone; more would only lengthen failover. */
export const MAX_UPSTREAMS = 15;

/**
 * `ADDR[:PORT]`: `10.0.0.1`, `10.0.0.1:5353`, `[2001:db8::1]:5353`, `[2001:db8::1]` or a bare
 * `2001:db8::1` (a bare IPv6 address takes no port: `2001:db8::1:53` is itself an address).
 * Addresses only, as for --listen: a DNS server must not need DNS to reach its upstreams.
 */
export function parseUpstream(text: string): UpstreamAddress {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new ValueError('missing "]" after the IPv6 address');
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new ValueError('expected ":PORT" after "]"');
      portText = rest.slice(1);
    }
    checkNoZone(host);
    if (isIP(host) !== 6) throw new ValueError('not an IPv6 address inside [...]');
  } else if (text.indexOf(':') !== text.lastIndexOf(':')) {
    host = text;
    checkNoZone(host);
    if (isIP(host) !== 6) throw new ValueError('not an IPv6 address (with a port, write [IPv6]:PORT)');
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    if (colon >= 0) portText = text.slice(colon + 1);
    if (isIP(host) !== 4) throw new ValueError('must be an IP address (e.g. 10.0.0.1, 10.0.0.1:5353, [2001:db8::1]:53)');
  }
  let port = DNS_PORT;
  if (portText !== undefined) {
    if (portText === '') throw new ValueError('missing port after ":"');
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new ValueError('port must be 1-65535');
    port = Number(portText);
  }
  if (host.includes(':')) host = unmapIPv4(canonicalIPv6(host)!);
  // Sending to 0.0.0.0 or :: reaches this host on Linux, whatever is listening there: never meant.
  if (host === '0.0.0.0' || host === '::') throw new ValueError('the unspecified address is not a server to send to');
  return { host, port };
}

function checkNoZone(host: string): void {
  // Which interface a link-local upstream is on would be fixed by the zone, and the zone by
  // the host's interface names: not something to carry in shared configuration.
  if (host.includes('%')) throw new ValueError('a zone id (%...) is not supported; use a global or ULA address');
}

export function formatUpstream(u: UpstreamAddress): string {
  return formatHostPort(u.host, u.port);
}

/** One `--forward` item, `DOMAIN=ADDR[:PORT]`. */
export function parseForwardItem(text: string): { readonly zone: Name; readonly upstream: UpstreamAddress } {
  // Addresses never contain '=', so the last one separates (a domain could, escaped).
  const eq = text.lastIndexOf('=');
  if (eq < 0) throw new ValueError('write DOMAIN=ADDR[:PORT], e.g. corp.example=10.1.2.3 (repeat for more upstreams)');
  const domain = text.slice(0, eq).trim();
  const address = text.slice(eq + 1).trim();
  if (domain === '') throw new ValueError('missing DOMAIN before "="');
  if (address === '') throw new ValueError('missing ADDR[:PORT] after "="');
  const parsed = parseName(domain);
  if ('error' in parsed) throw new ValueError(parsed.error);
  if (parsed.name === '') throw new ValueError('the root zone is what --upstream is for');
  return { zone: parsed.name, upstream: parseUpstream(address) };
}

export function formatForwardItem(zone: Name, upstream: UpstreamAddress): string {
  return `${zone}=${formatUpstream(upstream)}`;
}

/**
 * `--forward`: one `DOMAIN=ADDR[:PORT]` per item, so that it is one flag per upstream and a
 * plain comma-separated list in ETCDNS_FORWARD; items naming the same domain add upstreams
 * to it, in the order given. The value is one entry per domain.
 */
export function forwardOption<const K extends string>(
  o: Common<K> & { readonly default: readonly string[]; readonly placeholder: string },
): OptionSpec<K, readonly ForwardZone[]> {
  const items = listOption({
    ...o,
    item: parseForwardItem,
    identity: (f) => formatForwardItem(f.zone, f.upstream),
  });
  return spec(o, {
    kind: 'list',
    default: o.default,
    placeholder: o.placeholder,
    parse(raw, ctx) {
      const byZone = new Map<Name, UpstreamAddress[]>();
      for (const { zone, upstream } of items.parse(raw, ctx)) {
        const upstreams = byZone.get(zone) ?? [];
        upstreams.push(upstream);
        byZone.set(zone, upstreams);
        if (upstreams.length > MAX_UPSTREAMS) {
          throw new ValueError(`more than ${MAX_UPSTREAMS} upstreams for one domain`, formatForwardItem(zone, upstream));
        }
      }
      return [...byZone].map(([zone, upstreams]) => ({ zone, upstreams }));
    },
  });
}

/** An --allow-recursion network, returned canonical (`10.0.0.0/8`, `fc00::/7`). */
export function parseAllowedNetwork(text: string): string {
  const parsed = parseCidr(text);
  if ('error' in parsed) throw new ValueError(parsed.error);
  return formatCidr(parsed.cidr);
}

/**
 * Who may recurse by default: loopback (RFC 1122 §3.2.1.3, RFC 4291), the private networks
 * (RFC 1918), shared address space used for carrier-grade NAT and by some Kubernetes pod
 * networks (RFC 6598), unique local IPv6 (RFC 4193) and link-local IPv6 (RFC 4291 §2.5.6):
 * addresses that cannot come from the internet at large, so etcdns is not an open resolver
 * (RFC 5358) even when it listens on a public address.
 */
export const DEFAULT_ALLOW_RECURSION = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
  'fe80::/10',
] as const;

// ---------------------------------------------------------------------------------------------
// The table. Order is the order of --help and the README.

export const SERVE_OPTIONS = [
  listOption({
    name: 'listen',
    key: 'listen',
    description:
      'Address to answer DNS on over UDP and TCP, as HOST:PORT (IPv6 as [::1]:53); repeat the flag or separate with commas. Port 0 picks a free port.',
    placeholder: 'HOST:PORT',
    default: ['127.0.0.1:5353'],
    item: parseListenAddress,
    minItems: 1,
    // Binding the same address twice fails late and obscurely (EADDRINUSE); port 0 is a
    // fresh random port each time, so it may repeat.
    identity: (a) => (a.port === 0 ? undefined : formatListenAddress({ host: a.host.toLowerCase(), port: a.port })),
  }),
  integerOption({
    name: 'workers',
    key: 'workers',
    description:
      'Processes answering DNS on the same port (Node cluster; UDP with SO_REUSEPORT per worker on a fixed port); each keeps its own copy of the records, etcd watch and forwarding cache, and the first process serves /health, /ready and /metrics for all. 1 answers from this process alone.',
    default: 1,
    min: 1,
    // Each worker holds a full mirror: more than a big machine has cores is a typo.
    max: 64,
  }),
  enumOption({
    name: 'udp-io',
    key: 'udpIo',
    description:
      'How DNS over UDP is read and written: batch (recvmmsg/sendmmsg through the native addon `npm run build` compiles on Linux; several queries per system call), dgram (Node\'s dgram, one call per datagram), or auto (batch when the addon is built, else dgram).',
    choices: ['auto', 'batch', 'dgram'],
    default: 'auto',
  }),
  stringOption({
    name: 'zones',
    key: 'zones',
    description: 'Directory of zone files, relative to the working directory.',
    placeholder: 'DIR',
    default: 'zones',
    path: true,
  }),
  listOption({
    name: 'etcd',
    key: 'etcd',
    description:
      'etcd endpoints to mirror SkyDNS records from, as http://HOST:PORT or https://HOST:PORT; repeat the flag or separate with commas. None: serve zone files only.',
    placeholder: 'URL',
    default: [],
    item: parseEtcdUrl,
    identity: (url) => url,
  }),
  stringOption({
    name: 'etcd-prefix',
    key: 'etcdPrefix',
    description: 'etcd key prefix of the records (CoreDNS `path`): www.example.com is under PREFIX/com/example/www.',
    placeholder: 'PREFIX',
    default: '/skydns',
    check: checkEtcdPrefix,
  }),
  listOption({
    name: 'etcd-zone',
    key: 'etcdZone',
    description: 'Zone to answer from etcd (e.g. example.com); repeat the flag or separate with commas. Required with --etcd.',
    placeholder: 'ZONE',
    default: [],
    item: parseEtcdZone,
    identity: (zone) => zone,
  }),
  optionalPathOption({
    name: 'etcd-ca',
    key: 'etcdCa',
    description: 'PEM file of the CA certificates that sign the etcd server certificates (https:// endpoints); default: the system CAs.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  optionalPathOption({
    name: 'etcd-cert',
    key: 'etcdCert',
    description: 'PEM client certificate for etcd (mutual TLS); needs --etcd-key.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  optionalPathOption({
    name: 'etcd-key',
    key: 'etcdKey',
    description: 'PEM private key of --etcd-cert.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  optionalStringOption({
    name: 'etcd-username',
    key: 'etcdUsername',
    description: 'etcd user (etcd authentication); needs --etcd-password.',
    placeholder: 'USER',
  }),
  optionalStringOption({
    name: 'etcd-password',
    key: 'etcdPassword',
    description:
      'Password of --etcd-username. Prefer the ETCDNS_ETCD_PASSWORD variable (or the config file): a flag is visible to every user in the process list.',
    placeholder: 'PASSWORD',
    secret: true,
  }),
  durationOption({
    name: 'etcd-default-ttl',
    key: 'etcdDefaultTtlMs',
    description: 'TTL of etcd records that set no "ttl", in whole seconds (1s to 24h).',
    default: '10s',
    min: '1s',
    max: '24h',
    wholeSeconds: true,
  }),
  durationOption({
    name: 'max-stale',
    key: 'maxStaleMs',
    description:
      'While etcd is unreachable, keep answering etcd zones from the last data seen for this long, then answer SERVFAIL; 0 serves the last data for as long as it takes.',
    default: '0',
  }),
  integerOption({
    name: 'edns-udp-size',
    key: 'ednsUdpSize',
    description:
      'Largest UDP reply to send, in bytes, whatever a client advertises (RFC 6891 §6.2.5; 1232 avoids IP fragmentation, DNS flag day 2020).',
    default: 1232,
    min: 512,
    max: 4096,
  }),
  durationOption({
    name: 'tcp-idle-timeout',
    key: 'tcpIdleTimeoutMs',
    description: 'Close a TCP connection after this long without a query (500ms, 10s, 2m, 1h, or seconds).',
    default: '10s',
    // 0 would close every connection before its first query could arrive.
    min: '1ms',
  }),
  integerOption({
    name: 'tcp-max-connections',
    key: 'tcpMaxConnections',
    description: 'Most TCP connections open at once, from all clients together.',
    default: 1024,
    min: 1,
  }),
  integerOption({
    name: 'tcp-max-connections-per-client',
    key: 'tcpMaxConnectionsPerClient',
    description: 'Most TCP connections open at once from one client address.',
    default: 64,
    min: 1,
  }),
  integerOption({
    name: 'tcp-max-queries-per-connection',
    key: 'tcpMaxQueriesPerConnection',
    description: 'Close a TCP connection after this many queries; 0 for no limit.',
    default: 0,
    min: 0,
  }),
  integerOption({
    name: 'rate-limit',
    key: 'rateLimit',
    description:
      'Response rate limiting (BIND RRL): UDP replies per second to one client network (/24 IPv4, /56 IPv6), beyond which replies are dropped or slipped; 0 turns it off. TCP is never limited.',
    default: 0,
    min: 0,
    // Beyond what one process can answer at all, a limit limits nothing: surely a typo.
    max: 1_000_000,
  }),
  integerOption({
    name: 'rate-limit-slip',
    key: 'rateLimitSlip',
    description:
      'With --rate-limit: every Nth reply over the limit is sent empty with TC=1 (so real clients retry over TCP) instead of dropped; 0 drops them all (BIND slip).',
    default: 2,
    min: 0,
    // BIND's range: beyond 10 a real client behind a flood waits too long for its TC=1.
    max: 10,
  }),
  booleanOption({
    name: 'forwarding',
    key: 'forwarding',
    description:
      'Forward queries for names outside our zones to upstream resolvers, for clients in --allow-recursion that ask for recursion (--no-forwarding to refuse them).',
    default: true,
  }),
  listOption({
    name: 'upstream',
    key: 'upstream',
    description:
      'Upstream resolver as ADDR[:PORT] (port 53 by default; IPv6 as [2001:db8::1]:53); repeat the flag or separate with commas. None: the nameservers of /etc/resolv.conf, except etcdns itself.',
    placeholder: 'ADDR[:PORT]',
    default: [],
    item: parseUpstream,
    maxItems: MAX_UPSTREAMS,
    identity: formatUpstream,
  }),
  forwardOption({
    name: 'forward',
    key: 'forward',
    description:
      'Forward names at and below DOMAIN to ADDR[:PORT] instead of --upstream, as DOMAIN=ADDR[:PORT]; repeat with the same DOMAIN for more upstreams, or separate with commas.',
    placeholder: 'DOMAIN=ADDR[:PORT]',
    default: [],
  }),
  enumOption({
    name: 'forward-policy',
    key: 'forwardPolicy',
    description: 'Order in which healthy upstreams are tried: random, or sequential (first listed first).',
    choices: ['random', 'sequential'],
    default: 'random',
  }),
  durationOption({
    name: 'forward-timeout',
    key: 'forwardTimeoutMs',
    description: 'How long to wait for one upstream before trying the next.',
    default: '2s',
    min: '1ms',
    // A stub resolver gives up after a few seconds (glibc: 5 s per try, resolv.conf(5)); a
    // longer wait would answer nobody.
    max: '1m',
  }),
  integerOption({
    name: 'forward-max-fails',
    key: 'forwardMaxFails',
    description: 'Consecutive failures after which an upstream counts as down and is probed until it answers (CoreDNS max_fails).',
    default: 2,
    min: 1,
  }),
  durationOption({
    name: 'forward-health-check',
    key: 'forwardHealthCheckMs',
    description: 'Interval of the probes (". IN NS") sent to an upstream marked down.',
    default: '500ms',
    // Probes go to servers that are already struggling: no faster than 10 per second.
    min: '100ms',
    max: '1h',
  }),
  integerOption({
    name: 'forward-max-concurrent',
    key: 'forwardMaxConcurrent',
    description:
      'Most client queries being forwarded at once; more are answered REFUSED at once rather than queued (CoreDNS max_concurrent).',
    default: 1000,
    min: 1,
  }),
  listOption({
    name: 'allow-recursion',
    key: 'allowRecursion',
    description:
      'Client networks (CIDR) whose queries for other names are forwarded; other clients get REFUSED. Default: loopback, private, CGNAT, ULA and link-local networks.',
    placeholder: 'CIDR',
    default: DEFAULT_ALLOW_RECURSION,
    item: parseAllowedNetwork,
    identity: (cidr) => cidr,
  }),
  integerOption({
    name: 'cache-entries',
    key: 'cacheEntries',
    description: 'Most answers from upstreams kept in the cache; 0 turns the cache off.',
    default: 10_000,
    min: 0,
  }),
  byteSizeOption({
    name: 'cache-bytes',
    key: 'cacheBytes',
    description: 'Most memory the cached answers may take, in bytes or with k, m or g (1k = 1024), e.g. 64m.',
    default: '64m',
    // One DNS message can be 64 KiB (TCP); a smaller cache could not hold it. It also catches
    // `--cache-bytes 64` written for 64 MiB.
    min: 64 * 1024,
  }),
  durationOption({
    name: 'cache-max-ttl',
    key: 'cacheMaxTtlMs',
    description: 'Longest time an answer from upstream is cached, whatever its TTL; whole seconds.',
    default: '1h',
    min: '1s',
    // RFC 8767 §4 caps TTLs at 7 days.
    max: '168h',
    wholeSeconds: true,
  }),
  durationOption({
    name: 'cache-max-negative-ttl',
    key: 'cacheMaxNegativeTtlMs',
    description: 'Longest time a negative answer (NXDOMAIN, NODATA; RFC 2308) is cached; whole seconds, 0 to not cache them.',
    default: '30m',
    // RFC 2308 §5: "values exceeding one day have been found to be problematic".
    max: '24h',
    wholeSeconds: true,
  }),
  durationOption({
    name: 'serve-stale',
    key: 'serveStaleMs',
    description: 'How long past expiry a cached answer may still be served when no upstream answers (RFC 8767); whole seconds, 0 turns it off.',
    default: '1h',
    // The cache counts in the seconds of DNS TTLs.
    wholeSeconds: true,
  }),
  enumOption({
    name: 'log-level',
    key: 'logLevel',
    description: 'Least severe log level written.',
    choices: LOG_LEVELS,
    default: 'info',
  }),
  enumOption({
    name: 'log-format',
    key: 'logFormat',
    description: 'json (one object per line), pretty (for people), or auto (pretty when stdout is a terminal).',
    choices: LOG_FORMATS,
    default: 'auto',
  }),
  booleanOption({
    name: 'log-queries',
    key: 'logQueries',
    description: 'Log one line per query answered.',
    default: false,
  }),
  booleanOption({
    name: 'chaos',
    key: 'chaos',
    description: 'Answer version.bind, version.server, id.server and hostname.bind in class CH (--no-chaos to refuse them).',
    default: true,
  }),
  listenOrOffOption({
    name: 'health-listen',
    key: 'healthListen',
    description: 'Address of the liveness endpoint GET /health (200 while the process runs), as HOST:PORT, or off.',
    default: '127.0.0.1:8080',
  }),
  listenOrOffOption({
    name: 'ready-listen',
    key: 'readyListen',
    description:
      'Address of the readiness endpoint GET /ready (200 once the data is loaded, 503 with the reasons otherwise and while shutting down), as HOST:PORT, or off.',
    default: '127.0.0.1:8181',
  }),
  listenOrOffOption({
    name: 'metrics-listen',
    key: 'metricsListen',
    description: 'Address of the Prometheus endpoint GET /metrics, as HOST:PORT, or off. Endpoints may share an address.',
    default: '127.0.0.1:9153',
  }),
  durationOption({
    name: 'lameduck',
    key: 'lameduckMs',
    description:
      'On SIGTERM or SIGINT, answer /ready with 503 but keep answering DNS for this long before closing the listeners (CoreDNS health lameduck), so that load balancers and Services stop sending queries first; 0 closes at once.',
    default: '5s',
    // Kubernetes kills a pod terminationGracePeriodSeconds (30 s by default) after SIGTERM,
    // whatever it is doing: a lameduck in hours is a typo (5h for 5s), not a plan.
    max: '10m',
  }),
  optionalPathOption({
    name: 'config',
    key: 'configFile',
    description:
      'Config file, JSON (or YAML if named .yaml/.yml), whose keys are these option names; flags and ETCDNS_* variables override it.',
    placeholder: 'FILE',
    inConfigFile: false,
  }),
] as const;

export type ServeOption = (typeof SERVE_OPTIONS)[number];

/** The parsed value of every option, keyed by its ServeConfig field; derived from the table. */
export type ServeValues = {
  readonly [S in ServeOption as S['key']]: S extends OptionSpec<string, infer V> ? V : never;
};

/** Config files are YAML when their name says so; anything else is read as JSON. */
export function configFileFormat(path: string): 'yaml' | 'json' {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? 'yaml' : 'json';
}

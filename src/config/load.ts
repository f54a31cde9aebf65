/**
 * Builds the one ServeConfig the server runs with, from flags, ETCDNS_* environment
 * variables and an optional config file, in that order of precedence, over the defaults of
 * the option table (options.ts). Everything is checked here, once, at startup: the rest of
 * the server trusts the result and never reads flags or the environment itself.
 *
 * Every value given is checked, even one that a higher-precedence source overrides: a typo in
 * a config file is a mistake whether or not a flag happens to hide it today.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { isSubdomain } from '../dns/name.js';
import { loopReason } from '../forward/resolvconf.js';
import {
  SERVE_OPTIONS,
  ValueError,
  camelName,
  configFileFormat,
  formatForwardItem,
  formatUpstream,
  type OptionSpec,
  type ParseContext,
  type ServeValues,
} from './options.js';

export { SERVE_OPTIONS } from './options.js';
export type { ForwardZone, ListenAddress, ServeValues, UpstreamAddress } from './options.js';

/** A configuration mistake; `message` is the one line shown to the user (after "etcdns: "). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ServeConfig extends ServeValues {
  /**
   * Names (kebab-case, as in SERVE_OPTIONS) of the options the user set through any source,
   * e.g. to tell a default zones directory from one asked for.
   */
  readonly explicit: ReadonlySet<string>;
}

export interface LoadServeConfigInput {
  /** yargs' parsed argv (only the options the user typed: the yargs builder sets no defaults), or raw flags. */
  readonly argv: Readonly<Record<string, unknown>> | readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths (zones, config) are resolved against this. */
  readonly cwd: string;
}

type Where =
  | { readonly kind: 'flag' }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'file'; readonly file: string; readonly key: string };

interface Given {
  readonly raw: unknown;
  readonly where: Where;
}

const OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS;
const BY_NAME = new Map(OPTIONS.map((o) => [o.name, o]));
const BY_CAMEL = new Map(OPTIONS.map((o) => [camelName(o.name), o]));
const BY_ENV = new Map(OPTIONS.map((o) => [o.env, o]));
const ENV_PREFIX = 'ETCDNS_';

export function loadServeConfig(input: LoadServeConfigInput): ServeConfig {
  const ctx: ParseContext = { cwd: input.cwd };
  const flags = isStringArray(input.argv) ? flagsFromArgs(input.argv) : flagsFromYargs(input.argv);
  const env = fromEnv(input.env);

  // The config file's location comes from a flag or the environment only.
  const configSpec = BY_NAME.get('config')!;
  const configGiven = flags.get('config') ?? env.get('config');
  for (const given of [flags.get('config'), env.get('config')]) if (given) parseGiven(configSpec, given, ctx);
  const file = configGiven ? readConfigFile(configGiven.raw as string, ctx) : new Map<string, Given>();

  const values: Record<string, unknown> = {};
  const explicit: string[] = [];
  for (const spec of OPTIONS) {
    const sources = [flags.get(spec.name), env.get(spec.name), file.get(spec.name)];
    let value: unknown;
    let set = false;
    for (const given of sources) {
      if (!given) continue;
      const parsed = parseGiven(spec, given, ctx);
      if (!set) [value, set] = [parsed, true];
    }
    if (set) explicit.push(spec.name);
    else value = parseDefault(spec, ctx);
    values[spec.key] = deepFreeze(value);
  }
  const config = Object.freeze({ ...values, explicit: frozenSet(explicit) }) as ServeConfig;
  checkCombinations(config);
  return config;
}

/**
 * Rules between options, which no single value can break. Each message names the option the
 * user has to add or change, in its flag form (the same name is the env variable's and the
 * config key's, so the flag is the one spelling that fits every source).
 */
function checkCombinations(c: ServeConfig): void {
  checkForwarding(c);
  checkRateLimit(c);
  const etcd = c.etcd.length > 0;
  if (etcd && c.etcdZone.length === 0) {
    throw new ConfigError('--etcd needs --etcd-zone: name the zones to answer from etcd (e.g. --etcd-zone example.com)');
  }
  if (!etcd && c.etcdZone.length > 0) {
    throw new ConfigError('--etcd-zone needs --etcd: the etcd endpoints to read the zones from (e.g. --etcd http://127.0.0.1:2379)');
  }
  pair(c.etcdCert, '--etcd-cert', c.etcdKey, '--etcd-key');
  pair(c.etcdUsername, '--etcd-username', c.etcdPassword, '--etcd-password');
  if (!etcd) return;
  // The etcd client (etcd3) refuses a mix outright, and with any TLS file it speaks TLS to
  // every endpoint whatever the scheme says: both are caught here, where the message can
  // name the options, rather than as a connection error at runtime.
  const secure = c.etcd.filter((url) => url.startsWith('https:')).length;
  if (secure > 0 && secure < c.etcd.length) {
    throw new ConfigError('--etcd: endpoints mix http:// and https://; use one scheme for all of them');
  }
  if (secure === 0) {
    for (const [value, flag] of [
      [c.etcdCa, '--etcd-ca'],
      [c.etcdCert, '--etcd-cert'],
      [c.etcdKey, '--etcd-key'],
    ] as const) {
      if (value !== undefined) throw new ConfigError(`${flag} is for TLS, but the --etcd endpoints are http://; use https://`);
    }
  }
}

/** Options that mean something only while forwarding is on. */
const FORWARDING_ONLY = [
  'upstream',
  'forward',
  'forward-policy',
  'forward-timeout',
  'forward-max-fails',
  'forward-health-check',
  'forward-max-concurrent',
  'allow-recursion',
  'cache-entries',
  'cache-bytes',
  'cache-max-ttl',
  'cache-max-negative-ttl',
  'serve-stale',
] as const;

/** Options of the forwarding cache, which --cache-entries 0 turns off. */
const CACHE_ONLY = ['cache-bytes', 'cache-max-ttl', 'cache-max-negative-ttl', 'serve-stale'] as const;

/**
 * YAML with warnings treated as errors: the yaml package otherwise prints a warning for, say, an
 * unknown tag (`listen: !foo ...`) and carries on with the value silently changed.
 */
function parseYamlStrictly(body: string): unknown {
  const doc = parseDocument(body, { logLevel: 'silent' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new Error(problem.message);
  return doc.toJS({ maxAliasCount: 100 });
}

function checkRateLimit(c: ServeConfig): void {
  if (c.rateLimit === 0 && c.explicit.has('rate-limit-slip')) {
    throw new ConfigError('--rate-limit-slip has no effect without --rate-limit (response-rate limiting is off)');
  }
}

function checkForwarding(c: ServeConfig): void {
  if (!c.forwarding) {
    // Set but without effect is most likely a mistake in one of the two (a config file
    // meant for another host, a stale variable): say so instead of ignoring it.
    const set = FORWARDING_ONLY.find((name) => c.explicit.has(name));
    if (set) throw new ConfigError(`--${set} has no effect with --no-forwarding (names outside our zones are refused)`);
    return;
  }
  if (c.allowRecursion.length === 0) {
    throw new ConfigError('--allow-recursion is empty, so no client could use forwarding: list the client networks, or use --no-forwarding');
  }
  if (c.cacheEntries === 0) {
    const set = CACHE_ONLY.find((name) => c.explicit.has(name));
    if (set) throw new ConfigError(`--${set} has no effect with --cache-entries 0 (the cache is off)`);
  }
  // Forwarding to ourselves would send each query round until it timed out, every hop
  // adding another query (what CoreDNS's loop plugin exists for).
  for (const upstream of c.upstream) {
    const loop = loopReason(upstream, c.listen);
    if (loop) throw new ConfigError(`--upstream ${JSON.stringify(formatUpstream(upstream))}: ${loop}`);
  }
  for (const { zone, upstreams } of c.forward) {
    for (const upstream of upstreams) {
      const loop = loopReason(upstream, c.listen);
      if (loop) throw new ConfigError(`--forward ${JSON.stringify(formatForwardItem(zone, upstream))}: ${loop}`);
    }
    // Names in our own zones are answered from our data and never forwarded.
    const ours = c.etcdZone.find((z) => isSubdomain(zone, z));
    if (ours !== undefined) {
      throw new ConfigError(`--forward ${JSON.stringify(zone)}: inside --etcd-zone ${ours}, which etcdns answers itself, so it would never be forwarded`);
    }
  }
}

/** Options that only make sense together: naming the one that is missing. */
function pair(a: unknown, aFlag: string, b: unknown, bFlag: string): void {
  if (a !== undefined && b === undefined) throw new ConfigError(`${aFlag} needs ${bFlag}`);
  if (b !== undefined && a === undefined) throw new ConfigError(`${bFlag} needs ${aFlag}`);
}

/**
 * The config as it may be logged: secrets (the etcd password) replaced, `explicit` as an
 * array. Whatever logs the configuration should log this, never the ServeConfig itself.
 */
export function redactConfig(config: ServeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, explicit: [...config.explicit] };
  for (const spec of OPTIONS) if (spec.secret && out[spec.key] !== undefined) out[spec.key] = REDACTED;
  return out;
}

const REDACTED = '[redacted]';

function parseGiven(spec: OptionSpec, given: Given, ctx: ParseContext): unknown {
  // A scalar option repeated on the command line: the last one wins, as with most tools,
  // so that a wrapper script's flag can be overridden by appending another.
  const raw = spec.kind !== 'list' && Array.isArray(given.raw) ? given.raw.at(-1) : given.raw;
  try {
    return spec.parse(raw, ctx);
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    throw new ConfigError(describe(spec, given.where, err.offending ?? raw, err.message));
  }
}

function parseDefault(spec: OptionSpec, ctx: ParseContext): unknown {
  if (spec.default === undefined) return undefined;
  try {
    return spec.parse(spec.default, ctx);
  } catch (err) {
    // A bug in the table, not a user mistake.
    throw new Error(`default of --${spec.name} is invalid: ${(err as Error).message}`);
  }
}

function describe(spec: OptionSpec, where: Where, shown: unknown, problem: string): string {
  const value = spec.secret ? REDACTED : show(shown);
  switch (where.kind) {
    case 'flag':
      return `--${spec.name} ${value}: ${problem}`;
    case 'env':
      return `${where.variable}=${value}: ${problem}`;
    case 'file':
      return `config file ${where.file}: ${where.key} ${value}: ${problem}`;
  }
}

/** A value as it appears in an error line: strings quoted, always one line, never huge. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Flags

function isStringArray(argv: LoadServeConfigInput['argv']): argv is readonly string[] {
  return Array.isArray(argv);
}

/** yargs' own bookkeeping keys. */
const YARGS_KEYS = new Set(['_', '$0']);

function flagsFromYargs(argv: Readonly<Record<string, unknown>>): Map<string, Given> {
  const out = new Map<string, Given>();
  for (const [key, raw] of Object.entries(argv)) {
    if (YARGS_KEYS.has(key) || raw === undefined) continue;
    const spec = BY_NAME.get(key) ?? BY_CAMEL.get(key);
    if (!spec) throw new ConfigError(`unknown option --${key}${suggestion(key, [...BY_NAME.keys()], '--')}`);
    // yargs sets both "edns-udp-size" and "ednsUdpSize"; the kebab key is the one to read.
    if (key === spec.name || !(spec.name in argv)) out.set(spec.name, { raw, where: { kind: 'flag' } });
  }
  return out;
}

/**
 * A small flag parser for callers without yargs (tests, embedding): `--name value`,
 * `--name=value`, `--flag`, `--no-flag`, `--flag=false`. Same meaning as the CLI's.
 */
function flagsFromArgs(args: readonly string[]): Map<string, Given> {
  const collected = new Map<string, unknown[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg === '--') throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    let spec = BY_NAME.get(flag) ?? BY_CAMEL.get(flag);
    let raw: unknown = inline;
    if (!spec && flag.startsWith('no-')) {
      const negated = BY_NAME.get(flag.slice(3));
      if (negated?.kind === 'boolean' && inline === undefined) [spec, raw] = [negated, false];
    }
    if (!spec) throw new ConfigError(`unknown option --${flag}${suggestion(flag, [...BY_NAME.keys()], '--')}`);
    if (raw === undefined) {
      const next = args[i + 1];
      if (spec.kind === 'boolean') {
        // Like yargs: a boolean flag takes a following true/false, and is true on its own.
        if (next === 'true' || next === 'false') [raw, i] = [next, i + 1];
        else raw = true;
      } else {
        if (next === undefined || next.startsWith('--')) throw new ConfigError(`--${spec.name} needs a value`);
        [raw, i] = [next, i + 1];
      }
    }
    const list = collected.get(spec.name) ?? [];
    list.push(raw);
    collected.set(spec.name, list);
  }
  const out = new Map<string, Given>();
  for (const [name, raws] of collected) {
    out.set(name, { raw: raws.length === 1 ? raws[0] : raws, where: { kind: 'flag' } });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Environment

function fromEnv(env: NodeJS.ProcessEnv): Map<string, Given> {
  const out = new Map<string, Given>();
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const spec = BY_ENV.get(variable);
    // Our prefix, so a name we do not know is a typo (or an option of a newer version):
    // say so rather than run with a setting silently ignored.
    if (!spec) throw new ConfigError(`unknown environment variable ${variable}${suggestion(variable, [...BY_ENV.keys()], '')}`);
    out.set(spec.name, { raw, where: { kind: 'env', variable } });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Config file

function readConfigFile(path: string, ctx: ParseContext): Map<string, Given> {
  const label = `config file ${path}`;
  const format = configFileFormat(path);
  let text: string;
  try {
    text = readFileSync(resolve(ctx.cwd, path), 'utf8');
  } catch (err) {
    throw new ConfigError(`${label}: ${fsProblem(err)}`);
  }
  let data: unknown;
  try {
    // Editors on Windows like to start files with a byte-order mark; JSON.parse does not.
    const body = text.replace(/^\uFEFF/, '');
    data = format === 'yaml' ? parseYamlStrictly(body) : JSON.parse(body);
  } catch (err) {
    throw new ConfigError(`${label}: invalid ${format === 'yaml' ? 'YAML' : 'JSON'}: ${firstLine((err as Error).message)}`);
  }
  const out = new Map<string, Given>();
  if (data === null || data === undefined) return out; // an empty YAML file sets nothing
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${label}: must be a mapping of option names to values`);
  }
  for (const [key, raw] of Object.entries(data)) {
    const spec = BY_NAME.get(key) ?? BY_CAMEL.get(key);
    if (!spec) throw new ConfigError(`${label}: unknown key ${JSON.stringify(key)}${suggestion(key, [...BY_NAME.keys()], '')}`);
    if (!spec.inConfigFile) throw new ConfigError(`${label}: key ${JSON.stringify(key)} cannot be set in a config file`);
    const earlier = out.get(spec.name);
    if (earlier?.where.kind === 'file') {
      throw new ConfigError(`${label}: ${JSON.stringify(earlier.where.key)} and ${JSON.stringify(key)} are the same option`);
    }
    out.set(spec.name, { raw, where: { kind: 'file', file: path, key } });
  }
  return out;
}

function fsProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return firstLine((err as Error).message);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** ` (did you mean "listen"?)` when one known name is a likely typo of `word`, else ''. */
function suggestion(word: string, known: readonly string[], prefix: string): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.max(1, Math.floor(word.length / 4));
  return best !== undefined && bestDistance <= limit ? ` (did you mean ${prefix}${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

function deepFreeze<T>(value: T): T {
  // Values are what the parsers build: arrays and plain objects (a --forward entry holds a
  // list of upstreams), so every level is frozen.
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/** Object.freeze does not stop Set.add; this set refuses every change. */
function frozenSet<T>(items: Iterable<T>): ReadonlySet<T> {
  const set = new Set(items);
  const refuse = (): never => {
    throw new TypeError('ServeConfig.explicit is read-only');
  };
  Object.defineProperties(set, { add: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(set);
}

/**
 * Builds the one ServeConfig the server runs with, from flags, ETCDNS_* environment
 * variables and an optional config file (sources.ts), in that order of precedence, over the
 * defaults of the option table (serve-options.ts). Everything is checked here, once, at
 * startup: the rest of the server trusts the result and never reads flags or the environment
 * itself.
 *
 * Every value given is checked, even one that a higher-precedence source overrides: a typo in
 * a config file is a mistake whether or not a flag happens to hide it today.
 */
import { redactUrlCredentials } from '../net.js';
import { ConfigError, ValueError } from './errors.js';
import type { OptionSpec, ParseContext } from './option-spec.js';
import { checkCombinations } from './rules.js';
import { SERVE_OPTIONS, type ServeConfig } from './serve-options.js';
import { readConfigFile, readEnv, readFlags, type Given, type Where } from './sources.js';

export interface LoadServeConfigInput {
  /** yargs' parsed argv (only the options the user typed: the yargs builder sets no defaults), or raw flags. */
  readonly argv: Readonly<Record<string, unknown>> | readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths (zones, config) are resolved against this. */
  readonly cwd: string;
}

const OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS;

export function loadServeConfig(input: LoadServeConfigInput): ServeConfig {
  const ctx: ParseContext = { cwd: input.cwd };
  const flags = readFlags(input.argv);
  const env = readEnv(input.env);

  // The config file's location comes from a flag or the environment only.
  const configSpec = OPTIONS.find((o) => o.name === 'config')!;
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
 * The config as it may be logged: secrets (the etcd password) replaced, `explicit` as an
 * array. Whatever logs the configuration should log this, never the ServeConfig itself.
 */
export function redactConfig(config: ServeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, explicit: [...config.explicit] };
  for (const spec of OPTIONS) {
    if (spec.secret && out[spec.key] !== undefined) out[spec.key] = REDACTED;
    else out[spec.key] = redactValue(out[spec.key]);
  }
  return out;
}

/**
 * Secrets inside values that are not secret as a whole: a TSIG key's secret (bytes: every byte
 * array is one; no option holds other bytes) and the user information of URLs.
 */
function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (ArrayBuffer.isView(value)) return REDACTED;
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)]));
  return value;
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
    throw new Error(`default of --${spec.name} is invalid: ${(err as Error).message}`, { cause: err });
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
  const text = redactUrlCredentials(JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function deepFreeze<T>(value: T): T {
  // Values are what the parsers build: arrays and plain objects (a --forward entry holds a
  // list of upstreams), so every level is frozen. Byte arrays (a TSIG key's secret) cannot
  // be frozen; nothing writes to them.
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
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

/**
 * Where option values come from: flags (yargs' argv, or raw arguments), ETCDNS_* environment
 * variables and the config file. Each source is read into the raw values it gives, keyed by
 * option name and tagged with where each came from, for error messages. A name no option
 * has is an error here, with a suggestion when it looks like a typo; values are not parsed
 * here (load.ts does that, the same way for every source).
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';
import { isKubeletServiceVariable } from './kubelet-env.js';
import { camelName, type OptionSpec, type ParseContext } from './option-spec.js';
import { SERVE_OPTIONS } from './serve-options.js';

export type Where =
  | { readonly kind: 'flag' }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'file'; readonly file: string; readonly key: string };

/** One raw value, as a source gave it, and where it came from. */
export interface Given {
  readonly raw: unknown;
  readonly where: Where;
}

const OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS;
const BY_NAME = new Map(OPTIONS.map((o) => [o.name, o]));
const BY_CAMEL = new Map(OPTIONS.map((o) => [camelName(o.name), o]));
const BY_ENV = new Map(OPTIONS.map((o) => [o.env, o]));
const ENV_PREFIX = 'ETCDNS_';

// ---------------------------------------------------------------------------------------------
// Flags

/** yargs' parsed argv, or raw arguments (see LoadServeConfigInput). */
type Argv = Readonly<Record<string, unknown>> | readonly string[];

/** The flags given, by option name; a flag repeated gives an array. */
export function readFlags(argv: Argv): Map<string, Given> {
  return isStringArray(argv) ? flagsFromArgs(argv) : flagsFromYargs(argv);
}

function isStringArray(argv: Argv): argv is readonly string[] {
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

/** The ETCDNS_* variables set, by option name. */
export function readEnv(env: NodeJS.ProcessEnv): Map<string, Given> {
  const out = new Map<string, Given>();
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const spec = BY_ENV.get(variable);
    // A Kubernetes Service named etcdns puts its address into every pod (service links).
    if (!spec && isKubeletServiceVariable(variable, raw)) continue;
    // Our prefix, so a name we do not know is a typo (or an option of a newer version):
    // say so rather than run with a setting silently ignored.
    if (!spec) throw new ConfigError(`unknown environment variable ${variable}${suggestion(variable, [...BY_ENV.keys()], '')}`);
    out.set(spec.name, { raw, where: { kind: 'env', variable } });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Config file

/** The keys of the config file at `path` (relative to `ctx.cwd`), by option name. */
export function readConfigFile(path: string, ctx: ParseContext): Map<string, Given> {
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

/** Config files are YAML when their name says so; anything else is read as JSON. */
function configFileFormat(path: string): 'yaml' | 'json' {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? 'yaml' : 'json';
}

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

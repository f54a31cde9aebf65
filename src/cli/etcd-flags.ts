/**
 * What the etcd commands (`etcdns records`, `etcdns register`) share: their usage error for a
 * bad or missing value, small flag readers, and the etcd connection flags (--etcd,
 * --etcd-prefix, TLS, auth), with the same names, environment variables and value checks as
 * `etcdns serve`, whose option table they reuse, so one set of ETCDNS_ETCD* variables serves
 * every command.
 */
import type { Options } from 'yargs';
import { ValueError } from '../config/errors.js';
import type { OptionSpec } from '../config/option-spec.js';
import { SERVE_OPTIONS } from '../config/serve-options.js';
import { parseInteger } from '../config/values.js';
import { etcdClientOptions, type EtcdConnection } from '../etcd/client.js';
import { normalizePrefix } from '../skydns/codec.js';
import { EtcdnsError, errorMessage, isEtcdnsError } from '../errors.js';
import { oneLine } from './context.js';
// ---------------------------------------------------------------------------------------------
// Shared by the etcd commands: usage mistakes found after yargs (bad values, missing flags).

/** A bad or missing value: printed as `etcdns: <message>`, exit code 2. Nothing was done. */
export class CommandUsageError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_CLI_VALUE';
}

/** Whether `err` is a CommandUsageError (exit code 2), by its code. */
export function isCommandUsageError(err: unknown): err is CommandUsageError {
  return isEtcdnsError(err, 'ETCDNS_ERR_CLI_VALUE');
}

/** `--flag "value": problem`, the shape `etcdns serve` uses for its option errors. */
export function flagProblem(flag: string, value: unknown, problem: string, secret = false): CommandUsageError {
  return new CommandUsageError(`--${flag} ${secret ? '[redacted]' : show(value)}: ${problem}`);
}

/** A value as it appears in an error line: quoted, one line, never huge. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The last value of a flag given several times (a wrapper's flag can be overridden by appending). */
export function lastValue(raw: unknown): unknown {
  return Array.isArray(raw) ? raw.at(-1) : raw;
}

/** An integer flag, or undefined when absent; errors name the flag. */
export function integerFlag(argv: Record<string, unknown>, flag: string, min: number, max: number): number | undefined {
  const raw = lastValue(argv[flag]);
  if (raw === undefined) return undefined;
  try {
    return parseInteger(raw, min, max);
  } catch (err) {
    if (err instanceof ValueError) throw flagProblem(flag, raw, err.message);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// etcd connection flags

/** The etcd flags, in help order, with the serve option whose parser and env variable they share. */
const CONNECTION_FLAGS: readonly { name: string; describe?: string }[] = [
  {
    name: 'etcd',
    describe: 'etcd endpoints, as http://HOST:PORT or https://HOST:PORT; repeat the flag or separate with commas. Required.',
  },
  { name: 'etcd-prefix', describe: 'etcd key prefix of the records (the server\'s --etcd-prefix, CoreDNS `path`).' },
  { name: 'etcd-ca' },
  { name: 'etcd-cert' },
  { name: 'etcd-key' },
  { name: 'etcd-username' },
  { name: 'etcd-password' },
];

const SPECS: ReadonlyMap<string, OptionSpec> = new Map((SERVE_OPTIONS as readonly OptionSpec[]).map((s) => [s.name, s]));

function sharedSpec(name: string): OptionSpec {
  const spec = SPECS.get(name);
  // A renamed serve option would otherwise surface as a confusing runtime error.
  if (!spec) throw new Error(`BUG: no serve option --${name}`);
  return spec;
}

/** yargs definition of an option shared with serve: its help shows serve's default and variable. */
export function sharedYargsOption(name: string, describe?: string): Options {
  const spec = sharedSpec(name);
  const defaultText = spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? 'none' : String(spec.default);
  const choices = spec.choices ? ` [choices: ${spec.choices.join(', ')}]` : '';
  // Strings, always, as for serve: values are checked by the table's parser, which names the flag.
  return { type: 'string', requiresArg: true, describe: `${describe ?? spec.description}${choices}\n[default: ${defaultText}] [env: ${spec.env}]` };
}

/** yargs definitions of the etcd connection flags. */
export function etcdConnectionYargsOptions(): Record<string, Options> {
  return Object.fromEntries(CONNECTION_FLAGS.map(({ name, describe }) => [name, sharedYargsOption(name, describe)]));
}

export interface EtcdTarget {
  readonly connection: EtcdConnection;
  /** Normalised key prefix (`/skydns`). */
  readonly prefix: string;
}

/**
 * One option shared with `etcdns serve`, from its flag or else its ETCDNS_* variable (a flag
 * wins), else the serve default; parsed and checked by serve's own table entry. Throws
 * CommandUsageError naming the flag or variable.
 */
export function readSharedOption(name: string, argv: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string): unknown {
  const spec = sharedSpec(name);
  const fromFlag = argv[name];
  const fromEnv = env[spec.env];
  let raw: unknown;
  let where: string;
  if (fromFlag !== undefined) {
    raw = spec.kind === 'list' ? fromFlag : lastValue(fromFlag);
    where = `--${name} `;
  } else if (fromEnv !== undefined) {
    raw = fromEnv;
    where = `${spec.env}=`;
  } else {
    if (spec.default === undefined) return undefined;
    raw = spec.default;
    where = `--${name} `;
  }
  try {
    return spec.parse(raw, { cwd });
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    throw new CommandUsageError(`${where}${spec.secret ? '[redacted]' : show(err.offending ?? raw)}: ${err.message}`);
  }
}

/** The etcd connection from flags and ETCDNS_ETCD* variables, checked as `etcdns serve` checks them. */
export function readEtcdTarget(argv: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string): EtcdTarget {
  const values = new Map<string, unknown>();
  for (const { name } of CONNECTION_FLAGS) values.set(name, readSharedOption(name, argv, env, cwd));
  const endpoints = (values.get('etcd') as readonly string[] | undefined) ?? [];
  if (endpoints.length === 0) throw new CommandUsageError('--etcd is required: the etcd endpoints (e.g. --etcd http://127.0.0.1:2379)');
  const get = (name: string) => values.get(name) as string | undefined;
  pair(get('etcd-cert'), '--etcd-cert', get('etcd-key'), '--etcd-key');
  pair(get('etcd-username'), '--etcd-username', get('etcd-password'), '--etcd-password');
  const connection: EtcdConnection = { endpoints: [...endpoints] };
  if (get('etcd-ca') !== undefined) connection.caFile = get('etcd-ca');
  if (get('etcd-cert') !== undefined) connection.certFile = get('etcd-cert');
  if (get('etcd-key') !== undefined) connection.keyFile = get('etcd-key');
  if (get('etcd-username') !== undefined) connection.username = get('etcd-username');
  if (get('etcd-password') !== undefined) connection.password = get('etcd-password');
  try {
    // Checks what only makes sense together (TLS files with http:// endpoints) and reads the
    // PEM files now, so such mistakes are usage errors rather than connection failures later.
    etcdClientOptions(connection);
  } catch (err) {
    throw new CommandUsageError(oneLine(errorMessage(err)));
  }
  return { connection, prefix: normalizePrefix(get('etcd-prefix') ?? '/skydns') };
}

function pair(a: unknown, aFlag: string, b: unknown, bFlag: string): void {
  if (a !== undefined && b === undefined) throw new CommandUsageError(`${aFlag} needs ${bFlag}`);
  if (b !== undefined && a === undefined) throw new CommandUsageError(`${bFlag} needs ${aFlag}`);
}

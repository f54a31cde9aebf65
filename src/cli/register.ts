/**
 * `etcdns register`: registers one instance of a service for a process that cannot use the
 * TypeScript SDK (a Go binary, a Python worker, a database), and stays in the foreground as
 * its registrar: the lease is kept alive and the key re-registered whenever etcd loses it, until
 * SIGTERM/SIGINT, which revokes the lease (the instance leaves DNS at once) and exits 0.
 *
 * Run it next to the process it announces (a sidecar, a second ExecStart, `cmd & etcdns
 * register ...`): when the registrar dies, its lease expires and the instance disappears
 * within the lease TTL, which is the point of a lease.
 *
 * stdout gets one line once registered (the key); everything after that - re-registrations
 * after an etcd outage, a deleted key put back, failures - is logged to stderr.
 */
import { constants as osConstants } from 'node:os';
import type { Argv } from 'yargs';
import { createLogger, type LogFormat, type LogLevel, type Logger } from '../log.js';
import { EtcdRegistry, type Registration, type Registry, type RegistryOptions, type ServiceInstance } from '../registry/index.js';
import { normalizeInstance, resolveOptions } from '../registry/instance.js';
import { classifyHost } from '../skydns/codec.js';
import { errorMessage, isEtcdnsError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine, processSignals, type CliContext } from './context.js';
import {
  CommandUsageError,
  etcdConnectionYargsOptions,
  isCommandUsageError,
  flagProblem,
  integerFlag,
  lastValue,
  readEtcdTarget,
  readSharedOption,
  sharedYargsOption,
  show,
} from './etcd-flags.js';

export interface RegisterDeps {
  /** An initialised registry for these options. Default: a new EtcdRegistry. */
  openRegistry(options: RegistryOptions): Promise<Registry>;
}

export type RegisterContext = CliContext & Partial<RegisterDeps>;

/** What the flags ask for, checked. */
export interface RegisterPlan {
  readonly instance: ServiceInstance;
  readonly options: RegistryOptions;
  /** Take the id over from another live registration instead of failing with a conflict. */
  readonly takeover: boolean;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

/** The `register` command's options, for the top-level parser. */
export function registerOptions(y: Argv): Argv {
  return y
    .usage('$0 register --name SERVICE --host HOST --port PORT --domain DOMAIN --etcd URL [options]')
    .options({
      name: { type: 'string', requiresArg: true, describe: 'Service name, e.g. payments (one or more DNS labels). Required.' },
      host: { type: 'string', requiresArg: true, describe: 'Address clients should connect to: an IP address, or a host name (answered as a CNAME). Required.' },
      port: { type: 'string', requiresArg: true, describe: 'Port clients should connect to (1-65535), answered in SRV records. Required.' },
      domain: {
        type: 'string',
        requiresArg: true,
        describe: 'DNS domain the service lives under (one of the server\'s --etcd-zone), e.g. svc.example.test: SRV at SERVICE.DOMAIN. Required.',
      },
      id: {
        type: 'string',
        requiresArg: true,
        describe: 'Instance id, one DNS label; the instance is ID.SERVICE.DOMAIN. Default: HOSTNAME-PID-RANDOM (a new one per run).',
      },
      ttl: { type: 'string', requiresArg: true, describe: 'DNS TTL of the instance\'s records, in seconds. Default: the server\'s --etcd-default-ttl.' },
      'lease-ttl': {
        type: 'string',
        requiresArg: true,
        describe: 'etcd lease TTL in seconds: how long the instance stays visible after this process dies without unregistering. Default: 10.',
      },
      priority: { type: 'string', requiresArg: true, describe: 'SRV priority, 0-65535 (lower is preferred; 0 is answered as 10).' },
      weight: { type: 'string', requiresArg: true, describe: 'SRV weight, 0-65535 (0 counts as 100 in the percentage split).' },
      meta: { type: 'string', requiresArg: true, describe: 'Metadata KEY=VALUE stored with the instance (SDK discovery sees it, DNS does not); repeat the flag for more.' },
      'port-name': {
        type: 'string',
        requiresArg: true,
        describe: 'RFC 2782 port name, e.g. grpc or http: the instance is then also answered at _NAME._PROTOCOL.SERVICE.DOMAIN SRV.',
      },
      protocol: { type: 'string', requiresArg: true, describe: 'RFC 2782 protocol with --port-name: tcp or udp. Default: tcp.' },
      takeover: {
        type: 'boolean',
        describe: 'If another live process holds this --id, take the key over (it stands back) instead of exiting with a conflict.',
      },
      ...etcdConnectionYargsOptions(),
      'log-level': sharedYargsOption('log-level'),
      'log-format': sharedYargsOption('log-format', 'json (one object per line), pretty (for people), or auto (pretty when stderr is a terminal). Logs go to stderr.'),
    })
    .group(['name', 'host', 'port', 'domain', 'id', 'ttl', 'lease-ttl', 'priority', 'weight', 'meta', 'port-name', 'protocol', 'takeover'], 'Instance:')
    .group(Object.keys(etcdConnectionYargsOptions()), 'etcd connection:')
    .group(['log-level', 'log-format'], 'Logging (stderr):')
    .epilogue(
      'Stays in the foreground, keeping the lease alive and re-registering after etcd outages, until SIGTERM or SIGINT: ' +
        'then it revokes the lease, so the instance leaves DNS at once, and exits 0. ' +
        'The --etcd* options can also be set with the same ETCDNS_* environment variables as "etcdns serve".',
    );
}

/** Flags to a checked plan; throws CommandUsageError naming the flag. */
function readRegisterPlan(argv: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string): RegisterPlan {
  const required = (flag: string, example: string): string => {
    const raw = lastValue(argv[flag]);
    if (raw === undefined) throw new CommandUsageError(`--${flag} is required (e.g. --${flag} ${example})`);
    const text = String(raw).trim();
    if (text === '') throw flagProblem(flag, raw, 'must not be empty');
    return text;
  };
  const service = required('name', 'payments');
  const host = required('host', '10.0.0.5');
  const hostKind = classifyHost(host);
  // classifyHost words its errors for a SkyDNS value ("host: ..."); the flag is named instead.
  if ('error' in hostKind) throw flagProblem('host', host, hostKind.error.replace(/^host: ("[^"]*" )?/, ''));
  const port = integerFlag(argv, 'port', 1, 65535);
  if (port === undefined) throw new CommandUsageError('--port is required (e.g. --port 8443)');
  const domain = required('domain', 'svc.example.test');
  const id = lastValue(argv.id);

  const instance: { -readonly [K in keyof ServiceInstance]: ServiceInstance[K] } = { service, host, port };
  if (id !== undefined) instance.id = String(id);
  const ttl = integerFlag(argv, 'ttl', 1, 2 ** 31 - 1);
  if (ttl !== undefined) instance.ttl = ttl;
  const priority = integerFlag(argv, 'priority', 0, 65535);
  if (priority !== undefined) instance.priority = priority;
  const weight = integerFlag(argv, 'weight', 0, 65535);
  if (weight !== undefined) instance.weight = weight;
  const metadata = readMeta(argv.meta);
  if (metadata !== undefined) instance.metadata = metadata;
  const portName = lastValue(argv['port-name']);
  if (portName !== undefined) instance.portName = String(portName);
  const protocol = lastValue(argv.protocol);
  if (protocol !== undefined) instance.protocol = String(protocol) as 'tcp' | 'udp'; // checked by the registry below

  const target = readEtcdTarget(argv, env, cwd);
  const options: RegistryOptions = { ...target.connection, prefix: target.prefix, domain };
  const leaseTtl = integerFlag(argv, 'lease-ttl', 1, 9_000_000_000);
  if (leaseTtl !== undefined) options.leaseTtlSeconds = leaseTtl;

  // The registry's own checks (label syntax, id form, name length), worded for its API: name
  // the flag that carries the field.
  checkWithRegistry(instance, options);

  return {
    instance,
    options,
    takeover: lastValue(argv.takeover) === true,
    logLevel: readSharedOption('log-level', argv, env, cwd) as LogLevel,
    logFormat: readSharedOption('log-format', argv, env, cwd) as LogFormat,
  };
}

/** `--meta k=v` (repeatable) to an object; undefined when not given. */
function readMeta(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const items = Array.isArray(raw) ? raw : [raw];
  const out: Record<string, string> = {};
  for (const item of items) {
    const text = String(item);
    const eq = text.indexOf('=');
    if (eq <= 0) throw flagProblem('meta', text, 'write KEY=VALUE (repeat --meta for more pairs)');
    const key = text.slice(0, eq);
    if (Object.hasOwn(out, key)) throw flagProblem('meta', text, `key ${show(key)} given twice`);
    out[key] = text.slice(eq + 1);
  }
  return out;
}

/**
 * Which flag a registry validation message is about, by the field it starts with. Messages
 * about several fields at once ("the instance name ... is longer than 255 octets; use a
 * shorter id or service") are shown as they are.
 */
const FIELD_FLAGS: readonly [RegExp, string][] = [
  [/^service\b/, 'name'],
  [/^id\b/, 'id'],
  [/^domain\b/, 'domain'],
  [/^metadata\b/, 'meta'],
  [/^leaseTtlSeconds\b/, 'lease-ttl'],
  [/^ttl\b/, 'ttl'],
  [/^portName\b/, 'port-name'],
  [/^protocol\b/, 'protocol'],
];

function checkWithRegistry(instance: ServiceInstance, options: RegistryOptions): void {
  try {
    // The same normalisation register() runs, without a client or a connection.
    const resolved = resolveOptions(options);
    normalizeInstance(instance, resolved.domain);
  } catch (err) {
    if (!isEtcdnsError(err, 'ETCDNS_ERR_REGISTRY_VALIDATION')) throw err;
    throw usageFromRegistry(err);
  }
}

function usageFromRegistry(err: Error): CommandUsageError {
  const message = oneLine(errorMessage(err)).replace(/^registry: /, '');
  const flag = FIELD_FLAGS.find(([re]) => re.test(message))?.[1];
  return new CommandUsageError(flag ? `--${flag}: ${message}` : message);
}

async function openEtcdRegistry(options: RegistryOptions): Promise<Registry> {
  const registry = new EtcdRegistry();
  await registry.init(options);
  return registry;
}

/** Runs `etcdns register` to the end (a signal); resolves to the exit code. */
export async function register(argv: Record<string, unknown>, ctx: RegisterContext): Promise<number> {
  let plan: RegisterPlan;
  try {
    plan = readRegisterPlan(argv, ctx.env, ctx.cwd);
  } catch (err) {
    if (!isCommandUsageError(err)) throw err;
    ctx.stderr(`etcdns: ${err.message}\n`);
    return EXIT_USAGE;
  }
  // Logs on stderr: stdout carries the one "registered" line, for scripts to read.
  const logger = createLogger({ level: plan.logLevel, format: plan.logFormat, destination: ctx.logDestination ?? process.stderr });

  // Listening before anything slow: a SIGTERM while etcd is still unreachable must stop the
  // waiting, not kill the process with the default action.
  const stop = new AbortController();
  const exit = ctx.exit ?? ((code: number) => process.exit(code));
  let received: NodeJS.Signals | undefined;
  let registered = false;
  const unsubscribe = (ctx.onSignal ?? processSignals)((name) => {
    if (received === undefined) {
      received = name;
      logger.info({ signal: name }, registered ? 'unregistering' : 'stopping');
      stop.abort();
      return;
    }
    logger.warn({ signal: name }, 'second signal: exiting without revoking the lease (the instance expires with its TTL)');
    exit(128 + (osConstants.signals[name] ?? 0));
  });

  let registry: Registry | undefined;
  try {
    registry = await (ctx.openRegistry ?? openEtcdRegistry)({ ...plan.options, logger });
    let registration: Registration;
    try {
      // Waits (and keeps trying, logging why) while etcd is unreachable: no deadline (the SDK's
      // default is 15 s), so only a signal ends the wait of this foreground command.
      registration = await registry.register(plan.instance, { signal: stop.signal, timeoutMs: Infinity, takeover: plan.takeover });
    } catch (err) {
      if (stop.signal.aborted) {
        logger.info('stopped before the instance was registered');
        return EXIT_OK;
      }
      throw err;
    }
    registered = true;
    const leaseId = registration.leaseId();
    ctx.stdout(`registered ${registration.key}${leaseId === undefined ? '' : ` (lease ${leaseId})`}\n`);

    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await registry.unregister(registration);
    } catch (err) {
      // The lease is no longer renewed either way: the instance goes within the lease TTL.
      logger.error(`cannot revoke the lease: ${oneLine(errorMessage(err))}`);
      if (!logger.isLevelEnabled('error')) ctx.stderr(`etcdns: cannot revoke the lease: ${oneLine(errorMessage(err))}\n`);
      return EXIT_FAILURE;
    }
    // The registry logs "unregistered" itself.
    return EXIT_OK;
  } catch (err) {
    // The registry's own checks, at register(): a usage mistake, worded for the flags.
    if (isEtcdnsError(err, 'ETCDNS_ERR_REGISTRY_VALIDATION')) {
      ctx.stderr(`etcdns: ${usageFromRegistry(err).message}\n`);
      return EXIT_USAGE;
    }
    return failure(err, logger, ctx);
  } finally {
    unsubscribe();
    await registry?.close();
  }
}

function failure(err: unknown, logger: Logger, ctx: CliContext): number {
  logger.debug({ err }, 'register failure');
  logger.fatal(`cannot register: ${oneLine(errorMessage(err))}`);
  if (!logger.isLevelEnabled('fatal')) ctx.stderr(`etcdns: cannot register: ${oneLine(errorMessage(err))}\n`);
  return EXIT_FAILURE;
}


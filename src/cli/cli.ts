/**
 * The `etcdns` command line: argument parsing and wiring only. The work is done by the
 * functions passed in (`runServer`, `checkZoneFile`), so tests drive the whole CLI in-process
 * with fakes, and nothing here opens a socket or reads a zone itself.
 *
 * Exit codes: 0 success, 1 failure (server could not start, zone has errors), 2 usage or
 * configuration mistake.
 */
import { packageVersion } from '../version.js';
import { constants as osConstants } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { kubeletServiceVariables } from '../config/kubelet-env.js';
import { loadServeConfig, redactConfig } from '../config/load.js';
import type { ServeConfig } from '../config/serve-options.js';
import { parseName, toPresentation, type Name } from '../dns/name.js';
import { EtcdnsError, errorMessage, isEtcdnsError } from '../errors.js';
import { createLogger, flushLogger, type Logger } from '../log.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine as joinLines, processReload, processSignals, type CheckZoneResult, type CliContext } from './context.js';
import { recordsCommands } from './records.js';
import { register, registerOptions } from './register.js';
import { PRECEDENCE_NOTE, serveOptionsSummary, serveYargsOptions } from './serve-options.js';

/** A mistake in how etcdns was invoked (yargs' parse and checks): printed as one line, exit code 2. */
class UsageError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_CLI_USAGE';
}

const COMMANDS = ['serve', 'check-zone', 'register', 'records'] as const;

/**
 * The configured yargs parser. Command handlers record their exit code in `outcome`, since
 * yargs' parse resolves to argv, not to what a handler returns. Prefer `runCli`.
 */
function buildCli(ctx: CliContext, outcome: { exitCode: number } = { exitCode: EXIT_OK }): Argv {
  const cli = yargs()
    .scriptName('etcdns')
    .usage('$0 <command> [options]')
    // Values stay the strings that were typed: the config loader parses and checks them, and
    // a zone file named "1234" must stay a string.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false });
  // @types/yargs (17) predates usageConfiguration. Types are hidden because every non-boolean
  // option is a yargs string (the loader parses it); the real shape is in each description.
  (cli as Argv & { usageConfiguration(c: { 'hide-types': boolean }): Argv }).usageConfiguration({ 'hide-types': true });

  return cli
    .command(
      'serve',
      'Answer DNS queries for the zones in the zones directory',
      (y) => y.usage('$0 serve [options]').options(serveYargsOptions()).epilogue(PRECEDENCE_NOTE),
      async (argv) => {
        outcome.exitCode = await serve(argv, ctx);
      },
    )
    .command(
      'check-zone <file>',
      'Parse a zone file and report its errors, without serving it',
      (y) =>
        y
          .positional('file', { type: 'string', describe: 'Zone file to check' })
          .option('origin', {
            type: 'string',
            requiresArg: true,
            describe: 'Zone origin, when the file has no $ORIGIN and its name is not the zone name',
          }),
      async (argv) => {
        outcome.exitCode = await checkZone(String(argv.file), lastString(argv.origin), ctx);
      },
    )
    .command(
      'register',
      'Register a service instance in etcd and keep it registered until SIGTERM/SIGINT',
      (y) => registerOptions(y),
      async (argv) => {
        outcome.exitCode = await register(argv, ctx);
      },
    )
    .command('records', 'List, write and delete the DNS records in etcd, by name', (y) => recordsCommands(y, ctx, outcome))
    .demandCommand(1, `missing command (${COMMANDS.join(', ')})`)
    .strict()
    .version(packageVersion())
    .help()
    .epilogue(`${serveOptionsSummary()}\n\n${PRECEDENCE_NOTE}`)
    // Up to 100 columns on a wide terminal (the option names are long), else yargs' usual 80.
    .wrap(Math.min(100, process.stdout.isTTY ? process.stdout.columns : 80))
    .fail((message, error) => {
      // yargs reports its own parse and validation problems with a message; anything else
      // (a bug in a handler) is not a usage error and must not be disguised as one.
      if (message) throw new UsageError(message);
      if (error?.name === 'YError') throw new UsageError(error.message);
      throw error;
    })
    .exitProcess(false);
}

/** Runs the CLI for `args` (without node and script) and resolves to the exit code. */
export async function runCli(args: readonly string[], ctx: CliContext): Promise<number> {
  const outcome = { exitCode: EXIT_OK };
  let output = '';
  try {
    // The parse callback makes yargs hand over --help/--version text instead of printing it.
    await buildCli(ctx, outcome).parseAsync([...args], {}, (_error, _argv, text) => {
      output = text;
    });
  } catch (error) {
    if (!isEtcdnsError(error, 'ETCDNS_ERR_CLI_USAGE')) throw error;
    ctx.stderr(`etcdns: ${usageMessage(error.message, args)}; see "${helpCommand(args)}"\n`);
    return EXIT_USAGE;
  }
  if (output) ctx.stdout(`${output}\n`);
  return outcome.exitCode;
}

/** yargs' message, on one line; an unknown command is called that rather than an "argument". */
function usageMessage(message: string, args: readonly string[]): string {
  const first = args.find((a) => !a.startsWith('-'));
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first) && message === `Unknown argument: ${first}`) {
    return `unknown command ${JSON.stringify(first)} (commands: ${COMMANDS.join(', ')})`;
  }
  return oneLine(message);
}

function helpCommand(args: readonly string[]): string {
  const command = COMMANDS.find((c) => args.includes(c));
  return command ? `etcdns ${command} --help` : 'etcdns --help';
}

function oneLine(message: string): string {
  const text = joinLines(message);
  // yargs capitalises ("Unknown argument: x"); our own messages are lower-case.
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

function lastString(value: unknown): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last === undefined ? undefined : String(last);
}

// ---------------------------------------------------------------------------------------------
// serve

async function serve(argv: Record<string, unknown>, ctx: CliContext): Promise<number> {
  let config: ServeConfig;
  try {
    config = loadServeConfig({ argv, env: ctx.env, cwd: ctx.cwd });
  } catch (error) {
    // Before the logger exists (its level and format are config), so straight to stderr.
    if (isEtcdnsError(error, 'ETCDNS_ERR_CONFIG')) return configFailure(error, ctx);
    throw error;
  }
  const base = createLogger({ level: config.logLevel, format: config.logFormat, destination: ctx.logDestination });
  const logger = ctx.logFields ? base.child(ctx.logFields) : base;
  logger.debug({ config: redactConfig(config) }, 'configuration');
  const serviceLinks = kubeletServiceVariables(ctx.env);
  if (serviceLinks.length > 0) logger.debug({ variables: serviceLinks }, 'ignoring the variables kubelet sets for a Service named etcdns (enableServiceLinks)');

  let server: { close(): Promise<void>; reload?(): Promise<void> };
  try {
    server = await ctx.runServer(config, logger);
  } catch (error) {
    if (isEtcdnsError(error, 'ETCDNS_ERR_CONFIG')) return configFailure(error, ctx);
    const message = errorMessage(error);
    // The message says what went wrong (port in use, permission denied); the stack only
    // matters for bugs, and would bury that line, so it goes to debug.
    logger.debug({ err: error }, 'startup failure');
    logger.fatal(`cannot start: ${message}`);
    // With --log-level silent the reason would vanish; a failed start must always say why.
    if (!logger.isLevelEnabled('fatal')) ctx.stderr(`etcdns: cannot start: ${message}\n`);
    await flushLogger(base);
    return EXIT_FAILURE;
  }

  const stopReloading = (ctx.onReload ?? processReload)(() => {
    server.reload?.().catch((error: unknown) => logger.error({ err: error }, `reload failed: ${errorMessage(error)}`));
  });
  const signal = await firstSignal(ctx, logger);
  stopReloading();
  logger.info({ signal: signal.name }, 'shutting down');
  try {
    await server.close();
  } catch (error) {
    logger.error({ err: error }, `error while shutting down: ${errorMessage(error)}`);
    await flushLogger(base);
    return EXIT_FAILURE;
  } finally {
    signal.unsubscribe();
  }
  logger.info('stopped');
  await flushLogger(base);
  return EXIT_OK;
}

function configFailure(error: EtcdnsError, ctx: CliContext): number {
  ctx.stderr(`etcdns: ${oneLine(error.message)}\n`);
  return EXIT_USAGE;
}

/**
 * Resolves on the first SIGINT/SIGTERM. A second one means "stop now" (a shutdown that
 * hangs, an impatient operator): exit at once with the shell's code for death by signal.
 */
function firstSignal(ctx: CliContext, logger: Logger): Promise<{ name: NodeJS.Signals; unsubscribe: () => void }> {
  const subscribe = ctx.onSignal ?? processSignals;
  const exit = ctx.exit ?? ((code: number) => process.exit(code));
  return new Promise((resolveSignal) => {
    let first: NodeJS.Signals | undefined;
    const unsubscribe = subscribe((name) => {
      if (first === undefined) {
        first = name;
        resolveSignal({ name, unsubscribe: () => unsubscribe() });
        return;
      }
      logger.warn({ signal: name }, 'second signal: exiting without finishing shutdown');
      exit(128 + (osConstants.signals[name] ?? 0));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// check-zone

async function checkZone(file: string, originText: string | undefined, ctx: CliContext): Promise<number> {
  let origin: Name | undefined;
  if (originText !== undefined) {
    const parsed = parseName(originText);
    if ('error' in parsed) {
      ctx.stderr(`etcdns: --origin ${JSON.stringify(originText)}: ${parsed.error}\n`);
      return EXIT_USAGE;
    }
    origin = parsed.name;
  }
  const path = resolve(ctx.cwd, file);
  let result: CheckZoneResult;
  try {
    result = await ctx.checkZoneFile(path, origin);
  } catch (error) {
    ctx.stderr(`etcdns: ${file}: ${oneLine(errorMessage(error))}\n`);
    return EXIT_FAILURE;
  }
  // Paths as the user typed them (or relative to where they are), not absolute.
  const shown = (p: string): string => {
    if (p === path) return file;
    const rel = relative(ctx.cwd, p);
    return isAbsolute(p) && rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
  };
  // Line 0 is a problem with the file as a whole (no SOA, unreadable): no line to point at.
  const where = (p: { file: string; line: number }) => (p.line > 0 ? `${shown(p.file)}:${p.line}` : shown(p.file));
  for (const w of result.warnings) ctx.stdout(`${where(w)}: warning: ${w.message}\n`);
  for (const e of result.errors) ctx.stdout(`${where(e)}: ${e.message}\n`);
  if (!result.ok) {
    if (result.errors.length === 0) ctx.stdout(`${file}: not a valid zone file\n`);
    return EXIT_FAILURE;
  }
  const zone = result.origin ?? origin;
  const records = result.records ?? 0;
  const parts = [`${file}: OK`, ...(zone !== undefined ? [`zone ${toPresentation(zone)}`] : []), `${records} record${records === 1 ? '' : 's'}`];
  ctx.stdout(`${parts.join(', ')}\n`);
  return EXIT_OK;
}

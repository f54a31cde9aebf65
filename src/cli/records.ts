/**
 * `etcdns records list|put|rm`: inspect and edit the SkyDNS records in etcd by DNS name, so
 * that nobody has to know that `www.example.test` lives at `/skydns/test/example/www`.
 *
 * Values are checked with the DNS server's own parser (`parseService`) before anything is
 * written: a record `put` accepts is a record the server answers.
 */
import type { Argv } from 'yargs';
import { parseName, type Name } from '../dns/name.js';
import { createEtcdClient, type EtcdConnection } from '../etcd/client.js';
import { keyToName, nameToKey, parseService, splitKey } from '../skydns/codec.js';
import { errorMessage } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine, type CliContext } from './context.js';
import {
  CommandUsageError,
  etcdConnectionYargsOptions,
  flagProblem,
  integerFlag,
  isCommandUsageError,
  lastValue,
  readEtcdTarget,
  show,
  type EtcdTarget,
} from './etcd-flags.js';

// ---------------------------------------------------------------------------------------------
// The record store: the few etcd operations the commands need, replaceable in tests.

export interface StoredRecord {
  readonly key: string;
  readonly value: Buffer;
}

export interface RecordStore {
  /** The record at `key` (when `self`) and every record below `key/`, in key order. */
  list(key: string, self: boolean): Promise<StoredRecord[]>;
  /** Writes one key; with a lease TTL, under a new lease that is left to expire. Resolves to the lease ID then. */
  put(key: string, value: string, leaseTtlSeconds?: number): Promise<{ leaseId?: string }>;
  /** Deletes `key`, and with `recursive` everything below `key/`; resolves to the deleted keys. */
  remove(key: string, recursive: boolean): Promise<string[]>;
  close(): void;
}

export interface RecordsDeps {
  openRecordStore(connection: EtcdConnection): RecordStore;
}

export type RecordsContext = CliContext & Partial<RecordsDeps>;

/** The real store: one tuned etcd3 client (5 s deadline per call). */
function openEtcdRecordStore(connection: EtcdConnection): RecordStore {
  const client = createEtcdClient(connection);
  const toRecord = (kv: { key: Buffer; value: Buffer }): StoredRecord => ({ key: kv.key.toString('utf8'), value: kv.value });
  return {
    async list(key, self) {
      const [own, below] = await Promise.all([
        self ? client.get(key).exec() : Promise.resolve(undefined),
        client.getAll().prefix(`${key}/`).exec(),
      ]);
      return [...(own?.kvs ?? []), ...below.kvs].map(toRecord);
    },
    async put(key, value, leaseTtlSeconds) {
      if (leaseTtlSeconds === undefined) {
        await client.put(key).value(value);
        return {};
      }
      // No keepalive: the record is meant to vanish when the lease runs out after this
      // process is long gone.
      const lease = client.lease(leaseTtlSeconds, { autoKeepAlive: false });
      try {
        await lease.put(key).value(value);
        return { leaseId: await lease.grant() };
      } finally {
        lease.release();
      }
    },
    async remove(key, recursive) {
      const deleted: string[] = [];
      if (recursive) {
        const below = await client.delete().prefix(`${key}/`).getPrevious();
        deleted.push(...below.map((kv) => kv.key.toString('utf8')));
      }
      const own = await client.delete().key(key).getPrevious();
      deleted.unshift(...own.map((kv) => kv.key.toString('utf8')));
      return deleted;
    },
    close() {
      client.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The commands

/** `records` and its subcommands, for the top-level parser. */
export function recordsCommands(y: Argv, ctx: RecordsContext, outcome: { exitCode: number }): Argv {
  const run = (action: (argv: Record<string, unknown>, ctx: RecordsContext) => Promise<number>) => async (argv: Record<string, unknown>) => {
    outcome.exitCode = await action(argv, ctx);
  };
  return y
    .usage('$0 records <command> [options]')
    .command(
      'list [name]',
      'Print the records at and below NAME (default: all of them), one per line: NAME  VALUE',
      (c) => c.usage('$0 records list [name] [options]').positional('name', { type: 'string', describe: 'DNS name, e.g. example.test' }),
      run(recordsList),
    )
    .command(
      'put <name> <value>',
      'Write one record at NAME; VALUE is SkyDNS JSON, e.g. \'{"host":"10.0.0.1"}\'',
      (c) =>
        c
          .usage('$0 records put <name> <value> [options]')
          .positional('name', { type: 'string', describe: 'DNS name, e.g. www.example.test' })
          .positional('value', { type: 'string', describe: 'JSON object: host, port, priority, weight, text, mail, ttl, targetstrip, group' })
          .option('ttl-lease', {
            type: 'string',
            requiresArg: true,
            describe: 'Put the record under a new lease of this many seconds, so it disappears by itself when that runs out',
          }),
      run(recordsPut),
    )
    .command(
      'rm <name>',
      'Delete the record at NAME (with --recursive, also every record below it)',
      (c) =>
        c
          .usage('$0 records rm <name> [options]')
          .positional('name', { type: 'string', describe: 'DNS name, e.g. www.example.test' })
          // Untyped like serve's booleans: `--recursive=maybe` must be an error, not false.
          .option('recursive', { alias: 'r', describe: 'Also delete every record below NAME' }),
      run(recordsRm),
    )
    .options(etcdConnectionYargsOptions())
    .group(Object.keys(etcdConnectionYargsOptions()), 'etcd connection:')
    .demandCommand(1, 'missing records command (list, put or rm)');
}

/** Runs one records action: usage errors exit 2, etcd failures 1; the store is always closed. */
async function withStore(
  argv: Record<string, unknown>,
  ctx: RecordsContext,
  action: string,
  prepare: (target: EtcdTarget) => (store: RecordStore, target: EtcdTarget) => Promise<number>,
): Promise<number> {
  let target: EtcdTarget;
  let body: (store: RecordStore, target: EtcdTarget) => Promise<number>;
  try {
    target = readEtcdTarget(argv, ctx.env, ctx.cwd);
    body = prepare(target);
  } catch (err) {
    if (!isCommandUsageError(err)) throw err;
    ctx.stderr(`etcdns: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const store = (ctx.openRecordStore ?? openEtcdRecordStore)(target.connection);
  try {
    return await body(store, target);
  } catch (err) {
    if (isCommandUsageError(err)) {
      ctx.stderr(`etcdns: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // etcd and gRPC errors can span lines; every line we print is one line.
    ctx.stderr(`etcdns: records ${action}: etcd ${target.connection.endpoints.join(',')}: ${oneLine(errorMessage(err))}\n`);
    return EXIT_FAILURE;
  } finally {
    store.close();
  }
}

/**
 * A NAME argument as a canonical name whose key round-trips: etcd keys hold only letters,
 * digits, '-', '_' and a lone '*' per segment (CoreDNS joins segments with '.', so anything else
 * could never be found again).
 */
function recordName(raw: unknown, prefix: string): { name: Name; key: string } {
  const text = typeof raw === 'string' ? raw : String(raw ?? '');
  const parsed = parseName(text.trim());
  if ('error' in parsed) throw new CommandUsageError(`name ${show(text)}: ${parsed.error}`);
  if (parsed.name === '') throw new CommandUsageError(`name ${show(text)}: the root has no record (give a name such as www.example.test)`);
  const key = nameToKey(parsed.name, prefix);
  const parts = splitKey(key, prefix);
  if ('error' in parts) throw new CommandUsageError(`name ${show(text)}: ${parts.error}`);
  return { name: parts.name, key };
}

async function recordsList(argv: Record<string, unknown>, ctx: RecordsContext): Promise<number> {
  return withStore(argv, ctx, 'list', (target) => {
    const named = argv.name === undefined ? undefined : recordName(argv.name, target.prefix);
    return async (store) => {
      const records = await store.list(named?.key ?? target.prefix, named !== undefined);
      const rows = records.map((r) => {
        const name = keyToName(r.key, target.prefix);
        const parsed = parseService(r.value);
        const text = r.value.toString('utf8');
        // Valid JSON is shown compact, whatever the writer's layout: one record, one line.
        const value = 'error' in parsed ? `${oneLineText(text)}  # invalid: ${parsed.error}` : compactJson(text);
        return { name: name ?? `${r.key} (key is not a DNS name)`, value };
      });
      const width = Math.max(0, ...rows.map((r) => r.name.length));
      for (const row of rows) ctx.stdout(`${row.name.padEnd(width)}  ${row.value}\n`);
      if (rows.length === 0 && named !== undefined) {
        ctx.stderr(`etcdns: no records at or below ${named.name}\n`);
        return EXIT_FAILURE;
      }
      return EXIT_OK;
    };
  });
}

async function recordsPut(argv: Record<string, unknown>, ctx: RecordsContext): Promise<number> {
  return withStore(argv, ctx, 'put', (target) => {
    const { name, key } = recordName(argv.name, target.prefix);
    const value = String(argv.value);
    const parsed = parseService(Buffer.from(value, 'utf8'));
    if ('error' in parsed) throw new CommandUsageError(`value for ${name}: ${parsed.error}`);
    // 1 s to etcd's own maximum lease TTL (about 285 years).
    const ttl = integerFlag(argv, 'ttl-lease', 1, 9_000_000_000);
    return async (store) => {
      // Stored exactly as typed: unknown fields (external-dns's, metadata) are kept.
      const { leaseId } = await store.put(key, value, ttl);
      const lease = leaseId === undefined ? '' : `, lease ${leaseId} expires in ${ttl}s`;
      ctx.stdout(`${name}  ${key}${lease}\n`);
      return EXIT_OK;
    };
  });
}

async function recordsRm(argv: Record<string, unknown>, ctx: RecordsContext): Promise<number> {
  return withStore(argv, ctx, 'rm', (target) => {
    const { name, key } = recordName(argv.name, target.prefix);
    const recursive = booleanFlag(argv, 'recursive');
    return async (store) => {
      const deleted = await store.remove(key, recursive);
      for (const k of deleted) ctx.stdout(`deleted ${keyToName(k, target.prefix) ?? k}\n`);
      if (deleted.length > 0) return EXIT_OK;
      let hint = '';
      if (!recursive) {
        const below = await store.list(key, false);
        if (below.length > 0) hint = ` (${below.length} record${below.length === 1 ? '' : 's'} below it: add --recursive to delete them)`;
      }
      ctx.stderr(`etcdns: no record named ${name}${hint}\n`);
      return EXIT_FAILURE;
    };
  });
}

/** An untyped yargs flag: `--x` is true, `--no-x` false, `--x=yes|no|true|false|1|0`. */
function booleanFlag(argv: Record<string, unknown>, flag: string): boolean {
  const raw = lastValue(argv[flag]);
  if (raw === undefined || raw === true || raw === false) return raw === true;
  const text = String(raw).toLowerCase();
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no'].includes(text)) return false;
  throw flagProblem(flag, raw, 'must be true or false (or 1/0, yes/no)');
}

function compactJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return oneLineText(text);
  }
}

/** Control characters (newlines above all) escaped, so an odd value cannot break the one-line format. */
function oneLineText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}


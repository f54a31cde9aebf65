/**
 * The checks of a ServeConfig that read files or probe the machine (TSIG key files, etcd's TLS
 * files, the zones directory, the native UDP engine). They run before the server starts anything, so a config
 * mistake exits with a ConfigError naming the option and no socket, watcher or etcd connection
 * has been opened (src/app.test.ts checks it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parseName, toPresentation, type Name } from '../dns/name.js';
import { parseTsigKeyFile, type TsigKey } from '../dns/tsig-key.js';
import { etcdClientOptions, type EtcdConnection } from '../etcd/client.js';
import { EtcdOptionsError } from '../etcd/errors.js';
import { resolveUdpIo } from '../transport/server.js';
import { formatGrant } from '../update/policy.js';
import { ConfigError } from './errors.js';
import type { ServeConfig } from './serve-options.js';

export interface ServerInputs {
  /** --tsig-key and --tsig-key-file, by key name. */
  readonly tsigKeys: ReadonlyMap<Name, TsigKey>;
  /** --notify-key: the key NOTIFY is signed with, one of tsigKeys. */
  readonly notifyKey: TsigKey | undefined;
  /** The zones directory, absolute; undefined when it does not exist and was not asked for. */
  readonly zonesDir: string | undefined;
  /** Why --udp-io auto falls back to dgram (logged), if it does. */
  readonly udpFallback: string | undefined;
  /** How to reach etcd (--etcd and its TLS files and credentials, checked); undefined without --etcd. */
  readonly etcd: EtcdConnection | undefined;
}

export function checkServerInputs(config: ServeConfig): ServerInputs {
  const tsigKeys = loadTsigKeys(config);
  checkUpdates(config, tsigKeys);
  return { tsigKeys, notifyKey: notifyKey(config, tsigKeys), zonesDir: zonesDir(config), udpFallback: udpFallback(config), etcd: etcdConnection(config) };
}

/** DNS UPDATE writes to etcd zones, and each grant names a key the server has. */
function checkUpdates(config: ServeConfig, keys: ReadonlyMap<Name, TsigKey>): void {
  if (config.updatePolicy.length === 0 && config.updateAllow.length === 0) return;
  const option = config.updatePolicy.length > 0 ? '--update-policy' : '--update-allow';
  if (config.etcd.length === 0 || config.etcdZone.length === 0) throw new ConfigError(`${option}: updates are written to etcd zones; set --etcd and --etcd-zone`);
  for (const grant of config.updatePolicy) {
    if (!keys.has(grant.key)) throw new ConfigError(`--update-policy "${formatGrant(grant)}": no --tsig-key or --tsig-key-file key is named ${toPresentation(grant.key)}`);
  }
  if (config.updateLeaseMinMs > config.updateLeaseMaxMs) throw new ConfigError('--update-lease-min is longer than --update-lease-max');
}

/** The flag of each file the etcd client reads, for its error messages. */
const ETCD_FILE_FLAGS: Record<string, string> = { caFile: '--etcd-ca', certFile: '--etcd-cert', keyFile: '--etcd-key' };

/** Reads the PEM files now (as the client will), so a bad one is a config error, not a failed start. */
function etcdConnection(config: ServeConfig): EtcdConnection | undefined {
  if (config.etcd.length === 0) return undefined;
  const connection: EtcdConnection = {
    endpoints: config.etcd,
    caFile: config.etcdCa,
    certFile: config.etcdCert,
    keyFile: config.etcdKey,
    username: config.etcdUsername,
    password: config.etcdPassword,
  };
  try {
    etcdClientOptions(connection);
  } catch (error) {
    if (!(error instanceof EtcdOptionsError)) throw error;
    const message = error.message.replace(/^etcd: /, '').replace(/\b(caFile|certFile|keyFile)\b/, (role) => ETCD_FILE_FLAGS[role]!);
    throw new ConfigError(`--etcd: ${message}`);
  }
  return connection;
}

/** --tsig-key and --tsig-key-file, by key name; a name given twice is a config error. */
function loadTsigKeys(config: ServeConfig): ReadonlyMap<Name, TsigKey> {
  const keys = new Map<Name, TsigKey>();
  const add = (key: TsigKey, where: string) => {
    if (keys.has(key.name)) throw new ConfigError(`${where}: TSIG key "${toPresentation(key.name)}" is defined twice`);
    keys.set(key.name, key);
  };
  for (const key of config.tsigKey) add(key, '--tsig-key');
  if (config.tsigKeyFile !== undefined) {
    let found: TsigKey[];
    try {
      found = parseTsigKeyFile(readFileSync(config.tsigKeyFile, 'utf8'), config.tsigKeyFile);
    } catch (error) {
      throw new ConfigError(`--tsig-key-file: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const key of found) add(key, `--tsig-key-file ${config.tsigKeyFile}`);
  }
  return keys;
}

function notifyKey(config: ServeConfig, keys: ReadonlyMap<Name, TsigKey>): TsigKey | undefined {
  if (config.notifyKey === undefined) return undefined;
  const parsed = parseName(config.notifyKey);
  const key = 'name' in parsed ? keys.get(parsed.name) : undefined;
  if (!key) throw new ConfigError(`--notify-key "${config.notifyKey}": no --tsig-key or --tsig-key-file key has that name`);
  return key;
}

/** A missing default directory is fine (etcd may be the only source); one asked for is not. */
function zonesDir(config: ServeConfig): string | undefined {
  const dir = resolvePath(config.zones);
  if (existsSync(dir)) return dir;
  if (config.explicit.has('zones')) throw new ConfigError(`--zones "${config.zones}": directory does not exist`);
  return undefined;
}

function udpFallback(config: ServeConfig): string | undefined {
  if (config.udpIo === 'dgram') return undefined;
  const io = resolveUdpIo(config.udpIo);
  if (io.engine === 'batch') return undefined;
  if (config.udpIo === 'batch') throw new ConfigError(`--udp-io batch: ${io.why}`);
  return io.why;
}

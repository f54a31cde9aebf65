/**
 * The composition root: builds the server from a validated config. Data flows one way:
 * sources (zone files, the etcd mirror) → record table snapshot → responder (resolve + wire)
 * → transport. Nothing imports this module but the CLI.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, type ServeConfig } from './config/load.js';
import { toPresentation, type Name } from './dns/name.js';
import type { Logger } from './log.js';
import { Metrics, type MirrorStatus } from './ops/metrics.js';
import { OpsServer } from './ops/http.js';
import { chaosNames } from './server/chaos.js';
import { Responder } from './server/responder.js';
import { createEtcdClient } from './sources/etcd/client.js';
import { SkyDnsIndex } from './sources/etcd/index.js';
import { EtcdMirror } from './sources/etcd/mirror.js';
import { ZoneDirectory } from './sources/zonefile/directory.js';
import { layerZones } from './table/layered.js';
import { RecordTable } from './table/table.js';
import { DnsTransport } from './transport/server.js';
import { formatHostPort } from './net.js';
import { packageVersion } from './version.js';

export interface RunningServer {
  /** Where the server listens, as bound (port 0 resolved). */
  readonly addresses: readonly { transport: 'udp' | 'tcp'; host: string; port: number }[];
  close(): Promise<void>;
}

/** Source names, highest precedence first: zone files win over etcd (see table/layered.ts). */
const ZONE_FILES = 'zonefiles';
const ETCD = 'etcd';
const NO_ZONES: ReadonlySet<Name> = new Set();

export async function runServer(config: ServeConfig, logger: Logger, clock: Clock = systemClock): Promise<RunningServer> {
  const table = new RecordTable({ sources: [ZONE_FILES, ETCD], combine: layerZones });
  let servedZones = '';
  table.onSwap((snapshot) => {
    // Every etcd event swaps the snapshot: log only when the set of zones changes.
    const zones = [...snapshot.zones.keys()].map(toPresentation).sort().join(' ');
    if (zones !== servedZones) logger.info({ zones: zones.split(' ').filter(Boolean) }, 'serving zones');
    servedZones = zones;
  });

  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };

  try {
    // Zone files.
    const zonesDir = resolvePath(config.zones);
    if (existsSync(zonesDir)) {
      const zoneDirectory = new ZoneDirectory({
        dir: zonesDir,
        logger: logger.child({ source: 'zonefiles' }),
        clock,
        onChange: (zones) => table.publish(ZONE_FILES, zones),
      });
      await zoneDirectory.start();
      closers.push(() => zoneDirectory.stop());
    } else if (config.explicit.has('zones')) {
      throw new ConfigError(`--zones "${config.zones}": directory does not exist`);
    } else if (config.etcd.length === 0) {
      logger.warn({ dir: zonesDir }, 'no zones directory and no etcd: serving no zones (set --zones or --etcd)');
    }

    // The etcd mirror: one list, then a watch; no etcd read on the query path.
    const etcd = config.etcd.length > 0 ? startEtcd(config, logger, clock, table) : undefined;
    if (etcd) closers.push(() => etcd.close());

    const metrics = new Metrics({ clock, mirror: etcd ? () => etcd.status() : undefined });
    etcd?.setMetrics(metrics);

    const etcdZones: ReadonlySet<Name> = new Set(config.etcdZone);
    const responder = new Responder({
      snapshot: () => table.current,
      logger,
      ednsUdpSize: config.ednsUdpSize,
      chaos: config.chaos ? chaosNames(packageVersion(), etcd ? [['revision.etcdns', () => etcd.describe()]] : []) : undefined,
      logQueries: config.logQueries,
      observe: metrics.observeQuery,
      unavailableZones: etcd ? () => (etcd.servable() ? NO_ZONES : etcdZones) : undefined,
    });

    const ops = new OpsServer({
      healthListen: config.healthListen,
      readyListen: config.readyListen,
      metricsListen: config.metricsListen,
      metrics,
      isReady: () => {
        const reasons: string[] = [];
        if (etcd && !etcd.status().synced) reasons.push('etcd: initial sync not done');
        return { ready: reasons.length === 0, reasons };
      },
      logger: logger.child({ component: 'ops' }),
    });
    const opsAddresses = await ops.listen();
    closers.push(() => ops.close());

    const transport = new DnsTransport({
      handler: responder.handle,
      logger: logger.child({ component: 'transport' }),
      clock,
      options: {
        tcpIdleTimeoutMs: config.tcpIdleTimeoutMs,
        tcpMaxConnections: config.tcpMaxConnections,
        tcpMaxConnectionsPerClient: config.tcpMaxConnectionsPerClient,
        tcpMaxQueriesPerConnection: config.tcpMaxQueriesPerConnection,
        tcpMaxInFlightPerConnection: 32,
      },
    });
    const bound = await transport.listen(config.listen);
    closers.push(() => transport.close());
    const addresses = bound.map((b) => ({ transport: b.transport, host: b.host, port: b.port }));
    logger.info(
      { addresses: addresses.map((a) => `${a.transport}://${formatHostPort(a.host, a.port)}`), ...opsAddresses },
      'listening',
    );

    return {
      addresses,
      async close() {
        ops.setDraining();
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

interface EtcdSource {
  status(): MirrorStatus;
  /** False once etcd has been unreachable longer than --max-stale, or before the first sync. */
  servable(): boolean;
  /** The CHAOS TXT strings of `revision.etcdns`. */
  describe(): string[];
  setMetrics(metrics: Metrics): void;
  close(): Promise<void>;
}

function startEtcd(config: ServeConfig, logger: Logger, clock: Clock, table: RecordTable): EtcdSource {
  const log = logger.child({ source: 'etcd' });
  let metrics: Metrics | undefined;
  const client: Etcd3 = createEtcdClient({
    endpoints: config.etcd,
    caFile: config.etcdCa,
    certFile: config.etcdCert,
    keyFile: config.etcdKey,
    username: config.etcdUsername,
    password: config.etcdPassword,
  });
  const index = new SkyDnsIndex({
    prefix: config.etcdPrefix,
    zones: config.etcdZone,
    defaultTtl: Math.round(config.etcdDefaultTtlMs / 1000),
    // Logged once per key until it changes (the index remembers); counted by reason.
    onInvalid: (key, reason) => {
      log.warn({ key, reason }, 'skipping invalid etcd value');
      metrics?.invalidValue(reason.split(':')[0] ?? 'invalid');
    },
  });
  // Etcd zones exist from the start, empty, so their names get SERVFAIL (not REFUSED) until synced.
  table.publish(ETCD, index.zones);
  const mirror = new EtcdMirror({
    client,
    prefix: `${config.etcdPrefix}/`,
    logger: log,
    clock,
    onBatch: (batch) => table.publish(ETCD, index.apply(batch)),
  });
  mirror.start();

  const status = (): MirrorStatus => {
    const s = mirror.state;
    return {
      connected: s.connected,
      synced: s.synced,
      revision: s.revision,
      lastEventAt: s.lastEventAt,
      lastSyncAt: s.lastSyncAt,
      keys: index.keyCount,
      records: index.recordCount,
      invalid: index.invalidCount,
      relists: s.relists,
    };
  };
  return {
    status,
    servable() {
      const s = mirror.state;
      if (!s.synced) return false;
      if (config.maxStaleMs <= 0 || s.disconnectedSince === undefined) return true;
      return clock.now() - s.disconnectedSince <= config.maxStaleMs;
    },
    describe() {
      const s = mirror.state;
      const since = s.disconnectedSince === undefined ? 0 : (clock.now() - s.disconnectedSince) / 1000;
      return [`revision=${s.revision}`, `synced=${s.synced}`, `connected=${s.connected}`, `keys=${index.keyCount}`, `disconnected-for=${since.toFixed(1)}s`];
    },
    setMetrics(m) {
      metrics = m;
    },
    async close() {
      await mirror.stop();
      client.close();
    },
  };
}

/**
 * The composition root: builds the server from a validated config. Data flows one way:
 * sources (zone files, the etcd mirror) → record table snapshot → handler chain (resolve +
 * wire) → transport. Nothing imports this module but the CLI.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { systemClock, type Clock } from './clock.js';
import { ConfigError } from './config/errors.js';
import type { ServeConfig } from './config/serve-options.js';
import { parseName, toPresentation, type Name } from './dns/name.js';
import { parseTsigKeyFile, type TsigKey } from './dns/tsig-key.js';
import type { Logger } from './log.js';
import { Metrics } from './ops/metrics.js';
import { OpsServer, type OpsUrls, type Readiness } from './ops/http.js';
import { Forwarder } from './forward/forwarder.js';
import { upstreamsFromResolvConf } from './forward/resolvconf.js';
import type { ForwardRoute } from './forward/types.js';
import { queryLog } from './chain/query-log.js';
import { ReplyCache } from './chain/reply-cache.js';
import { TransferJournal } from './transfer/journal.js';
import { NotifySender } from './transfer/notify.js';
import { soaRecord } from './transfer/zone-records.js';
import { zoneSerial } from './table/zone.js';
import { signRequest } from './wire/tsig.js';
import type { QueryObserver } from './chain/request.js';
import { buildChain } from './chain/stages.js';
import { serverChainParts } from './app/chain-parts.js';
import { updateStageOptions } from './app/update.js';
import { ResponseRateLimiter } from './chain/response-rate-limiter.js';
import { warmUpQueryPath } from './chain/warmup.js';
import { createEtcdClient } from './etcd/client.js';
import { SkyDnsIndex } from './sources/etcd/skydns-index.js';
import { EtcdMirror } from './etcd/mirror.js';
import { RevisionWaiter } from './etcd/revision-waiter.js';
import type { EtcdLeaseGrant, EtcdTxn } from './update/writer.js';
import type { MirrorStatus } from './etcd/mirror-status.js';
import { ZoneDirectory } from './sources/zonefile/directory.js';
import { layerZones } from './table/layered.js';
import { RecordTable } from './table/table.js';
import { DnsTransport, resolveUdpIo } from './transport/server.js';
import { formatHostPort } from './net.js';
import type { WorkerLink } from './cluster/worker.js';

export interface RunningServer {
  /** Where the server listens, as bound (port 0 resolved). */
  readonly addresses: readonly { transport: 'udp' | 'tcp'; host: string; port: number }[];
  close(): Promise<void>;
}

/** Source names, highest precedence first: zone files win over etcd (see table/layered.ts). */
const ZONE_FILES = 'zonefiles';
const ETCD = 'etcd';

/**
 * Builds and starts one server process. With `worker`, it is one of `--workers` processes:
 * the primary (cluster/primary.ts) serves /health, /ready and /metrics for all of them, so
 * this process opens no ops listener and reports through the link instead.
 */
export async function runServer(
  config: ServeConfig,
  logger: Logger,
  clock: Clock = systemClock,
  worker?: WorkerLink,
): Promise<RunningServer> {
  const table = new RecordTable({ sources: [ZONE_FILES, ETCD], combine: layerZones });
  // Zone transfers: the journal follows every snapshot; with no client allowed (no network,
  // no key) it keeps no differences, and the transfer stage only counts refusals.
  const tsigKeys = loadTsigKeys(config);
  const transfersAllowed = config.transferAllow.length > 0 || tsigKeys.size > 0;
  const journal = new TransferJournal({ maxEntries: transfersAllowed ? config.ixfrJournal : 0, maxBytes: config.ixfrJournalBytes });
  table.onSwap((snapshot) => journal.observe(snapshot));
  let servedZones = '';
  table.onSwap((snapshot) => {
    // Every etcd event swaps the snapshot: log only when the set of zones changes.
    const zones = [...snapshot.zones.keys()].map(toPresentation).sort().join(' ');
    if (zones !== servedZones) logger.info({ zones: zones.split(' ').filter(Boolean) }, 'serving zones');
    servedZones = zones;
  });

  // The data sources and the forwarder, in the order started; stopped in reverse. The ops and
  // DNS listeners are not in here: a shutdown stops them in an order of its own (see
  // gracefulShutdown), and a failed start closes the ops servers itself.
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  let closeOps: () => Promise<void> = async () => {};
  // Made once the sources run; the NOTIFY sender, started before them, counts through this.
  let transferMetrics: Metrics['transfers'] | undefined;

  try {
    // NOTIFY (RFC 1996): announce each zone's new serial to the secondaries, from the first
    // snapshot on (a secondary that was notified of nothing since our start learns of it too).
    if (config.notify.length > 0) {
      const notifier = startNotify(config, logger, clock, notifyKey(config, tsigKeys), (zone, outcome) => transferMetrics?.notify(toPresentation(zone), outcome));
      closers.push(() => notifier.close());
      const announced = new Map<Name, number>();
      table.onSwap((snapshot) => {
        for (const [origin, zone] of snapshot.zones) {
          const serial = zoneSerial(zone);
          if (announced.get(origin) === serial) continue;
          announced.set(origin, serial);
          notifier.zoneChanged(soaRecord(zone));
        }
      });
    }

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

    let forwarder: Forwarder | undefined;
    const rateLimiter =
      config.rateLimit > 0 ? new ResponseRateLimiter({ responsesPerSecond: config.rateLimit, slip: config.rateLimitSlip, clock }) : undefined;
    const metrics = new Metrics({
      clock,
      journal: () => journal.size(),
      updates: config.updatePolicy.length > 0 || config.updateAllow.length > 0,
      mirror: etcd ? () => etcd.status() : undefined,
      forwardCache: config.forwarding ? () => forwarder?.cacheSize ?? { entries: 0, bytes: 0 } : undefined,
      limits: () => ({
        rateLimitDropped: rateLimiter?.dropped ?? 0,
        rateLimitSlipped: rateLimiter?.slipped ?? 0,
        forwardRefused: forwarder?.refusedOverLimit ?? 0,
      }),
    });
    etcd?.setMetrics(metrics);
    transferMetrics = metrics.transfers;

    // Names outside our zones go upstream, for allowed clients only.
    if (config.forwarding) {
      forwarder = startForwarder(config, logger, clock, metrics);
      closers.push(() => forwarder!.close());
    }

    // The handler chain (chain/stages.ts has the order). A feature that looks at or answers
    // queries is one stage there and one part in app/chain-parts.ts.
    const observers: QueryObserver[] = [metrics.observeQuery, ...(config.logQueries ? [queryLog(logger)] : [])];
    const update = updateStageOptions(config, { etcd, hasZoneFile: (origin) => table.sourceZones(ZONE_FILES).has(origin), tsigKeys, metrics, logger });
    const handler = buildChain(serverChainParts(config, { table, journal, metrics, logger, tsigKeys, rateLimiter, forwarder, etcd, update }), {
      observers,
      advertisedUdpSize: config.ednsUdpSize,
    });

    const isReady = (): Readiness => {
      const reasons: string[] = [];
      if (etcd && !etcd.status().synced) reasons.push('etcd: initial sync not done');
      return { ready: reasons.length === 0, reasons };
    };
    let ops: OpsServer | undefined;
    let opsAddresses: OpsUrls = {};
    if (worker) {
      worker.serve({ metrics: () => metrics.registry.getMetricsAsJSON(), isReady });
      closers.push(() => worker.close());
    } else {
      ops = new OpsServer({
        healthListen: config.healthListen,
        readyListen: config.readyListen,
        metricsListen: config.metricsListen,
        metrics: metrics.registry,
        isReady,
        logger: logger.child({ component: 'ops' }),
      });
      opsAddresses = await ops.listen();
      closeOps = () => ops!.close();
    }

    // Compile the query path before the first client arrives (see warmup.ts); a chain of its
    // own, so that neither metrics, the query log nor the reply cache see made-up queries.
    warmUpQueryPath(
      buildChain({ authoritative: { snapshot: () => table.current, cache: new ReplyCache(), logger } }, { advertisedUdpSize: config.ednsUdpSize }),
      table.current.zones.keys(),
    );

    const udpIo = resolveUdpIo(config.udpIo);
    if (config.udpIo === 'batch' && udpIo.engine !== 'batch') throw new ConfigError(`--udp-io batch: ${udpIo.why}`);
    if (config.udpIo === 'auto' && udpIo.engine === 'dgram') logger.info({ reason: udpIo.why }, 'udp: using dgram');
    const transport = new DnsTransport({
      handler,
      logger,
      clock,
      // In a --workers group every process binds the port itself (SO_REUSEPORT).
      udp: { io: config.udpIo, reusePort: worker !== undefined },
      options: {
        tcpIdleTimeoutMs: config.tcpIdleTimeoutMs,
        tcpMaxConnections: config.tcpMaxConnections,
        tcpMaxConnectionsPerClient: config.tcpMaxConnectionsPerClient,
        tcpMaxQueriesPerConnection: config.tcpMaxQueriesPerConnection,
        tcpMaxInFlightPerConnection: 32,
      },
    });
    // On failure listen() closes whatever it had bound itself: nothing to add to the closers.
    const bound = await transport.listen(config.listen);
    const addresses = bound.map((b) => ({ transport: b.transport, host: b.host, port: b.port }));
    const shown = addresses.map((a) => `${a.transport}://${formatHostPort(a.host, a.port)}`);
    // A worker's line is not "listening": the primary says that once every worker is.
    logger.info({ addresses: shown, udpIo: transport.udpEngine, ...opsAddresses }, worker ? 'worker listening' : 'listening');
    worker?.listening(shown);

    let closing: Promise<void> | undefined;
    return {
      addresses,
      close() {
        closing ??= gracefulShutdown({
          lameduckMs: config.lameduckMs,
          clock,
          logger,
          // A worker has no /ready of its own: the primary drained it before telling us to stop.
          drain: () => ops?.setDraining(),
          stopListening: () => transport.close(),
          stopSources: closeAll,
          stopOps: closeOps,
        });
        return closing;
      },
    };
  } catch (error) {
    await closeOps();
    await closeAll();
    throw error;
  }
}

/** What a graceful shutdown does, step by step; `gracefulShutdown` decides the order. */
export interface ShutdownSteps {
  /** How long to keep answering DNS after `drain` (--lameduck); 0: no wait. */
  readonly lameduckMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** /ready answers 503 from now on; /health stays 200. */
  drain(): void;
  /** Stop accepting queries and answer those in flight (TCP has a grace period). */
  stopListening(): Promise<void>;
  /** The etcd mirror, the forwarder, the zone-file watcher. */
  stopSources(): Promise<void>;
  /** The /health, /ready and /metrics servers. */
  stopOps(): Promise<void>;
}

/**
 * Shuts down without dropping a query (CoreDNS `health { lameduck }`):
 *
 * 1. /ready turns 503 at once, so that Kubernetes (and any load balancer probing it) stops
 *    sending new queries here. Taking a pod out of a Service's endpoints takes a while to
 *    reach every node's kube-proxy, and queries keep arriving meanwhile.
 * 2. For the lameduck period everything keeps working: DNS over UDP and TCP, the etcd mirror
 *    (a record changed now must not be answered stale), forwarding, and /health, which stays
 *    200 so that a liveness probe never kills a pod that is only draining.
 * 3. The DNS listeners close; queries already read over TCP still get their answer.
 * 4. Only then the sources and the forwarder stop: an in-flight query may still need them.
 * 5. The ops servers close last, so /health answers for as long as anything runs.
 */
export async function gracefulShutdown(steps: ShutdownSteps): Promise<void> {
  steps.drain();
  if (steps.lameduckMs > 0) {
    steps.logger.info({ lameduckMs: steps.lameduckMs }, 'lameduck: /ready is 503, still answering');
    await new Promise<void>((resolve) => steps.clock.setTimeout(resolve, steps.lameduckMs));
  }
  steps.logger.info('closing listeners');
  await steps.stopListening();
  await steps.stopSources();
  await steps.stopOps();
}

function startForwarder(config: ServeConfig, logger: Logger, clock: Clock, metrics: Metrics): Forwarder {
  const log = logger.child({ component: 'forward' });
  const routes: ForwardRoute[] = config.forward.map((f) => ({ zone: f.zone, upstreams: f.upstreams }));
  let defaults: readonly { host: string; port: number }[] = config.upstream;
  if (defaults.length === 0) {
    // Like any stub resolver: the machine's /etc/resolv.conf, minus ourselves (a loop).
    let text = '';
    try {
      text = readFileSync(RESOLV_CONF, 'utf8');
    } catch (error) {
      log.warn({ err: error, file: RESOLV_CONF }, 'cannot read resolv.conf for upstreams');
    }
    const found = upstreamsFromResolvConf(text, config.listen);
    for (const s of found.skipped) log.warn({ nameserver: formatHostPort(s.host, s.port), reason: s.reason }, 'not forwarding to this resolv.conf nameserver');
    defaults = found.upstreams;
  }
  if (defaults.length > 0) routes.push({ zone: '', upstreams: defaults });
  else log.warn('no upstream resolvers (set --upstream): names outside our zones get REFUSED');
  log.info({ routes: routes.map((r) => ({ zone: toPresentation(r.zone), upstreams: r.upstreams.map((u) => formatHostPort(u.host, u.port)) })) }, 'forwarding');

  // --cache-entries 0: no cache, but concurrent identical questions still share one query.
  const cached = config.cacheEntries > 0;
  return new Forwarder({
    routes,
    policy: config.forwardPolicy,
    tryTimeoutMs: config.forwardTimeoutMs,
    maxFailures: config.forwardMaxFails,
    healthCheckIntervalMs: config.forwardHealthCheckMs,
    cache: {
      maxEntries: Math.max(1, config.cacheEntries),
      maxBytes: config.cacheBytes,
      maxTtlSeconds: cached ? config.cacheMaxTtlMs / 1000 : 0,
      maxNegativeTtlSeconds: cached ? config.cacheMaxNegativeTtlMs / 1000 : 0,
      staleSeconds: cached ? config.serveStaleMs / 1000 : 0,
    },
    upstreamUdpSize: config.ednsUdpSize,
    maxConcurrent: config.forwardMaxConcurrent,
    clock,
    logger: log,
    observe: metrics.forward,
  });
}

const RESOLV_CONF = '/etc/resolv.conf';

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

/** --notify-key: the key NOTIFY is signed with, one of the TSIG keys. */
function notifyKey(config: ServeConfig, keys: ReadonlyMap<Name, TsigKey>): TsigKey | undefined {
  if (config.notifyKey === undefined) return undefined;
  const parsed = parseName(config.notifyKey);
  const key = 'name' in parsed ? keys.get(parsed.name) : undefined;
  if (!key) throw new ConfigError(`--notify-key "${config.notifyKey}": no --tsig-key or --tsig-key-file key has that name`);
  return key;
}

/** The NOTIFY sender with its UDP sockets: one per address family the targets use. */
function startNotify(
  config: ServeConfig,
  logger: Logger,
  clock: Clock,
  key: TsigKey | undefined,
  count: (zone: Name, outcome: string) => void,
): { zoneChanged: NotifySender['zoneChanged']; close(): void } {
  const sockets: { udp4?: UdpSocket; udp6?: UdpSocket } = {};
  const socketFor = (host: string): UdpSocket => {
    const family = isIPv6(host) ? 'udp6' : 'udp4';
    let socket = sockets[family];
    if (!socket) {
      socket = createSocket(family);
      socket.on('message', (message, from) => sender.receive(message, { address: from.address, port: from.port }));
      socket.on('error', (err) => logger.warn({ err }, 'notify socket error'));
      socket.bind(0);
      sockets[family] = socket;
    }
    return socket;
  };
  const sender: NotifySender = new NotifySender({
    targets: config.notify.map((t) => ({ host: t.host, port: t.port })),
    delayMs: config.notifyDelayMs,
    clock,
    logger: logger.child({ component: 'notify' }),
    socket: { send: (message, port, host) => socketFor(host).send(message, port, host) },
    onEvent: (e) => count(e.zone, e.outcome),
    // RFC 8945 §5.1: a fresh time on every send, retries included.
    sign: key ? (message) => signRequest(message, key, Date.now() / 1000).message : undefined,
  });
  return {
    zoneChanged: (soa) => sender.zoneChanged(soa),
    close() {
      sender.close();
      for (const socket of Object.values(sockets)) socket.close();
    },
  };
}

interface EtcdSource {
  status(): MirrorStatus;
  /** False once etcd has been unreachable longer than --max-stale, or before the first sync. */
  servable(): boolean;
  /** The CHAOS TXT strings of `revision.etcdns`. */
  describe(): string[];
  setMetrics(metrics: Metrics): void;
  /** etcd's transaction and lease-grant RPCs, for DNS UPDATE's writes. */
  readonly txn: EtcdTxn;
  readonly leaseGrant: EtcdLeaseGrant;
  /** True once this replica serves etcd `revision` (read your write), false after READ_YOUR_WRITE_MS. */
  served(revision: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Longest an UPDATE's reply waits for this replica's mirror to serve what it wrote. */
const READ_YOUR_WRITE_MS = 2000;

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
    compat: config.compat,
    // Logged once per key until it changes (the index remembers); counted by reason.
    onInvalid: (key, reason) => {
      log.warn({ key, reason }, 'skipping invalid etcd value');
      metrics?.invalidValue(reason.split(':')[0] ?? 'invalid');
    },
  });
  const served = new RevisionWaiter(clock);
  // Etcd zones exist from the start, empty, so their names get SERVFAIL (not REFUSED) until synced.
  table.publish(ETCD, index.zones);
  const mirror = new EtcdMirror({
    client,
    prefix: `${config.etcdPrefix}/`,
    logger: log,
    clock,
    onBatch: (batch) => {
      table.publish(ETCD, index.apply(batch));
      served.advance(batch.revision);
    },
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
      // Asked once per query for etcd zones: no copy of the mirror's state.
      if (!mirror.isSynced) return false;
      const since = mirror.disconnectedSince;
      if (config.maxStaleMs <= 0 || since === undefined) return true;
      return clock.now() - since <= config.maxStaleMs;
    },
    describe() {
      const s = mirror.state;
      const since = s.disconnectedSince === undefined ? 0 : (clock.now() - s.disconnectedSince) / 1000;
      return [`revision=${s.revision}`, `synced=${s.synced}`, `connected=${s.connected}`, `keys=${index.keyCount}`, `disconnected-for=${since.toFixed(1)}s`];
    },
    setMetrics(m) {
      metrics = m;
    },
    txn: (request) => client.kv.txn(request),
    leaseGrant: async (ttl) => (await client.leaseClient.leaseGrant({ TTL: ttl })).ID,
    served: (revision) => served.reached(revision, READ_YOUR_WRITE_MS),
    async close() {
      await mirror.stop();
      client.close();
    },
  };
}

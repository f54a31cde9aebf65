/**
 * Each subsystem of the server made from the validated config: what to start and with which
 * options. runServer (src/app.ts) decides the order and the Lifecycle stops them in reverse.
 */
import type { QueryObserver } from '../chain/request.js';
import { queryLog } from '../chain/query-log.js';
import { ResponseRateLimiter } from '../chain/response-rate-limiter.js';
import type { Clock } from '../clock.js';
import type { ServeConfig } from '../config/serve-options.js';
import type { ServerInputs } from '../config/server-inputs.js';
import { toPresentation, type Name } from '../dns/name.js';
import { isWeakTsigAlgorithm, type TsigKey } from '../dns/tsig-key.js';
import { defaultUpstreams } from '../forward/default-upstreams.js';
import { Forwarder } from '../forward/forwarder.js';
import type { ForwardRoute } from '../forward/types.js';
import { MIN_OPEN_FILES, openFileLimit, openFileLimitAdvice } from '../fd-limit.js';
import { logLinesDropped, type Logger } from '../log.js';
import { formatHostPort } from '../net.js';
import { OpsServer, type OpsUrls, type Readiness } from '../ops/http.js';
import { Metrics } from '../ops/metrics.js';
import { registerTransportEvents } from '../ops/transport-metrics.js';
import { neverLoaded, readinessReasons } from '../sources/zonefile/file-report.js';
import { zoneChanges } from '../table/zone-changes.js';
import type { EtcdConnection } from '../etcd/client.js';
import type { MirrorStatus } from '../etcd/mirror-status.js';
import { invalidReasonLabel } from '../sources/etcd/invalid-reason.js';
import { oversizeReporter } from '../sources/etcd/oversize.js';
import { EtcdSource } from '../sources/etcd/source.js';
import { updateKeys } from '../update/writer.js';
import { updatesEnabled } from './update.js';
import { ZoneDirectory, type ZoneFileStatus } from '../sources/zonefile/directory.js';
import type { RecordTable } from '../table/table.js';
import { TransferJournal } from '../transfer/journal.js';
import { NotifyService } from '../transfer/notify-service.js';
import { DnsTransport } from '../transport/server.js';
import type { QueryHandler } from '../transport/types.js';
import type { WorkerLink } from '../cluster/worker.js';

/** Source names, highest precedence first: zone files win over etcd (see table/layered.ts). */
export const ZONE_FILES = 'zonefiles';
export const ETCD = 'etcd';

/** The subsystems metrics and readiness read from, as they start (scrapes come later). */
export interface Running {
  etcd?: EtcdSource;
  forwarder?: Forwarder;
  zoneFiles?: ZoneDirectory;
}

/** The IXFR journal, following every snapshot; with no client allowed (no network, no key) it keeps no differences. */
export function transferJournal(config: ServeConfig, inputs: ServerInputs, table: RecordTable): TransferJournal {
  const allowed = config.transferAllow.length > 0 || inputs.tsigKeys.size > 0;
  const journal = new TransferJournal({ maxEntries: allowed ? config.ixfrJournal : 0, maxBytes: config.ixfrJournalBytes });
  table.onSwap((snapshot) => journal.observe(snapshot), 'ixfr-journal');
  return journal;
}

/**
 * Logs each zone that starts or stops being served, then the whole set, whenever the set
 * changes (every etcd event swaps the snapshot; most change no zone).
 */
export function logServedZones(table: RecordTable, logger: Logger): void {
  let served = table.current.zones;
  let zoneSet = table.current.zoneSetGeneration;
  table.onSwap((snapshot) => {
    // The same set of origins (what nearly every etcd change swaps in): nothing to compare.
    const sameSet = snapshot.zoneSetGeneration === zoneSet;
    zoneSet = snapshot.zoneSetGeneration;
    if (sameSet) {
      served = snapshot.zones;
      return;
    }
    const { started, stopped } = zoneChanges(served, snapshot.zones);
    served = snapshot.zones;
    if (started.length === 0 && stopped.length === 0) return;
    for (const z of started) logger.info({ zone: toPresentation(z.zone), source: z.source }, 'zone served');
    for (const zone of stopped) logger.info({ zone: toPresentation(zone) }, 'zone no longer served');
    logger.info({ zones: [...snapshot.zones.keys()].map(toPresentation).sort() }, 'serving zones');
  }, 'zone-log');
}

export function rateLimiterFor(config: ServeConfig, clock: Clock): ResponseRateLimiter | undefined {
  return config.rateLimit > 0 ? new ResponseRateLimiter({ responsesPerSecond: config.rateLimit, slip: config.rateLimitSlip, clock }) : undefined;
}

export function serverMetrics(config: ServeConfig, clock: Clock, journal: TransferJournal, rateLimiter: ResponseRateLimiter | undefined, running: Running, logger: Logger): Metrics {
  return new Metrics({
    clock,
    journal: () => journal.size(),
    updates: config.updatePolicy.length > 0 || config.updateAllow.length > 0,
    mirror: config.etcd.length > 0 ? () => running.etcd?.status() : undefined,
    forwardCache: config.forwarding ? () => running.forwarder?.cacheSize ?? { entries: 0, bytes: 0 } : undefined,
    limits: () => ({
      rateLimitDropped: rateLimiter?.dropped ?? 0,
      rateLimitSlipped: rateLimiter?.slipped ?? 0,
      forwardRefused: running.forwarder?.refusedOverLimit ?? 0,
      logDropped: logLinesDropped(logger),
    }),
    zoneFiles: () => running.zoneFiles?.fileStatus() ?? [],
  });
}

export function queryObservers(config: ServeConfig, metrics: Metrics, logger: Logger): QueryObserver[] {
  return [metrics.observeQuery, ...(config.logQueries ? [queryLog(logger)] : [])];
}

export function startNotify(config: ServeConfig, inputs: ServerInputs, table: RecordTable, metrics: Metrics, logger: Logger, clock: Clock): NotifyService {
  return NotifyService.start({
    targets: config.notify,
    delayMs: config.notifyDelayMs,
    key: inputs.notifyKey,
    onSwap: (listener) => table.onSwap(listener, 'notify'),
    onEvent: (e) => metrics.transfers?.notify(toPresentation(e.zone), e.outcome),
    logger,
    clock,
  });
}

export async function startZoneFiles(dir: string, table: RecordTable, metrics: Metrics, logger: Logger, clock: Clock): Promise<ZoneDirectory> {
  const directory = new ZoneDirectory({
    dir,
    logger: logger.child({ source: 'zonefiles' }),
    clock,
    onChange: (zones) => table.publish(ZONE_FILES, zones),
    onLoadFailed: () => metrics.zoneReloadFailed(),
  });
  await directory.start();
  // The other zones are served; say once, at start, which are not and why (/ready says it too).
  const notServed = neverLoaded(directory.fileStatus());
  if (notServed.length > 0) logger.error({ notServed }, `zones not served: ${notServed.map((n) => `${n.zone} (${n.file}: ${n.reason})`).join('; ')}`);
  return directory;
}

export function startEtcd(config: ServeConfig, connection: EtcdConnection, table: RecordTable, metrics: Metrics, logger: Logger, clock: Clock): EtcdSource {
  return EtcdSource.start({
    connection,
    index: {
      prefix: config.etcdPrefix,
      zones: config.etcdZone,
      defaultTtl: Math.round(config.etcdDefaultTtlMs / 1000),
      compat: config.compat,
      onOversize: oversizeReporter(logger.child({ source: 'etcd' }), () => metrics),
    },
    maxStaleMs: config.maxStaleMs,
    publish: (zones) => table.publish(ETCD, zones),
    // The label is one of a closed set: the reason's text may quote the key.
    onInvalid: (reason) => metrics.invalidValue(invalidReasonLabel(reason)),
    logger: logger.child({ source: 'etcd' }),
    clock,
    // DNS UPDATE reads its record keys from the mirror (src/update/writer.ts).
    keepValues: updatesEnabled(config) ? updateKeys(config.etcdPrefix) : undefined,
  });
}

/** Names outside our zones go upstream, for allowed clients only. */
export function startForwarder(config: ServeConfig, metrics: Metrics, logger: Logger, clock: Clock): Forwarder {
  const log = logger.child({ component: 'forward' });
  const routes: ForwardRoute[] = config.forward.map((f) => ({ zone: f.zone, upstreams: f.upstreams }));
  const defaults = defaultUpstreams({ configured: config.upstream, listen: config.listen, logger: log });
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

/** /ready: not before etcd's initial sync, nor while the mirror lags, nor while a zone file has never loaded. */
export function readiness(
  etcd: { status(): MirrorStatus } | undefined,
  maxLagMs: number,
  clock: Clock,
  zoneFiles?: { fileStatus(): readonly ZoneFileStatus[] },
): () => Readiness {
  return () => {
    const reasons: string[] = [];
    const status = etcd?.status();
    if (status && !status.synced) reasons.push('etcd: initial sync not done');
    // A mirror that cannot keep up serves old data while every other signal says it is fine.
    const behindMs = status?.behindSince === undefined ? 0 : clock.now() - status.behindSince;
    if (status?.synced && maxLagMs > 0 && behindMs > maxLagMs) {
      reasons.push(`etcd: mirror ${status.lagRevisions ?? 0} revisions behind etcd for ${(behindMs / 1000).toFixed(1)}s (over --etcd-max-lag)`);
    }
    if (zoneFiles) reasons.push(...readinessReasons(zoneFiles.fileStatus()));
    return { ready: reasons.length === 0, reasons };
  };
}

/** The /health, /ready and /metrics endpoints; in a --workers worker, the primary serves them. */
export interface Ops {
  readonly urls: OpsUrls;
  drain(): void;
  stop(): Promise<void>;
}

export async function startOps(config: ServeConfig, metrics: Metrics, isReady: () => Readiness, logger: Logger, worker: WorkerLink | undefined): Promise<Ops> {
  if (worker) {
    worker.serve({ metrics: () => metrics.registry.getMetricsAsJSON(), isReady });
    // A worker has no /ready of its own: the primary drained it before telling us to stop.
    return { urls: {}, drain: () => {}, stop: async () => worker.close() };
  }
  const ops = new OpsServer({
    healthListen: config.healthListen,
    readyListen: config.readyListen,
    metricsListen: config.metricsListen,
    metrics: metrics.registry,
    isReady,
    logger: logger.child({ component: 'ops' }),
  });
  const urls = await ops.listen();
  return { urls, drain: () => ops.setDraining(), stop: () => ops.close() };
}

export function dnsTransport(config: ServeConfig, handler: QueryHandler, metrics: Metrics, logger: Logger, clock: Clock, worker: WorkerLink | undefined): DnsTransport {
  return new DnsTransport({
    handler,
    logger,
    clock,
    onEvent: registerTransportEvents(metrics.registry),
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
}


/** RFC 8945 §6 keeps HMAC-MD5 and HMAC-SHA1 for compatibility only: say so at start, per key. */
export function warnWeakTsigKeys(keys: ReadonlyMap<Name, TsigKey>, logger: Logger): void {
  for (const key of keys.values()) {
    if (isWeakTsigAlgorithm(key.algorithm)) logger.warn({ key: toPresentation(key.name), algorithm: key.algorithm }, 'TSIG key uses a weak algorithm (RFC 8945 §6: use hmac-sha256)');
  }
}

/**
 * Warns when the open-file limit is below what the configured limits can use: past it, new TCP
 * connections, zone reloads and etcd reconnects fail with EMFILE under load rather than at start.
 */
export function warnOpenFileLimit(config: ServeConfig, logger: Logger, limit: number | undefined = openFileLimit()): void {
  const needed = MIN_OPEN_FILES + config.tcpMaxConnections;
  if (limit !== undefined && limit < needed) logger.warn({ limit, needed, tcpMaxConnections: config.tcpMaxConnections }, openFileLimitAdvice(limit, needed));
}

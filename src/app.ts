/**
 * The composition root: builds the server from a validated config. Data flows one way:
 * sources (zone files, the etcd mirror) → record table snapshot → handler chain (resolve +
 * wire) → transport. Each subsystem is made in app/subsystems.ts and owns its start and stop;
 * this file says in which order they start (they stop in reverse). Nothing imports this module
 * but the CLI.
 */
import { resolve as resolvePath } from 'node:path';
import { systemClock, type Clock } from './clock.js';
import { buildChain } from './chain/stages.js';
import { warmUpQueryPath } from './chain/warmup.js';
import { ReplyCache } from './chain/reply-cache.js';
import { checkServerInputs } from './config/server-inputs.js';
import type { ServeConfig } from './config/serve-options.js';
import type { WorkerLink } from './cluster/worker.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './log.js';
import type { Readiness } from './ops/http.js';
import { formatHostPort } from './net.js';
import { layerZones } from './table/layered.js';
import { RecordTable } from './table/table.js';
import { serverChainParts } from './app/chain-parts.js';
import { updateStageOptions } from './app/update.js';
import * as sub from './app/subsystems.js';
import { startUpCollection } from './app/start-up-gc.js';
import { warmUpWhenReady, type WarmUpWhenReady } from './app/warm-up.js';

export interface RunningServer {
  /** Where the server listens, as bound (port 0 resolved). */
  readonly addresses: readonly { transport: 'udp' | 'tcp'; host: string; port: number }[];
  close(): Promise<void>;
  /** Reads the zone files again (SIGHUP). */
  reload(): Promise<void>;
}

/**
 * Builds and starts one server process. With `worker`, it is one of `--workers` processes:
 * the primary (cluster/primary.ts) serves /health, /ready and /metrics for all of them, so
 * this process opens no ops listener and reports through the link instead.
 */
export async function runServer(config: ServeConfig, logger: Logger, clock: Clock = systemClock, worker?: WorkerLink): Promise<RunningServer> {
  // Every check that can fail as a ConfigError, before anything opens a socket, watcher or connection.
  const inputs = checkServerInputs(config);
  const table = new RecordTable({
    sources: [sub.ZONE_FILES, sub.ETCD],
    combine: layerZones,
    onListenerError: (listener, err) => logger.error({ err, listener }, 'record table listener threw'),
  });
  const journal = sub.transferJournal(config, inputs, table);
  sub.logServedZones(table, logger);
  const rateLimiter = sub.rateLimiterFor(config, clock);
  const running: sub.Running = {};
  const metrics = sub.serverMetrics(config, clock, journal, rateLimiter, running, logger);
  sub.warnWeakTsigKeys(inputs.tsigKeys, logger);
  sub.warnOpenFileLimit(config, logger);

  // Sources and the forwarder, stopped in reverse by `services`; the ops endpoints stop after
  // them and the DNS listeners before them (see gracefulShutdown).
  const services = new Lifecycle((name, err) => logger.error({ err, subsystem: name }, 'stopping failed'));
  let ops: sub.Ops | undefined;
  let warm: WarmUpWhenReady | undefined;
  try {
    if (config.notify.length > 0) await services.start('notify', () => sub.startNotify(config, inputs, table, metrics, logger, clock), (n) => n.stop());
    const { zonesDir, etcd } = inputs;
    let zoneFiles: { rescan(): Promise<void> } | undefined;
    if (zonesDir !== undefined) zoneFiles = running.zoneFiles = await services.start('zonefiles', () => sub.startZoneFiles(zonesDir, table, metrics, logger, clock), (z) => z.stop());
    else if (!etcd) logger.warn({ dir: resolvePath(config.zones) }, 'no zones directory and no etcd: serving no zones (set --zones or --etcd)');
    if (etcd) running.etcd = await services.start('etcd', () => sub.startEtcd(config, etcd, table, metrics, logger, clock), (e) => e.stop());
    if (config.forwarding) running.forwarder = await services.start('forwarder', () => sub.startForwarder(config, metrics, logger, clock), (f) => f.close());

    const update = updateStageOptions(config, { etcd: running.etcd, zoneFile: (origin) => table.sourceZones(sub.ZONE_FILES).get(origin), metrics, logger });
    const parts = serverChainParts(config, { table, journal, metrics, logger, clock, tsigKeys: inputs.tsigKeys, rateLimiter, update, ...running });
    const handler = buildChain(parts, { observers: sub.queryObservers(config, metrics, logger), advertisedUdpSize: config.ednsUdpSize });
    // Compile the query path before the first client arrives (see chain/warmup.ts), once the
    // sources are ready (app/warm-up.ts): the server's own answering stages (its reply cache, its
    // load spreading), so that the code compiled is the code that runs, but no observer (metrics,
    // the query log), no rate limiter (whose state the warm-up queries would fill) and no
    // forwarder (which would send them upstream). The second chain's cache keeps nothing (every
    // reply is larger than 1 byte): it resolves every time.
    const { authoritative, spread, nsid } = parts;
    const warmOptions = { advertisedUdpSize: config.ednsUdpSize };
    const resolving = { ...authoritative, cache: new ReplyCache({ maxBytes: 1 }) };
    const warmChains = [buildChain({ authoritative, spread, nsid }, warmOptions), buildChain({ authoritative: resolving, spread, nsid }, warmOptions)];
    const gc = (globalThis as { gc?: () => void }).gc;
    warm = warmUpWhenReady({
      readiness: sub.readiness(running.etcd, config.etcdMaxLagMs, clock, running.zoneFiles),
      table,
      clock,
      // Timed in the debug log: the two steps between "sources ready" and /ready.
      warmUp: timed(clock, logger, 'query path warmed up', () => warmUpQueryPath(warmChains, table.current.zones.values())),
      collectGarbage: gc && timed(clock, logger, 'start-up garbage collected', startUpCollection(gc)),
    });
    const serving = readyOnceListening(warm.readiness);
    ops = await sub.startOps(config, metrics, serving.readiness, logger, worker);

    if (inputs.udpFallback !== undefined && config.udpIo === 'auto') logger.info({ reason: inputs.udpFallback }, 'udp: using dgram');
    const transport = sub.dnsTransport(config, handler, metrics, logger, clock, worker);
    // On failure listen() closes whatever it had bound itself: nothing to add to `services`.
    const addresses = (await transport.listen(config.listen)).map((b) => ({ transport: b.transport, host: b.host, port: b.port }));
    serving.listening();
    const shown = addresses.map((a) => `${a.transport}://${formatHostPort(a.host, a.port)}`);
    // A worker's line is not "listening": the primary says that once every worker is.
    logger.info({ addresses: shown, udpIo: transport.udpEngine, ...ops.urls }, worker ? 'worker listening' : 'listening');
    worker?.listening(shown);

    const o = ops;
    let closing: Promise<void> | undefined;
    const w = warm;
    const stopSources = () => {
      w.stop();
      return services.stop();
    };
    const steps = { lameduckMs: config.lameduckMs, clock, logger, drain: () => o.drain(), stopListening: () => transport.close(), stopSources, stopOps: () => o.stop() };
    // SIGHUP: read the zone files again now (they are also watched and polled); the
    // listeners stay open, so no query is dropped, and etcd data is followed anyway.
    const reload = async () => {
      logger.info({ zoneFiles: zoneFiles !== undefined }, 'SIGHUP: reloading zone files');
      await zoneFiles?.rescan();
    };
    return { addresses, close: () => (closing ??= gracefulShutdown(steps)), reload };
  } catch (error) {
    warm?.stop();
    await ops?.stop();
    await services.stop();
    throw error;
  }
}

/**
 * /ready means "send me queries": not before every DNS listener is bound. The ops endpoints
 * open first (so that /health answers during a long etcd sync), and binding UDP and TCP takes
 * a few turns of the event loop in which a probe could otherwise find the sources ready.
 */
function readyOnceListening(sourcesReady: () => Readiness): { readiness: () => Readiness; listening(): void } {
  let listening = false;
  return {
    readiness: () => {
      const r = sourcesReady();
      return listening ? r : { ready: false, reasons: ['dns: listeners not bound yet', ...r.reasons] };
    },
    listening: () => {
      listening = true;
    },
  };
}

/** `run`, its duration logged at debug level with `message`. */
function timed(clock: Clock, logger: Logger, message: string, run: () => object | void): () => void {
  return () => {
    const started = clock.now();
    const result = run();
    logger.debug({ ms: clock.now() - started, ...result }, message);
  };
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
    // Said in full: whoever pressed Ctrl-C sees why nothing happens for a while, and how to skip it.
    steps.logger.info(
      { lameduckMs: steps.lameduckMs },
      `draining for ${steps.lameduckMs / 1000}s (--lameduck): /ready is 503, DNS still answered; a second Ctrl-C (or SIGTERM) exits at once`,
    );
    await new Promise<void>((resolve) => steps.clock.setTimeout(resolve, steps.lameduckMs));
  }
  steps.logger.info('closing listeners');
  await steps.stopListening();
  await steps.stopSources();
  await steps.stopOps();
}

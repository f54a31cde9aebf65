/**
 * `--workers N`: N processes answering DNS on the same port, through Node's cluster module.
 *
 * UDP: with the batched engine (transport/udp-batch.ts) on a fixed port, each worker binds the
 * port itself with SO_REUSEPORT and the kernel hashes each client to one worker. Otherwise (dgram:
 * Node 20's has no SO_REUSEPORT; or port 0) and for TCP the sockets are the cluster's: the primary
 * binds each listen address once and hands the same file descriptor to every worker; the kernel
 * gives each datagram (and each accepted connection) to whichever worker reads first. TCP uses
 * SCHED_NONE: with Node's default round-robin, the primary would accept every connection and
 * pass it over IPC.
 *
 * Each worker is a whole etcdns (app.ts's runServer): its own zone-file watcher, etcd mirror
 * and forwarding cache, like replicas that happen to share a socket. Nothing is shared between
 * them but the listen sockets, so nothing on the query path crosses a process boundary. The
 * primary answers no DNS itself. It:
 *
 * - serves /health, /ready and /metrics for all: /ready is 200 only while every worker is
 *   running and ready; /metrics merges the workers' metrics with prom-client's
 *   AggregatorRegistry (each metric says how: summed, min, max, first);
 * - restarts a worker that exits while not asked to, with a growing delay;
 * - on shutdown turns /ready to 503 at once, then asks every worker to shut down (each waits
 *   out --lameduck and closes gracefully) and exits once they all have.
 */
import cluster, { type Worker } from 'node:cluster';
import { Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { ServeConfig } from '../config/serve-options.js';
import type { Logger } from '../log.js';
import { OpsServer, type Readiness } from '../ops/http.js';
import { aggregateWorkerMetrics } from '../ops/worker-merge.js';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './protocol.js';

/** How long a scrape waits for each worker's metrics; a stuck worker must not hang /metrics. */
const METRICS_TIMEOUT_MS = 3000;
/**
 * Restart delays double from 250 ms to 30 s; a worker that ran RESTART_RESET_AFTER_MS starts
 * over. No jitter: one primary restarts its own workers, there is no fleet to spread out.
 */
const RESTART_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, jitter: 'none' };
const RESTART_RESET_AFTER_MS = 60_000;
/**
 * After the lameduck, a worker's TCP connections get the transport's grace (5 s) and its
 * sources a moment to stop; beyond this it is killed.
 */
const SHUTDOWN_SLACK_MS = 15_000;

/** One worker position; a restarted worker takes over the slot of the one that died. */
export interface WorkerSlot {
  readonly index: number;
  worker?: Worker | undefined;
  /** The worker's last readiness report; undefined before its first. */
  readiness?: Readiness | undefined;
  /** Consecutive unexpected exits; sets the restart delay. */
  failures: number;
  startedAt: number;
  restartTimer?: Timer;
}

/** /ready of the whole: ready only when every slot has a running worker that says it is ready. */
export function clusterReadiness(slots: readonly Pick<WorkerSlot, 'index' | 'worker' | 'readiness'>[]): Readiness {
  const reasons: string[] = [];
  for (const slot of slots) {
    const name = `worker ${slot.index + 1}`;
    if (!slot.worker) reasons.push(`${name}: not running (restarting)`);
    else if (!slot.readiness) reasons.push(`${name}: starting`);
    else if (!slot.readiness.ready) reasons.push(...slot.readiness.reasons.map((r) => `${name}: ${r}`));
  }
  return { ready: reasons.length === 0, reasons };
}

/** The delay before restarting a worker after `failures` unexpected exits in a row (1-based). */
export function restartDelayMs(failures: number): number {
  return backoffDelay(RESTART_BACKOFF, failures - 1);
}

export interface RunningCluster {
  readonly addresses: readonly { transport: 'udp' | 'tcp'; host: string; port: number }[];
  close(): Promise<void>;
  /** SIGHUP: every worker reloads its zone files (each gets a SIGHUP of its own). */
  reload(): Promise<void>;
}

/**
 * Starts `config.workers` workers (each runs the same command line: the CLI sees that it is
 * a cluster worker) and the ops endpoints. Resolves once every worker listens; rejects, with
 * every worker stopped, if one exits first.
 */
export async function runCluster(config: ServeConfig, logger: Logger, clock: Clock = systemClock): Promise<RunningCluster> {
  const log = logger.child({ component: 'cluster' });
  // Frozen by Node at the first fork: set before it.
  cluster.schedulingPolicy = cluster.SCHED_NONE;

  const slots: WorkerSlot[] = Array.from({ length: config.workers }, (_, index) => ({ index, failures: 0, startedAt: 0 }));
  let stopping = false;
  // Until every worker listens, an exit fails the start rather than being restarted.
  let started = false;
  const exited = new Map<Worker, Promise<number | null>>();
  const pendingMetrics = new Map<number, (m: WorkerMessage & { etcdns: 'metrics' }) => void>();
  let nextMetricsId = 1;

  const own = new Registry();
  new Gauge({
    name: 'etcdns_cluster_workers',
    help: 'Worker processes running (--workers).',
    registers: [own],
    collect() {
      this.set(slots.filter((s) => s.worker).length);
    },
  });
  const restarts = new Counter({
    name: 'etcdns_cluster_worker_restarts_total',
    help: 'Workers started again after exiting without being asked to.',
    registers: [own],
  });

  const askMetrics = (worker: Worker): Promise<MetricObjectWithValues<MetricValue<string>>[] | undefined> =>
    new Promise((resolve) => {
      const id = nextMetricsId++;
      const timer = clock.setTimeout(() => {
        pendingMetrics.delete(id);
        log.warn({ worker: worker.id }, 'worker did not send its metrics in time: left out of this scrape');
        resolve(undefined);
      }, METRICS_TIMEOUT_MS);
      pendingMetrics.set(id, (reply) => {
        clock.clearTimeout(timer);
        pendingMetrics.delete(id);
        if (reply.error !== undefined) log.warn({ worker: worker.id, error: reply.error }, 'worker could not collect its metrics');
        resolve(reply.metrics as MetricObjectWithValues<MetricValue<string>>[] | undefined);
      });
      send(worker, { etcdns: 'metrics', id });
    });

  const ops = new OpsServer({
    healthListen: config.healthListen,
    readyListen: config.readyListen,
    metricsListen: config.metricsListen,
    isReady: () => clusterReadiness(slots),
    metrics: {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      async metrics() {
        const running = slots.flatMap((s) => (s.worker ? [s.worker] : []));
        const perWorker = (await Promise.all(running.map(askMetrics))).filter((m) => m !== undefined);
        return Registry.merge([aggregateWorkerMetrics(perWorker), own]).metrics();
      },
    },
    logger: logger.child({ component: 'ops' }),
  });
  const opsAddresses = await ops.listen();

  const fork = (slot: WorkerSlot): Worker => {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.readiness = undefined;
    slot.startedAt = clock.now();
    exited.set(
      worker,
      new Promise((resolve) => {
        worker.once('exit', (code, signal) => {
          exited.delete(worker);
          onExit(slot, worker, code, signal);
          resolve(code);
        });
      }),
    );
    // An IPC send to a worker that just died fails here rather than as an uncaught 'error'.
    worker.on('error', (error) => log.debug({ err: error, worker: worker.id }, 'worker channel error'));
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.etcdns === 'readiness') slot.readiness = { ready: message.ready, reasons: message.reasons };
      else if (message.etcdns === 'metrics') pendingMetrics.get(message.id)?.(message);
    });
    return worker;
  };

  const onExit = (slot: WorkerSlot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.readiness = undefined;
    if (stopping || !started) return;
    slot.failures = clock.now() - slot.startedAt > RESTART_RESET_AFTER_MS ? 1 : slot.failures + 1;
    const delayMs = restartDelayMs(slot.failures);
    log.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited unexpectedly; restarting it');
    slot.restartTimer = clock.setTimeout(() => {
      slot.restartTimer = undefined;
      if (stopping) return;
      restarts.inc();
      fork(slot);
    }, delayMs);
  };

  // Start: every worker must come up, or none stays.
  let addresses: string[];
  try {
    const listening = slots.map((slot) => waitListening(fork(slot)));
    addresses = (await Promise.all(listening))[0]!;
  } catch (error) {
    stopping = true;
    for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    await Promise.all(exited.values());
    await ops.close();
    throw error;
  }
  started = true;
  logger.info({ addresses, workers: config.workers, ...opsAddresses }, 'listening');

  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    ops.setDraining();
    stopping = true;
    for (const slot of slots) clock.clearTimeout(slot.restartTimer);
    const running = slots.flatMap((s) => (s.worker ? [s.worker] : []));
    const codes = running.map((w) => exited.get(w) ?? Promise.resolve(w.process.exitCode));
    for (const worker of running) send(worker, { etcdns: 'shutdown' });
    const killTimer = clock.setTimeout(() => {
      for (const worker of running) {
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) continue;
        log.warn({ worker: worker.id }, 'worker still running after the lameduck and grace: killing it');
        worker.process.kill('SIGKILL');
      }
    }, config.lameduckMs + SHUTDOWN_SLACK_MS);
    const results = await Promise.all(codes);
    clock.clearTimeout(killTimer);
    await ops.close();
    const failed = results.map((code, i) => ({ code, worker: running[i]! })).filter((r) => r.code !== 0);
    if (failed.length > 0) {
      throw new Error(`worker ${failed.map((f) => `${f.worker.id} exited with ${f.code ?? f.worker.process.signalCode}`).join(', ')} while shutting down`);
    }
  };

  return {
    addresses: addresses.map(parseShownAddress),
    close() {
      closing ??= shutdown();
      return closing;
    },
    async reload() {
      for (const slot of slots) {
        const w = slot.worker;
        if (w && w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGHUP');
      }
    },
  };
}

function send(worker: Worker, message: PrimaryMessage): void {
  if (!worker.isConnected()) return;
  worker.send(message, undefined, () => {});
}

/** Resolves with the worker's addresses when it listens; rejects if it exits first. */
function waitListening(worker: Worker): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!isWorkerMessage(message) || message.etcdns !== 'listening') return;
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      resolve([...message.addresses]);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      worker.off('message', onMessage);
      reject(new Error(`worker ${worker.id} exited (${code ?? signal}) before listening; its log says why`));
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

/** `udp://127.0.0.1:53` / `tcp://[::1]:53` back into parts. */
function parseShownAddress(shown: string): { transport: 'udp' | 'tcp'; host: string; port: number } {
  const match = /^(udp|tcp):\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(shown);
  if (!match) throw new Error(`unexpected address from a worker: ${shown}`);
  return { transport: match[1] as 'udp' | 'tcp', host: match[2]!, port: Number(match[3]) };
}

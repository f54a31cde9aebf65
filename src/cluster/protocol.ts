/**
 * The messages between the `--workers` primary and its workers, over Node's cluster IPC
 * channel. Every message carries `etcdns` with its kind, so that anything else on the channel
 * (Node's own cluster messages use `cmd: 'NODE_...'`) is told apart at once.
 */
import type { Readiness } from '../ops/http.js';

/** Worker → primary. */
export type WorkerMessage =
  /** Bound and answering; `addresses` as the listening log line shows them. */
  | { readonly etcdns: 'listening'; readonly addresses: readonly string[] }
  /** Sent when it changes (and once at start): what the worker's own /ready would say. */
  | { readonly etcdns: 'readiness'; readonly ready: boolean; readonly reasons: readonly string[] }
  /** The answer to a metrics request: prom-client's getMetricsAsJSON(), or why not. */
  | { readonly etcdns: 'metrics'; readonly id: number; readonly metrics?: unknown[]; readonly error?: string };

/** Primary → worker. */
export type PrimaryMessage =
  /** Shut down as on SIGTERM: lameduck, close the listeners, stop the sources, exit 0. */
  | { readonly etcdns: 'shutdown' }
  | { readonly etcdns: 'metrics'; readonly id: number };

const WORKER_KINDS = new Set(['listening', 'readiness', 'metrics']);
const PRIMARY_KINDS = new Set(['shutdown', 'metrics']);

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && WORKER_KINDS.has((m as { etcdns?: unknown }).etcdns as string);
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return typeof m === 'object' && m !== null && PRIMARY_KINDS.has((m as { etcdns?: unknown }).etcdns as string);
}

export function readinessMessage(r: Readiness): WorkerMessage {
  return { etcdns: 'readiness', ready: r.ready, reasons: [...r.reasons] };
}

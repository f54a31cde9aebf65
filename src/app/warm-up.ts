/**
 * When the server warms up (chain/warmup.ts) and collects the garbage of starting: once, as soon
 * as its sources are ready (zone files loaded, the etcd mirror's initial sync done), and in any
 * case before /ready first says so. Not earlier: an etcd-backed server has no names to ask
 * before its sync, and the sync's garbage (100k keys: ~40 MB) is what most needs collecting.
 *
 * The collection: what starting left behind (zone text parsed, an etcd list's responses, the
 * warm-up's replies) sits in V8's old generation until a full collection, which would otherwise
 * come while serving: a pause of 5-35 ms under load (docs/performance.md, Latency from a cold
 * start). `collectGarbage` is Node's `gc`, there when Node runs with --expose-gc, as the bin,
 * npm start and the Dockerfile start it (with --no-memory-reducer, which keeps V8 from starting
 * another on its own some 8-16 s later); without it (tests in-process) nothing is collected.
 */
import type { Clock } from '../clock.js';
import type { Readiness } from '../ops/http.js';
import type { RecordTable } from '../table/table.js';

export interface WarmUpOptions {
  /** Whether the sources are ready (app/subsystems.ts `readiness`). */
  readonly readiness: () => Readiness;
  readonly table: RecordTable;
  readonly clock: Clock;
  /** Asks the query path its questions about `table.current` (chain/warmup.ts). */
  readonly warmUp: () => void;
  readonly collectGarbage: (() => void) | undefined;
}

export interface WarmUpWhenReady {
  /** `readiness`, warming up first the first time the sources are ready. */
  readonly readiness: () => Readiness;
  /** Whether it has run. */
  readonly done: () => boolean;
  stop(): void;
}

/**
 * Warms up now if the sources are ready (a zone-files-only server, before its listeners open),
 * otherwise right after the snapshot swap that makes them so, or at the latest inside the first
 * readiness check that finds them so: /ready can never say 200 before it has run.
 */
export function warmUpWhenReady(o: WarmUpOptions): WarmUpWhenReady {
  let done = false;
  let stopped = false;
  const run = () => {
    done = true;
    unsubscribe();
    o.warmUp();
    o.collectGarbage?.();
  };
  const runIfReady = () => {
    if (!done && !stopped && o.readiness().ready) run();
  };
  // After the swap, not inside it: the etcd mirror marks itself synced once its batch is published.
  const unsubscribe = o.table.onSwap(() => {
    if (!done) o.clock.setImmediate(runIfReady);
  }, 'warm-up');
  runIfReady();
  return {
    readiness: () => {
      const r = o.readiness();
      if (r.ready && !done && !stopped) run();
      return r;
    },
    done: () => done,
    stop: () => {
      stopped = true;
      unsubscribe();
    },
  };
}

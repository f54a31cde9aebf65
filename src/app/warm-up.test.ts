import { describe, expect, it } from 'vitest';
import type { Clock } from '../clock.js';
import { RecordTable } from '../table/table.js';
import { warmUpWhenReady } from './warm-up.js';

/** A clock whose immediates run when `flush` is called. */
function queuedClock(): Clock & { flush(): void } {
  const queue: (() => void)[] = [];
  return {
    now: () => 0,
    setTimeout: () => undefined,
    clearTimeout: () => {},
    setInterval: () => undefined,
    clearInterval: () => {},
    setImmediate: (fn) => void queue.push(fn),
    clearImmediate: () => {},
    flush: () => queue.splice(0).forEach((fn) => fn()),
  };
}

function setup(readyAtStart: boolean) {
  const table = new RecordTable({ sources: ['etcd'] });
  const clock = queuedClock();
  const log: string[] = [];
  let ready = readyAtStart;
  const warm = warmUpWhenReady({
    readiness: () => ({ ready, reasons: ready ? [] : ['etcd: initial sync not done'] }),
    table,
    clock,
    warmUp: () => log.push(`warm-up with ${table.current.zones.size} zones`),
    collectGarbage: () => log.push('gc'),
  });
  return { table, clock, log, warm, setReady: (r: boolean) => (ready = r) };
}

describe('warmUpWhenReady', () => {
  it('runs at once, then collects, when the sources are ready from the start (zone files only)', () => {
    const { log, warm } = setup(true);
    expect(log).toEqual(['warm-up with 0 zones', 'gc']);
    expect(warm.done()).toBe(true);
    expect(warm.readiness().ready).toBe(true);
    expect(log).toHaveLength(2);
  });

  it('waits for the sources: runs once, after the swap that makes them ready, not inside it', () => {
    const { table, clock, log, warm, setReady } = setup(false);
    table.publish('etcd', new Map());
    clock.flush();
    expect(log).toEqual([]);
    expect(warm.readiness()).toEqual({ ready: false, reasons: ['etcd: initial sync not done'] });
    // The mirror publishes its first full batch, then marks itself synced.
    table.publish('etcd', new Map());
    setReady(true);
    expect(log).toEqual([]);
    clock.flush();
    expect(log).toEqual(['warm-up with 0 zones', 'gc']);
    table.publish('etcd', new Map());
    clock.flush();
    expect(warm.readiness().ready).toBe(true);
    expect(log).toHaveLength(2);
  });

  it('runs inside the first readiness check that finds the sources ready, if no swap came first', () => {
    const { log, warm, setReady } = setup(false);
    setReady(true);
    expect(log).toEqual([]);
    expect(warm.readiness().ready).toBe(true);
    expect(log).toEqual(['warm-up with 0 zones', 'gc']);
  });

  it('never runs once stopped', () => {
    const { table, clock, log, warm, setReady } = setup(false);
    table.publish('etcd', new Map());
    warm.stop();
    setReady(true);
    clock.flush();
    warm.readiness();
    expect(log).toEqual([]);
    expect(warm.done()).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import type { Worker } from 'node:cluster';
import { clusterReadiness, restartDelayMs } from './primary.js';

const running = {} as Worker;

describe('clusterReadiness', () => {
  it('is ready only when every worker runs and says it is ready', () => {
    expect(
      clusterReadiness([
        { index: 0, worker: running, readiness: { ready: true, reasons: [] } },
        { index: 1, worker: running, readiness: { ready: true, reasons: [] } },
      ]),
    ).toEqual({ ready: true, reasons: [] });
  });

  it('names each worker that is not, and why', () => {
    expect(
      clusterReadiness([
        { index: 0, worker: running, readiness: { ready: false, reasons: ['etcd: initial sync not done'] } },
        { index: 1, worker: undefined, readiness: undefined },
        { index: 2, worker: running, readiness: undefined },
        { index: 3, worker: running, readiness: { ready: true, reasons: [] } },
      ]),
    ).toEqual({
      ready: false,
      reasons: ['worker 1: etcd: initial sync not done', 'worker 2: not running (restarting)', 'worker 3: starting'],
    });
  });
});

describe('restartDelayMs', () => {
  it('doubles from 250 ms and stops growing at 30 s', () => {
    expect([1, 2, 3, 4].map(restartDelayMs)).toEqual([250, 500, 1000, 2000]);
    expect(restartDelayMs(8)).toBe(30_000);
    expect(restartDelayMs(100)).toBe(30_000);
  });
});

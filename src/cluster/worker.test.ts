import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../clock.js';
import type { Readiness } from '../ops/http.js';
import { READINESS_POLL_MS, WorkerLink } from './worker.js';

/** The worker's end of the IPC channel: what it sends is recorded; `deliver` is the primary speaking. */
class FakeChannel extends EventEmitter {
  connected = true;
  readonly sent: unknown[] = [];
  send(message: unknown): boolean {
    this.sent.push(structuredClone(message));
    return true;
  }
  deliver(message: unknown): void {
    this.emit('message', message);
  }
}

describe('WorkerLink', () => {
  let channel: FakeChannel;
  let link: WorkerLink;
  let readiness: Readiness;
  const metrics = vi.fn(async (): Promise<unknown[]> => [{ name: 'etcdns_x', values: [] }]);

  beforeEach(() => {
    vi.useFakeTimers();
    channel = new FakeChannel();
    link = new WorkerLink(channel, systemClock);
    readiness = { ready: false, reasons: ['etcd: initial sync not done'] };
  });
  afterEach(() => {
    link.close();
    vi.useRealTimers();
  });

  it('reports readiness at once and again only when it changes', () => {
    link.serve({ metrics, isReady: () => readiness });
    expect(channel.sent).toEqual([{ etcdns: 'readiness', ready: false, reasons: ['etcd: initial sync not done'] }]);
    vi.advanceTimersByTime(READINESS_POLL_MS * 5);
    expect(channel.sent).toHaveLength(1);
    readiness = { ready: true, reasons: [] };
    vi.advanceTimersByTime(READINESS_POLL_MS);
    expect(channel.sent.at(-1)).toEqual({ etcdns: 'readiness', ready: true, reasons: [] });
    expect(channel.sent).toHaveLength(2);
  });

  it('reports a readiness check that throws as not ready, with the reason', () => {
    link.serve({
      metrics,
      isReady: () => {
        throw new Error('boom');
      },
    });
    expect(channel.sent).toEqual([{ etcdns: 'readiness', ready: false, reasons: ['readiness check failed: boom'] }]);
  });

  it('answers a metrics request with the same id, or with the error', async () => {
    link.serve({ metrics, isReady: () => readiness });
    channel.deliver({ etcdns: 'metrics', id: 7 });
    await vi.waitFor(() => expect(channel.sent.at(-1)).toEqual({ etcdns: 'metrics', id: 7, metrics: [{ name: 'etcdns_x', values: [] }] }));
    metrics.mockRejectedValueOnce(new Error('collector broke'));
    channel.deliver({ etcdns: 'metrics', id: 8 });
    await vi.waitFor(() => expect(channel.sent.at(-1)).toEqual({ etcdns: 'metrics', id: 8, error: 'collector broke' }));
  });

  it('says so when asked for metrics before serving', async () => {
    channel.deliver({ etcdns: 'metrics', id: 1 });
    await vi.waitFor(() => expect(channel.sent).toEqual([{ etcdns: 'metrics', id: 1, error: 'not serving yet' }]));
  });

  it('tells shutdown listeners once, and ignores messages that are not ours', () => {
    const stop = vi.fn();
    link.onShutdown(stop);
    channel.deliver({ cmd: 'NODE_CLUSTER', act: 'shutdown' });
    channel.deliver('shutdown');
    expect(stop).not.toHaveBeenCalled();
    channel.deliver({ etcdns: 'shutdown' });
    channel.deliver({ etcdns: 'shutdown' });
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('sends nothing once the channel to the primary is gone', () => {
    channel.connected = false;
    link.serve({ metrics, isReady: () => readiness });
    link.listening(['udp://127.0.0.1:53']);
    expect(channel.sent).toEqual([]);
  });

  it('stops polling and listening when closed', () => {
    link.serve({ metrics, isReady: () => readiness });
    link.close();
    readiness = { ready: true, reasons: [] };
    vi.advanceTimersByTime(READINESS_POLL_MS * 3);
    channel.deliver({ etcdns: 'metrics', id: 2 });
    expect(channel.sent).toHaveLength(1);
  });
});

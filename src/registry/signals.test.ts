import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installSignalHandlers } from './signals.js';

describe('installSignalHandlers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('closes the registry, removes itself, then re-raises the same signal', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    let release!: () => void;
    const registry = { close: vi.fn(() => new Promise<void>((resolve) => (release = resolve))) };
    const before = process.listenerCount('SIGUSR2');
    const uninstall = installSignalHandlers(registry, { signals: ['SIGUSR2'] });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(registry.close).toHaveBeenCalledTimes(1);
    // Still revoking, up to the default 5 s bound.
    await vi.advanceTimersByTimeAsync(4999);
    expect(kill).not.toHaveBeenCalled();
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGUSR2']]);
    expect(process.listenerCount('SIGUSR2')).toBe(before);
    uninstall(); // idempotent
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('does not wait for ever: re-raises after timeoutMs, and at once on a second signal', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const registry = { close: vi.fn(() => new Promise<void>(() => undefined)) };
    installSignalHandlers(registry, { signals: ['SIGUSR2'], timeoutMs: 50 });
    process.emit('SIGUSR2', 'SIGUSR2');
    await vi.advanceTimersByTimeAsync(49);
    expect(kill).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGUSR2']]);

    kill.mockClear();
    installSignalHandlers(registry, { signals: ['SIGUSR2'], timeoutMs: 100 });
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(kill).not.toHaveBeenCalled();
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGUSR2']]);
    // Only once: the timeout that was still pending does not raise it a second time.
    await vi.advanceTimersByTimeAsync(200);
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('a failing close is reported and the signal still re-raised', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const errors: unknown[] = [];
    installSignalHandlers({ close: () => Promise.reject(new Error('etcd down')) }, { signals: ['SIGUSR2'], onError: (e) => errors.push(e) });
    process.emit('SIGUSR2', 'SIGUSR2');
    await vi.advanceTimersByTimeAsync(0);
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGUSR2']]);
    expect(errors).toEqual([new Error('etcd down')]);
  });

  it('drain runs after close (the instance has left discovery), and the signal waits for it', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const order: string[] = [];
    let drained!: () => void;
    const registry = { close: vi.fn(async () => void order.push('close')) };
    installSignalHandlers(registry, {
      signals: ['SIGUSR2'],
      drain: (sig) => {
        order.push(`drain ${sig}`);
        return new Promise<void>((resolve) => (drained = resolve));
      },
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    await vi.advanceTimersByTimeAsync(1000);
    expect(order).toEqual(['close', 'drain SIGUSR2']);
    expect(kill).not.toHaveBeenCalled(); // in-flight calls are still finishing
    drained();
    await vi.advanceTimersByTimeAsync(0);
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGUSR2']]);
  });
});

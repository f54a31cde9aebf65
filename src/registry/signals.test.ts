import { afterEach, describe, expect, it, vi } from 'vitest';
import { installSignalHandlers } from './signals.js';

describe('installSignalHandlers', () => {
  afterEach(() => vi.restoreAllMocks());

  it('closes the registry, removes itself, then re-raises the same signal', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const order: string[] = [];
    let release!: () => void;
    const registry = {
      close: vi.fn(() => {
        order.push('close');
        return new Promise<void>((resolve) => (release = resolve));
      }),
    };
    const before = process.listenerCount('SIGUSR2');
    const uninstall = installSignalHandlers(registry, { signals: ['SIGUSR2'] });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(registry.close).toHaveBeenCalledTimes(1);
    await new Promise((r) => setTimeout(r, 10));
    expect(kill).not.toHaveBeenCalled(); // still revoking
    release();
    await vi.waitFor(() => expect(kill).toHaveBeenCalledWith(process.pid, 'SIGUSR2'));
    expect(order).toEqual(['close']);
    expect(process.listenerCount('SIGUSR2')).toBe(before);
    uninstall(); // idempotent
  });

  it('does not wait for ever: re-raises after timeoutMs, and at once on a second signal', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const registry = { close: vi.fn(() => new Promise<void>(() => undefined)) };
    installSignalHandlers(registry, { signals: ['SIGUSR2'], timeoutMs: 50 });
    process.emit('SIGUSR2', 'SIGUSR2');
    await vi.waitFor(() => expect(kill).toHaveBeenCalledWith(process.pid, 'SIGUSR2'));

    kill.mockClear();
    installSignalHandlers(registry, { signals: ['SIGUSR2'], timeoutMs: 100 });
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(kill).not.toHaveBeenCalled();
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGUSR2');
    // Only once: the timeout that was still pending does not raise it a second time.
    await new Promise((r) => setTimeout(r, 200));
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('a failing close is reported and the signal still re-raised', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const errors: unknown[] = [];
    installSignalHandlers({ close: () => Promise.reject(new Error('etcd down')) }, { signals: ['SIGUSR2'], onError: (e) => errors.push(e) });
    process.emit('SIGUSR2', 'SIGUSR2');
    await vi.waitFor(() => expect(kill).toHaveBeenCalledWith(process.pid, 'SIGUSR2'));
    expect(errors).toEqual([new Error('etcd down')]);
  });
});

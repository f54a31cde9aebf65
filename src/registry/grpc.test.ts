/**
 * The etcd resolver driven directly (no channel, no etcd): a fake registry whose watch the test
 * feeds, and a recording listener. The real grpc-js module provides statusOr and status codes.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { createEtcdResolverClass, registerEtcdResolver, ROUND_ROBIN_CHANNEL_OPTIONS, type EtcdResolverOptions, type ResolverRegistry } from './grpc.js';

interface Update {
  instances: { host: string; port: number }[];
  stale: boolean;
}

/** A watch the test drives: `push` an update, `fail` the current iteration, see the signals. */
function fakeRegistry() {
  type Step = { update: Update } | { error: Error } | { end: true };
  const watches: { name: string; signal: AbortSignal; steps: Step[]; wake?: () => void }[] = [];
  const registry: ResolverRegistry = {
    watch(name: string, signal: AbortSignal) {
      const w: (typeof watches)[number] = { name, signal, steps: [] };
      watches.push(w);
      return (async function* () {
        for (;;) {
          while (w.steps.length === 0) {
            if (signal.aborted) return;
            await new Promise<void>((resolve) => {
              w.wake = resolve;
              signal.addEventListener('abort', () => resolve(), { once: true });
            });
          }
          const step = w.steps.shift()!;
          if ('error' in step) throw step.error;
          if ('end' in step) return;
          yield { name, instances: step.update.instances, stale: step.update.stale, revision: 0 };
        }
      })() as ReturnType<ResolverRegistry['watch']>;
    },
  } as ResolverRegistry;
  const current = () => watches.at(-1)!;
  const step = (s: Step) => {
    const w = current();
    w.steps.push(s);
    w.wake?.();
  };
  return {
    registry,
    watches,
    push: (instances: Update['instances'], stale = false) => step({ update: { instances, stale } }),
    fail: (message: string) => step({ error: new Error(message) }),
    end: () => step({ end: true }),
  };
}

type Result = { ok: true; value: string[] } | { ok: false; code: number; details: string };

function harness(registry: ResolverRegistry | (() => ResolverRegistry), target = 'etcd:///payments', options: EtcdResolverOptions = {}) {
  const Resolver = createEtcdResolverClass(grpc, registry, options);
  const results: Result[] = [];
  const listener: grpc.experimental.ResolverListener = (endpoints) => {
    if (endpoints.ok) {
      results.push({ ok: true, value: endpoints.value.map((e) => e.addresses.map((a) => grpc.experimental.subchannelAddressToString(a)).join(' ')) });
    } else {
      results.push({ ok: false, code: endpoints.error.code, details: endpoints.error.details });
    }
    return true;
  };
  const uri = parseTarget(target);
  const resolver = new Resolver(uri, listener, {});
  return { Resolver, resolver, results, uri };
}

function parseTarget(target: string): grpc.experimental.GrpcUri {
  const m = /^([a-z][a-z0-9+.-]*):(?:\/\/([^/]*))?\/?(.*)$/i.exec(target)!;
  return { scheme: m[1]!, authority: m[2], path: m[3]! };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('etcd resolver', () => {
  it('pushes the instances as endpoints, and every change', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    expect(fake.watches.map((w) => w.name)).toEqual(['payments']);
    fake.push([
      { host: '10.0.0.1', port: 8080 },
      { host: '2001:db8::1', port: 8081 },
      { host: 'api.example.test', port: 443 },
    ]);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]).toEqual({ ok: true, value: ['10.0.0.1:8080', '[2001:db8::1]:8081', 'api.example.test:443'] });

    fake.push([{ host: '10.0.0.1', port: 8080 }]);
    await vi.waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]).toEqual({ ok: true, value: ['10.0.0.1:8080'] });
    resolver.destroy();
  });

  it('never calls the listener synchronously from updateResolution', async () => {
    const { resolver, results } = harness(() => {
      throw new Error('registry not initialised');
    });
    resolver.updateResolution();
    expect(results).toEqual([]);
    await flush();
    expect(results).toEqual([{ ok: false, code: grpc.status.UNAVAILABLE, details: expect.stringContaining('registry not initialised') }]);
    resolver.destroy();
  });

  it('skips instances that cannot be dialled and duplicates; an unchanged list is not pushed again', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.push([
      { host: '10.0.0.1', port: 0 },
      { host: '10.0.0.2', port: -1 },
      { host: '', port: 80 },
      { host: '[::1]', port: 9000 },
      { host: '10.0.0.3', port: 80 },
      { host: '10.0.0.3', port: 80 },
    ]);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]).toEqual({ ok: true, value: ['[::1]:9000', '10.0.0.3:80'] });
    // Same set in another order: nothing for the channel to do.
    fake.push([
      { host: '10.0.0.3', port: 80 },
      { host: '::1', port: 9000 },
    ]);
    fake.push([{ host: '10.0.0.3', port: 80 }]);
    await vi.waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]).toEqual({ ok: true, value: ['10.0.0.3:80'] });
    resolver.destroy();
  });

  it('pushes an empty list for a real removal (fresh data)', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.push([{ host: '10.0.0.1', port: 80 }]);
    fake.push([]);
    await vi.waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]).toEqual({ ok: true, value: [] });
    resolver.destroy();
  });

  it('keeps the last good list through stale data and watch failures (no error once a list exists)', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.push([{ host: '10.0.0.1', port: 80 }]);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    fake.push([], true);
    fake.push([{ host: '10.9.9.9', port: 80 }], true);
    fake.fail('etcd unreachable');
    // The resolver retries with a new watch (after a backoff of at most ~250 ms at first).
    await vi.waitFor(() => expect(fake.watches).toHaveLength(2), { timeout: 2000 });
    await flush();
    expect(results).toHaveLength(1);
    // Fresh data again: changes flow.
    fake.push([{ host: '10.0.0.2', port: 80 }]);
    await vi.waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]).toEqual({ ok: true, value: ['10.0.0.2:80'] });
    resolver.destroy();
  });

  it('reports UNAVAILABLE while there has never been a list, and recovers', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.push([], true);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, details: expect.stringContaining('"payments"') });
    fake.fail('connection refused');
    await vi.waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, details: expect.stringContaining('connection refused') });
    await vi.waitFor(() => expect(fake.watches).toHaveLength(2), { timeout: 2000 });
    fake.push([{ host: '10.0.0.1', port: 80 }]);
    await vi.waitFor(() => expect(results).toHaveLength(3));
    expect(results[2]).toEqual({ ok: true, value: ['10.0.0.1:80'] });
    resolver.destroy();
  });

  it('a registry that says nothing (no first sync: etcd down at startup) is UNAVAILABLE after firstListTimeoutMs, then the list still comes', async () => {
    vi.useFakeTimers();
    try {
      const fake = fakeRegistry();
      const { resolver, results } = harness(fake.registry, 'etcd:///payments', { firstListTimeoutMs: 100 });
      resolver.updateResolution();
      await vi.advanceTimersByTimeAsync(99);
      expect(results).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(results).toEqual([{ ok: false, code: grpc.status.UNAVAILABLE, details: expect.stringContaining('no answer from the registry within 100 ms') }]);
      fake.push([{ host: '10.0.0.1', port: 80 }]);
      await vi.advanceTimersByTimeAsync(0);
      expect(results[1]).toEqual({ ok: true, value: ['10.0.0.1:80'] });
      resolver.destroy();
    } finally {
      vi.useRealTimers();
    }
  });

  it('no first-list error once a list was delivered in time, nor after destroy', async () => {
    vi.useFakeTimers();
    try {
      const fake = fakeRegistry();
      const { resolver, results } = harness(fake.registry, 'etcd:///payments', { firstListTimeoutMs: 100 });
      resolver.updateResolution();
      await vi.advanceTimersByTimeAsync(0);
      fake.push([{ host: '10.0.0.1', port: 80 }]);
      // Well past the first-list timeout: the list, and no error after it.
      await vi.advanceTimersByTimeAsync(200);
      expect(results).toEqual([{ ok: true, value: ['10.0.0.1:80'] }]);
      resolver.destroy();

      const second = harness(fakeRegistry().registry, 'etcd:///payments', { firstListTimeoutMs: 50 });
      second.resolver.updateResolution();
      second.resolver.destroy();
      await vi.advanceTimersByTimeAsync(150);
      expect(second.results).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes a stale list when nothing better was ever seen', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.push([{ host: '10.0.0.1', port: 80 }], true);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]).toEqual({ ok: true, value: ['10.0.0.1:80'] });
    resolver.destroy();
  });

  it('restarts a watch that ends on its own', async () => {
    const fake = fakeRegistry();
    const { resolver } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.end();
    await vi.waitFor(() => expect(fake.watches).toHaveLength(2), { timeout: 2000 });
    resolver.destroy();
  });

  it('a closed registry is final: one error, no retry (the retry timer held the process open)', async () => {
    vi.useFakeTimers();
    try {
      const f = fakeRegistry();
      const registry = Object.assign(Object.create(f.registry) as ResolverRegistry, { closed: false });
      const { resolver, results } = harness(registry);
      resolver.updateResolution();
      await vi.advanceTimersByTimeAsync(0);
      f.push([{ host: '10.0.0.1', port: 80 }]);
      await vi.advanceTimersByTimeAsync(0);
      // close(): the registry's watch ends, as EtcdRegistry's does.
      (registry as { closed: boolean }).closed = true;
      f.end();
      await vi.advanceTimersByTimeAsync(0);
      expect(results.at(-1)).toEqual({ ok: false, code: grpc.status.UNAVAILABLE, details: 'etcd resolver: service "payments": the registry is closed' });
      const watches = f.watches.length;
      const reported = results.length;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(f.watches.length).toBe(watches); // never watched again
      expect(results.length).toBe(reported);
      expect(vi.getTimerCount()).toBe(0); // nothing left to hold the event loop
      // A resolver grpc-js creates after close() says the same at once, and starts no timer loop.
      const late = harness(registry);
      late.resolver.updateResolution();
      await vi.advanceTimersByTimeAsync(0);
      expect(late.results).toEqual([{ ok: false, code: grpc.status.UNAVAILABLE, details: 'etcd resolver: service "payments": the registry is closed' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('updateResolution while running starts nothing new; destroy aborts; a restart delivers the last good list during an outage', async () => {
    const fake = fakeRegistry();
    const { resolver, results } = harness(fake.registry);
    resolver.updateResolution();
    await flush();
    fake.push([{ host: '10.0.0.1', port: 80 }]);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    for (let i = 0; i < 50; i++) resolver.updateResolution();
    await flush();
    expect(fake.watches).toHaveLength(1);
    expect(results).toHaveLength(1);

    resolver.destroy();
    expect(fake.watches[0]!.signal.aborted).toBe(true);
    await flush();
    expect(results).toHaveLength(1);

    // Back from idle while etcd is down: the new watch only has stale data.
    resolver.updateResolution();
    await flush();
    expect(fake.watches).toHaveLength(2);
    fake.push([], true);
    await vi.waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]).toEqual({ ok: true, value: ['10.0.0.1:80'] });
    resolver.destroy();
  });

  it('the registry factory is called when a channel resolves, not at registration', async () => {
    const fake = fakeRegistry();
    const factory = vi.fn(() => fake.registry);
    const { resolver } = harness(factory);
    expect(factory).not.toHaveBeenCalled();
    resolver.updateResolution();
    await flush();
    expect(factory).toHaveBeenCalledOnce();
    resolver.destroy();
  });

  it('the authority is the service name; a target without one is refused with a hint', async () => {
    const fake = fakeRegistry();
    const { Resolver } = harness(fake.registry);
    expect(Resolver.getDefaultAuthority(parseTarget('etcd:///payments'))).toBe('payments');
    expect(() => Resolver.getDefaultAuthority(parseTarget('etcd://payments'))).toThrow('write etcd:///payments (three slashes)');
    expect(() => Resolver.getDefaultAuthority(parseTarget('etcd:///a/b'))).toThrow('not a service name');

    const { resolver, results } = harness(fake.registry, 'etcd://payments');
    resolver.updateResolution();
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(fake.watches).toHaveLength(0);
    resolver.destroy();
  });

  it('refuses a module that is not grpc-js >= 1.14, and a bad scheme', () => {
    const fake = fakeRegistry();
    expect(() => createEtcdResolverClass({} as typeof grpc, fake.registry)).toThrow('pass the @grpc/grpc-js module');
    const old = { experimental: { registerResolver: () => {} } } as unknown as typeof grpc;
    expect(() => createEtcdResolverClass(old, fake.registry)).toThrow('1.14 or later');
    expect(() => createEtcdResolverClass(grpc, fake.registry, { scheme: 'no way' })).toThrow('invalid URI scheme');
  });

  it('registers on the module it is given, under the chosen scheme', async () => {
    const fake = fakeRegistry();
    registerEtcdResolver(grpc, fake.registry, { scheme: 'etcd-unit' });
    const client = new grpc.Client('etcd-unit:///payments', grpc.credentials.createInsecure(), ROUND_ROBIN_CHANNEL_OPTIONS);
    try {
      // Only the channel's resolver could have started this watch.
      client.getChannel().getConnectivityState(true);
      await vi.waitFor(() => expect(fake.watches.map((w) => w.name)).toEqual(['payments']));
    } finally {
      client.close();
    }
  });
});

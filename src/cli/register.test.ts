/**
 * `etcdns register` in-process, through runCli: flags to the instance and registry options,
 * usage errors (the registry is never opened then), and the lifecycle against a fake registry
 * and fake signals - registered line, SIGTERM revokes and exits 0, failures exit 1.
 */
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { RegisterOptions, Registration, Registry, RegistryOptions, ServiceInstance } from '../registry/index.js';
import { runCli } from './cli.js';
import type { CheckZoneResult, CliContext } from './context.js';
import type { RegisterContext } from './register.js';

const KEY = '/skydns/test/example/svc/payments/x1';

function fakeRegistry(overrides: Partial<Registry> = {}) {
  const registration = {
    key: KEY,
    instance: { service: 'payments', id: 'x1', host: '10.0.0.5', port: 8443 },
    leaseId: () => '7587',
    state: () => 'registered',
    on: vi.fn(),
    off: vi.fn(),
  } as unknown as Registration;
  const registry: Registry = {
    name: () => 'etcd',
    init: vi.fn(async () => {}),
    register: vi.fn(async (_instance: ServiceInstance, _options?: AbortSignal | RegisterOptions) => registration),
    unregister: vi.fn(async () => {}),
    getService: vi.fn(),
    watch: vi.fn(),
    close: vi.fn(async () => {}),
    ...overrides,
  } as Registry;
  return { registry, registration };
}

function harness(registry?: Registry, env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '', logs: '' };
  let signalListener: ((signal: NodeJS.Signals) => void) | undefined;
  let opened: RegistryOptions | undefined;
  const openRegistry = vi.fn(async (options: RegistryOptions) => {
    if (!registry) throw new Error('no registry in this test');
    opened = options;
    return registry;
  });
  const ctx: RegisterContext = {
    env,
    cwd: '/srv/etcdns',
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    logDestination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.logs += chunk.toString();
        done();
      },
    }),
    onSignal: (listener) => {
      signalListener = listener;
      return () => {
        signalListener = undefined;
      };
    },
    exit: vi.fn(),
    runServer: vi.fn(async (): Promise<{ close(): Promise<void> }> => {
      throw new Error('runServer called');
    }),
    checkZoneFile: vi.fn(async (): Promise<CheckZoneResult> => ({ ok: true, errors: [], warnings: [] })),
    openRegistry,
  };
  return {
    ctx,
    out,
    openRegistry,
    options: () => opened,
    run(...args: string[]) {
      return runCli(args, ctx as CliContext).then((code) => ({ code, ...out }));
    },
    async signal(name: NodeJS.Signals) {
      await vi.waitFor(() => expect(signalListener).toBeDefined());
      signalListener!(name);
    },
  };
}

const BASE = ['register', '--name', 'payments', '--host', '10.0.0.5', '--port', '8443', '--domain', 'svc.example.test', '--etcd', 'http://127.0.0.1:2379'];
const JSON_LOGS = ['--log-format', 'json'];

function messages(logs: string): string[] {
  return logs
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
}

describe('register: flags', () => {
  it('--port-name/--protocol (RFC 2782 name) and --takeover reach the registry', async () => {
    const { registry } = fakeRegistry();
    const h = harness(registry);
    const running = h.run(...BASE, ...JSON_LOGS, '--id', 'g1', '--port-name', 'grpc', '--protocol', 'tcp', '--takeover');
    await vi.waitFor(() => expect(h.out.stdout).not.toBe(''));
    expect(registry.register).toHaveBeenCalledWith(
      { service: 'payments', host: '10.0.0.5', port: 8443, id: 'g1', portName: 'grpc', protocol: 'tcp' },
      { signal: expect.any(AbortSignal), timeoutMs: Infinity, takeover: true },
    );
    await h.signal('SIGTERM');
    expect((await running).code).toBe(0);
  });

  it('passes the instance and the registry options, prints the key, and revokes on SIGTERM', async () => {
    const { registry, registration } = fakeRegistry();
    const h = harness(registry, { ETCDNS_ETCD_PASSWORD: 's3cret' });
    const running = h.run(
      ...BASE,
      ...JSON_LOGS,
      '--id', 'x1',
      '--ttl', '30',
      '--lease-ttl', '5',
      '--priority', '5',
      '--weight', '200',
      '--meta', 'version=1.2.3',
      '--meta', 'zone=eu=west',
      '--etcd-prefix', '/dns',
      '--etcd-username', 'svc',
    );
    await vi.waitFor(() => expect(h.out.stdout).toBe(`registered ${KEY} (lease 7587)\n`));
    expect(registry.register).toHaveBeenCalledWith(
      { service: 'payments', host: '10.0.0.5', port: 8443, id: 'x1', ttl: 30, priority: 5, weight: 200, metadata: { version: '1.2.3', zone: 'eu=west' } },
      { signal: expect.any(AbortSignal), timeoutMs: Infinity, takeover: false },
    );
    expect(h.options()).toEqual({
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/dns',
      domain: 'svc.example.test',
      leaseTtlSeconds: 5,
      username: 'svc',
      password: 's3cret',
      logger: expect.anything(),
    });
    expect(registry.unregister).not.toHaveBeenCalled();

    await h.signal('SIGTERM');
    const { code, stderr, logs } = await running;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(registry.unregister).toHaveBeenCalledWith(registration);
    expect(registry.close).toHaveBeenCalledOnce();
    expect(messages(logs)).toEqual(['unregistering']);
  });

  it('leaves out what was not given (registry defaults: id, ttl, lease TTL, prefix /skydns)', async () => {
    const { registry } = fakeRegistry();
    const h = harness(registry);
    const running = h.run(...BASE, ...JSON_LOGS);
    await vi.waitFor(() => expect(registry.register).toHaveBeenCalled());
    expect(vi.mocked(registry.register).mock.calls[0]![0]).toEqual({ service: 'payments', host: '10.0.0.5', port: 8443 });
    expect(h.options()).toEqual({ endpoints: ['http://127.0.0.1:2379'], prefix: '/skydns', domain: 'svc.example.test', logger: expect.anything() });
    await h.signal('SIGINT');
    expect((await running).code).toBe(0);
  });

  it('takes host names, and the etcd endpoints from ETCDNS_ETCD', async () => {
    const { registry } = fakeRegistry();
    const h = harness(registry, { ETCDNS_ETCD: 'http://10.0.0.1:2379,http://10.0.0.2:2379' });
    const args = BASE.slice(0, -2).map((a) => (a === '10.0.0.5' ? 'api-1.internal' : a));
    const running = h.run(...args, ...JSON_LOGS);
    await vi.waitFor(() => expect(registry.register).toHaveBeenCalled());
    expect(vi.mocked(registry.register).mock.calls[0]![0]).toMatchObject({ host: 'api-1.internal' });
    expect(h.options()?.endpoints).toEqual(['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    await h.signal('SIGTERM');
    expect((await running).code).toBe(0);
  });

  const without = (flag: string) => {
    const i = BASE.indexOf(flag);
    return [...BASE.slice(0, i), ...BASE.slice(i + 2)];
  };

  it.each([
    [without('--name'), 'etcdns: --name is required (e.g. --name payments)'],
    [without('--host'), 'etcdns: --host is required (e.g. --host 10.0.0.5)'],
    [without('--port'), 'etcdns: --port is required (e.g. --port 8443)'],
    [without('--domain'), 'etcdns: --domain is required (e.g. --domain svc.example.test)'],
    [without('--etcd'), 'etcdns: --etcd is required: the etcd endpoints (e.g. --etcd http://127.0.0.1:2379)'],
    [[...BASE, '--port', 'http'], 'etcdns: --port "http": not a number'],
    [[...BASE, '--port', '0'], 'etcdns: --port "0": must be 1-65535'],
    [[...BASE, '--port', '70000'], 'etcdns: --port "70000": must be 1-65535'],
    [[...BASE, '--host', 'not a host!'], 'etcdns: --host "not a host!": is neither an IP address nor a valid host name'],
    [[...BASE, '--host', '10.0.0.256'], 'etcdns: --host "10.0.0.256": is not a valid IPv4 address'],
    [[...BASE, '--name', ''], 'etcdns: --name "": must not be empty'],
    [[...BASE, '--name', 'pay ments'], expect.stringMatching(/^etcdns: --name: service "pay ments": label "pay ments" may only hold letters/)],
    [[...BASE, '--id', 'Bad_Id'], expect.stringMatching(/^etcdns: --id: id "Bad_Id" must be one DNS label/)],
    [[...BASE, '--domain', 'ex..test'], expect.stringMatching(/^etcdns: --domain: domain "ex\.\.test" has an empty label/)],
    [[...BASE, '--ttl', '0'], 'etcdns: --ttl "0": must be 1-2147483647'],
    [[...BASE, '--lease-ttl', '1.5'], 'etcdns: --lease-ttl "1.5": must be a whole number'],
    [[...BASE, '--priority', '-1'], 'etcdns: --priority "-1": must be 0-65535'],
    [[...BASE, '--weight', '65536'], 'etcdns: --weight "65536": must be 0-65535'],
    [[...BASE, '--meta', 'novalue'], 'etcdns: --meta "novalue": write KEY=VALUE (repeat --meta for more pairs)'],
    [[...BASE, '--meta', 'a=1', '--meta', 'a=2'], 'etcdns: --meta "a=2": key "a" given twice'],
    [[...BASE, '--protocol', 'tcp'], expect.stringMatching(/^etcdns: --protocol: protocol needs portName/)],
    [[...BASE, '--port-name', 'a b'], expect.stringMatching(/^etcdns: --port-name: portName "a b" must be one label/)],
    [[...BASE, '--port-name', 'grpc', '--protocol', 'sctp'], expect.stringMatching(/^etcdns: --protocol: protocol must be "tcp" or "udp"/)],
    [[...BASE, '--etcd', 'localhost:2379'], 'etcdns: --etcd "localhost:2379": must start with http:// or https:// (e.g. http://127.0.0.1:2379)'],
    [[...BASE, '--etcd-cert', '/nonexistent.pem'], 'etcdns: --etcd-cert "/nonexistent.pem": file not found'],
    [[...BASE, '--log-level', 'loud'], expect.stringMatching(/^etcdns: --log-level "loud": /)],
    [[...BASE, '--bogus'], 'etcdns: unknown argument: bogus; see "etcdns register --help"'],
    [[...BASE, '--port'], 'etcdns: not enough arguments following: port; see "etcdns register --help"'],
  ])('%j', async (args, line) => {
    const h = harness();
    const { code, stdout, stderr } = await h.run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toEqual(typeof line === 'string' ? `${line}\n` : line);
    expect(h.openRegistry).not.toHaveBeenCalled();
  });

  it('--help shows the usage and the shared etcd options with their variables', async () => {
    const { code, stdout } = await harness().run('register', '--help');
    expect(code).toBe(0);
    const text = stdout.replace(/\s+/g, ' ');
    expect(text).toContain('etcdns register --name SERVICE --host HOST --port PORT --domain DOMAIN --etcd URL [options]');
    for (const env of ['ETCDNS_ETCD]', 'ETCDNS_ETCD_PREFIX]', 'ETCDNS_ETCD_CA]', 'ETCDNS_ETCD_PASSWORD]', 'ETCDNS_LOG_LEVEL]']) expect(text).toContain(`[env: ${env}`);
  });
});

describe('register: lifecycle', () => {
  it('a signal while still waiting for etcd stops the wait: exit 0, nothing printed, registry closed', async () => {
    const { registry } = fakeRegistry({
      register: vi.fn(
        (_i: ServiceInstance, options?: AbortSignal | RegisterOptions) => {
          const signal = (options as RegisterOptions).signal!;
          return new Promise<Registration>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
        },
      ),
    });
    const h = harness(registry);
    const running = h.run(...BASE, ...JSON_LOGS);
    await vi.waitFor(() => expect(registry.register).toHaveBeenCalled());
    await h.signal('SIGTERM');
    const { code, stdout, logs } = await running;
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(registry.close).toHaveBeenCalledOnce();
    expect(messages(logs)).toEqual(['stopping', 'stopped before the instance was registered']);
  });

  it('a lease that cannot be revoked: exit 1, saying why', async () => {
    const { registry } = fakeRegistry({
      unregister: vi.fn(async () => {
        throw new Error('registry: could not revoke the lease of /k (deadline exceeded); it is no longer renewed, so etcd drops the key within 10 s');
      }),
    });
    const h = harness(registry);
    const running = h.run(...BASE, ...JSON_LOGS);
    await vi.waitFor(() => expect(h.out.stdout).not.toBe(''));
    await h.signal('SIGTERM');
    const { code, logs } = await running;
    expect(code).toBe(1);
    expect(messages(logs)).toContain('cannot revoke the lease: registry: could not revoke the lease of /k (deadline exceeded); it is no longer renewed, so etcd drops the key within 10 s');
    expect(registry.close).toHaveBeenCalledOnce();
  });

  it('says why on stderr even with --log-level silent', async () => {
    const { registry } = fakeRegistry({
      register: vi.fn(async () => {
        throw new Error('boom');
      }),
    });
    const { code, stderr } = await harness(registry).run(...BASE, '--log-level', 'silent');
    expect(code).toBe(1);
    expect(stderr).toBe('etcdns: cannot register: boom\n');
  });

  it('a second signal exits at once with the signal status', async () => {
    let release: () => void = () => {};
    const { registry } = fakeRegistry({ unregister: vi.fn(() => new Promise<void>((done) => (release = done))) });
    const h = harness(registry);
    const running = h.run(...BASE, ...JSON_LOGS);
    await vi.waitFor(() => expect(h.out.stdout).not.toBe(''));
    await h.signal('SIGINT');
    await vi.waitFor(() => expect(registry.unregister).toHaveBeenCalled());
    await h.signal('SIGTERM');
    expect(h.ctx.exit).toHaveBeenCalledWith(128 + 15);
    release();
    expect((await running).code).toBe(0);
  });
});

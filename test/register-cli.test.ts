/**
 * `etcdns register` and `etcdns records` as real processes (the built CLI) against a real etcd
 * on loopback, checked through the real DNS server with dig: what they write is what the
 * server answers, and a registrar's SIGTERM takes the instance out of DNS at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { CLI, REPO_ROOT, cleanEnv, runCli, startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';


const datas = (r: DigResult) => r.answer.map((a) => `${a.type} ${a.data}`).sort();

interface Registrar {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first line (stdout or stderr) matching, or rejects after `timeoutMs`. */
  waitFor(stream: 'stdout' | 'stderr', match: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM by PID; resolves with the exit code (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const registrars = new Set<Registrar>();

/** `etcdns register ...` as a child process, lines collected as they come. */
function startRegistrar(args: readonly string[]): Registrar {
  const child = spawn(process.execPath, [CLI, 'register', ...args], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const waiters = new Set<{ stream: 'stdout' | 'stderr'; match: RegExp; resolve: (l: string) => void }>();
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream]! }).on('line', (line) => {
      lines[stream].push(line);
      for (const w of waiters) if (w.stream === stream && w.match.test(line)) (waiters.delete(w), w.resolve(line));
    });
  }
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const registrar: Registrar = {
    child,
    ...lines,
    waitFor(stream, match, timeoutMs = 10_000) {
      const seen = lines[stream].find((l) => match.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { stream, match, resolve };
        waiters.add(w);
        const fail = (why: string) => {
          if (!waiters.delete(w)) return;
          reject(new Error(`${why} waiting for ${match} on ${stream}; stdout: ${lines.stdout.join('\n')}; stderr: ${lines.stderr.join('\n')}`));
        };
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        void exited.then((code) => {
          clearTimeout(timer);
          fail(`registrar exited (${code})`);
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      registrars.delete(registrar);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(child.pid!, signal);
      const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  registrars.add(registrar);
  return registrar;
}

describe('etcdns register and etcdns records, through the DNS server', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  let etcdArgs: string[];
  const zones = tempZones({});

  beforeAll(async () => {
    etcd = await startEtcd();
    etcdArgs = ['--etcd', etcd.endpoints.join(',')];
    server = await startServer([...etcdArgs, '--etcd-zone', 'example.test', '--zones', zones.dir]);
    // The server's etcd mirror is in sync once a record written now is answered.
    await etcd.client.put('/skydns/test/example/canary').value('{"host":"192.0.2.1"}');
    await digUntil(server.port, ['canary.example.test', 'A'], (r) => r.answer.length === 1, 10_000);
  }, 60_000);

  afterEach(async () => {
    // A failed test must not leave a registrar behind.
    await Promise.all([...registrars].map((r) => r.stop('SIGKILL')));
  });

  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
    zones.remove();
  });

  it('register: an --id another live registrar holds is a conflict (exit 1, the key untouched); --takeover takes it, the first stands back', async () => {
    const args = (port: string, ...more: string[]) => ['--name', 'twin', '--host', '192.0.2.7', '--port', port, '--id', 't1', '--domain', 'example.test', '--port-name', 'http', ...etcdArgs, ...more];
    const first = startRegistrar(args('8001'));
    await first.waitFor('stdout', /^registered \/skydns\/test\/example\/twin\/_tcp\/_http\/t1 /);
    const srv = await digUntil(server.port, ['_http._tcp.twin.example.test', 'SRV'], (r) => r.answer.length === 1, 5000);
    expect(datas(srv)).toEqual(['SRV 10 100 8001 t1._http._tcp.twin.example.test.']);
    const second = startRegistrar(args('8002', '--log-level', 'silent'));
    // It ends by itself, at once: a conflict is not waited out.
    if (second.child.exitCode === null) await once(second.child, 'exit');
    expect(second.child.exitCode).toBe(1);
    await second.stop();
    expect(second.stderr.join('\n')).toMatch(/cannot register: registry: .*held by lease \d+ of another live registration/);
    const key = '/skydns/test/example/twin/_tcp/_http/t1';
    expect(JSON.parse((await etcd.client.get(key).exec()).kvs[0]!.value.toString()).port).toBe(8001);
    const third = startRegistrar(args('8003', '--takeover'));
    await third.waitFor('stdout', /^registered /);
    await digUntil(server.port, ['_http._tcp.twin.example.test', 'SRV'], (r) => datas(r).join() === 'SRV 10 100 8003 t1._http._tcp.twin.example.test.', 5000);
    await first.waitFor('stderr', /taken over by another live lease/);
    expect(await third.stop()).toBe(0);
    expect(await first.stop()).toBe(0);
  }, 30_000);

  it('register: in DNS (SRV and A) within a second; re-registers a deleted key; SIGTERM revokes at once and exits 0', async () => {
    const registrar = startRegistrar([
      '--name', 'payments',
      '--host', '192.0.2.5',
      '--port', '8443',
      '--id', 'x1',
      '--domain', 'svc.example.test',
      '--lease-ttl', '30',
      '--meta', 'version=1.2.3',
      ...etcdArgs,
      '--log-format', 'json',
    ]);
    const line = await registrar.waitFor('stdout', /^registered /);
    const registeredAt = Date.now();
    expect(line).toMatch(/^registered \/skydns\/test\/example\/svc\/payments\/x1 \(lease [0-9a-f]+\)$/);
    expect(registrar.stdout).toHaveLength(1);

    const srv = await digUntil(server.port, ['payments.svc.example.test', 'SRV'], (r) => r.answer.length === 1, 1000);
    expect(datas(srv)).toEqual(['SRV 10 100 8443 x1.payments.svc.example.test.']);
    expect(datas(await dig(server.port, ['x1.payments.svc.example.test', 'A']))).toEqual(['A 192.0.2.5']);
    expect(Date.now() - registeredAt).toBeLessThan(1500);

    // What the registrar wrote, by name, with the metadata the SDK reads.
    const list = await runCli(['records', 'list', 'payments.svc.example.test', ...etcdArgs]);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('x1.payments.svc.example.test  {"host":"192.0.2.5","port":8443,"metadata":{"version":"1.2.3"}}\n');

    // Someone deletes the key while the lease lives: the registrar puts it back and logs it.
    const rm = await runCli(['records', 'rm', 'x1.payments.svc.example.test', ...etcdArgs]);
    expect(rm.code).toBe(0);
    const restored = await registrar.waitFor('stderr', /key restored|registered again/, 5000);
    expect(JSON.parse(restored)).toMatchObject({ reason: 'key deleted' });
    await digUntil(server.port, ['payments.svc.example.test', 'SRV'], (r) => r.answer.length === 1, 2000);

    // SIGTERM: the lease is revoked, so the instance is gone at once, not after 30 s.
    const stoppedAt = Date.now();
    expect(await registrar.stop('SIGTERM')).toBe(0);
    await digUntil(server.port, ['payments.svc.example.test', 'SRV'], (r) => r.status === 'NXDOMAIN', 1000);
    expect(Date.now() - stoppedAt).toBeLessThan(3000);
    expect(await etcd.etcdctl(['get', '--prefix', '/skydns/test/example/svc/payments/'])).toBe('');
    const logs = registrar.stderr.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(logs).toContain('unregistering');
    expect(logs.at(-1)).toBe('unregistered');
  });

  it('register: usage errors are one line with exit 2, before contacting etcd', async () => {
    const r = await runCli(['register', '--name', 'payments', '--host', '192.0.2.5', '--port', '99999', '--domain', 'svc.example.test', ...etcdArgs]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('etcdns: --port "99999": must be 1-65535\n');
  });

  it('records: put answers in DNS, list shows it by name, rm makes it NXDOMAIN', async () => {
    const put = await runCli(['records', 'put', 'www.example.test', '{"host":"192.0.2.80","ttl":60}', ...etcdArgs]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(put.stdout).toBe('www.example.test  /skydns/test/example/www\n');
    const a = await digUntil(server.port, ['www.example.test', 'A'], (r) => r.answer.length === 1, 1000);
    expect(datas(a)).toEqual(['A 192.0.2.80']);
    expect(a.answer[0]!.ttl).toBe(60);

    const list = await runCli(['records', 'list', ...etcdArgs]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^canary\.example\.test +\{"host":"192\.0\.2\.1"\}$/m);
    expect(list.stdout).toMatch(/^www\.example\.test +\{"host":"192\.0\.2\.80","ttl":60\}$/m);

    const rm = await runCli(['records', 'rm', 'www.example.test', ...etcdArgs]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe('deleted www.example.test\n');
    await digUntil(server.port, ['www.example.test', 'A'], (r) => r.status === 'NXDOMAIN', 1000);

    const again = await runCli(['records', 'rm', 'www.example.test', ...etcdArgs]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('etcdns: no record named www.example.test\n');
  });

  it('records put: an invalid value is refused with the parser\'s message, and nothing is written', async () => {
    const bad = await runCli(['records', 'put', 'bad.example.test', '{"host":"10.0.0.1","port":"http"}', ...etcdArgs]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('etcdns: value for bad.example.test: port: expected an integer -1..65535, got "http"\n');
    const json = await runCli(['records', 'put', 'bad.example.test', '{host: 10.0.0.1}', ...etcdArgs]);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/^etcdns: value for bad\.example\.test: invalid JSON: /);
    expect(await etcd.etcdctl(['get', '/skydns/test/example/bad'])).toBe('');
  });

  it('records put --ttl-lease: answered, then gone by itself when the lease runs out', async () => {
    const put = await runCli(['records', 'put', 'tmp.example.test', '{"host":"192.0.2.99"}', '--ttl-lease', '2', ...etcdArgs]);
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/^tmp\.example\.test {2}\/skydns\/test\/example\/tmp, lease [0-9a-f]+ expires in 2s\n$/);
    await digUntil(server.port, ['tmp.example.test', 'A'], (r) => r.answer.length === 1, 1000);
    await digUntil(server.port, ['tmp.example.test', 'A'], (r) => r.status === 'NXDOMAIN', 6000);
  });

  it('register: an etcd outage longer than the lease TTL is survived: logged, re-registered, back in DNS', async () => {
    const registrar = startRegistrar([
      '--name', 'orders',
      '--host', '192.0.2.7',
      '--port', '9000',
      '--id', 'o1',
      '--domain', 'svc.example.test',
      '--lease-ttl', '2',
      ...etcdArgs,
      '--log-format', 'json',
    ]);
    await registrar.waitFor('stdout', /^registered /);
    await digUntil(server.port, ['orders.svc.example.test', 'SRV'], (r) => r.answer.length === 1, 1000);

    await etcd.members[0]!.kill();
    const lost = await registrar.waitFor('stderr', /lease lost/, 10_000);
    expect(JSON.parse(lost)).toMatchObject({ level: 40 });
    await etcd.members[0]!.start();
    const again = await registrar.waitFor('stderr', /registered again/, 15_000);
    expect(JSON.parse(again)).toMatchObject({ reason: 'lease lost', key: '/skydns/test/example/svc/orders/o1' });
    // stdout stays the one line written at the first registration.
    expect(registrar.stdout).toHaveLength(1);
    await digUntil(server.port, ['orders.svc.example.test', 'SRV'], (r) => r.answer.length === 1 && r.answer[0]!.data.endsWith('9000 o1.orders.svc.example.test.'), 10_000);

    expect(await registrar.stop('SIGINT')).toBe(0);
    await digUntil(server.port, ['orders.svc.example.test', 'SRV'], (r) => r.status === 'NXDOMAIN', 1000);
  }, 60_000);

  it('records: an unreachable etcd is one line and exit 1', async () => {
    const r = await runCli(['records', 'list', '--etcd', 'http://127.0.0.1:1'], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^etcdns: records list: etcd http:\/\/127\.0\.0\.1:1: .+\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 40_000);
});

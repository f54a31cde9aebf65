/**
 * The registry SDK as another project uses it (issue 22), against a real etcd and the DNS server
 * as a real process: every deliberate failure coded, bounded waits (also as seen by a script
 * that has nothing else keeping it alive), a final close for the gRPC resolver, duplicate ids
 * as conflicts instead of a key that flips, and RFC 2782 names answered over DNS.
 *
 * Child processes run `dist/`: `npm run build` first (the suite does).
 */
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdnsError } from '../src/errors.js';
import { registerEtcdResolver, ROUND_ROBIN_CHANNEL_OPTIONS } from '../src/registry/grpc.js';
import { EtcdRegistry, REGISTRY_ERROR_CODES, type ConflictEvent, type Service } from '../src/registry/index.js';
import { dig, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { freePort } from './support/ports.js';
import { REPO_ROOT, startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const DOMAIN = 'sdk.example.test';
const TTL = 5;
const REGISTRANT = fileURLToPath(new URL('./support/registrant.mjs', import.meta.url));
const PROBE = fileURLToPath(new URL('./support/sdk-probe.mjs', import.meta.url));
const GRPC_INSTANCE = fileURLToPath(new URL('./support/grpc-instance.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/registry/index.js', import.meta.url));

async function until<T>(probe: () => Promise<T>, check: (v: T) => boolean, withinMs: number, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (check(v)) return v;
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const answers = (r: DigResult, section: 'answer' | 'additional' = 'answer') => r[section].map((a) => `${a.type} ${a.data}`).sort();
/** SRV answers as `port target` (the weights are the server's percentage split, tested elsewhere). */
const targets = (r: DigResult) => r.answer.map((a) => a.data.split(' ').slice(2).join(' ')).sort();

/** A child process printing JSON lines: each line as it comes, and its exit. */
function startChild(script: string, config: object, children: Set<ChildProcess>) {
  const child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  children.add(child);
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>);
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  /** The first line (from `from` on) that passes `check`, with the time it was read. */
  const line = (check: (l: Record<string, unknown>) => boolean, withinMs = 15_000, from = 0) =>
    new Promise<Record<string, unknown> & { at: number }>((resolve, reject) => {
      const look = () => {
        const found = lines.slice(from).find(check);
        if (found) {
          waiters.delete(look);
          clearTimeout(timer);
          resolve({ ...found, at: performance.now() });
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(look);
        reject(new Error(`no such line within ${withinMs} ms; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`));
      }, withinMs);
      waiters.add(look);
      look();
    });
  return { child, lines, line, exited, stderr: () => stderr };
}

describe('registry SDK for other projects (real etcd, DNS server process)', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  let registry: EtcdRegistry;
  let deadEndpoint: string;
  const zones = tempZones({});
  const children = new Set<ChildProcess>();
  const digAt = (name: string, type: string) => dig(server.port, [name, type]);

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` before these tests`);
    etcd = await startEtcd();
    server = await startServer(['--etcd', etcd.endpoints.join(','), '--etcd-zone', DOMAIN, '--zones', zones.dir]);
    registry = new EtcdRegistry({ endpoints: etcd.endpoints, domain: DOMAIN, leaseTtlSeconds: TTL });
    // Nothing listens there: etcd "unreachable" without waiting for a network timeout.
    deadEndpoint = `http://127.0.0.1:${await freePort()}`;
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    await registry?.close();
    await server?.stop();
    await etcd?.stop();
    zones.remove();
  });

  it('every deliberate failure is an EtcdnsError with a documented code, the underlying error as cause', async () => {
    const seen = new Set<string>();
    /** Runs `f`, expects a coded EtcdnsError, records the code. */
    const coded = async (code: string, f: () => unknown) => {
      let error: unknown;
      try {
        await f();
      } catch (err) {
        error = err;
      }
      expect(isEtcdnsError(error, code), `${code}: got ${String(error)}`).toBe(true);
      seen.add(code);
      return error as Error;
    };
    await coded('ETCDNS_ERR_REGISTRY_VALIDATION', () => new EtcdRegistry({ endpoints: etcd.endpoints, domain: DOMAIN, leaseTTL: 5 } as never));
    await coded('ETCDNS_ERR_REGISTRY_VALIDATION', () => new EtcdRegistry({ endpoints: ['ftp://x:1'], domain: DOMAIN }));
    await coded('ETCDNS_ERR_REGISTRY_VALIDATION', () => registry.register({ service: 'x', host: '192.0.2.1', port: 1, portName: 'bad name' }));
    await coded('ETCDNS_ERR_REGISTRY_NOT_INITIALISED', () => new EtcdRegistry().getService('x'));
    await coded('ETCDNS_ERR_REGISTRY_ALREADY_INITIALISED', () => registry.init({ endpoints: etcd.endpoints, domain: DOMAIN }));

    const dead = new EtcdRegistry({ endpoints: [deadEndpoint], domain: DOMAIN, syncTimeoutMs: 300, registerTimeoutMs: 2000 });
    const errors: Error[] = [];
    const timeout = await coded('ETCDNS_ERR_REGISTRY_TIMEOUT', () => dead.getService('x'));
    expect(timeout.message).toMatch(/within 300 ms/);
    const regTimeout = await coded('ETCDNS_ERR_REGISTRY_TIMEOUT', () => dead.register({ service: 'x', id: 'x1', host: '192.0.2.1', port: 1 }));
    // The cause: the last failed attempt, itself coded, with etcd3's error under it.
    expect(isEtcdnsError(regTimeout.cause, 'ETCDNS_ERR_REGISTRY_UNAVAILABLE')).toBe(true);
    seen.add('ETCDNS_ERR_REGISTRY_UNAVAILABLE');
    expect((regTimeout.cause as Error).cause).toBeInstanceOf(Error);
    expect(dead.registered()).toEqual([]); // a timed-out register leaves nothing behind
    await coded('ETCDNS_ERR_REGISTRY_ABORTED', () => dead.getService('x', AbortSignal.abort(new Error('mine'))));
    await dead.close();
    await coded('ETCDNS_ERR_REGISTRY_CLOSED', () => dead.getService('x'));
    await coded('ETCDNS_ERR_REGISTRY_CLOSED', () => dead.register({ service: 'x', host: '192.0.2.1', port: 1 }));
    await coded('ETCDNS_ERR_REGISTRY_CLOSED', () => dead.init({ endpoints: etcd.endpoints, domain: DOMAIN }));
    // watch() after close() ends, without an error.
    const after: Service[] = [];
    for await (const s of dead.watch('x')) after.push(s);
    expect(after).toEqual([]);

    // 'lost' events are coded (and 'error' events: the register timeout's cause above is the
    // last 'error' event of that registration).
    const reg = await registry.register({ service: 'codes', id: 'c1', host: '192.0.2.1', port: 80 });
    reg.on('error', (e) => errors.push(e));
    const lost = once(reg, 'lost') as Promise<[Error]>;
    await etcd.client.leaseClient.leaseRevoke({ ID: reg.leaseId()! });
    const [lostError] = await lost;
    expect(isEtcdnsError(lostError, 'ETCDNS_ERR_REGISTRY_LEASE_LOST')).toBe(true);
    seen.add('ETCDNS_ERR_REGISTRY_LEASE_LOST');
    await once(reg, 'registered');
    for (const e of errors) expect(isEtcdnsError(e)).toBe(true);

    // Conflict: another registry (another process, as far as etcd knows) with the same id.
    const other = new EtcdRegistry({ endpoints: etcd.endpoints, domain: DOMAIN, leaseTtlSeconds: TTL });
    const conflicts: ConflictEvent[] = [];
    other.on('conflict', (e) => conflicts.push(e));
    const conflict = await coded('ETCDNS_ERR_REGISTRY_CONFLICT', () => other.register({ service: 'codes', id: 'c1', host: '192.0.2.2', port: 81 }));
    expect(conflict.message).toMatch(/held by lease \d+ of another live registration/);
    expect(conflicts.map((c) => [c.outcome, c.heldBy, c.error.code])).toEqual([['refused', reg.leaseId(), 'ETCDNS_ERR_REGISTRY_CONFLICT']]);
    // ... and unregistering it from there would be undone at once by its owner: refused.
    await coded('ETCDNS_ERR_REGISTRY_NOT_OWNED', () => other.unregister({ service: 'codes', id: 'c1', host: '192.0.2.2', port: 81 }));
    expect(JSON.parse((await etcd.client.get(reg.key).exec()).kvs[0]!.value.toString()).port).toBe(80);
    await other.close();
    await registry.unregister(reg);

    // Every code of the documented list was met on purpose.
    expect([...seen].sort()).toEqual([...REGISTRY_ERROR_CODES].sort());
  }, 30_000);

  it('a script awaiting getService with etcd unreachable gets the timeout code within its deadline (not a silent exit 13)', async () => {
    const p = startChild(PROBE, { mode: 'getService', endpoints: [deadEndpoint], syncTimeoutMs: 800 }, children);
    const result = await p.line((l) => 'code' in l || 'ok' in l);
    expect(result).toMatchObject({ code: 'ETCDNS_ERR_REGISTRY_TIMEOUT' });
    console.log(`registry-sdk: getService rejected after ${String(result.ms)} ms (syncTimeoutMs 800)`);
    expect(result.ms as number).toBeGreaterThanOrEqual(790);
    expect(result.ms as number).toBeLessThan(800 + 1500); // the deadline, plus a loaded box's slack
    expect((await p.exited).code).toBe(0);
  });

  it('grpc-js client + resolver with etcd unreachable: the process exits within 1 s of client.close(); await registry.close()', async () => {
    const p = startChild(PROBE, { mode: 'grpc-close', endpoints: [deadEndpoint] }, children);
    const closed = await p.line((l) => l.closed === true);
    // A resolver grpc-js creates after close() reports the final error instead of retrying.
    expect(closed.late).toBe('etcd resolver: service "echo": the registry is closed');
    const exit = await p.exited;
    expect(exit.code, p.stderr()).toBe(0);
    console.log(`registry-sdk: process exited ${Math.round(exit.at - closed.at)} ms after client.close(); await registry.close()`);
    expect(exit.at - closed.at).toBeLessThan(1000);
  });

  it('two processes registering the same id: the second gets the conflict (code and event); the key never flips', async () => {
    const cfg = (port: number, takeover = false) => ({
      endpoints: etcd.endpoints,
      domain: DOMAIN,
      leaseTtlSeconds: TTL,
      instance: { service: 'twins', id: 't1', host: '127.0.0.1', port },
      signalHandlers: true,
      takeover,
    });
    const first = startChild(REGISTRANT, cfg(7001), children);
    const a = await first.line((l) => 'key' in l);
    const key = String(a.key);
    // Every write of the key from here on.
    const writes: number[] = [];
    const watcher = await etcd.client.watch().key(key).create();
    watcher.on('put', (kv) => writes.push(JSON.parse(kv.value.toString()).port as number));

    const second = startChild(REGISTRANT, cfg(7002), children);
    expect(await second.line((l) => 'registryConflict' in l)).toMatchObject({ registryConflict: 'refused', code: 'ETCDNS_ERR_REGISTRY_CONFLICT' });
    expect(await second.line((l) => 'error' in l)).toMatchObject({ error: 'ETCDNS_ERR_REGISTRY_CONFLICT' });
    expect((await second.exited).code).toBe(2);
    // Longer than a TTL: the first's periodic check has run; nobody wrote the key.
    await new Promise((resolve) => setTimeout(resolve, (TTL + 1) * 1000));
    expect(writes).toEqual([]);
    expect(JSON.parse((await etcd.client.get(key).exec()).kvs[0]!.value.toString()).port).toBe(7001);

    // Taken over on purpose: the first stands back (conflict event), the key changes once.
    const third = startChild(REGISTRANT, cfg(7003, true), children);
    await third.line((l) => 'key' in l);
    expect(await first.line((l) => 'conflict' in l)).toMatchObject({ conflict: 'refused', code: 'ETCDNS_ERR_REGISTRY_CONFLICT' });
    await new Promise((resolve) => setTimeout(resolve, (TTL + 1) * 1000));
    expect(writes).toEqual([7003]);
    // The taker leaves (SIGTERM: revoked): the first one takes its key back.
    const from = first.lines.length;
    third.child.kill('SIGTERM');
    await third.exited;
    expect(await first.line((l) => 'registered' in l, 10_000, from)).toMatchObject({ registered: 'conflict resolved' });
    await until(async () => writes, (w) => w.length === 2, 2000, 'key back');
    expect(writes).toEqual([7003, 7001]);
    await watcher.cancel();
    first.child.kill('SIGTERM');
    await first.exited;
  }, 60_000);

  it('portName/protocol: _grpc._tcp.<service> SRV answers the instances with their addresses (dig and a stub resolver), the old names still answer', async () => {
    const g1 = await registry.register({ service: 'greeter', id: 'g1', host: '192.0.2.91', port: 50051, portName: 'grpc' });
    const g2 = await registry.register({ service: 'greeter', id: 'g2', host: '192.0.2.92', port: 50052, portName: 'grpc', protocol: 'tcp' });
    const plain = await registry.register({ service: 'greeter', id: 'h1', host: '192.0.2.93', port: 8080 });
    expect(g1.key).toBe('/skydns/test/example/sdk/greeter/_tcp/_grpc/g1');
    const srvName = `_grpc._tcp.greeter.${DOMAIN}`;
    const srv = await until(() => digAt(srvName, 'SRV'), (r) => r.answer.length === 2, 2000, 'dig _grpc._tcp SRV');
    expect(targets(srv)).toEqual([`50051 g1.${srvName}.`, `50052 g2.${srvName}.`]);
    expect(answers(srv, 'additional')).toEqual(['A 192.0.2.91', 'A 192.0.2.92']);
    expect(answers(await digAt(`g1.${srvName}`, 'A'))).toEqual(['A 192.0.2.91']);
    // What Go's net.LookupSRV("grpc", "tcp", "greeter.<domain>") and Java's JNDI ask: a stub
    // resolver's SRV query for _grpc._tcp.greeter.<domain>.
    const stub = new Resolver({ timeout: 2000, tries: 1 });
    stub.setServers([`127.0.0.1:${server.port}`]);
    const records = await stub.resolveSrv(srvName);
    expect(records.map((r) => `${r.port} ${r.name}`).sort()).toEqual([`50051 g1.${srvName}`, `50052 g2.${srvName}`]);
    expect(await stub.resolve4(records.find((r) => r.port === 50051)!.name)).toEqual(['192.0.2.91']);
    // The service name still lists every instance, each once.
    const all = await digAt(`greeter.${DOMAIN}`, 'SRV');
    expect(targets(all)).toEqual([`50051 g1.${srvName}.`, `50052 g2.${srvName}.`, `8080 h1.greeter.${DOMAIN}.`]);
    expect(answers(await digAt(`h1.greeter.${DOMAIN}`, 'A'))).toEqual(['A 192.0.2.93']);
    // getService: by service (all three) and by RFC 2782 name (the gRPC ones).
    const svc = await until(() => registry.getService('greeter'), (s) => s.instances.length === 3, 2000, 'getService');
    expect(svc.instances.map((i) => [i.id, i.port, i.portName, i.protocol, i.service])).toEqual([
      ['g1', 50051, 'grpc', 'tcp', 'greeter'],
      ['g2', 50052, 'grpc', 'tcp', 'greeter'],
      ['h1', 8080, undefined, undefined, 'greeter'],
    ]);
    expect((await registry.getService('_grpc._tcp.greeter')).instances.map((i) => i.id)).toEqual(['g1', 'g2']);
    // Symbol.asyncDispose (`await using`) unregisters a registration and closes a registry.
    await g1[Symbol.asyncDispose]();
    expect(g1.state()).toBe('stopped');
    expect((await etcd.client.get(g1.key).exec()).kvs).toEqual([]);
    for (const r of [g2, plain]) await registry.unregister(r);
    const scoped = new EtcdRegistry({ endpoints: etcd.endpoints, domain: DOMAIN });
    await scoped[Symbol.asyncDispose]();
    expect(scoped.closed).toBe(true);
  });

  it('an etcd3 client of the caller (kratos New(client)): used as it is, never closed by the registry', async () => {
    const own = new EtcdRegistry({ client: etcd.client, domain: DOMAIN, leaseTtlSeconds: TTL });
    const reg = await own.register({ service: 'borrowed', id: 'b1', host: '192.0.2.95', port: 80 });
    expect((await own.getService('borrowed')).instances.map((i) => i.id)).toEqual(['b1']);
    await own.close();
    expect((await etcd.client.get(reg.key).exec()).kvs).toEqual([]); // revoked through it
    await etcd.client.put('/borrowed-still-open').value('1'); // and the client still works
  });

  it('SIGTERM with the drain hook: 0 failed calls over 3 runs of a client sending steadily to two instances', async () => {
    const clientRegistry = new EtcdRegistry({ endpoints: etcd.endpoints, domain: DOMAIN });
    registerEtcdResolver(grpc, clientRegistry);
    const client = new grpc.Client('etcd:///drain', grpc.credentials.createInsecure(), ROUND_ROBIN_CHANNEL_OPTIONS);
    const call = () =>
      new Promise<string>((resolve, reject) =>
        client.makeUnaryRequest('/etcdns.test.Echo/WhoAmI', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, res) =>
          err ? reject(err) : resolve(res!.toString()),
        ),
      );
    const failures: string[] = [];
    let total = 0;
    try {
      for (let run = 1; run <= 3; run++) {
        const start = (id: string) => startChild(GRPC_INSTANCE, { endpoints: etcd.endpoints, domain: DOMAIN, service: 'drain', id }, children);
        const a = start(`r${run}a`);
        const b = start(`r${run}b`);
        await Promise.all([a.line((l) => 'port' in l), b.line((l) => 'port' in l)]);
        // Both in the client's list before the clock starts.
        const served = new Set<string>();
        await until(async () => (served.add(await call()), served.size), (n) => n === 2, 5000, 'both instances answer');
        let sending = true;
        const seen = new Map<string, number>();
        // Four callers back to back: a steady stream with calls always in flight.
        const callers = [1, 2, 3, 4].map(async () => {
          while (sending) {
            total++;
            try {
              const who = await call();
              seen.set(who, (seen.get(who) ?? 0) + 1);
            } catch (err) {
              failures.push(`run ${run}: ${(err as Error).message}`);
            }
          }
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        a.child.kill('SIGTERM');
        const exit = await a.exited;
        expect(exit.signal).toBe('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 300));
        sending = false;
        await Promise.all(callers);
        expect(seen.get(`r${run}b`)).toBeGreaterThan(0);
        b.child.kill('SIGTERM');
        await b.exited;
      }
    } finally {
      client.close();
      await clientRegistry.close();
    }
    console.log(`registry-sdk: drain: ${total} calls over 3 SIGTERM runs, ${failures.length} failed`);
    expect(failures).toEqual([]);
  }, 60_000);
});

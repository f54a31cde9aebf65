/**
 * The registry SDK against a real etcd, with the DNS server as a real process reading the same
 * keys: what register writes is answered over DNS at once, and the "instance silently
 * disappears forever" failures of other registries (kratos#3883, go-zero#1926/#4201/PR #4960,
 * go-micro#2956) do not happen here: lease lost, key deleted or overwritten by hand, a network
 * partition and an etcd outage longer than the TTL all end with the instance registered again.
 *
 * Runs `dist/` for the registrant processes: `npm run build` first (the suite does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdRegistry, type Service } from '../src/registry/index.js';
import { dig, type DigResult } from './support/dig.js';
import { startEtcd, startTcpProxy, type EtcdCluster } from './support/etcd.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const DOMAIN = 'svc.example.test';
/** etcd's practical minimum; every expiry below is bounded by it. */
const TTL = 5;
const REGISTRANT = fileURLToPath(new URL('./support/registrant.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/registry/index.js', import.meta.url));

/** Polls `probe` until `check` passes; fails with the last value after `withinMs`. */
async function until<T>(probe: () => Promise<T>, check: (v: T) => boolean, withinMs: number, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (check(v)) return v;
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms; last: ${JSON.stringify(v, null, 1).slice(0, 2000)}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const answers = (r: DigResult, section: 'answer' | 'additional' = 'answer') => r[section].map((a) => `${a.type} ${a.data}`).sort();

describe('registry (real etcd, DNS server process)', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  let registry: EtcdRegistry;
  const zones = tempZones({});
  const children = new Set<ChildProcess>();

  const keyOf = async (key: string) => {
    const res = await etcd.client.get(key).exec();
    const kv = res.kvs[0];
    return kv ? { value: kv.value.toString(), lease: String(kv.lease) } : undefined;
  };
  const digA = (name: string) => dig(server.port, [name, 'A']);
  const digSrv = (name: string) => dig(server.port, [name, 'SRV']);
  const newRegistry = (endpoints = etcd.endpoints) => new EtcdRegistry({ endpoints, domain: DOMAIN, leaseTtlSeconds: TTL });

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` before these tests`);
    etcd = await startEtcd();
    server = await startServer(['--etcd', etcd.endpoints.join(','), '--etcd-zone', DOMAIN, '--zones', zones.dir]);
    registry = newRegistry();
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    await registry?.close();
    await server?.stop();
    await etcd?.stop();
    zones.remove();
  });

  it('register: the SkyDNS key and value, then getService, dig A and dig SRV within a second', async () => {
    const started = Date.now();
    const reg = await registry.register({ service: 'payments', id: 'p1', host: '192.0.2.11', port: 8443, metadata: { zone: 'a', version: '1.2.3' } });
    expect(reg.key).toBe('/skydns/test/example/svc/payments/p1');
    expect(reg.state()).toBe('registered');
    const stored = await keyOf(reg.key);
    expect(JSON.parse(stored!.value)).toEqual({ host: '192.0.2.11', port: 8443, metadata: { zone: 'a', version: '1.2.3' } });
    expect(stored!.lease).toBe(reg.leaseId());
    const lease = await etcd.client.leaseClient.leaseTimeToLive({ ID: reg.leaseId()! });
    expect(Number(lease.grantedTTL)).toBe(TTL);

    await registry.register({ service: 'payments', id: 'p2', host: '2001:db8::12', port: 8444, weight: 50, priority: 5 });
    const svc = await until(() => registry.getService('payments'), (s) => s.instances.length === 2, 1000, 'getService');
    expect(svc.stale).toBe(false);
    expect(svc.instances.map((i) => [i.id, i.host, i.port, i.priority, i.weight, i.name])).toEqual([
      ['p1', '192.0.2.11', 8443, 10, 0, 'p1.payments.svc.example.test'],
      ['p2', '2001:db8::12', 8444, 5, 50, 'p2.payments.svc.example.test'],
    ]);
    expect(svc.instances[0]!.metadata).toEqual({ zone: 'a', version: '1.2.3' });

    const a = await until(() => digA('payments.svc.example.test'), (r) => r.answer.length === 1, 1000, 'dig A');
    expect(answers(a)).toEqual(['A 192.0.2.11']);
    expect(answers(await dig(server.port, ['payments.svc.example.test', 'AAAA']))).toEqual(['AAAA 2001:db8::12']);
    expect(answers(await digA('p1.payments.svc.example.test'))).toEqual(['A 192.0.2.11']);
    const srv = await until(() => digSrv('payments.svc.example.test'), (r) => r.answer.length === 2, 1000, 'dig SRV');
    expect(answers(srv)).toEqual(['SRV 10 100 8443 p1.payments.svc.example.test.', 'SRV 5 100 8444 p2.payments.svc.example.test.']);
    expect(answers(srv, 'additional')).toEqual(['A 192.0.2.11', 'AAAA 2001:db8::12']);
    // The DNS TTL of a leased record is capped at the lease TTL.
    expect(srv.answer[0]!.ttl).toBeLessThanOrEqual(TTL);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('unregister: the key is gone when it resolves; getService and DNS follow at once', async () => {
    const reg = await registry.register({ service: 'billing', id: 'b1', host: '192.0.2.21', port: 9000 });
    await until(() => digA('billing.svc.example.test'), (r) => r.answer.length === 1, 1000, 'dig A');
    await until(() => registry.getService('billing'), (s) => s.instances.length === 1, 1000, 'getService');
    await registry.unregister(reg);
    expect(await keyOf(reg.key)).toBeUndefined();
    expect(reg.state()).toBe('stopped');
    expect(reg.leaseId()).toBeUndefined();
    // A real removal is reported as an empty list (not refused, unlike kratos's resolver).
    await until(() => registry.getService('billing'), (s) => s.instances.length === 0, 1000, 'getService empty');
    await until(() => digA('billing.svc.example.test'), (r) => r.status === 'NXDOMAIN', 1000, 'dig NXDOMAIN');
    // By instance (id) too; and an instance this registry does not hold is deleted directly.
    await registry.register({ service: 'billing', id: 'b2', host: '192.0.2.22', port: 9000 });
    await registry.unregister({ service: 'billing', id: 'b2', host: '192.0.2.22', port: 9000 });
    expect(await keyOf('/skydns/test/example/svc/billing/b2')).toBeUndefined();
    await etcd.client.put('/skydns/test/example/svc/billing/old').value(JSON.stringify({ host: '192.0.2.23', port: 9000 }));
    await registry.unregister({ service: 'billing', id: 'old', host: 'x', port: 1 });
    expect(await keyOf('/skydns/test/example/svc/billing/old')).toBeUndefined();
  });

  it('close(): every lease revoked, the keys gone at once', async () => {
    const other = newRegistry();
    const r1 = await other.register({ service: 'closing', id: 'c1', host: '192.0.2.31', port: 80 });
    const r2 = await other.register({ service: 'closing.team', host: 'backend.example.org', port: 81 });
    expect(r2.instance.id).toMatch(/^[a-z0-9-]+-\d+-[0-9a-f]{8}$/);
    expect(r2.key).toBe(`/skydns/test/example/svc/team/closing/${r2.instance.id}`);
    await until(() => digA('c1.closing.svc.example.test'), (r) => r.answer.length === 1, 1000, 'dig A');
    const seen: number[] = [];
    const watching = (async () => {
      for await (const s of other.watch('closing')) seen.push(s.instances.length);
    })();
    await until(async () => seen.at(-1), (n) => n === 1, 2000, 'watch sees c1');
    await other.close();
    await watching; // close() ends every watch (no signal needed)
    expect(await keyOf(r1.key)).toBeUndefined();
    expect(await keyOf(r2.key)).toBeUndefined();
    await until(() => digA('c1.closing.svc.example.test'), (r) => r.status === 'NXDOMAIN', 1000, 'dig NXDOMAIN');
    await expect(other.register({ service: 'closing', host: '192.0.2.31', port: 80 })).rejects.toThrow(/closed/);
  });

  it('rejects invalid instances with clear errors', async () => {
    // RegistryValidationError: nothing was written; SDK users branch on the code.
    const invalid = (message: RegExp) => ({ code: 'ETCDNS_ERR_REGISTRY_VALIDATION', name: 'RegistryValidationError', message: expect.stringMatching(message) });
    await expect(registry.register({ service: 'bad service', host: '192.0.2.1', port: 80 })).rejects.toMatchObject(invalid(/service "bad service"/));
    await expect(registry.register({ service: 'ok', host: '192.0.2.1', port: 0 })).rejects.toMatchObject(invalid(/port must be an integer 1\.\.65535/));
    await expect(registry.register({ service: 'ok', host: '300.1.1.1', port: 80 })).rejects.toMatchObject(invalid(/not a valid IPv4/));
    await expect(registry.register({ service: 'ok', id: 'a_b', host: '192.0.2.1', port: 80 })).rejects.toMatchObject(invalid(/id "a_b"/));
    const reg = await registry.register({ service: 'dup', id: 'd1', host: '192.0.2.1', port: 80 });
    await expect(registry.register({ service: 'dup', id: 'd1', host: '192.0.2.2', port: 80 })).rejects.toMatchObject(invalid(/dup\/d1 is already registered/));
    await registry.unregister(reg);
  });

  it('watch: the current list, then every change', async () => {
    const ac = new AbortController();
    const seen: Service[] = [];
    const done = (async () => {
      for await (const s of registry.watch('orders', ac.signal)) seen.push(s);
    })();
    await until(async () => seen.length, (n) => n === 1, 2000, 'first yield');
    expect(seen[0]!.instances).toEqual([]);
    const o1 = await registry.register({ service: 'orders', id: 'o1', host: '192.0.2.41', port: 7000 });
    await until(async () => seen.at(-1)!.instances.length, (n) => n === 1, 1000, 'o1 seen');
    await registry.register({ service: 'orders', id: 'o2', host: '192.0.2.42', port: 7000 });
    await until(async () => seen.at(-1)!.instances.length, (n) => n === 2, 1000, 'o2 seen');
    // A change elsewhere is not a change of 'orders'.
    const before = seen.length;
    const elsewhere = await registry.register({ service: 'unrelated', id: 'u1', host: '192.0.2.49', port: 7000 });
    // Once discovery has applied that change (the same cache feeds the watch), nothing came.
    await until(() => registry.getService('unrelated'), (s) => s.instances.length === 1, 1000, 'u1 discovered');
    await new Promise((resolve) => setImmediate(resolve)); // and the watch loop has had its turn
    expect(seen.length).toBe(before);
    await registry.unregister(o1);
    await until(async () => seen.at(-1)!.instances.map((i) => i.id), (ids) => ids.join() === 'o2', 1000, 'o1 gone');
    expect(seen.map((s) => s.instances.length)).toEqual([0, 1, 2, 1]);
    expect(seen.every((s) => !s.stale)).toBe(true);
    ac.abort();
    await done; // the iteration ends on abort
    await registry.unregister(elsewhere);
  });

  it('a key deleted by hand is put back at once (own-key watch), under the same lease', async () => {
    const reg = await registry.register({ service: 'deleted', id: 'x1', host: '192.0.2.51', port: 80 });
    const lease = reg.leaseId();
    const events: string[] = [];
    reg.on('registered', (e) => events.push(e.reason));
    await etcd.client.delete().key(reg.key).exec();
    const deletedAt = Date.now();
    const back = await until(() => keyOf(reg.key), (v) => v !== undefined, 1000, 'key restored');
    expect(back!.lease).toBe(lease);
    expect(Date.now() - deletedAt).toBeLessThan(1000);
    await until(async () => events, (e) => e.length > 0, 1000, 'registered event');
    expect(events).toEqual(['key deleted']);
    await registry.unregister(reg);
  });

  it('a key overwritten without a lease is reclaimed by the per-TTL check (go-zero PR #4960)', async () => {
    const reg = await registry.register({ service: 'overwritten', id: 'x1', host: '192.0.2.52', port: 80 });
    // Without a lease the key would outlive the process: the registration must take it back.
    await etcd.client.put(reg.key).value(JSON.stringify({ host: '192.0.2.99', port: 80 }));
    const back = await until(() => keyOf(reg.key), (v) => v?.lease === reg.leaseId(), (TTL + 2) * 1000, 'key reclaimed');
    expect(JSON.parse(back!.value).host).toBe('192.0.2.52');
    await registry.unregister(reg);
  }, 20_000);

  it('a lease revoked by someone else: registered again under a new lease', async () => {
    const reg = await registry.register({ service: 'revoked', id: 'x1', host: '192.0.2.53', port: 80 });
    const first = reg.leaseId()!;
    const lost: Error[] = [];
    reg.on('lost', (e) => lost.push(e));
    await etcd.client.leaseClient.leaseRevoke({ ID: first });
    const revokedAt = Date.now();
    // etcd3 reports the loss on the next keepalive (≤ TTL/3) or on the re-put the deletion
    // triggers: well before the watchdog (TTL) would step in.
    const back = await until(() => keyOf(reg.key), (v) => v !== undefined && v.lease !== first, 2500, 're-registered');
    expect(Date.now() - revokedAt).toBeLessThan(2500);
    await until(async () => reg.leaseId(), (id) => id === back!.lease, 1000, 'new lease id');
    expect(lost.map((e) => e.message)).toEqual([expect.stringMatching(/expired or revoked/)]);
    await registry.unregister(reg);
  });

  /** Starts test/support/registrant.mjs; resolves with its first line (key, id, lease). */
  async function startRegistrant(instance: object, signalHandlers: boolean) {
    const child = spawn(process.execPath, [REGISTRANT, JSON.stringify({ endpoints: etcd.endpoints, domain: DOMAIN, leaseTtlSeconds: TTL, instance, signalHandlers })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`registrant printed nothing in 10 s; stderr: ${stderr}`)), 10_000);
      createInterface({ input: child.stdout! }).once('line', (l) => (clearTimeout(timer), resolve(l)));
      void exited.then(({ code }) => reject(new Error(`registrant exited (${code}); stderr: ${stderr}`)));
    });
    return { child, exited, ...(JSON.parse(line) as { key: string; id: string; lease: string }) };
  }

  it('a registrant process killed with SIGKILL: still answered until its lease expires, gone within the TTL', async () => {
    const p = await startRegistrant({ service: 'crashy', id: 'k1', host: '192.0.2.61', port: 80 }, false);
    expect(p.key).toBe('/skydns/test/example/svc/crashy/k1');
    await until(() => digA('k1.crashy.svc.example.test'), (r) => r.answer.length === 1, 1000, 'dig A');
    process.kill(p.child.pid!, 'SIGKILL');
    const killedAt = Date.now();
    expect((await p.exited).signal).toBe('SIGKILL');
    // Nothing revoked it: the key lives on until the lease runs out (last keepalive ≤ TTL/3 ago).
    await sleep(1500);
    expect((await keyOf(p.key))?.lease).toBe(p.lease); // still there, under the dead process's lease
    await until(() => keyOf(p.key), (v) => v === undefined, (TTL + 2) * 1000, 'key expired');
    expect(Date.now() - killedAt).toBeLessThan((TTL + 2) * 1000);
    await until(() => digA('k1.crashy.svc.example.test'), (r) => r.status === 'NXDOMAIN', 1000, 'dig NXDOMAIN');
  }, 20_000);

  it('a registrant with installSignalHandlers sent SIGTERM: revoked at once, then ends by SIGTERM', async () => {
    const p = await startRegistrant({ service: 'graceful', id: 'g1', host: '192.0.2.62', port: 80 }, true);
    await until(() => digA('g1.graceful.svc.example.test'), (r) => r.answer.length === 1, 1000, 'dig A');
    process.kill(p.child.pid!, 'SIGTERM');
    const sentAt = Date.now();
    const exit = await p.exited;
    expect(exit.signal).toBe('SIGTERM'); // re-raised: the exit status is the signal's, as without handlers
    expect(await keyOf(p.key)).toBeUndefined(); // revoked before the process went
    expect(Date.now() - sentAt).toBeLessThan(2000);
    await until(() => digA('g1.graceful.svc.example.test'), (r) => r.status === 'NXDOMAIN', 1000, 'dig NXDOMAIN');
  }, 20_000);

  it('getService and register honour their AbortSignal while etcd never answers', async () => {
    const dead = newRegistry(['http://127.0.0.1:1']);
    try {
      const t0 = Date.now();
      // Coded, with the signal's own reason (AbortSignal.timeout: a TimeoutError DOMException) as the cause.
      const aborted = { code: 'ETCDNS_ERR_REGISTRY_ABORTED', cause: expect.objectContaining({ name: 'TimeoutError' }) };
      await expect(dead.getService('payments', AbortSignal.timeout(300))).rejects.toMatchObject(aborted);
      await expect(dead.register({ service: 'payments', host: '192.0.2.1', port: 80 }, AbortSignal.timeout(300))).rejects.toMatchObject(aborted);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(dead.registered()).toEqual([]);
    } finally {
      await dead.close();
    }
  });

  it('a network partition longer than the TTL: the key expires, and is back within ~2 s of the partition healing', async () => {
    const proxy = await startTcpProxy(etcd.endpoints[0]!);
    const cut = newRegistry([proxy.url]);
    try {
      const reg = await cut.register({ service: 'partitioned', id: 'n1', host: '192.0.2.71', port: 80 });
      const first = reg.leaseId();
      const lost: string[] = [];
      reg.on('lost', (e) => lost.push(e.message));
      proxy.block();
      // etcd (still running) expires the lease: the instance really is gone (go-zero#1926).
      await until(() => keyOf(reg.key), (v) => v === undefined, (TTL + 2) * 1000, 'key expired during the partition');
      await until(() => digA('n1.partitioned.svc.example.test'), (r) => r.status === 'NXDOMAIN', 1000, 'dig NXDOMAIN');
      await sleep(1000);
      // Our watchdog (no keepalive answered for longer than the TTL) declared it lost; etcd3
      // alone would only have at 2×TTL.
      expect(lost.length).toBe(1);
      expect(lost[0]).toMatch(/no keepalive answered/);
      proxy.unblock();
      const healedAt = Date.now();
      await until(() => keyOf(reg.key), (v) => v !== undefined, 6000, 'key back');
      const ms = Date.now() - healedAt;
      console.log(`registry: re-registered ${ms} ms after the partition healed`);
      // Target ~2 s (maxBackoffMs 2000 + one round trip); loose for a loaded 2-core CI box.
      expect(ms).toBeLessThan(4000);
      expect(reg.leaseId()).not.toBe(first);
      await until(() => digA('n1.partitioned.svc.example.test'), (r) => r.answer.length === 1, 1000, 'dig A again');
    } finally {
      await cut.close();
      await proxy.close();
    }
  }, 30_000);

  // Last: takes etcd down.
  it('etcd down longer than the TTL: discovery serves the last list as stale; the instance is registered again within ~2 s of etcd returning', async () => {
    const reg = await registry.register({ service: 'outage', id: 'e1', host: '192.0.2.81', port: 80 });
    const first = reg.leaseId()!;
    const registered: { at: number; leaseId: string }[] = [];
    reg.on('registered', (e) => registered.push({ at: Date.now(), leaseId: e.leaseId }));
    const ac = new AbortController();
    const seen: Service[] = [];
    const watching = (async () => {
      for await (const s of registry.watch('outage', ac.signal)) seen.push(s);
    })();
    await until(async () => seen.at(-1)?.instances.length, (n) => n === 1, 2000, 'watch sees e1');

    const member = etcd.members[0]!;
    const beforeKill = performance.now();
    await member.kill();
    // Discovery: the last known instances, flagged stale; never an invented empty list.
    const during = await until(() => registry.getService('outage'), (s) => s.stale, 3000, 'stale');
    expect(during.instances.map((i) => i.id)).toEqual(['e1']);
    // Since when: on the registry's clock (performance.now() here), after etcd went away.
    expect(during.staleSince).toBeTypeOf('number');
    expect(during.staleSince!).toBeGreaterThanOrEqual(beforeKill);
    expect(during.staleSince!).toBeLessThanOrEqual(performance.now());
    await until(async () => seen.at(-1)!, (s) => s.stale && s.instances.length === 1, 1000, 'watch sees stale');
    await until(async () => reg.state(), (s) => s === 'registering', (TTL + 2) * 1000, 'lease declared lost');
    await sleep(1500); // down for longer than the TTL in all

    const startAt = Date.now();
    await member.start();
    const upAt = Date.now();
    await until(async () => registered.length, (n) => n >= 1, 8000, 'registered again');
    const back = registered[0]!;
    console.log(`registry: etcd restarted in ${upAt - startAt} ms; re-registered ${back.at - upAt} ms after etcd answered /health (${back.at - startAt} ms after its spawn)`);
    // Target ~2 s (maxBackoffMs 2000 + one round trip); loose for a loaded 2-core CI box.
    expect(back.at - upAt).toBeLessThan(4000);
    expect(back.leaseId).not.toBe(first);
    // Under a live, renewed lease of its own: not merely the old lease that etcd restores with
    // a fresh TTL on restart (it would expire a TTL later); the old one is revoked.
    expect((await keyOf(reg.key))!.lease).toBe(back.leaseId);
    expect(Number((await etcd.client.leaseClient.leaseTimeToLive({ ID: back.leaseId })).TTL)).toBeGreaterThan(0);
    await until(async () => Number((await etcd.client.leaseClient.leaseTimeToLive({ ID: first })).TTL), (t) => t === -1, 3000, 'old lease gone');
    const after = await until(() => registry.getService('outage'), (s) => !s.stale, 4000, 'fresh again');
    expect(after.instances.map((i) => i.id)).toEqual(['e1']);
    expect(after.staleSince).toBeUndefined();
    await until(async () => seen.at(-1)!, (s) => !s.stale, 1000, 'watch sees fresh');
    // From the first list that had e1 on: never an empty (invented) list, only stale flips.
    const from = seen.findIndex((s) => s.instances.length === 1);
    expect(seen.slice(from).map((s) => `${s.instances.length}${s.stale ? ' stale' : ''}`)).toEqual(['1', '1 stale', '1']);
    ac.abort();
    await watching;
  }, 40_000);
});


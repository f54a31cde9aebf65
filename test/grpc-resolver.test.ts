/**
 * The grpc-js resolver end to end: a real etcd on loopback, two real grpc-js servers registered
 * through EtcdRegistry, and a round-robin client dialling `etcd:///echo`. Covers spreading over
 * both instances, dropping an unregistered one within ~1 s (while its server still runs, so
 * only the resolver can have taken it out), and carrying on with the last list while etcd is
 * down.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdRegistry, type Registration } from '../src/registry/index.js';
import { registerEtcdResolver, ROUND_ROBIN_CHANNEL_OPTIONS } from '../src/registry/grpc.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';

/** One unary method with raw bytes both ways: no .proto needed. */
const ECHO = {
  whoAmI: {
    path: '/etcdns.test.Echo/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} satisfies grpc.ServiceDefinition;

const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');
type Echo = InstanceType<typeof EchoClient> & {
  whoAmI(req: Buffer, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall;
};

/** A grpc-js server on 127.0.0.1 that answers with its own name. */
async function startEchoServer(name: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    whoAmI: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

function call(client: Echo, deadlineMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.whoAmI(Buffer.alloc(0), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res!.toString())));
  });
}

async function calls(client: Echo, n: number): Promise<string[]> {
  const out: string[] = [];
  // One after another: round robin then alternates, which is what the assertions count on.
  for (let i = 0; i < n; i++) out.push(await call(client));
  return out;
}

describe('grpc-js resolver etcd:/// (real etcd, real grpc servers)', () => {
  let etcd: EtcdCluster;
  const servers: grpc.Server[] = [];
  let serverRegistry: EtcdRegistry;
  let clientRegistry: EtcdRegistry;
  const clients: grpc.Client[] = [];
  let regs: Registration[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    const a = await startEchoServer('s1');
    const b = await startEchoServer('s2');
    servers.push(a.server, b.server);
    // Two registries, as two processes would have: the servers' side and the client's side.
    serverRegistry = new EtcdRegistry({ endpoints: etcd.endpoints, domain: 'svc.example.test', leaseTtlSeconds: 10 });
    clientRegistry = new EtcdRegistry({ endpoints: etcd.endpoints, domain: 'svc.example.test' });
    regs = await Promise.all([
      serverRegistry.register({ service: 'echo', id: 's1', host: '127.0.0.1', port: a.port }),
      serverRegistry.register({ service: 'echo', id: 's2', host: '127.0.0.1', port: b.port }),
    ]);
    registerEtcdResolver(grpc, () => clientRegistry);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await clientRegistry?.close();
    await serverRegistry?.close();
    for (const s of servers) s.forceShutdown();
    await etcd?.stop();
  });

  function newClient(target: string): Echo {
    const client = new EchoClient(target, grpc.credentials.createInsecure(), ROUND_ROBIN_CHANNEL_OPTIONS) as Echo;
    clients.push(client);
    return client;
  }

  // The steps run in order and share one client, as an application's channel would live through them.
  let client: Echo;

  it('spreads calls over both registered instances (round robin)', async () => {
    client = newClient('etcd:///echo');
    // The first calls wait for the channel to connect to both.
    await expect.poll(async () => new Set(await calls(client, 6)), { timeout: 5000, interval: 50 }).toEqual(new Set(['s1', 's2']));
    // Sequential calls over two ready subchannels: round robin alternates.
    const spread = await calls(client, 10);
    const other = spread[0] === 's1' ? 's2' : 's1';
    expect(spread).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? spread[0] : other)));
  });

  it('drops an unregistered instance within ~1 s, although its server still runs', async () => {
    const unregisteredAt = Date.now();
    await serverRegistry.unregister(regs[1]!);
    await expect.poll(async () => new Set(await calls(client, 4)), { timeout: 1500, interval: 20 }).toEqual(new Set(['s1']));
    expect(Date.now() - unregisteredAt).toBeLessThan(1500);
    expect(new Set(await calls(client, 10))).toEqual(new Set(['s1']));
  });

  it('keeps calling the last list while etcd is down', async () => {
    await etcd.members[0]!.kill();
    // Longer than the registry's reconnect attempts and the resolver's watch retries.
    const until = Date.now() + 3000;
    let ok = 0;
    while (Date.now() < until) {
      expect(await call(client)).toBe('s1');
      ok++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ok).toBeGreaterThan(20);
  });

  it('a service there never was a list for is UNAVAILABLE at once (no hang until the deadline)', async () => {
    const other = newClient('etcd:///nothing-here');
    const started = Date.now();
    await expect(call(other, 10_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('follows changes again once etcd is back', async () => {
    await etcd.members[0]!.start();
    await serverRegistry.register({ service: 'echo', id: 's2', host: '127.0.0.1', port: regs[1]!.instance.port });
    await expect.poll(async () => new Set(await calls(client, 6)), { timeout: 10_000, interval: 100 }).toEqual(new Set(['s1', 's2']));
  }, 20_000);
});

/**
 * `serve --workers N`: N processes on the same sockets, one /health, /ready and /metrics for
 * all, a dead worker replaced, a SIGTERM that stops every process. Real processes, real
 * sockets, real etcd.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { buildQuery, parseReply } from './support/packets.js';
import { startServer, startServerOnFreePort, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const zone = (address: string) => `$TTL 5\n@ SOA ns h 1 2 3 4 5\nwww A ${address}\n`;

function opsUrl(server: ServerProcess, key: 'ready' | 'metrics' | 'health'): string {
  return String(server.logs.find((l) => l.msg === 'listening')![key]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Worker pids as their "worker listening" lines name them, by worker id. */
function workerPids(server: ServerProcess): Map<number, number> {
  const pids = new Map<number, number>();
  for (const l of server.logs) if (l.msg === 'worker listening') pids.set(l.worker as number, l.pid as number);
  return pids;
}

/**
 * `count` queries from `count` sockets at once (a new source port each, as from many
 * clients), answered or not: resolves with how many got a correct reply.
 */
async function burst(port: number, name: string, count: number): Promise<number> {
  const replies = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const socket = createSocket('udp4');
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), 2000);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          socket.close();
          resolve(ok);
        };
        socket.once('message', (reply) => done(parseReply(reply).header.id === i + 1));
        socket.send(buildQuery({ name, type: 'A', id: i + 1 }), port, '127.0.0.1');
      });
    }),
  );
  return replies.filter(Boolean).length;
}

async function metric(server: ServerProcess, line: RegExp): Promise<number> {
  const body = await (await fetch(`${opsUrl(server, 'metrics')}/metrics`)).text();
  const match = body.split('\n').find((l) => line.test(l));
  return match === undefined ? NaN : Number(match.slice(match.lastIndexOf(' ') + 1));
}

describe('--workers with zone files', () => {
  let server: ServerProcess;
  const zones = tempZones({ 'workers.test.zone': zone('192.0.2.1') });

  beforeAll(async () => {
    // A fixed port: each worker binds it itself with SO_REUSEPORT (the batched UDP engine).
    // The etcd group below listens on port 0, where workers share one dgram socket instead.
    server = await startServerOnFreePort(['--workers', '2', '--zones', zones.dir, '--log-queries']);
    // Each process writes its log lines asynchronously (log.ts LogSink), so a worker's own
    // 'worker listening' line may reach us after the primary's 'listening', which its IPC
    // message triggered: wait for both rather than assume an order between processes.
    await Promise.all([1, 2].map((worker) => server.waitForLog((l) => l.msg === 'worker listening' && l.worker === worker)));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    zones.remove();
  });

  it('starts the workers, then says "listening" once with the shared port and the ops endpoints', async () => {
    const listening = server.logs.find((l) => l.msg === 'listening')!;
    expect(listening.workers).toBe(2);
    expect(listening.pid).toBe(server.pid);
    const pids = workerPids(server);
    expect(pids.size).toBe(2);
    for (const pid of pids.values()) expect(pid).not.toBe(server.pid);
    // Both workers hold the same port, and the primary reported that one.
    const workerAddresses = server.logs.filter((l) => l.msg === 'worker listening').map((l) => l.addresses);
    expect(workerAddresses).toEqual([listening.addresses, listening.addresses]);
    expect(server.logs.filter((l) => l.msg === 'worker listening').map((l) => l.udpIo)).toEqual(['batch', 'batch']);
  });

  it('answers over UDP and TCP from both workers', async () => {
    expect((await dig(server.port, ['www.workers.test', 'A'])).answer[0]?.data).toBe('192.0.2.1');
    expect((await dig(server.port, ['+tcp', 'www.workers.test', 'A'])).answer[0]?.data).toBe('192.0.2.1');
    // Many clients at once: the kernel spreads client addresses over the workers' sockets
    // (SO_REUSEPORT), so over a few bursts both answer.
    const answeredBy = new Set<unknown>();
    for (let round = 0; round < 10 && answeredBy.size < 2; round++) {
      expect(await burst(server.port, 'www.workers.test', 50)).toBe(50);
      for (const l of server.logs) if (l.msg === 'query') answeredBy.add(l.worker);
    }
    expect([...answeredBy].sort()).toEqual([1, 2]);
  });

  it('reports ready, and merges the workers\' metrics into one exposition', async () => {
    expect((await fetch(`${opsUrl(server, 'ready')}/ready`)).status).toBe(200);
    expect(await metric(server, /^etcdns_cluster_workers /)).toBe(2);
    // Every query either worker answered, summed.
    const answered = () => server.logs.filter((l) => l.msg === 'query' && l.transport === 'udp').length;
    const counted = () => metric(server, /^etcdns_dns_requests_total\{zone="workers\.test\.",proto="udp",type="A"\}/);
    // Log lines reach this process through a pipe, a moment after the metrics count them.
    await expect.poll(async () => (await counted()) - answered(), { timeout: 2000 }).toBe(0);
    expect(answered()).toBeGreaterThanOrEqual(51);
    expect(await metric(server, /^etcdns_build_info\{/)).toBe(1);
  });

  it('reloads an edited zone file in every worker', async () => {
    zones.write('workers.test.zone', zone('192.0.2.2'));
    await digUntil(server.port, ['www.workers.test', 'A'], (r) => r.answer[0]?.data === '192.0.2.2', 3000);
    // Whichever worker answers, it has the edit (each watches the directory itself).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Until both workers have answered (SO_REUSEPORT spreads the clients' source ports).
    const before = server.logs.length;
    const logged = () => server.logs.slice(before).filter((l) => l.msg === 'query' && l.name === 'www.workers.test.');
    let asked = 0;
    for (let round = 0; round < 10 && new Set(logged().map((l) => l.worker)).size < 2; round++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => dig(server.port, ['www.workers.test', 'A'])));
      expect(answers.map((a) => a.answer[0]?.data)).toEqual(Array(10).fill('192.0.2.2'));
      asked += 10;
      // Log lines come through a pipe, a moment after the answer.
      await expect.poll(() => logged().length, { timeout: 2000 }).toBe(asked);
    }
    expect([...new Set(logged().map((l) => l.worker))].sort()).toEqual([1, 2]);
  });

  it('replaces a worker that dies, answering from the other one meanwhile', async () => {
    const [victimId, victimPid] = [...workerPids(server)][0]!;
    process.kill(victimPid, 'SIGKILL');
    const exited = await server.waitForLog((l) => l.msg === 'worker exited unexpectedly; restarting it');
    expect(exited).toMatchObject({ worker: victimId, pid: victimPid, signal: 'SIGKILL' });
    // The survivor holds the socket: nothing goes unanswered while the replacement starts.
    expect(await burst(server.port, 'www.workers.test', 20)).toBe(20);
    const replacement = await server.waitForLog((l) => l.msg === 'worker listening' && l.pid !== victimPid && l.worker !== 1 && l.worker !== 2);
    expect(alive(replacement.pid as number)).toBe(true);
    await expect.poll(async () => (await fetch(`${opsUrl(server, 'ready')}/ready`)).status, { timeout: 3000 }).toBe(200);
    expect(await metric(server, /^etcdns_cluster_worker_restarts_total /)).toBe(1);
    expect(await metric(server, /^etcdns_cluster_workers /)).toBe(2);
    expect(await burst(server.port, 'www.workers.test', 20)).toBe(20);
  });

  it('stops every process on SIGTERM and exits 0', async () => {
    const pids = [...workerPids(server).values()].filter(alive);
    expect(pids.length).toBe(2);
    expect(await server.stop()).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});

describe('--workers with etcd', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  const empty = tempZones({});

  beforeAll(async () => {
    etcd = await startEtcd();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
    empty.remove();
  });

  it('mirrors etcd in every worker: a put is served whichever worker answers', async () => {
    await etcd.client.put('/skydns/test/pool/www').value(JSON.stringify({ host: '198.51.100.1' }));
    server = await startServer(['--workers', '2', '--zones', empty.dir, '--etcd', etcd.endpoints[0]!, '--etcd-zone', 'pool.test']);
    await expect.poll(async () => (await fetch(`${opsUrl(server, 'ready')}/ready`)).status, { timeout: 10_000 }).toBe(200);
    expect((await dig(server.port, ['www.pool.test', 'A'])).answer[0]?.data).toBe('198.51.100.1');
    // Port 0: the workers share the one socket the cluster bound (a port per worker otherwise).
    expect(server.logs.filter((l) => l.msg === 'worker listening').map((l) => l.udpIo)).toEqual(['dgram', 'dgram']);

    await etcd.client.put('/skydns/test/pool/www').value(JSON.stringify({ host: '198.51.100.2' }));
    await digUntil(server.port, ['www.pool.test', 'A'], (r) => r.answer[0]?.data === '198.51.100.2', 3000);
    // Each worker has its own watch; give the slower one a moment, then ask many times.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answers = await Promise.all(Array.from({ length: 10 }, () => dig(server.port, ['www.pool.test', 'A'])));
    expect(answers.map((a) => a.answer[0]?.data)).toEqual(Array(10).fill('198.51.100.2'));
    expect(await metric(server, /^etcdns_etcd_synced /)).toBe(1);
  }, 60_000);
});

describe('--workers start-up failure', () => {
  it('exits 1 naming the address when the port is taken, leaving no process behind', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
    const port = holder.address().port;
    const empty = tempZones({});
    try {
      await expect(startServer(['--workers', '2', '--zones', empty.dir, '--listen', `127.0.0.1:${port}`])).rejects.toThrow(
        new RegExp(`cannot listen on udp 127\\.0\\.0\\.1:${port}.*exited \\(1\\)`, 's'),
      );
    } finally {
      holder.close();
      empty.remove();
    }
  }, 30_000);
});

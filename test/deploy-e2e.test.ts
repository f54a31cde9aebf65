/**
 * What the Kubernetes deployment relies on, with real processes on loopback: a three-member
 * etcd cluster and two etcdns replicas (the built CLI), each mirroring all three members.
 * Replicas and members are killed and started again as a cluster would do to pods, and a
 * replica is stopped with SIGTERM under query load, as in a rolling update: it must not drop
 * a query while it drains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig } from './support/dig.js';
import { tcpExchange, udpExchange } from './support/client.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { buildQuery, parseReply } from './support/packets.js';
import { startServer, type ServerProcess } from './support/server.js';

const ZONE = 'e2e.test';
const PREFIX = '/skydns/test/e2e';
/** Short, so that the test stays short; long enough to query through. */
const LAMEDUCK_MS = 3000;

let etcd: EtcdCluster;
let replicas: ServerProcess[] = [];
const emptyZones = mkdtempSync(join(tmpdir(), 'etcdns-e2e-zones-'));

async function startReplica(): Promise<ServerProcess> {
  const server = await startServer(['--zones', emptyZones, '--etcd', etcd.endpoints.join(','), '--etcd-zone', ZONE, '--lameduck', `${LAMEDUCK_MS}ms`]);
  await waitFor(`replica ${server.pid} ready`, async () => (await fetch(`${readyUrl(server)}/ready`)).status === 200);
  return server;
}

function readyUrl(server: ServerProcess): string {
  return server.logs.find((l) => l.msg === 'listening')!.ready as string;
}

/** The A records of `name` from one replica over UDP, or null when it does not answer in time. */
async function addresses(server: ServerProcess, name: string, timeoutMs = 1000): Promise<string[] | null> {
  const reply = await udpExchange(server.port, buildQuery({ name, type: 'A', rd: false, id: nextId() }), { timeoutMs });
  if (reply === null) return null;
  return parseReply(reply)
    .answers.map((a) => (a as { address?: string }).address)
    .filter((a): a is string => a !== undefined)
    .sort();
}

let id = 0;
const nextId = () => (id = (id + 1) & 0xffff);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** Until every running replica answers `name` with exactly `expected`. */
async function allAnswer(name: string, expected: string[], servers = replicas): Promise<void> {
  for (const server of servers) {
    await waitFor(`${name} → ${expected.join(',')} from replica ${server.pid}`, async () => JSON.stringify(await addresses(server, name)) === JSON.stringify(expected));
  }
}

/** The etcd revision a replica serves, from `dig revision.etcdns TXT CH`. */
async function servedRevision(server: ServerProcess): Promise<number> {
  const r = await dig(server.port, ['revision.etcdns', 'TXT', 'CH']);
  return Number(/revision=(\d+)/.exec(r.answer[0]?.data ?? '')?.[1]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

beforeAll(async () => {
  etcd = await startEtcd({ members: 3 });
  replicas = await Promise.all([startReplica(), startReplica()]);
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await etcd?.stop();
  rmSync(emptyZones, { recursive: true, force: true });
});

describe('two replicas over a three-member etcd', () => {
  it('answer a record put into etcd, both of them', async () => {
    await etcd.client.put(`${PREFIX}/www/x1`).value('{"host":"192.0.2.1"}');
    await allAnswer(`www.${ZONE}`, ['192.0.2.1']);
  });

  it('lose a replica (SIGKILL): the other answers; a replacement catches up on its own', async () => {
    const [victim, survivor] = replicas as [ServerProcess, ServerProcess];
    process.kill(victim.pid, 'SIGKILL');
    await once(victim.child, 'exit');
    expect(await addresses(survivor, `www.${ZONE}`)).toEqual(['192.0.2.1']);
    // What the Deployment does next: a new pod, which lists etcd and serves the same data.
    replicas = [survivor, await startReplica()];
    await allAnswer(`www.${ZONE}`, ['192.0.2.1']);
  });

  it('lose an etcd member (SIGKILL): both keep receiving updates through the others', async () => {
    const [down, up] = etcd.members as [typeof etcd.members[0], typeof etcd.members[0]];
    await down.kill();
    await up.put(`${PREFIX}/www/x1`, '{"host":"192.0.2.2"}');
    await allAnswer(`www.${ZONE}`, ['192.0.2.2']);
    await down.start();
  });

  it('lose all of etcd: both keep answering the last records; etcd back: both converge on one revision', async () => {
    await Promise.all(etcd.members.map((m) => m.kill()));
    await sleep(500);
    for (const server of replicas) expect(await addresses(server, `www.${ZONE}`)).toEqual(['192.0.2.2']);
    // The members must start together: none is healthy before there is a quorum.
    await Promise.all(etcd.members.map((m) => m.start()));
    await etcd.client.put(`${PREFIX}/www/x1`).value('{"host":"192.0.2.3"}');
    await allAnswer(`www.${ZONE}`, ['192.0.2.3']);
    const revision = await etcd.revision();
    for (const server of replicas) await waitFor(`replica ${server.pid} at revision ${revision}`, async () => (await servedRevision(server)) === revision);
  });

  it('drain on SIGTERM: /ready 503 at once, no query lost during lameduck, exit 0', async () => {
    const [draining, other] = replicas as [ServerProcess, ServerProcess];
    const exited = once(draining.child, 'exit').then(([code]) => code as number | null);

    // ~200 UDP queries a second, each waiting up to 1 s for its answer.
    let sent = 0;
    const answers: Promise<string[] | null>[] = [];
    const load = setInterval(() => {
      sent++;
      answers.push(addresses(draining, `www.${ZONE}`));
    }, 5);
    try {
      await sleep(300);
      const signalledAt = Date.now();
      process.kill(draining.pid, 'SIGTERM');
      // Not ready from the first moment (what takes the pod out of the Service's endpoints)...
      await waitFor('/ready 503', async () => (await fetch(`${readyUrl(draining)}/ready`)).status === 503, 1000);
      expect(Date.now() - signalledAt).toBeLessThan(1000);
      // ...while DNS still answers, over TCP too, and the mirror still applies etcd's changes.
      const [tcp] = await tcpExchange(draining.port, [buildQuery({ name: `www.${ZONE}`, type: 'A', rd: false })]);
      expect(parseReply(tcp!).answers).toHaveLength(1);
      await etcd.client.put(`${PREFIX}/late/x1`).value('{"host":"192.0.2.9"}');
      await allAnswer(`late.${ZONE}`, ['192.0.2.9'], [draining, other]);
      // Load until well inside the lameduck period, then stop: what counts is that nothing
      // sent while the replica still answers goes unanswered.
      await sleep(Math.max(0, signalledAt + LAMEDUCK_MS - 1000 - Date.now()));
    } finally {
      clearInterval(load);
    }
    const results = await Promise.all(answers);
    const lost = results.filter((r) => r === null).length;
    const wrong = results.filter((r) => r !== null && JSON.stringify(r) !== '["192.0.2.3"]').length;
    expect(sent).toBeGreaterThan(200);
    expect({ sent, lost, wrong }).toEqual({ sent, lost: 0, wrong: 0 });

    expect(await exited).toBe(0);
    // In this order, once each.
    const steps = ['shutting down', 'closing listeners', 'stopped'];
    expect(draining.logs.map((l) => l.msg).filter((m) => steps.includes(m as string))).toEqual(steps);
    // The other replica is unaffected.
    expect(await addresses(other, `www.${ZONE}`)).toEqual(['192.0.2.3']);
    replicas = [other];
  });
});

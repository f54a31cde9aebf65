/**
 * Load spreading (issue 13) against the built server as a process, over real sockets: A/AAAA
 * rotation per query (zone files and etcd, UDP and TCP, glue), SRV weighted order, --rotate
 * off, --workers 2, and NSID (RFC 5001) with the real `dig +nsid`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpExchange, udpExchange } from './support/client.js';
import { dig, digUntil } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { buildQuery, parseReply } from './support/packets.js';
import { startServer, startServerOnFreePort, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const ZONE = `$TTL 30
@        SOA ns h 1 7200 1800 86400 30
@        NS  ns
ns       A   192.0.2.53
web      A   192.0.2.1
web      A   192.0.2.2
web      A   192.0.2.3
web      A   192.0.2.4
web      AAAA 2001:db8::1
web      AAAA 2001:db8::2
web      AAAA 2001:db8::3
_http._tcp.svc SRV 0 10 80 a.svc
_http._tcp.svc SRV 0 30 80 b.svc
_http._tcp.svc SRV 0 60 80 c.svc
a.svc    A   192.0.2.11
b.svc    A   192.0.2.21
b.svc    A   192.0.2.22
b.svc    A   192.0.2.23
c.svc    A   192.0.2.31
`;

type Answer = { name: string; address?: string; target?: string };

/** `count` UDP queries, `parallel` at a time, from a new socket each; the answers of each reply. */
async function askUdp(port: number, name: string, type: string, count: number, parallel = 20): Promise<Answer[][]> {
  const out: Answer[][] = [];
  for (let done = 0; done < count; done += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, count - done) }, async (_, i) => {
        const reply = await udpExchange(port, buildQuery({ name, type, id: (done + i) & 0xffff, edns: {} }));
        if (!reply) throw new Error(`no reply to ${name} ${type}`);
        return parseReply(reply).answers as unknown as Answer[];
      }),
    );
    out.push(...batch);
  }
  return out;
}

/** How often each value came first. */
function firsts(replies: Answer[][], pick: (a: Answer) => string | undefined = (a) => a.address): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answers of replies) {
    const first = pick(answers[0]!)!;
    counts[first] = (counts[first] ?? 0) + 1;
  }
  return counts;
}

/** The NSID dig prints (`; NSID: 70 6f 64 ("pod")`), or undefined. */
function nsidOf(raw: string): string | undefined {
  return /; NSID: [0-9a-f ]+ \("([^"]*)"\)/.exec(raw)?.[1];
}

describe('load spreading from zone files (default --rotate on)', () => {
  let server: ServerProcess;
  const zones = tempZones({ 'lb.test.zone': ZONE });
  beforeAll(async () => {
    server = await startServer(['--zones', zones.dir, '--nsid', 'replica-under-test']);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    zones.remove();
  });

  it('400 UDP queries for 4 A records: each address is first exactly 100 times', async () => {
    const replies = await askUdp(server.port, 'web.lb.test', 'A', 400);
    for (const answers of replies) expect(answers.map((a) => a.address).sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
    expect(firsts(replies)).toEqual({ '192.0.2.1': 100, '192.0.2.2': 100, '192.0.2.3': 100, '192.0.2.4': 100 });
  });

  it('the same over TCP (400 queries pipelined on one connection)', async () => {
    const frames = Array.from({ length: 400 }, (_, i) => buildQuery({ name: 'web.lb.test', type: 'A', id: i + 1 }));
    const replies = await tcpExchange(server.port, frames, { timeoutMs: 10_000 });
    expect(firsts(replies.map((r) => parseReply(r).answers as unknown as Answer[]))).toEqual({ '192.0.2.1': 100, '192.0.2.2': 100, '192.0.2.3': 100, '192.0.2.4': 100 });
  });

  it('rotates AAAA, and the glue of SRV targets in the additional section (dig)', async () => {
    const v6 = await Promise.all(Array.from({ length: 3 }, () => dig(server.port, ['web.lb.test', 'AAAA'])));
    expect(new Set(v6.map((r) => r.answer[0]!.data))).toEqual(new Set(['2001:db8::1', '2001:db8::2', '2001:db8::3']));
    const glueFirst = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await dig(server.port, ['_http._tcp.svc.lb.test', 'SRV']);
      const b = r.additional.filter((x) => x.name === 'b.svc.lb.test.');
      expect(b.map((x) => x.data).sort()).toEqual(['192.0.2.21', '192.0.2.22', '192.0.2.23']);
      glueFirst.add(b[0]!.data);
    }
    expect(glueFirst.size).toBe(3);
  });

  it('SRV records of weights 10/30/60 at one priority are first in 10/30/60% (± 3%) of 10,000 queries', async () => {
    const replies = await askUdp(server.port, '_http._tcp.svc.lb.test', 'SRV', 10_000, 50);
    const counts = firsts(replies, (a) => a.target);
    expect(Math.abs((counts['a.svc.lb.test'] ?? 0) / 10_000 - 0.1)).toBeLessThan(0.03);
    expect(Math.abs((counts['b.svc.lb.test'] ?? 0) / 10_000 - 0.3)).toBeLessThan(0.03);
    expect(Math.abs((counts['c.svc.lb.test'] ?? 0) / 10_000 - 0.6)).toBeLessThan(0.03);
  }, 60_000);

  it('returns the NSID only when asked (dig +nsid), within the size limit', async () => {
    const asked = await dig(server.port, ['+nsid', 'web.lb.test', 'A']);
    expect(nsidOf(asked.raw)).toBe('replica-under-test');
    expect(asked.answer).toHaveLength(4);
    const plain = await dig(server.port, ['web.lb.test', 'A']);
    expect(plain.raw).not.toContain('NSID');
    // A 512-octet client whose answer nearly fills the reply: the option is left out, never TC.
    const small = parseReply((await udpExchange(server.port, buildQuery({ name: 'web.lb.test', type: 'A', edns: { udpSize: 512, nsid: true } })))!);
    expect(small.header.tc).toBe(0);
    const bytes = (await udpExchange(server.port, buildQuery({ name: '_http._tcp.svc.lb.test', type: 'SRV', edns: { udpSize: 512, nsid: true } })))!;
    expect(bytes.length).toBeLessThanOrEqual(512);
  });

  it('keeps the CHAOS identity names beside NSID', async () => {
    const r = await dig(server.port, ['CH', 'TXT', 'id.server']);
    expect(r.status).toBe('NOERROR');
    expect(r.answer).toHaveLength(1);
  });
});

describe('--rotate off and --nsid off', () => {
  let server: ServerProcess;
  const zones = tempZones({ 'lb.test.zone': ZONE });
  beforeAll(async () => {
    server = await startServer(['--zones', zones.dir, '--rotate', 'off', '--nsid', 'off']);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    zones.remove();
  });

  it('answers in the written order every time, A and SRV', async () => {
    const a = await askUdp(server.port, 'web.lb.test', 'A', 40);
    for (const answers of a) expect(answers.map((x) => x.address)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
    const srv = await askUdp(server.port, '_http._tcp.svc.lb.test', 'SRV', 40);
    for (const answers of srv) expect(answers.map((x) => x.target)).toEqual(['a.svc.lb.test', 'b.svc.lb.test', 'c.svc.lb.test']);
  });

  it('sends no NSID even when asked', async () => {
    expect(nsidOf((await dig(server.port, ['+nsid', 'web.lb.test', 'A'])).raw)).toBeUndefined();
  });
});

describe('load spreading for names from etcd', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  const empty = tempZones({});
  beforeAll(async () => {
    etcd = await startEtcd();
    for (let i = 1; i <= 4; i++) await etcd.client.put(`/skydns/test/pool/web/x${i}`).value(JSON.stringify({ host: `198.51.100.${i}` }));
    server = await startServer(['--zones', empty.dir, '--etcd', etcd.endpoints[0]!, '--etcd-zone', 'pool.test']);
    await digUntil(server.port, ['web.pool.test', 'A'], (r) => r.answer.length === 4);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
    empty.remove();
  });

  it('rotates an etcd-served RRset the same way: 400 queries, each address first 100 times', async () => {
    const replies = await askUdp(server.port, 'web.pool.test', 'A', 400);
    expect(firsts(replies)).toEqual({ '198.51.100.1': 100, '198.51.100.2': 100, '198.51.100.3': 100, '198.51.100.4': 100 });
  });
});

describe('load spreading with --workers 2', () => {
  let server: ServerProcess;
  const zones = tempZones({ 'lb.test.zone': ZONE });
  beforeAll(async () => {
    // A fixed port, so each worker binds it with SO_REUSEPORT and the kernel spreads clients.
    server = await startServerOnFreePort(['--workers', '2', '--zones', zones.dir]);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    zones.remove();
  });

  it('each worker rotates on its own and the spread stays even: each address first in 25% ± 5% of 4,000', async () => {
    const replies = await askUdp(server.port, 'web.lb.test', 'A', 4000, 40);
    const counts = firsts(replies);
    expect(Object.keys(counts).sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
    for (const n of Object.values(counts)) expect(Math.abs(n / 4000 - 0.25)).toBeLessThan(0.05);
  }, 60_000);
});

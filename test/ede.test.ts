/**
 * Extended DNS Errors (RFC 8914) as real clients show them: every SERVFAIL, REFUSED and stale
 * answer etcdns gives for a reason carries the reason's INFO-CODE (and a text), read with dig
 * and with kdig (Knot); a client that sent no EDNS gets none. One row per reason.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { freePort } from './support/ports.js';
import { startServer, type ServerProcess } from './support/server.js';
import { findTool } from './support/tools.js';
import { tempZones } from './support/zones.js';

const run = promisify(execFile);
const KDIG = findTool('kdig');
if (!KDIG) console.warn('test/ede.test.ts: kdig not found, only dig is used (apt-get install knot-dnsutils)');

interface Seen {
  status: string;
  code: number | undefined;
  text: string | undefined;
}

/** The status and the EDE of one query, as dig prints them (`; EDE: 22 (No Reachable Authority): (text)`). */
async function viaDig(port: number, args: readonly string[]): Promise<Seen> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=5', '+tries=1', '+nocookie', ...args], { timeout: 20_000 });
  const ede = /^; EDE: (\d+) \([^)]*\)(?:: \((.*)\))?$/m.exec(stdout);
  return { status: /status: (\w+)/.exec(stdout)![1]!, code: ede ? Number(ede[1]) : undefined, text: ede?.[2] };
}

/** The same with kdig (`;; EDE: 22 (No Reachable Authority): 'text'`); +edns, which kdig does not send by default. */
async function viaKdig(port: number, args: readonly string[]): Promise<Seen> {
  const kdigArgs = args.map((a) => (a === '+recurse' ? '+rec' : a === '+norecurse' ? '+norec' : a));
  const { stdout } = await run(KDIG!, ['@127.0.0.1', '-p', String(port), '+edns', '+time=5', '+retry=0', ...kdigArgs], { timeout: 20_000 });
  const ede = /^;; EDE: (\d+) \([^)]*\)(?:: '(.*)')?$/m.exec(stdout);
  return { status: /status: (\w+)/.exec(stdout)![1]!, code: ede ? Number(ede[1]) : undefined, text: ede?.[2] };
}

let etcd: EtcdCluster;
/** Zone files, an etcd zone, a silent upstream, recursion for loopback. */
let main: ServerProcess;
/** Recursion for 10.0.0.0/8 only: loopback is refused. */
let closed: ServerProcess;
/** Answers from an etcd it loses, with --max-stale 1s. */
let stale: ServerProcess;
/** An upstream that receives and never answers. */
let silent: Socket;
const zones = tempZones({ 'gone.test.zone': '$TTL 1\n@ SOA ns h 1 2 3 4 1\nwww A 198.51.100.20\n' });
const empty = tempZones({});

beforeAll(async () => {
  silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  etcd = await startEtcd();
  await etcd.client.put('/skydns/test/lost/www').value(JSON.stringify({ host: '10.2.0.1' }));
  const nobody = await freePort(); // etcd that is never there: the etcd zone never syncs
  main = await startServer([
    '--zones', 'zones', '--etcd', `http://127.0.0.1:${nobody}`, '--etcd-zone', 'never.test',
    '--upstream', `127.0.0.1:${silent.address().port}`, '--forward-timeout', '300ms', '--allow-recursion', '127.0.0.0/8',
  ]);
  closed = await startServer(['--zones', 'zones', '--upstream', `127.0.0.1:${silent.address().port}`, '--allow-recursion', '10.0.0.0/8']);
  stale = await startServer(['--zones', empty.dir, '--etcd', etcd.endpoints[0]!, '--etcd-zone', 'lost.test', '--max-stale', '1s', '--no-forwarding']);
}, 60_000);
afterAll(async () => {
  await main?.stop();
  await closed?.stop();
  await stale?.stop();
  await etcd?.stop();
  silent?.close();
  zones.remove();
  empty.remove();
});

/** Polls `check` (a query) until it passes; for states that arrive with time (a TTL, --max-stale). */
async function eventually(what: string, check: () => Promise<boolean>, withinMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Extended DNS Errors (RFC 8914), seen by dig and kdig', () => {
  const rows: [reason: string, server: () => ServerProcess, args: string[], status: string, code: number, text: RegExp][] = [
    ['not ready: an etcd zone before its first sync', () => main, ['www.never.test', 'A', '+norecurse'], 'SERVFAIL', 14, /etcd: initial sync not done/],
    ['no reachable authority: no upstream answered', () => main, ['example.org', 'A', '+recurse'], 'SERVFAIL', 22, /no upstream answered: 127\.0\.0\.1:\d+: timeout/],
    ['not authoritative: a name outside our zones, no recursion asked', () => main, ['example.org', 'A', '+norecurse'], 'REFUSED', 20, /not in a zone of this server/],
    ['prohibited: recursion outside --allow-recursion', () => closed, ['example.org', 'A', '+recurse'], 'REFUSED', 18, /--allow-recursion/],
  ];
  for (const [reason, server, args, status, code, text] of rows) {
    it(`${reason}: ${status} with EDE ${code}`, async () => {
      const tools = KDIG ? [viaDig, viaKdig] : [viaDig];
      for (const tool of tools) {
        const seen = await tool(server().port, args);
        expect(seen, tool.name).toMatchObject({ status, code });
        expect(seen.text, tool.name).toMatch(text);
      }
    });
  }

  it('no EDE to a client that sent no EDNS (dig +noedns), same status', async () => {
    expect(await viaDig(main.port, ['example.org', 'A', '+norecurse', '+noedns'])).toEqual({ status: 'REFUSED', code: undefined, text: undefined });
    expect(await viaDig(main.port, ['www.never.test', 'A', '+norecurse', '+noedns'])).toEqual({ status: 'SERVFAIL', code: undefined, text: undefined });
  });

  it('a stale answer from the forwarding cache (RFC 8767): NOERROR with EDE 3', async () => {
    const upstream = await startServer(['--zones', zones.dir]);
    const forwarder = await startServer(['--zones', empty.dir, '--upstream', `127.0.0.1:${upstream.port}`, '--forward-timeout', '200ms', '--serve-stale', '1h']);
    try {
      const fresh = await viaDig(forwarder.port, ['www.gone.test', 'A', '+recurse']);
      expect(fresh).toEqual({ status: 'NOERROR', code: undefined, text: undefined });
      await upstream.stop();
      // Past the 1 s TTL the cache asks the (gone) upstream, then serves what it has, saying so.
      await eventually('a stale answer', async () => (await viaDig(forwarder.port, ['www.gone.test', 'A', '+recurse'])).code === 3);
      const tools = KDIG ? [viaDig, viaKdig] : [viaDig];
      for (const tool of tools) {
        const seen = await tool(forwarder.port, ['www.gone.test', 'A', '+recurse']);
        expect(seen, tool.name).toMatchObject({ status: 'NOERROR', code: 3 });
        expect(seen.text, tool.name).toMatch(/--serve-stale/);
      }
    } finally {
      await forwarder.stop();
      await upstream.stop();
    }
  }, 30_000);

  it('no reachable authority: etcd unreachable longer than --max-stale, SERVFAIL with EDE 22', async () => {
    await eventually('synced', async () => (await viaDig(stale.port, ['www.lost.test', 'A', '+norecurse'])).status === 'NOERROR');
    await etcd.members[0]!.kill();
    await eventually('SERVFAIL after --max-stale', async () => (await viaDig(stale.port, ['www.lost.test', 'A', '+norecurse'])).status === 'SERVFAIL');
    const tools = KDIG ? [viaDig, viaKdig] : [viaDig];
    for (const tool of tools) {
      const seen = await tool(stale.port, ['www.lost.test', 'A', '+norecurse']);
      expect(seen, tool.name).toMatchObject({ status: 'SERVFAIL', code: 22 });
      expect(seen.text, tool.name).toMatch(/etcd unreachable for longer than --max-stale 1s/);
    }
  }, 30_000);
});

/**
 * Forwarding with a cache, against real upstream DNS servers on loopback: another etcdns process
 * (authoritative for upstream.test, logging every query so the test can count them), a silent
 * socket, and a spoofing server process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseResolvConf } from '../src/forward/resolvconf.js';
import { udpExchange } from './support/client.js';
import { dig } from './support/dig.js';
import { buildQuery, parseReply } from './support/packets.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const UPSTREAM_ZONE = `$TTL 60
@        SOA ns hostmaster 1 7200 1800 86400 3
www      A     198.51.100.10
www      AAAA  2001:db8::10
@        MX    10 mail
@        TXT   "from upstream"
short 1  A     198.51.100.11
${Array.from({ length: 100 }, (_, i) => `big A 10.20.${i >> 8}.${i & 255}`).join('\n')}
`;

let upstreamZones: ReturnType<typeof tempZones>;
let upstream: ServerProcess;
let server: ServerProcess;

/** Queries the upstream received for `name` (it logs each one with --log-queries). */
const upstreamQueries = (name: string, transport?: string) =>
  upstream.logs.filter((l) => l.msg === 'query' && l.name === name && (!transport || l.transport === transport)).length;

async function eventually(check: () => Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  upstreamZones = tempZones({ 'upstream.test.zone': UPSTREAM_ZONE });
  upstream = await startServer(['--zones', upstreamZones.dir, '--log-queries']);
  server = await startServer(['--zones', 'zones', '--upstream', `127.0.0.1:${upstream.port}`, '--forward-timeout', '500ms']);
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
  upstreamZones?.remove();
});

describe('forwarding names outside our zones', () => {
  it.each([
    ['www.upstream.test', 'A', '198.51.100.10'],
    ['www.upstream.test', 'AAAA', '2001:db8::10'],
    ['upstream.test', 'MX', '10 mail.upstream.test.'],
    ['upstream.test', 'TXT', '"from upstream"'],
  ])('%s %s', async (name, type, data) => {
    const r = await dig(server.port, [name, type, '+recurse']);
    expect(r.status).toBe('NOERROR');
    expect(r.answer.map((a) => a.data)).toEqual([data]);
    expect(r.flags).toContain('ra');
    expect(r.flags).not.toContain('aa');
  });

  it('still answers its own zones itself, with RA for an allowed client', async () => {
    const r = await dig(server.port, ['www.example.test', 'A', '+recurse']);
    expect(r.flags).toEqual(expect.arrayContaining(['aa', 'ra']));
    expect(upstreamQueries('www.example.test.')).toBe(0);
  });

  it('retries over TCP when the upstream answer is truncated', async () => {
    const r = await dig(server.port, ['big.upstream.test', 'A', '+recurse', '+bufsize=1232']);
    // 100 addresses do not fit 1232 octets: the upstream says TC over UDP, we ask it over TCP,
    // and dig does the same with us.
    expect(r.answer).toHaveLength(100);
    // The upstream logs a query after replying, and its log line reaches this process through a
    // pipe: on a busy machine after dig has the answer.
    await eventually(async () => upstreamQueries('big.upstream.test.', 'tcp') > 0, 10_000, 'the upstream logs the TCP query');
    expect(upstreamQueries('big.upstream.test.', 'tcp')).toBe(1);
  });

  it('serves a cache hit with the TTL counted down and no new upstream query', async () => {
    const prior = upstreamQueries('www.upstream.test.');
    const first = await dig(server.port, ['www.upstream.test', 'TXT', '+recurse']);
    expect(first.status).toBe('NOERROR');
    await eventually(async () => upstreamQueries('www.upstream.test.') > prior, 10_000, 'the upstream logs the TXT query');
    const before = upstreamQueries('www.upstream.test.');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await dig(server.port, ['upstream.test', 'A', '+recurse']); // another question: a miss
    const hit = await dig(server.port, ['www.upstream.test', 'TXT', '+recurse']);
    expect(hit.authority[0]!.ttl).toBeLessThan(first.authority[0]!.ttl);
    // www A (TTL 60) was cached by the first test, over a second ago.
    const positive = await dig(server.port, ['www.upstream.test', 'A', '+recurse']);
    expect(positive.answer[0]!.ttl).toBeLessThan(60);
    expect(upstreamQueries('www.upstream.test.')).toBe(before);
    // The upstream zone has no A at its apex: NODATA, relayed.
    expect(again).toMatchObject({ status: 'NOERROR', answer: [] });
  });

  it('caches NXDOMAIN for the SOA minimum (RFC 2308)', async () => {
    const name = 'missing.upstream.test.';
    expect((await dig(server.port, [name, 'A', '+recurse'])).status).toBe('NXDOMAIN');
    expect((await dig(server.port, [name, 'A', '+recurse'])).status).toBe('NXDOMAIN');
    await eventually(async () => upstreamQueries(name) > 0, 10_000, 'the upstream logs the query');
    expect(upstreamQueries(name)).toBe(1);
    // SOA MINIMUM is 3 s: after it the question goes upstream again.
    await eventually(
      async () => (await dig(server.port, [name, 'A', '+recurse']), upstreamQueries(name) === 2),
      6000,
      'NXDOMAIN re-asked after the SOA minimum',
    );
  });

  it('sends one upstream query for many identical concurrent questions', async () => {
    const name = 'short.upstream.test';
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => udpExchange(server.port, buildQuery({ name, type: 'A', id: i + 1 }))));
    for (const [i, reply] of replies.entries()) expect(parseReply(reply!).header.id).toBe(i + 1);
    await eventually(async () => upstreamQueries(`${name}.`) > 0, 10_000, 'the upstream logs the query');
    expect(upstreamQueries(`${name}.`)).toBe(1);
  });

  it('refuses clients outside --allow-recursion', async () => {
    const strict = await startServer(['--upstream', `127.0.0.1:${upstream.port}`, '--allow-recursion', '10.0.0.0/8']);
    try {
      const r = await dig(strict.port, ['www.upstream.test', 'A', '+recurse']);
      expect(r.status).toBe('REFUSED');
      expect(r.flags).not.toContain('ra');
      expect((await dig(strict.port, ['www.example.test', 'A'])).status).toBe('NOERROR');
    } finally {
      await strict.stop();
    }
  });
});

describe('upstream failures', () => {
  let silent: Socket;
  beforeAll(async () => {
    // Bound, never answers: a dead resolver.
    silent = createSocket('udp4');
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
  });
  afterAll(() => silent.close());

  it('fails over from an upstream that times out', async () => {
    const failover = await startServer([
      '--upstream', `127.0.0.1:${silent.address().port}`, '--upstream', `127.0.0.1:${upstream.port}`,
      '--forward-policy', 'sequential', '--forward-timeout', '300ms',
    ]);
    try {
      const r = await dig(failover.port, ['www.upstream.test', 'A', '+recurse']);
      expect(r.answer[0]!.data).toBe('198.51.100.10');
    } finally {
      await failover.stop();
    }
  });

  it('serves a stale answer when every upstream is down, then SERVFAIL after --serve-stale', async () => {
    const zones = tempZones({ 'gone.test.zone': '$TTL 1\n@ SOA ns h 1 2 3 4 1\nwww A 198.51.100.20' });
    const doomed = await startServer(['--zones', zones.dir]);
    const stale = await startServer(['--upstream', `127.0.0.1:${doomed.port}`, '--forward-timeout', '200ms', '--serve-stale', '3s']);
    try {
      expect((await dig(stale.port, ['www.gone.test', 'A', '+recurse'])).answer[0]!.data).toBe('198.51.100.20');
      await doomed.stop();
      await new Promise((r) => setTimeout(r, 1200)); // past the 1 s TTL
      const served = await dig(stale.port, ['www.gone.test', 'A', '+recurse']);
      expect(served.answer[0]).toMatchObject({ data: '198.51.100.20', ttl: 30 }); // RFC 8767 §4
      await eventually(async () => (await dig(stale.port, ['www.gone.test', 'A', '+recurse'])).status === 'SERVFAIL', 8000, 'SERVFAIL after the stale window');
    } finally {
      await stale.stop();
      await doomed.stop();
      zones.remove();
    }
  }, 20_000);

  it('ignores a forged reply with the wrong ID and takes the genuine one (RFC 5452)', async () => {
    const spoofer = spawn(process.execPath, [join(import.meta.dirname, 'support/spoofing-upstream.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(createInterface({ input: spoofer.stdout! }), 'line')) as [string];
      const port = (JSON.parse(line) as { port: number }).port;
      const target = await startServer(['--upstream', `127.0.0.1:${port}`]);
      try {
        const r = await dig(target.port, ['anything.example.net', 'A', '+recurse']);
        expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.77']);
      } finally {
        await target.stop();
      }
    } finally {
      stopChild(spoofer);
    }
  });
});

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
}

describe('the examples of docs/forwarding.md', () => {
  const page = readFileSync(new URL('../docs/forwarding.md', import.meta.url), 'utf8');
  const block = (lang: string) => new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(page)![1]!;
  const run = promisify(execFile);

  /** glibc's own stub resolver (getent) with `resolvConf` as /etc/resolv.conf, in a private mount namespace. */
  async function getentWith(resolvConf: string, name: string): Promise<string | undefined> {
    const file = join(upstreamZones.dir, `resolv-${Date.now()}.conf`);
    writeFileSync(file, resolvConf);
    try {
      const { stdout } = await run('unshare', ['-m', 'sh', '-c', `mount --bind "${file}" /etc/resolv.conf && getent ahostsv4 ${name}`], { timeout: 15_000 });
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; code?: number };
      if (/unshare|mount|Operation not permitted|not found/i.test(e.stderr ?? '')) return undefined;
      throw error;
    }
  }

  it('resolv.conf: a machine pointed at etcdns resolves our zones and everything else', async (ctx) => {
    const conf = parseResolvConf(block('resolv.conf'));
    expect(conf.nameservers).toEqual([{ host: '127.0.0.1', port: 53 }]);
    if (process.getuid?.() !== 0) return ctx.skip();
    let onPort53: ServerProcess;
    // The example zone, and one name with several addresses for the load-spreading check.
    const zones = tempZones({
      'example.test.zone': readFileSync(new URL('../zones/example.test.zone', import.meta.url), 'utf8'),
      'spread.test.zone': '$TTL 30\n@ SOA ns h 1 2 3 4 5\nweb A 198.51.100.1\nweb A 198.51.100.2\nweb A 198.51.100.3\n',
    });
    ctx.onTestFinished(() => zones.remove());
    try {
      onPort53 = await startServer(['--listen', '127.0.0.1:53', '--zones', zones.dir, '--upstream', `127.0.0.1:${upstream.port}`]);
    } catch {
      return ctx.skip(); // port 53 taken on this machine
    }
    try {
      const own = await getentWith(block('resolv.conf'), 'www.example.test');
      if (own === undefined) return ctx.skip(); // no mount namespaces here
      expect(own).toContain('192.0.2.10');
      expect(await getentWith(block('resolv.conf'), 'www.upstream.test')).toContain('198.51.100.10');
      // Load spreading through glibc: web.spread.test has three A records, rotated per query,
      // so successive lookups do not all put the same address first. (Outside this machine's
      // own subnet: glibc sorts IPv4 addresses by longest prefix match with the source address,
      // RFC 6724 rule 9, which reorders addresses that share the client's subnet.)
      const firstAddresses = new Set<string>();
      for (let i = 0; i < 3; i++) firstAddresses.add((await getentWith(block('resolv.conf'), 'web.spread.test'))!.split(/\s+/)[0]!);
      expect(firstAddresses).toEqual(new Set(['198.51.100.1', '198.51.100.2', '198.51.100.3']));
    } finally {
      await onPort53.stop();
    }
  });

  it('pod dnsConfig: the resolv.conf kubelet writes from it resolves through etcdns', async (ctx) => {
    const pod = YAML.parse(block('yaml')) as { spec: { dnsPolicy: string; dnsConfig: { nameservers: string[]; searches: string[]; options: { name: string; value?: string }[] } } };
    expect(pod.spec.dnsPolicy).toBe('None');
    const dns = pod.spec.dnsConfig;
    expect(dns.nameservers).toHaveLength(1);
    if (process.getuid?.() !== 0) return ctx.skip();
    let onPort53: ServerProcess;
    try {
      onPort53 = await startServer(['--listen', '127.0.0.1:53', '--upstream', `127.0.0.1:${upstream.port}`]);
    } catch {
      return ctx.skip();
    }
    try {
      // As kubelet renders dnsConfig (with the Service IP replaced by this test's loopback server).
      const rendered = [
        'nameserver 127.0.0.1',
        `search ${dns.searches.join(' ')} example.test`,
        `options ${dns.options.map((o) => (o.value ? `${o.name}:${o.value}` : o.name)).join(' ')}`,
      ].join('\n');
      const viaSearch = await getentWith(rendered, 'www'); // ndots:2 → tries the search list
      if (viaSearch === undefined) return ctx.skip();
      expect(viaSearch).toContain('192.0.2.10');
    } finally {
      await onPort53.stop();
    }
  });
});

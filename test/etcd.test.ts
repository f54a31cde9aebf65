/**
 * etcd as the live source: a real etcd on loopback, the built server as a process, dig.
 * Covers the SkyDNS data format (CoreDNS-compatible), the mirror (updates, lease expiry,
 * outages, compaction, cluster failover), readiness, metrics and --max-stale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';


const datas = (r: DigResult, section: 'answer' | 'additional' = 'answer') => r[section].map((a) => `${a.type} ${a.data}`).sort();

function opsUrl(server: ServerProcess, key: 'ready' | 'metrics' | 'health'): string {
  const line = server.logs.find((l) => l.msg === 'listening')!;
  return String(line[key]);
}

describe('etcd source (single member)', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  const put = (key: string, value: unknown) => etcd.client.put(`/skydns/${key}`).value(typeof value === 'string' ? value : JSON.stringify(value));

  beforeAll(async () => {
    etcd = await startEtcd();
    // Data present before the server starts comes in with the initial list.
    await put('test/example/www/x1', { host: '192.0.2.10' });
    await put('test/example/www/x2', { host: '2001:db8::10' });
    await put('test/example/api/x1', { host: '192.0.2.31', port: 8080 });
    await put('test/example/api/x2', { host: '2001:db8::32', port: 8081, weight: 300 });
    await put('test/example/docs', { host: 'www.example.test' });
    await put('test/example/ext', { host: 'target.example.org', text: '"heritage=external-dns,external-dns/owner=default"' });
    await put('test/example/txt', { text: 'hello from etcd' });
    await put('test/example/mx', { host: 'mail.example.test', mail: true, priority: 5 });
    await put('test/example/dns/ns/a', { host: '192.0.2.53' });
    await put('test/example/dns/apex/x', { host: '192.0.2.1' });
    await put('arpa/in-addr/192/0/2/10', { host: 'www.example.test' });
    await put('test/example/region1/prod/x', { host: '10.1.1.1' });
    await put('test/example/region2/prod/x', { host: '10.1.2.1' });
    await put('test/example/bad1', '{not json');
    await put('test/example/bad2', { host: 'not a host!' });
    await put('test/example/bad3', { host: '10.0.0.1', port: 'eighty' });
    await put('test/example/good-after-bad', { host: '10.9.9.9' });
    server = await startServer([
      '--etcd', etcd.endpoints.join(','),
      '--etcd-zone', 'example.test',
      '--etcd-zone', '2.0.192.in-addr.arpa',
      '--zones', tempDirWithoutZones(),
      '--health-listen', '127.0.0.1:0', '--ready-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0',
    ]);
    await digUntil(server.port, ['www.example.test', 'A'], (r) => r.answer.length === 1);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
  });

  describe('record shapes (SkyDNS format, as CoreDNS reads it)', () => {
    it('A and AAAA from IP hosts, aggregated from the keys below the name', async () => {
      expect(datas(await dig(server.port, ['www.example.test', 'A']))).toEqual(['A 192.0.2.10']);
      expect(datas(await dig(server.port, ['www.example.test', 'AAAA']))).toEqual(['AAAA 2001:db8::10']);
      const one = await dig(server.port, ['x1.www.example.test', 'A']);
      expect(datas(one)).toEqual(['A 192.0.2.10']);
      expect(one.flags).toContain('aa');
    });

    it('SRV with key-derived targets, weights as percentages, and A and AAAA glue', async () => {
      const r = await dig(server.port, ['api.example.test', 'SRV']);
      expect(datas(r)).toEqual(['SRV 10 25 8080 x1.api.example.test.', 'SRV 10 75 8081 x2.api.example.test.']);
      expect(datas(r, 'additional')).toEqual(['A 192.0.2.31', 'AAAA 2001:db8::32']);
    });

    it('CNAME from a name host, followed inside our data', async () => {
      const r = await dig(server.port, ['docs.example.test', 'A']);
      expect(r.answer.map((a) => a.type)).toEqual(['CNAME', 'A']);
      expect(r.answer[1]!.data).toBe('192.0.2.10');
    });

    it('a name host with an external-dns ownership text is still a CNAME (unlike CoreDNS, coredns#6110), for TXT too (RFC 2181 §10.1)', async () => {
      const r = await dig(server.port, ['ext.example.test', 'A']);
      expect(r.answer).toMatchObject([{ type: 'CNAME', data: 'target.example.org.' }]);
      expect((await dig(server.port, ['ext.example.test', 'TXT'])).answer).toMatchObject([{ type: 'CNAME', data: 'target.example.org.' }]);
    });

    it('TXT, MX, PTR, NS and apex records, and a synthesised SOA whose serial is the revision', async () => {
      expect((await dig(server.port, ['txt.example.test', 'TXT'])).answer[0]!.data).toBe('"hello from etcd"');
      expect(datas(await dig(server.port, ['mx.example.test', 'MX']))).toEqual(['MX 5 mail.example.test.']);
      expect(datas(await dig(server.port, ['10.2.0.192.in-addr.arpa', 'PTR']))).toEqual(['PTR www.example.test.']);
      const ns = await dig(server.port, ['example.test', 'NS']);
      expect(datas(ns)).toEqual(['NS a.ns.dns.example.test.']);
      expect(datas(ns, 'additional')).toEqual(['A 192.0.2.53']);
      expect(datas(await dig(server.port, ['example.test', 'A']))).toEqual(['A 192.0.2.1']);
      const soa = await dig(server.port, ['example.test', 'SOA']);
      expect(soa.answer[0]!.data).toMatch(/^ns\.dns\.example\.test\. hostmaster\.example\.test\. \d+ 7200 1800 86400 10$/);
    });

    it('wildcard labels * and any in queries', async () => {
      expect(datas(await dig(server.port, ['prod.*.example.test', 'A']))).toEqual(['A 10.1.1.1', 'A 10.1.2.1']);
      expect(datas(await dig(server.port, ['x.prod.any.example.test', 'A']))).toEqual(['A 10.1.1.1', 'A 10.1.2.1']);
    });

    it('negative answers with the SOA and the default TTL', async () => {
      const nx = await dig(server.port, ['nothing.example.test', 'A']);
      expect(nx.status).toBe('NXDOMAIN');
      expect(nx.authority).toMatchObject([{ type: 'SOA', ttl: 10 }]);
    });

    it('skips invalid values, counts them, and serves the rest', async () => {
      expect(datas(await dig(server.port, ['good-after-bad.example.test', 'A']))).toEqual(['A 10.9.9.9']);
      expect((await dig(server.port, ['bad1.example.test', 'A'])).status).toBe('NXDOMAIN');
      const metrics = await (await fetch(`${opsUrl(server, 'metrics')}/metrics`)).text();
      expect(metrics).toMatch(/^etcdns_etcd_invalid_keys 3$/m);
      const warnings = server.logs.filter((l) => l.msg === 'skipping invalid etcd value');
      expect(new Set(warnings.map((l) => l.key))).toEqual(new Set(['/skydns/test/example/bad1', '/skydns/test/example/bad2', '/skydns/test/example/bad3']));
    });
  });

  describe('live updates', () => {
    it('reflects put, update and delete', async () => {
      await put('test/example/live/x1', { host: '198.51.100.1' });
      await digUntil(server.port, ['live.example.test', 'A'], (r) => r.answer[0]?.data === '198.51.100.1');
      await put('test/example/live/x1', { host: '198.51.100.2', ttl: 3 });
      const updated = await digUntil(server.port, ['live.example.test', 'A'], (r) => r.answer[0]?.data === '198.51.100.2');
      expect(updated.answer[0]!.ttl).toBe(3);
      await etcd.client.delete().key('/skydns/test/example/live/x1');
      await digUntil(server.port, ['live.example.test', 'A'], (r) => r.status === 'NXDOMAIN');
    });

    it('caps the TTL at the lease TTL and drops the record when the lease expires', async () => {
      const lease = etcd.client.lease(5, { autoKeepAlive: false });
      await lease.put('/skydns/test/example/leased').value(JSON.stringify({ host: '198.51.100.7', ttl: 300 }));
      const r = await digUntil(server.port, ['leased.example.test', 'A'], (x) => x.answer.length === 1);
      expect(r.answer[0]!.ttl).toBeLessThanOrEqual(5);
      // etcd expires the lease and deletes the key; the watch delivers the delete.
      await digUntil(server.port, ['leased.example.test', 'A'], (x) => x.status === 'NXDOMAIN', 15_000);
    }, 30_000);

    it('reports the revision it serves over CHAOS TXT and in metrics', async () => {
      // Every change so far has been seen (the tests above waited for each): etcd's revision.
      const revision = await etcd.revision();
      const served = (r: { answer: { data: string }[] }) => Number(/revision=(\d+)/.exec(r.answer[0]?.data ?? '')?.[1]);
      await digUntil(server.port, ['revision.etcdns', 'TXT', 'CH'], (r) => served(r) === revision);
      const metrics = await (await fetch(`${opsUrl(server, 'metrics')}/metrics`)).text();
      expect(metrics).toMatch(/^etcdns_etcd_connected 1$/m);
      expect(Number(/^etcdns_etcd_revision (\d+)$/m.exec(metrics)![1])).toBe(revision);
      expect(metrics).toMatch(/etcdns_dns_requests_total\{zone="example\.test\.",proto="udp",type="A"\} \d+/);
      expect((await fetch(`${opsUrl(server, 'ready')}/ready`)).status).toBe(200);
      expect((await fetch(`${opsUrl(server, 'health')}/health`)).status).toBe(200);
    });

    it('keeps answering while etcd is down, and catches up when it returns', async () => {
      const member = etcd.members[0]!;
      await member.kill();
      const during = await dig(server.port, ['www.example.test', 'A']);
      expect(datas(during)).toEqual(['A 192.0.2.10']);
      await digUntil(server.port, ['revision.etcdns', 'TXT', 'CH'], (r) => /connected=false/.test(r.answer[0]?.data ?? ''));
      await member.start();
      const back = Date.now();
      await put('test/example/after-restart', { host: '198.51.100.99' });
      await digUntil(server.port, ['after-restart.example.test', 'A'], (r) => r.answer.length === 1, 6000);
      // The target is 2 s after etcd answers again; the bound is loose for a loaded 2-core CI box.
      expect(Date.now() - back).toBeLessThan(6000);
    }, 30_000);
  });
});

describe('etcd source (three members)', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;

  beforeAll(async () => {
    etcd = await startEtcd({ members: 3 });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
  });

  it('keeps receiving updates whichever member it talks to is killed', async () => {
    server = await startServer(['--etcd', etcd.endpoints.join(','), '--etcd-zone', 'cluster.test', '--zones', tempDirWithoutZones()]);
    for (const [i, member] of etcd.members.entries()) {
      await member.kill();
      const survivor = etcd.members.find((m) => m !== member)!;
      await survivor.put(`/skydns/test/cluster/m${i}`, JSON.stringify({ host: `10.0.0.${i + 1}` }));
      await digUntil(server.port, [`m${i}.cluster.test`, 'A'], (r) => r.answer[0]?.data === `10.0.0.${i + 1}`, 8000);
      await member.start();
    }
  }, 90_000);

  it('re-lists after reconnecting to a member whose history was compacted meanwhile', async () => {
    const only = etcd.members[0]!;
    const others = etcd.members.slice(1);
    await others[0]!.put('/skydns/test/compact/stay', JSON.stringify({ host: '10.1.0.1' }));
    await others[0]!.put('/skydns/test/compact/gone', JSON.stringify({ host: '10.1.0.2' }));
    const single = await startServer(['--etcd', only.clientUrl, '--etcd-zone', 'compact.test', '--zones', tempDirWithoutZones()]);
    try {
      await digUntil(single.port, ['gone.compact.test', 'A'], (r) => r.answer.length === 1);
      await only.kill();
      await others[0]!.deleteKey('/skydns/test/compact/gone');
      await others[0]!.put('/skydns/test/compact/new', JSON.stringify({ host: '10.1.0.3' }));
      await etcd.compact();
      await only.start();
      await digUntil(single.port, ['new.compact.test', 'A'], (r) => r.answer.length === 1, 8000);
      expect((await dig(single.port, ['gone.compact.test', 'A'])).status).toBe('NXDOMAIN');
      expect((await dig(single.port, ['stay.compact.test', 'A'])).answer).toHaveLength(1);
    } finally {
      await single.stop();
    }
  }, 60_000);
});

describe('readiness and --max-stale', () => {
  it('is not ready and answers SERVFAIL for etcd zones until synced; SERVFAIL after --max-stale', async () => {
    const etcd = await startEtcd();
    try {
      await etcd.client.put('/skydns/test/stale/www').value(JSON.stringify({ host: '10.2.0.1' }));
      const server = await startServer([
        '--etcd', etcd.endpoints[0]!, '--etcd-zone', 'stale.test', '--max-stale', '2s', '--zones', tempDirWithoutZones(),
        '--ready-listen', '127.0.0.1:0', '--health-listen', 'off', '--metrics-listen', 'off',
      ]);
      try {
        await digUntil(server.port, ['www.stale.test', 'A'], (r) => r.answer.length === 1);
        expect((await fetch(`${opsUrl(server, 'ready')}/ready`)).status).toBe(200);
        await etcd.members[0]!.kill();
        // Within --max-stale the last good data still serves...
        expect((await dig(server.port, ['www.stale.test', 'A'])).answer).toHaveLength(1);
        // ...after it, SERVFAIL tells resolvers to ask another replica.
        await digUntil(server.port, ['www.stale.test', 'A'], (r) => r.status === 'SERVFAIL', 8000);
        await etcd.members[0]!.start();
        await digUntil(server.port, ['www.stale.test', 'A'], (r) => r.answer.length === 1, 8000);
      } finally {
        await server.stop();
      }
      // A server that cannot reach etcd at all is not ready, and says so.
      await etcd.members[0]!.kill();
      const cold = await startServer(['--etcd', etcd.endpoints[0]!, '--etcd-zone', 'stale.test', '--zones', tempDirWithoutZones(), '--ready-listen', '127.0.0.1:0', '--health-listen', 'off', '--metrics-listen', 'off']);
      try {
        const ready = await fetch(`${opsUrl(cold, 'ready')}/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.text()).toBe('etcd: initial sync not done\n');
        expect((await dig(cold.port, ['www.stale.test', 'A'])).status).toBe('SERVFAIL');
      } finally {
        await cold.stop();
      }
    } finally {
      await etcd.stop();
    }
  }, 90_000);
});

const emptyDirs: ReturnType<typeof tempZones>[] = [];
function tempDirWithoutZones(): string {
  const dir = tempZones({});
  emptyDirs.push(dir);
  return dir.dir;
}
afterAll(() => {
  for (const d of emptyDirs) d.remove();
});

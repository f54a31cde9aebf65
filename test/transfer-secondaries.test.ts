/**
 * etcdns as the primary of real secondaries: Knot and NSD (test/support/secondaries.ts, whose
 * own test proves the harness against a Knot primary) transfer an etcd zone from etcdns by AXFR
 * (RFC 5936), follow etcd puts and deletes by NOTIFY (RFC 1996) and IXFR (RFC 1995) within 3 s,
 * converge again after an etcd compaction forced etcdns to re-list (its journal then cannot
 * answer the secondary's serial: a full answer), transfer with a TSIG key (RFC 8945) from outside
 * --transfer-allow, and are refused with a wrong key or without one from outside it. What they
 * serve must be what etcdns answers, name by name. Everything on loopback, stopped by PID.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { startEtcd, startTcpProxy, type EtcdCluster, type TcpProxy } from './support/etcd.js';
import {
  APT_LINE,
  HAVE_KNOT,
  HAVE_NSD,
  MISSING_PACKAGES,
  compareWithPrimary,
  freeUdpTcpPort,
  startKnotSecondary,
  startNsdSecondary,
  type Secondary,
  type SecondaryOptions,
  type Tsig,
} from './support/secondaries.js';
import { startServer, type ServerProcess } from './support/server.js';

const ZONE = 'example.test';
const KEY: Tsig = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 5).toString('base64') };
const WRONG: Tsig = { ...KEY, secret: Buffer.alloc(32, 6).toString('base64') };
/** Inside --transfer-allow; OUTSIDE is another loopback address, outside it. */
const INSIDE = '127.0.0.1';
const OUTSIDE = '127.0.0.2';
const isRoot = process.getuid?.() === 0;

const KINDS = [
  ['Knot', startKnotSecondary],
  ['NSD', startNsdSecondary],
] as const;

/** The etcd keys below /skydns/test/example/, before the changes. */
const DATA: Record<string, object> = {
  'dns/ns/ns1': { host: '192.0.2.53' },
  'www/x1': { host: '192.0.2.10' },
  'www/x2': { host: '2001:db8::10' },
  'api/x1': { host: '192.0.2.31', port: 8080 },
  'api/x2': { host: '2001:db8::32', port: 8081, weight: 300 },
  docs: { host: 'www.example.test' },
  txt: { text: 'hello from etcd' },
  mx: { host: 'mail.example.test', mail: true, priority: 5 },
  mail: { host: '192.0.2.25' },
  gone: { host: '192.0.2.66' },
  changed: { host: '192.0.2.70' },
};

/** Every name the zone has or will have, and two it never has. */
const NAMES = [
  '', 'ns1.ns.dns.', 'ns.dns.', 'www.', 'x1.www.', 'x2.www.', 'api.', 'x1.api.', 'x2.api.', 'txt.', 'mail.',
  'gone.', 'changed.', 'new.', 'later.', 'nothing.', 'x.nothing.',
  // Names whose services are host names: an alias (docs, a CNAME for every type) and a mail
  // name (mx: its MX and its target's address, no CNAME). One shape per name (RFC 2181 §10.1),
  // so a secondary answers them as etcdns does, every type.
  'docs.', 'mx.',
].map((p) => `${p}${ZONE}`);

if (MISSING_PACKAGES.length > 0 && !isRoot) {
  describe.skip(`Knot and NSD secondaries of etcdns (missing ${MISSING_PACKAGES.join(', ')}; install with: ${APT_LINE})`, () => {
    it('transfers', () => {});
  });
} else {
  describe('Knot and NSD secondaries of etcdns', () => {
    it('has knotd and nsd installed (run: bash scripts/ensure-system-deps.sh)', () => {
      expect(MISSING_PACKAGES).toEqual([]);
    });
    if (!HAVE_KNOT || !HAVE_NSD) return;

    let etcd: EtcdCluster;
    let proxy: TcpProxy;
    let zonesDir: string;
    let etcdns: ServerProcess;
    const plain: Record<string, Secondary> = {};
    const started: Secondary[] = [];
    const put = (key: string, value: object) => etcd.client.put(`/skydns/test/example/${key}`).value(JSON.stringify(value));
    const remove = (key: string) => etcd.client.delete().key(`/skydns/test/example/${key}`);
    const primary = () => ({ host: '127.0.0.1', port: etcdns.port });
    const start = async (kind: 'Knot' | 'NSD', o: Omit<SecondaryOptions, 'zones' | 'primary'>) => {
      const s = await (kind === 'Knot' ? startKnotSecondary : startNsdSecondary)({ zones: [ZONE], primary: primary(), ...o });
      started.push(s);
      return s;
    };

    beforeAll(async () => {
      etcd = await startEtcd();
      for (const [key, value] of Object.entries(DATA)) await put(key, value);
      // etcdns reaches etcd through a proxy that can cut it off (for the compaction case).
      proxy = await startTcpProxy(etcd.endpoints[0]!);
      zonesDir = mkdtempSync(join(tmpdir(), 'etcdns-xfr-zones-'));
      // Their ports first: etcdns is told where to send NOTIFY when it starts.
      const ports = { Knot: await freeUdpTcpPort(), NSD: await freeUdpTcpPort() };
      etcdns = await startServer([
        '--etcd', proxy.url,
        '--etcd-zone', ZONE,
        '--zones', zonesDir,
        '--transfer-allow', `${INSIDE}/32`,
        '--tsig-key', `${KEY.name}:${KEY.algorithm}:${KEY.secret}`,
        '--notify', `127.0.0.1:${ports.Knot}`,
        '--notify', `127.0.0.1:${ports.NSD}`,
        '--notify-delay', '100ms',
        '--ixfr-journal', '1000',
        '--metrics-listen', '127.0.0.1:0',
      ]);
      await waitFor('etcdns serves the zone', async () => (await etcdnsSerial()) !== undefined, 10_000);
      for (const [kind] of KINDS) plain[kind] = await start(kind, { port: ports[kind], via: INSIDE });
    }, 60_000);

    afterAll(async () => {
      await Promise.all(started.map((s) => s.close()));
      await etcdns?.stop();
      await proxy?.close();
      await etcd?.stop();
      if (zonesDir) rmSync(zonesDir, { recursive: true, force: true });
    });

    async function etcdnsSerial(): Promise<number | undefined> {
      const r = await dig(etcdns.port, [ZONE, 'SOA']).catch(() => undefined);
      const soa = r?.status === 'NOERROR' ? r.answer.find((a) => a.type === 'SOA') : undefined;
      return soa ? Number(soa.data.split(/\s+/)[2]) : undefined;
    }

    /** Sum of the samples of a metric on etcdns's /metrics whose labels match. */
    async function metric(name: string, labels: RegExp = /.*/): Promise<number> {
      const url = String(etcdns.logs.find((l) => l.msg === 'listening')!.metrics);
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))) if (labels.test(m[1] ?? '')) sum += Number(m[2]);
      return sum;
    }
    const transfers = (type: 'AXFR' | 'IXFR', outcome: string) =>
      metric('etcdns_transfers_total', new RegExp(`type="${type}".*zone="example\\.test\\.?".*outcome="${outcome}"|outcome="${outcome}".*type="${type}"`));

    /** How the secondary's answers differ from etcdns's (empty: none), over every name. */
    async function differences(s: Secondary): Promise<string[]> {
      return compareWithPrimary(etcdns.port, s.port, NAMES);
    }

    it.each(KINDS)('%s: the initial AXFR gives it what etcdns answers, name by name', async (kind) => {
      const s = plain[kind]!;
      const serial = (await etcdnsSerial())!;
      await s.waitForSerial(ZONE, serial, 5000);
      expect(await differences(s)).toEqual([]);
      expect(s.transfers(ZONE)).toEqual({ axfr: 1, ixfr: 0 });
      expect(s.wire().filter((t) => t.style === 'full')).toMatchObject([{ type: 'AXFR', transport: 'tcp', rcode: 'NOERROR', serial, complete: true }]);
      // The alias is a CNAME whatever is asked; the mail name has its MX and no CNAME.
      for (const type of ['SRV', 'MX', 'TXT', 'A']) {
        expect((await dig(s.port, [`docs.${ZONE}`, type])).answer[0], type).toMatchObject({ type: 'CNAME', data: `www.${ZONE}.` });
      }
      expect((await dig(s.port, [`mx.${ZONE}`, 'MX'])).answer).toMatchObject([{ type: 'MX', data: `5 mail.${ZONE}.` }]);
      expect((await dig(s.port, [`mx.${ZONE}`, 'A'])).answer).toMatchObject([{ type: 'A', data: '192.0.2.25' }]);
    });

    it('an etcd put and a delete reach both by NOTIFY and IXFR within 3 s', async () => {
      const before = (await etcdnsSerial())!;
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(ZONE, before, 5000)));
      const incrementalBefore = await transfers('IXFR', 'incremental');
      const t0 = Date.now();
      await put('new', { host: '192.0.2.77' });
      await remove('gone');
      const revision = await etcd.revision();
      // SOA serial = the etcd revision of the zone's last change (the delete).
      await waitFor('etcdns at the new serial', async () => (await etcdnsSerial()) === revision, 3000);
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(ZONE, revision, 3000)));
      console.info(`etcd put+delete → both secondaries at serial ${revision} in ${Date.now() - t0} ms`);
      expect(Date.now() - t0).toBeLessThan(3000);
      for (const [kind] of KINDS) {
        const s = plain[kind]!;
        expect(await differences(s), kind).toEqual([]);
        const { axfr, ixfr } = s.transfers(ZONE);
        expect({ axfr, ixfrAtLeastOne: ixfr >= 1 }, kind).toEqual({ axfr: 1, ixfrAtLeastOne: true });
        const incremental = s.wire().filter((t) => t.type === 'IXFR' && t.style === 'incremental' && t.complete);
        expect(incremental[0], kind).toMatchObject({ fromSerial: before, rcode: 'NOERROR' });
        expect(incremental.at(-1)!.serial, kind).toBe(revision);
      }
      await plain.Knot!.waitForLog(/\[example\.test\.\] notify, incoming, remote 127\.0\.0\.1@\d+, serial \d+/);
      await plain.NSD!.waitForLog(/notify for example\.test\. from 127\.0\.0\.1 serial \d+/);
      expect(await transfers('IXFR', 'incremental')).toBeGreaterThanOrEqual(incrementalBefore + 2);
    });

    it('after an etcd compaction and re-list, both converge again (a full answer to their IXFR)', async () => {
      const relists = await metric('etcdns_etcd_relists_total');
      const fullBefore = await transfers('IXFR', 'full');
      // etcdns is cut off from etcd while its history is changed and compacted away: when it
      // comes back its watch cannot resume (compacted), so it lists again from scratch.
      proxy.block();
      await put('changed', { host: '192.0.2.71' });
      await put('later', { host: '192.0.2.88' });
      await remove('mail');
      const revision = await etcd.revision();
      await etcd.compact();
      proxy.unblock();
      const back = Date.now();
      await waitFor('etcdns re-listed', async () => (await metric('etcdns_etcd_relists_total')) > relists, 10_000);
      await waitFor('etcdns at the new serial', async () => (await etcdnsSerial()) === revision, 5000);
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(ZONE, revision, 5000)));
      console.info(`compacted while away: both secondaries at serial ${revision} ${Date.now() - back} ms after etcdns could reach etcd again`);
      for (const [kind] of KINDS) {
        const s = plain[kind]!;
        expect(await differences(s), kind).toEqual([]);
        // The journal began again at the re-list: the secondary's serial is not in it (RFC 1995 §4).
        expect(
          s.wire().filter((t) => t.type === 'IXFR' && t.style === 'full' && t.complete).at(-1),
          kind,
        ).toMatchObject({ rcode: 'NOERROR', serial: revision });
        expect(s.transfers(ZONE).axfr, kind).toBe(2);
      }
      expect(await transfers('IXFR', 'full')).toBeGreaterThanOrEqual(fullBefore + 2);

      // And incremental again from there.
      await put('later', { host: '192.0.2.89' });
      const next = await etcd.revision();
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(ZONE, next, 3000)));
      for (const s of Object.values(plain)) expect(s.wire().at(-1)).toMatchObject({ type: 'IXFR', style: 'incremental', complete: true, serial: next });
    }, 30_000);

    it.each(KINDS)('%s: with the TSIG key it transfers from outside --transfer-allow', async (kind) => {
      // This etcdns sends NOTIFY unsigned (no --notify-key): the secondary takes it by address.
      const s = await start(kind, { tsig: KEY, notifyKey: false, via: OUTSIDE });
      const serial = (await etcdnsSerial())!;
      await s.waitForSerial(ZONE, serial, 5000);
      expect(await differences(s)).toEqual([]);
      expect(s.transfers(ZONE)).toEqual({ axfr: 1, ixfr: 0 });
      await s.close();
    });

    it('Knot that takes only signed NOTIFY: with --notify-key it follows a change by IXFR', async () => {
      // A second replica (same etcd, so the same serials) that signs its NOTIFY with the key.
      const port = await freeUdpTcpPort();
      const signer = await startServer([
        '--etcd', proxy.url,
        '--etcd-zone', ZONE,
        '--zones', zonesDir,
        '--tsig-key', `${KEY.name}:${KEY.algorithm}:${KEY.secret}`,
        '--notify', `127.0.0.1:${port}`,
        '--notify-key', KEY.name,
        '--notify-delay', '100ms',
        '--metrics-listen', 'off',
      ]);
      try {
        const s = await startKnotSecondary({ zones: [ZONE], primary: { host: '127.0.0.1', port: signer.port }, tsig: KEY, port, via: OUTSIDE });
        started.push(s);
        await s.waitForSerial(ZONE, (await etcdnsSerial())!, 5000);
        await put('signed', { host: '192.0.2.90' });
        const next = await etcd.revision();
        await s.waitForSerial(ZONE, next, 3000);
        expect(s.wire().at(-1)).toMatchObject({ type: 'IXFR', style: 'incremental', complete: true, serial: next });
        await s.close();
      } finally {
        await signer.stop();
      }
    }, 30_000);

    it.each(KINDS)('%s: a wrong key is refused (NOTAUTH, BADSIG) and its log says why', async (kind) => {
      const badTsig = await metric('etcdns_transfers_total', /outcome="bad-tsig"/);
      const s = await start(kind, { tsig: WRONG, notifyKey: false, via: OUTSIDE });
      if (kind === 'Knot') await s.waitForLog(/\[example\.test\.\] refresh, remote primary, address \S+, failed \(failed to verify TSIG\)/);
      else await s.waitForLog(/xfrd: zone example\.test, from \S+: tsig error \(Bad Signature\)/);
      expect(await s.serial(ZONE)).toBeUndefined();
      expect(s.transfers(ZONE)).toEqual({ axfr: 0, ixfr: 0 });
      expect(s.wire().filter((t) => t.rcode !== undefined).every((t) => t.rcode === 'NOTAUTH' && !t.complete)).toBe(true);
      await waitFor('a bad-tsig transfer counted', async () => (await metric('etcdns_transfers_total', /outcome="bad-tsig"/)) > badTsig, 3000);
      await s.close();
    });

    it.each(KINDS)('%s: without a key, from outside --transfer-allow, it is refused', async (kind) => {
      const refused = await metric('etcdns_transfers_total', /outcome="refused"/);
      const s = await start(kind, { via: OUTSIDE });
      await waitFor('the refusal on the wire', () => Promise.resolve(s.wire().some((t) => t.rcode === 'REFUSED')), 5000);
      if (kind === 'Knot') await s.waitForLog(/\[example\.test\.\] AXFR, incoming, remote \S+, server responded with error 'REFUSED'/);
      else await s.waitForLog(/xfrd: zone example\.test received error code REFUSED/);
      expect(await s.serial(ZONE)).toBeUndefined();
      expect(s.transfers(ZONE)).toEqual({ axfr: 0, ixfr: 0 });
      await waitFor('a refused transfer counted', async () => (await metric('etcdns_transfers_total', /outcome="refused"/)) > refused, 3000);
      await s.close();
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, withinMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`timed out after ${withinMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * ISC Kea's DHCP-DDNS daemon (kea-dhcp-ddns, D2) updating etcd zones through etcdns, end to end:
 * a real etcd, the built server, the real D2 run with the README's configuration, fed
 * NameChangeRequests over UDP as a Kea DHCP server sends them (Kea src/lib/dhcp_ddns/ncr_msg.cc
 * `toFormat`: a 2-octet length, then the JSON text).
 *
 * D2 does RFC 4703 conflict resolution with DHCID records (RFC 4701, type 49), which the SkyDNS
 * format cannot express: they go through the etcdns extension (src/skydns/extension.ts). The
 * test checks that a lease's A + DHCID and PTR (+ DHCID) appear as etcd keys and in DNS (dig),
 * that a second client wanting the same name is refused by the DHCID prerequisite (D2 logs the
 * rejection; the records stay the first client's), and that removing the lease deletes them.
 * Then what the extension holds beside DHCID (CAA at the apex, SSHFP), written with nsupdate,
 * answers dig exactly as written.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil } from './support/dig.js';
import { nsupdate } from './support/nsupdate.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { findTool, freeUdpTcpPort, runDaemon, type Daemon } from './support/secondaries.js';
import { REPO_ROOT, startServer, type ServerProcess } from './support/server.js';

const run = promisify(execFile);
const D2 = findTool('kea-dhcp-ddns');
const NSUPDATE = findTool('nsupdate');
/** nsupdate signed with the kea key, for the zone under test. */
const nsupdateKea = (port: number, lines: readonly string[]) => nsupdate(port, ZONE, lines, { bin: NSUPDATE!, key: { name: 'kea', algorithm: 'hmac-sha256', secret: SECRET } });
const ZONE = 'example.test';
const REVERSE = '2.0.192.in-addr.arpa';
const SECRET = randomBytes(32).toString('base64');

/** The README's D2 configuration (section "Dynamic updates"), as a user would copy it. */
function readmeD2Config(): { DhcpDdns: Record<string, unknown> } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```json\n(\{\n {2}"DhcpDdns"[\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no DhcpDdns JSON block');
  return JSON.parse(block[1]!) as { DhcpDdns: Record<string, unknown> };
}

/** RFC 4701 §3.3 DHCID RDATA for a client identifier (identifier type 1, digest type 1 = SHA-256 over id and FQDN in wire form). */
function dhcid(clientId: Buffer, fqdn: string): Buffer {
  const wire = Buffer.concat([...fqdn.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  return Buffer.concat([Buffer.from([0, 1, 1]), createHash('sha256').update(clientId).update(wire).digest()]);
}

interface Ncr {
  'change-type': 0 | 1;
  'forward-change': boolean;
  'reverse-change': boolean;
  fqdn: string;
  'ip-address': string;
  dhcid: string;
  'lease-expires-on': string;
  'lease-length': number;
  'use-conflict-resolution': boolean;
}

/** Sends one NameChangeRequest to D2 the way Kea's DHCP servers do over UDP: 2-octet length, JSON. */
async function sendNcr(port: number, ncr: Ncr): Promise<void> {
  const json = Buffer.from(JSON.stringify(ncr));
  const length = Buffer.alloc(2);
  length.writeUInt16BE(json.length);
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => socket.send(Buffer.concat([length, json]), port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  } finally {
    socket.close();
  }
}

/** The records of a TSIG-signed AXFR or IXFR (`IXFR=<serial>`) of `zone` from dig, as [name, ttl, class, type, data]. */
async function transfer(port: number, zone: string, kind: string): Promise<string[][]> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '-y', `hmac-sha256:kea:${SECRET}`, '+nocookie', '+time=5', zone, kind], { timeout: 15_000 });
  if (/Transfer failed|communications error/.test(stdout)) throw new Error(`${kind} of ${zone} failed:\n${stdout}`);
  return stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => { const [name, ttl, cls, type, ...data] = l.split(/\s+/); return [name!, ttl!, cls!, type!, data.join(' ')]; })
    // dig prints the signature of each message too: not zone data.
    .filter((r) => r[3] !== 'TSIG');
}

/** Occurrences of a Kea log message ID (e.g. DHCP_DDNS_ADD_SUCCEEDED) in D2's output so far. */
const count = (d2: Daemon, id: string) => d2.output().split(id).length - 1;

const MISSING = [...(D2 ? [] : ['kea-dhcp-ddns-server']), ...(NSUPDATE ? [] : ['bind9-dnsutils'])];
const TITLE = 'ISC Kea DHCP-DDNS (kea-dhcp-ddns) updating etcd zones through etcdns';

(MISSING.length === 0 ? describe : describe.skip)(MISSING.length === 0 ? TITLE : `${TITLE} (missing; install with: sudo apt-get install ${MISSING.join(' ')})`, () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  let d2: Daemon;
  let d2Port: number;
  let dir: string;

  const fqdn = `host1.${ZONE}.`;
  const reverseName = `50.${REVERSE}`;
  const first = dhcid(Buffer.from('01aabbccddeeff', 'hex'), fqdn);
  const second = dhcid(Buffer.from('01112233445566', 'hex'), fqdn);
  const ncr = (o: Partial<Ncr>): Ncr => ({
    'change-type': 0,
    'forward-change': true,
    'reverse-change': true,
    fqdn,
    'ip-address': '192.0.2.50',
    dhcid: first.toString('hex').toUpperCase(),
    'lease-expires-on': '20261208120000',
    'lease-length': 3600,
    'use-conflict-resolution': true,
    ...o,
  });
  const keys = async (prefix: string) => (await etcd.etcdctl(['get', '--prefix', '--keys-only', prefix])).split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), 'etcdns-kea-'));
    // A zones folder of our own, empty: the repository's zones/ holds an example.test zone file.
    mkdirSync(join(dir, 'zones'));
    server = await startServer([
      '--etcd', etcd.endpoints.join(','),
      '--zones', join(dir, 'zones'),
      '--etcd-zone', ZONE,
      '--etcd-zone', REVERSE,
      '--tsig-key', `kea:hmac-sha256:${SECRET}`,
      '--update-policy', `kea subdomain ${ZONE}`,
      '--update-policy', `kea subdomain ${REVERSE}`,
    ]);
    await server.waitForLog((l) => l.msg === 'serving zones');
    d2Port = await freeUdpTcpPort();
    // The README's configuration, pointed at this test's ports and secret, logging to stdout.
    const config = readmeD2Config();
    const d = config.DhcpDdns;
    d.port = d2Port;
    // A loaded CI machine may take longer than a DHCP server's usual wait for an answer.
    d['dns-server-timeout'] = 10_000;
    (d['tsig-keys'] as { secret: string }[])[0]!.secret = SECRET;
    for (const direction of ['forward-ddns', 'reverse-ddns']) {
      for (const domain of (d[direction] as { 'ddns-domains': { 'dns-servers': { port: number }[] }[] })['ddns-domains']) {
        for (const s of domain['dns-servers']) s.port = server.port;
      }
    }
    d.loggers = [{ name: 'kea-dhcp-ddns', output_options: [{ output: 'stdout' }], severity: 'DEBUG', debuglevel: 40 }];
    writeFileSync(join(dir, 'kea-dhcp-ddns.conf'), JSON.stringify(config, null, 2));
    d2 = runDaemon(D2!, ['-c', join(dir, 'kea-dhcp-ddns.conf')], { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir });
    await d2.waitForOutput(/DHCP_DDNS_STARTED/, 20_000);
  }, 60_000);

  afterAll(async () => {
    await d2?.stop();
    await server?.stop();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('adds the lease: A + DHCID at the name and PTR + DHCID at the reverse name, in etcd and in DNS', async () => {
    // Until its first etcd sync an etcd zone answers SERVFAIL: wait for the SOA.
    const serialBefore = (await digUntil(server.port, [ZONE, 'SOA'], (r) => r.answer.length === 1, 10_000)).answer[0]!.data.split(' ')[2]!;
    await sendNcr(d2Port, ncr({}));
    await d2.waitForOutput(/DHCP_DDNS_ADD_SUCCEEDED/, 20_000);
    expect(await keys('/skydns/test/example/host1')).toEqual([
      expect.stringMatching(/^\/skydns\/test\/example\/host1\/_rr-a-[0-9a-f]{16}$/),
      expect.stringMatching(/^\/skydns\/test\/example\/host1\/_rr-dhcid-[0-9a-f]{16}$/),
    ]);
    const dhcidKey = (await keys('/skydns/test/example/host1/_rr-dhcid-'))[0]!;
    expect(JSON.parse(await etcd.etcdctl(['get', '--print-value-only', dhcidKey]))).toEqual({ ttl: expect.any(Number), etcdns: { type: 49, rdata: first.toString('base64') } });
    expect(await keys('/skydns/arpa/in-addr/192/0/2/50')).toEqual([
      '/skydns/arpa/in-addr/192/0/2/50',
      expect.stringMatching(/^\/skydns\/arpa\/in-addr\/192\/0\/2\/50\/_rr-dhcid-[0-9a-f]{16}$/),
    ]);

    expect((await dig(server.port, [fqdn, 'A'])).answer.map((r) => r.data)).toEqual(['192.0.2.50']);
    const forward = await dig(server.port, [fqdn, 'DHCID']);
    expect(forward.answer.map((r) => [r.type, r.data])).toEqual([['DHCID', first.toString('base64')]]);
    expect((await dig(server.port, [reverseName, 'PTR'])).answer.map((r) => r.data)).toEqual([fqdn]);
    expect((await dig(server.port, [reverseName, 'DHCID'])).answer.map((r) => r.data)).toEqual([first.toString('base64')]);

    // A zone transfer (signed with the same key) carries each DHCID once, at its name.
    for (const [zone, owner] of [[ZONE, fqdn], [REVERSE, `${reverseName}.`]] as const) {
      const dhcids = (await transfer(server.port, zone, 'AXFR')).filter((r) => r[3] === 'DHCID');
      expect(dhcids).toEqual([[owner, expect.any(String), 'IN', 'DHCID', first.toString('base64')]]);
    }
    // So does an IXFR from the serial before the lease (RFC 1995: new SOA, old SOA, deletions,
    // new SOA, additions): the A and the DHCID are the additions.
    const ixfr = await transfer(server.port, ZONE, `IXFR=${serialBefore}`);
    expect(ixfr.map((r) => r[3])).toEqual(['SOA', 'SOA', 'SOA', 'A', 'DHCID', 'SOA']);
    expect(ixfr[1]![4]!.split(' ')[2]).toBe(serialBefore);
    expect(ixfr[4]).toEqual([fqdn, expect.any(String), 'IN', 'DHCID', first.toString('base64')]);
  }, 60_000);

  it('refuses a second client that wants the same name, by its DHCID prerequisite (RFC 4703 §5.3.1)', async () => {
    const before = await keys('/skydns/test/example/host1');
    const rejected = count(d2, 'DHCP_DDNS_FORWARD_REPLACE_REJECTED');
    await sendNcr(d2Port, ncr({ 'ip-address': '192.0.2.51', dhcid: second.toString('hex') }));
    await d2.waitForOutput(new RegExp(`(?:DHCP_DDNS_FORWARD_REPLACE_REJECTED[^\\n]*){${rejected + 1}}`), 20_000);
    // D2 says why: the server answered the replace's DHCID prerequisite with NXRRSET (8, RFC 2136 §2.2)...
    const line = d2.output().split('\n').filter((l) => l.includes('DHCP_DDNS_FORWARD_REPLACE_REJECTED')).at(-1)!;
    expect(line).toMatch(/RCODE: 8$/);
    expect(line).toContain(fqdn);
    // ... and so does etcdns: first the add's "name not in use" (YXDOMAIN), then the DHCID RRset.
    const refusals = server.logs.filter((l) => l.component === 'update' && l.msg === 'update prerequisite').map((l) => [l.rcode, l.reason]);
    expect(refusals.slice(-2)).toEqual([
      [6, expect.stringContaining('host1.example.test is in use')],
      [8, expect.stringMatching(/the (49|DHCID) RRset at host1\.example\.test/)],
    ]);
    expect(await keys('/skydns/test/example/host1')).toEqual(before);
    expect((await dig(server.port, [fqdn, 'A'])).answer.map((r) => r.data)).toEqual(['192.0.2.50']);
    expect((await dig(server.port, [fqdn, 'DHCID'])).answer.map((r) => r.data)).toEqual([first.toString('base64')]);
    expect((await dig(server.port, [`51.${REVERSE}`, 'PTR'])).status).toBe('NXDOMAIN');
  }, 60_000);

  it('removes the lease: the A, the PTR and both DHCIDs are deleted', async () => {
    await sendNcr(d2Port, ncr({ 'change-type': 1 }));
    await d2.waitForOutput(/DHCP_DDNS_REMOVE_SUCCEEDED/, 20_000);
    expect(await keys('/skydns/test/example/host1')).toEqual([]);
    expect(await keys('/skydns/arpa/in-addr/192/0/2/50')).toEqual([]);
    expect((await dig(server.port, [fqdn, 'A'])).status).toBe('NXDOMAIN');
    expect((await dig(server.port, [fqdn, 'DHCID'])).status).toBe('NXDOMAIN');
    expect((await dig(server.port, [reverseName, 'PTR'])).status).toBe('NXDOMAIN');
  }, 60_000);

  it('a bad extension value written by hand is skipped, logged once and counted; the name keeps its other records', async () => {
    const bad = '/skydns/test/example/host3/_rr-dhcid-00000000000000aa';
    await etcd.client.put('/skydns/test/example/host3/_rr-a-00000000000000aa').value(JSON.stringify({ host: '192.0.2.60', ttl: 300, port: -1 }));
    await etcd.client.put(bad).value('{"ttl":300,"etcdns":{"type":49,"rdata":"not base64"}}');
    const logged = await server.waitForLog((l) => l.msg === 'skipping invalid etcd value' && l.key === bad);
    expect(String(logged.reason)).toMatch(/^etcdns: rdata/);
    await digUntil(server.port, [`host3.${ZONE}`, 'A'], (r) => r.answer.length === 1);
    expect((await dig(server.port, [`host3.${ZONE}`, 'DHCID'])).status).toBe('NOERROR');
    expect((await dig(server.port, [`host3.${ZONE}`, 'DHCID'])).answer).toEqual([]);
    const metricsUrl = `${String(server.logs.find((l) => l.msg === 'listening')!.metrics)}/metrics`;
    expect(await (await fetch(metricsUrl)).text()).toMatch(/^etcdns_etcd_invalid_values_total\{reason="etcdns"\} 1$/m);
    // The same bad value again: not logged again.
    await etcd.client.put(bad).value('{"ttl":300,"etcdns":{"type":49,"rdata":"not base64"}}');
    await etcd.client.delete().key('/skydns/test/example/host3/_rr-a-00000000000000aa');
    await digUntil(server.port, [`host3.${ZONE}`, 'A'], (r) => r.answer.length === 0);
    expect(server.logs.filter((l) => l.msg === 'skipping invalid etcd value' && l.key === bad)).toHaveLength(1);
    await etcd.client.delete().key(bad);
  }, 60_000);

  it('other types SkyDNS cannot express (CAA at the apex, SSHFP) answer dig as nsupdate wrote them, never share a name with a CNAME, and leave', async () => {
    const fingerprint = randomBytes(32).toString('hex').toUpperCase();
    expect(await nsupdateKea(server.port, [`update add ${ZONE}. 3600 CAA 0 issue "ca.example.net"`, `update add host2.${ZONE}. 300 SSHFP 4 2 ${fingerprint}`])).toBe('NOERROR');
    const caa = await digUntil(server.port, [ZONE, 'CAA'], (r) => r.answer.length > 0);
    expect(caa.answer.map((r) => `${r.ttl} ${r.type} ${r.data}`)).toEqual(['3600 CAA 0 issue "ca.example.net"']);
    // dig may split a long fingerprint into groups: compare without the spaces.
    const sshfp = await dig(server.port, [`host2.${ZONE}`, 'SSHFP']);
    expect(sshfp.answer.map((r) => `${r.ttl} ${r.type} ${r.data.replace(/\s+/g, '')}`)).toEqual([`300 SSHFP 42${fingerprint}`]);
    // A CAA of the apex is under the zone's own key, not dns/apex: the apex's addresses are unchanged.
    expect(await keys('/skydns/test/example/_rr-caa-')).toHaveLength(1);
    expect(await keys('/skydns/test/example/dns/apex')).toEqual([]);
    // RFC 2136 §3.4.2.2: they are "other data" for the CNAME rule, both ways; the update still succeeds.
    expect(await nsupdateKea(server.port, [`update add host2.${ZONE}. 300 CNAME host1.${ZONE}.`, `update add c.${ZONE}. 300 CNAME host1.${ZONE}.`])).toBe('NOERROR');
    expect(await nsupdateKea(server.port, [`update add c.${ZONE}. 300 DHCID AAIBqg==`])).toBe('NOERROR');
    expect((await dig(server.port, [`host2.${ZONE}`, 'CNAME'])).answer).toEqual([]);
    expect((await dig(server.port, [`c.${ZONE}`, 'CNAME'])).answer.map((r) => r.data)).toEqual([`host1.${ZONE}.`]);
    expect(await keys(`/skydns/test/example/c/_rr-dhcid-`)).toEqual([]);
    expect(await nsupdateKea(server.port, [`update delete ${ZONE}. CAA`, `update delete host2.${ZONE}. SSHFP`, `update delete c.${ZONE}.`])).toBe('NOERROR');
    expect((await dig(server.port, [ZONE, 'CAA'])).answer).toEqual([]);
    expect((await dig(server.port, [`host2.${ZONE}`, 'SSHFP'])).status).toBe('NXDOMAIN');
  }, 60_000);
});

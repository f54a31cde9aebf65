/**
 * Two real RFC 2136 clients' messages, built with dnspython (test/support/rfc2136_clients.py,
 * Debian python3-dnspython) as the clients build them, against a real etcd and the built server:
 *
 * - certbot's dns-rfc2136 plugin: the zone found by SOA queries with RD clear that must come back
 *   with AA, walking up from the record name; a TSIG-signed TXT add, read back; the delete of that
 *   one TXT record. With certbot's default algorithm (HMAC-MD5, when its credentials name none)
 *   and with hmac-sha512 and signed SOA queries (`sign_query = true`).
 * - external-dns's rfc2136 provider: per batch one message of class-NONE deletes of the old
 *   records and adds of the new (no prerequisites), TSIG-signed, with its TXT registry's ownership
 *   records in both forms (the plain name of older releases, `a-<name>`/`cname-<name>`), then a
 *   TSIG-signed AXFR, which must list exactly the records written (the SOA aside) after each
 *   round: create, change, delete; and an IXFR across the change, whose differences delete only
 *   records that were there and add only records that were not.
 *
 * And the real thing: Debian's certbot with python3-certbot-dns-rfc2136 gets a certificate from
 * Pebble (Let's Encrypt's ACME test server, Debian `pebble`) on loopback, which checks the DNS-01
 * TXT by asking etcdns itself (`-dnsserver`). The dnspython flows above pin each message and its
 * reply; the real run shows the whole flow works as shipped.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { freePort } from './support/ports.js';
import { findTool, runDaemon, type Tsig } from './support/secondaries.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

/** Debian's interpreter: the `python3` on PATH may be another build, without Debian's modules. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./support/rfc2136_clients.py', import.meta.url));
const HAVE_DNSPYTHON = spawnSync(PYTHON, ['-c', 'import dns.update, dns.tsigkeyring'], { stdio: 'ignore' }).status === 0;
if (!HAVE_DNSPYTHON) console.warn('update-clients: skipped, dnspython missing: sudo apt-get install python3-dnspython');
/** The real certbot with its rfc2136 plugin, and Pebble, Let's Encrypt's ACME test server, to get a certificate from. */
const HAVE_CERTBOT =
  HAVE_DNSPYTHON &&
  findTool('certbot') !== undefined &&
  findTool('pebble') !== undefined &&
  findTool('openssl') !== undefined &&
  spawnSync(PYTHON, ['-c', 'import certbot_dns_rfc2136'], { stdio: 'ignore' }).status === 0;
if (HAVE_DNSPYTHON && !HAVE_CERTBOT) console.warn('update-clients: the real certbot run skipped: sudo apt-get install certbot python3-certbot-dns-rfc2136 pebble');

const run = promisify(execFile);
const ZONE = 'example.test';
const SUB = 'sub.example.test';
const secret = () => randomBytes(32).toString('base64');
/** certbot's credentials without `dns_rfc2136_algorithm`: its plugin signs with HMAC-MD5. */
const certbotMd5: Tsig = { name: 'certbot-md5', algorithm: 'hmac-md5', secret: secret() };
const certbotSha512: Tsig = { name: 'certbot-sha512', algorithm: 'hmac-sha512', secret: secret() };
const externalDns: Tsig = { name: 'external-dns', algorithm: 'hmac-sha256', secret: secret() };

async function client<T>(command: string, args: Record<string, unknown>): Promise<T> {
  const { stdout } = await run(PYTHON, [SCRIPT, command, JSON.stringify(args)], { timeout: 60_000 });
  return JSON.parse(stdout) as T;
}

interface CertbotResult {
  domain: string | null;
  tried: { name: string; transport: string; rcode: string; aa: boolean; rd: boolean; found: boolean }[];
  rcode?: string;
  reply_signed_by?: string | null;
}

/** An external-dns endpoint: `targets` as it writes them in zone-file syntax (TXT quoted). */
interface Endpoint {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  ttl?: number;
  targets: string[];
}
interface Changes {
  create?: Endpoint[];
  update_old?: Endpoint[];
  update_new?: Endpoint[];
  delete?: Endpoint[];
}
interface AxfrRecord {
  name: string;
  type: string;
  ttl: number;
  data: string;
}

/** external-dns's TXT registry text for a resource, as its rfc2136 provider writes it (quoted zone-file text). */
const owner = (resource: string) => `"heritage=external-dns,external-dns/owner=default,external-dns/resource=${resource}"`;
/** An A/AAAA/CNAME endpoint and its ownership records, in the old (same name) and new (`<type>-<name>`) forms. */
function owned(ep: Endpoint, resource: string, oldForm: boolean): Endpoint[] {
  const [first, ...rest] = ep.name.split('.');
  const txt = (name: string): Endpoint => ({ name, type: 'TXT', targets: [owner(resource)] });
  return [ep, ...(oldForm ? [txt(ep.name)] : []), txt([`${ep.type.toLowerCase()}-${first}`, ...rest].join('.'))];
}

describe.skipIf(!HAVE_DNSPYTHON)('RFC 2136 clients built with dnspython: certbot and external-dns', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  let zones: ReturnType<typeof tempZones>;

  beforeAll(async () => {
    etcd = await startEtcd();
    // An empty zones directory: the repository's zones/ (the default) has an example.test file.
    zones = tempZones({});
    server = await startServer([
      '--zones', zones.dir,
      // One line per query: the real certbot test finds Pebble's DNS-01 lookup there.
      '--log-queries',
      '--etcd', etcd.endpoints.join(','),
      '--etcd-zone', ZONE,
      '--etcd-zone', SUB,
      ...[certbotMd5, certbotSha512, externalDns].flatMap((k) => ['--tsig-key', `${k.name}:${k.algorithm}:${k.secret}`]),
      '--update-policy', `${certbotMd5.name} name _acme-challenge.www.${SUB} TXT`,
      '--update-policy', `${certbotSha512.name} name _acme-challenge.${SUB} TXT`,
      '--update-policy', `${externalDns.name} subdomain ${ZONE} A AAAA CNAME TXT`,
    ]);
    await server.waitForLog((l) => l.msg === 'serving zones' && Array.isArray(l.zones) && l.zones.length === 2);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
    zones?.remove();
  });

  describe("certbot's rfc2136 flow", () => {
    it.each<[string, Tsig, string, boolean]>([
      ["certbot's default algorithm (HMAC-MD5), unsigned SOA queries", certbotMd5, `_acme-challenge.www.${SUB}`, false],
      ['hmac-sha512, SOA queries signed (sign_query = true)', certbotSha512, `_acme-challenge.${SUB}`, true],
    ])('%s: finds the zone by SOA with RD clear and AA, adds the TXT, reads it back, deletes it', async (_, key, recordName, signQuery) => {
      const validation = randomBytes(32).toString('base64url');
      const args = { server: '127.0.0.1', port: server.port, key, sign_query: signQuery, record_name: recordName, validation, ttl: 120 };

      const added = await client<CertbotResult>('certbot-add', args);
      // The walk up from the record name: no SOA answer (NXDOMAIN or NODATA) below the zone,
      // then the zone's own SOA with AA, over TCP, RD clear in the reply as in the query.
      const guesses = recordName.split('.').map((_, i, labels) => labels.slice(i).join('.'));
      const until = guesses.indexOf(SUB) + 1;
      expect(added.tried.map((t) => t.name)).toEqual(guesses.slice(0, until));
      expect(added.tried.at(-1)).toEqual({ name: SUB, transport: 'tcp', rcode: 'NOERROR', aa: true, rd: false, found: true });
      for (const t of added.tried.slice(0, -1)) expect(t).toMatchObject({ transport: 'tcp', aa: true, rd: false, found: false });
      expect(added).toMatchObject({ domain: SUB, rcode: 'NOERROR', reply_signed_by: `${key.name}.` });

      // Read your write: this replica answers it at once, exactly as added.
      const txt = await dig(server.port, [recordName, 'TXT']);
      expect(txt.flags).toContain('aa');
      expect(txt.answer.map((a) => `${a.name} ${a.ttl} ${a.type} ${a.data}`)).toEqual([`${recordName}. 120 TXT "${validation}"`]);
      const keys = (await etcd.etcdctl(['get', '--prefix', '--keys-only', `/skydns/${recordName.split('.').reverse().join('/')}/`])).split('\n').filter(Boolean);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/\/_acme-challenge\/_rr-txt-[0-9a-f]{16}$/);

      const deleted = await client<CertbotResult>('certbot-del', args);
      expect(deleted).toMatchObject({ domain: SUB, rcode: 'NOERROR', reply_signed_by: `${key.name}.` });
      expect((await dig(server.port, [recordName, 'TXT'])).status).toBe('NXDOMAIN');
      expect(await etcd.etcdctl(['get', '--prefix', '--keys-only', `/skydns/${recordName.split('.').reverse().join('/')}/`])).toBe('');
    });
  });

  it.skipIf(!HAVE_CERTBOT)(
    'the real certbot (--dns-rfc2136) gets a certificate from Pebble, which checks the DNS-01 TXT at etcdns; the TXT is gone after',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'etcdns-certbot-'));
      let pebble: ReturnType<typeof runDaemon> | undefined;
      try {
        // Pebble serves ACME over HTTPS only: a throwaway certificate (certbot runs with --no-verify-ssl).
        await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
        const [acme, management, http, tls] = [await freePort(), await freePort(), await freePort(), await freePort()];
        writeFileSync(
          join(dir, 'pebble.json'),
          JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${acme}`, managementListenAddress: `127.0.0.1:${management}`, certificate: join(dir, 'cert.pem'), privateKey: join(dir, 'key.pem'), httpPort: http, tlsPort: tls, ocspResponderURL: '', externalAccountBindingRequired: false } }),
        );
        // Pebble resolves the challenge name at etcdns itself; no random sleeps or nonce rejections (a test, not a client's robustness drill).
        pebble = runDaemon('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${server.port}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' });
        await pebble.waitForOutput(/Listening on: 127\.0\.0\.1:\d+/, 20_000);
        const credentials = join(dir, 'rfc2136.ini');
        writeFileSync(
          credentials,
          [`dns_rfc2136_server = 127.0.0.1`, `dns_rfc2136_port = ${server.port}`, `dns_rfc2136_name = ${certbotSha512.name}`, `dns_rfc2136_secret = ${certbotSha512.secret}`, `dns_rfc2136_algorithm = HMAC-SHA512`, ''].join('\n'),
          { mode: 0o600 },
        );
        const before = await etcd.revision();
        const logsBefore = server.logs.length;
        // Asynchronously: the server's and Pebble's output is read while certbot runs.
        const certbot = await run(
          'certbot',
          ['certonly', '--non-interactive', '--agree-tos', '--register-unsafely-without-email', '--no-verify-ssl', '--server', `https://127.0.0.1:${acme}/dir`,
            '--authenticator', 'dns-rfc2136', '--dns-rfc2136-credentials', credentials, '--dns-rfc2136-propagation-seconds', '1',
            '--config-dir', join(dir, 'config'), '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs'), '-d', SUB],
          { encoding: 'utf8', timeout: 180_000 },
        ).then(
          () => ({ status: 0, stderr: '' }),
          (e: { code?: number; stderr?: string }) => ({ status: e.code ?? -1, stderr: e.stderr ?? String(e) }),
        );
        const log = existsSync(join(dir, 'logs', 'letsencrypt.log')) ? readFileSync(join(dir, 'logs', 'letsencrypt.log'), 'utf8') : '';
        expect({ status: certbot.status, stderr: certbot.status === 0 ? '' : `${certbot.stderr}\n${log.slice(-4000)}\n${pebble.output().slice(-2000)}` }).toEqual({ status: 0, stderr: '' });
        const cert = new X509Certificate(readFileSync(join(dir, 'config', 'live', SUB, 'fullchain.pem')));
        expect(cert.subjectAltName).toBe(`DNS:${SUB}`);
        // Pebble asked etcdns for the TXT certbot had added (its DNS-01 validation), and certbot deleted it after.
        // (certbot itself asks only SOA: a TXT answered NOERROR while it ran is Pebble's query.)
        const validations = server.logs.slice(logsBefore).filter((l) => l.msg === 'query' && l.name === `_acme-challenge.${SUB}.` && l.type === 'TXT' && l.rcode === 'NOERROR');
        expect(validations.length).toBeGreaterThan(0);
        expect((await dig(server.port, [`_acme-challenge.${SUB}`, 'TXT'])).status).toBe('NXDOMAIN');
        expect(await etcd.etcdctl(['get', '--prefix', '--keys-only', `/skydns/${SUB.split('.').reverse().join('/')}/_acme-challenge/`])).toBe('');
        // Written then deleted: two etcd revisions at least (the add, the delete).
        expect((await etcd.revision()) - before).toBeGreaterThanOrEqual(2);
      } finally {
        await pebble?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    240_000,
  );

  describe("external-dns's rfc2136 provider", () => {
    /** What the zone should hold: `name. ttl TYPE data` as dnspython prints records. */
    const expected = new Set<string>();
    const line = (ep: Endpoint, target: string, minTtl: number) => {
      const data = ep.type === 'CNAME' ? `${target}.` : target;
      return `${ep.name}. ${Math.max(minTtl, ep.ttl ?? 0)} ${ep.type} ${data}`;
    };
    const MIN_TTL = 60;

    /** ApplyChanges as external-dns sends it, every message NOERROR; the model follows. */
    async function apply(changes: Changes, minTtl = MIN_TTL): Promise<void> {
      const out = await client<{ messages: { kind: string; rrs: number; rcode: string }[] }>('external-dns-apply', {
        server: '127.0.0.1', port: server.port, key: externalDns, zone: ZONE, min_ttl: minTtl, changes,
      });
      expect(out.messages.length).toBeGreaterThan(0);
      // On a failure, the server's reason (one log line per refused update) says why.
      const reasons = server.logs.filter((l) => l.component === 'update' && l.msg !== 'update done').map((l) => `${String(l.msg)}: ${String(l.reason)}`);
      for (const m of out.messages) expect({ ...m, reasons }).toMatchObject({ rcode: 'NOERROR', reasons: [] });
      for (const ep of [...(changes.update_old ?? []), ...(changes.delete ?? [])]) for (const t of ep.targets) expect(expected.delete(line(ep, t, minTtl))).toBe(true);
      for (const ep of [...(changes.create ?? []), ...(changes.update_new ?? [])]) for (const t of ep.targets) expected.add(line(ep, t, minTtl));
    }

    const serialOf = (soa: AxfrRecord) => Number(soa.data.split(' ')[2]);
    const text = (r: AxfrRecord) => `${r.name} ${r.ttl} ${r.type} ${r.data}`;
    /** The serial of the last listing. */
    let serial = 0;

    /** A signed AXFR as external-dns lists the zone: the SOA first and last, and the records. */
    async function listing(): Promise<string[]> {
      const { records } = await client<{ messages: number; records: AxfrRecord[] }>('xfr', { server: '127.0.0.1', port: server.port, key: externalDns, zone: ZONE });
      expect(records[0]).toMatchObject({ name: `${ZONE}.`, type: 'SOA' });
      serial = serialOf(records[0]!);
      expect(records.at(-1)).toMatchObject({ name: `${ZONE}.`, type: 'SOA' });
      const rest = records.slice(1, -1);
      // The etcd zone synthesises its SOA; a zone written only by UPDATE has no NS (none written under dns/ns).
      expect(rest.filter((r) => r.type === 'SOA' || r.type === 'NS')).toEqual([]);
      const lines = rest.map(text);
      // Each record once: no duplicates from SkyDNS names (a key's own name, subtree aggregates).
      expect(new Set(lines).size).toBe(lines.length);
      return lines.sort();
    }

    const www: Endpoint = { name: `www.${ZONE}`, type: 'A', ttl: 300, targets: ['192.0.2.10', '192.0.2.11'] };
    const v6: Endpoint = { name: `v6.${ZONE}`, type: 'AAAA', targets: ['2001:db8::10'] };
    const alias: Endpoint = { name: `alias.${ZONE}`, type: 'CNAME', targets: [`www.${ZONE}`] };
    const api: Endpoint = { name: `api.apps.${ZONE}`, type: 'A', targets: ['192.0.2.20'] };

    it('round 1, create: one message of adds; the AXFR lists exactly them', async () => {
      await apply({
        create: [
          ...owned(www, 'service/default/www', true),
          ...owned(v6, 'service/default/v6', true),
          // A CNAME's name holds nothing else (RFC 1034 §3.6.2): its ownership TXT is the prefixed form only.
          ...owned(alias, 'ingress/default/alias', false),
          ...owned(api, 'service/apps/api', false),
        ],
      });
      expect(expected.size).toBe(11);
      expect(await listing()).toEqual([...expected].sort());
      // Nested names are names of their own: apps, above api.apps, is an empty non-terminal.
      expect((await dig(server.port, [`apps.${ZONE}`, 'A'])).answer).toEqual([]);
    });

    it('round 2, change: class-NONE deletes of the old records and adds of the new, in one message', async () => {
      const www2: Endpoint = { ...www, targets: ['192.0.2.12'] };
      const alias2: Endpoint = { ...alias, targets: [`api.apps.${ZONE}`] };
      const api2: Endpoint = { ...api, ttl: 120, targets: ['192.0.2.21'] };
      const before = new Set(await listing());
      const from = serial;
      await apply({ update_old: [www, alias, api], update_new: [www2, alias2, api2], create: owned({ name: `db.${ZONE}`, type: 'A', targets: ['192.0.2.30'] }, 'service/default/db', false) });
      expect(await listing()).toEqual([...expected].sort());

      // A secondary's IXFR (RFC 1995 §4) from the serial before: each difference deletes a record
      // that was there and adds one that was not (no SkyDNS aggregates coming and going), and
      // they end at what was written.
      const { records } = await client<{ records: AxfrRecord[] }>('xfr', { server: '127.0.0.1', port: server.port, key: externalDns, zone: ZONE, serial: from });
      expect(records.map((r) => r.type).slice(0, 2)).toEqual(['SOA', 'SOA']);
      expect(serialOf(records[0]!)).toBe(serial);
      const zone = new Set(before);
      // Each difference: the SOA it starts from, its deletions, the SOA it ends at, its additions.
      let adding = true;
      let deltas = 0;
      for (const r of records.slice(1, -1)) {
        if (r.type === 'SOA') {
          adding = !adding;
          if (adding) deltas++;
          continue;
        }
        if (adding) expect({ added: text(r), was: zone.has(text(r)) }).toEqual({ added: text(r), was: false });
        else expect({ deleted: text(r), was: zone.has(text(r)) }).toEqual({ deleted: text(r), was: true });
        if (adding) zone.add(text(r));
        else zone.delete(text(r));
      }
      expect(deltas).toBeGreaterThan(0);
      expect([...zone].sort()).toEqual([...expected].sort());
      expect((await dig(server.port, [`www.${ZONE}`, 'A'])).answer.map((a) => a.data)).toEqual(['192.0.2.12']);
    });

    it('round 3, delete: the records and their ownership TXT go; then the zone is empty again', async () => {
      const www2: Endpoint = { ...www, targets: ['192.0.2.12'] };
      await apply({ delete: [...owned(www2, 'service/default/www', true), ...owned(v6, 'service/default/v6', true)] });
      expect(await listing()).toEqual([...expected].sort());
      const rest = [...owned({ ...alias, targets: [`api.apps.${ZONE}`] }, 'ingress/default/alias', false), ...owned({ ...api, ttl: 120, targets: ['192.0.2.21'] }, 'service/apps/api', false), ...owned({ name: `db.${ZONE}`, type: 'A', targets: ['192.0.2.30'] }, 'service/default/db', false)];
      await apply({ delete: rest });
      expect(expected.size).toBe(0);
      expect(await listing()).toEqual([]);
      expect(await etcd.etcdctl(['get', '--prefix', '--keys-only', '/skydns/test/example/'])).toBe('');
    });

    it("external-dns's default TTL (0, without --rfc2136-min-ttl or a TTL annotation): written, listed and answered with TTL 0, then deleted", async () => {
      // RFC 2181 §8: TTL 0 means "do not cache". SkyDNS reads a stored 0 as its default TTL;
      // a record UPDATE wrote keeps the 0 its client sent (docs/etcd-data.md).
      const zero: Endpoint = { name: `zero.${ZONE}`, type: 'A', targets: ['192.0.2.40'] };
      await apply({ create: owned(zero, 'service/default/zero', false) }, 0);
      expect(await listing()).toEqual([...expected].sort());
      expect([...expected].filter((l) => l.startsWith(`zero.${ZONE}. `))).toEqual([`zero.${ZONE}. 0 A 192.0.2.40`]);
      expect((await dig(server.port, [`zero.${ZONE}`, 'A'])).answer.map((a) => `${a.ttl} ${a.data}`)).toEqual(['0 192.0.2.40']);
      await apply({ delete: owned(zero, 'service/default/zero', false) }, 0);
      expect(expected.size).toBe(0);
      expect(await listing()).toEqual([]);
      expect(await etcd.etcdctl(['get', '--prefix', '--keys-only', '/skydns/test/example/'])).toBe('');
    });
  });
});

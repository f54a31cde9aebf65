/**
 * The secondaries harness (test/support/secondaries.ts) proved against a real primary: knotd
 * serving zone files, NOTIFYing (RFC 1996) and answering AXFR (RFC 5936) and IXFR (RFC 1995)
 * from its journal, with a TSIG-only zone (RFC 8945). A Knot and an NSD secondary each must get
 * the zone by AXFR and serve what the primary serves, follow a change by IXFR within 3 s of
 * the NOTIFY, transfer with the right key and be refused with a wrong one. The tap's view of
 * the wire and Knot's own log must agree on the kind of every transfer. When this passes, the
 * same harness can judge etcdns as the primary (test/transfer-secondaries.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APT_LINE,
  HAVE_KNOT,
  HAVE_NSD,
  MISSING_PACKAGES,
  compareWithPrimary,
  findTool,
  freeUdpTcpPort,
  knotConfHead,
  runDaemon,
  startKnotSecondary,
  startNsdSecondary,
  type Daemon,
  type Secondary,
  type Tsig,
} from './secondaries.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

const KEY: Tsig = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7).toString('base64') };
const WRONG: Tsig = { ...KEY, secret: Buffer.alloc(32, 9).toString('base64') };

const ZONE = 'example.test';
const SIGNED = 'signed.test';
/** A zone the primary keeps no history of: it answers IXFR AXFR-style (RFC 1995 §4). */
const FULL = 'full.test';

function zoneText(origin: string, serial: number, extra = ''): string {
  return `$ORIGIN ${origin}.
$TTL 60
@        3600 SOA ns1 hostmaster ${serial} 7200 1800 86400 30
@             NS  ns1
ns1           A   192.0.2.53
www           A   192.0.2.10
www           AAAA 2001:db8::10
docs          CNAME www
@             MX  10 mail
mail          A   192.0.2.25
txt           TXT "hello" "world"
_http._tcp.api SRV 10 60 8080 www
*.wild        A   192.0.2.80
${extra}`;
}

/** Owner names of the zone above, a wildcard match and a name that does not exist. */
const NAMES = (origin: string) => ['', 'ns1.', 'www.', 'docs.', 'mail.', 'txt.', '_http._tcp.api.', 'x.wild.', 'new.', 'gone.', 'nothing.'].map((p) => `${p}${origin}`);

interface KnotPrimary {
  port: number;
  daemon: Daemon;
  /** Writes the zone file and has knotd reload it (it then NOTIFYs and keeps the difference for IXFR). */
  update(zone: string, text: string): Promise<void>;
  stop(): Promise<void>;
}

async function startKnotPrimary(zones: Record<string, { text: string; notify: number[]; keyed: boolean; history?: false }>): Promise<KnotPrimary> {
  const dir = mkdtempSync(join(tmpdir(), 'etcdns-knot-primary-'));
  for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d));
  for (const [zone, z] of Object.entries(zones)) writeFileSync(join(dir, 'zones', `${zone}.zone`), z.text);
  const port = await freeUdpTcpPort();
  const remotes = [
    ...new Set(Object.values(zones).flatMap((z) => z.notify.map((p) => `  - id: n${p}\n    address: 127.0.0.1@${p}\n${z.keyed ? `    key: ${KEY.name}\n` : ''}`))),
  ];
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    `${knotConfHead(dir, port)}key:
  - id: ${KEY.name}
    algorithm: ${KEY.algorithm}
    secret: ${KEY.secret}
${remotes.length ? `remote:\n${remotes.join('')}` : ''}acl:
  - id: open
    address: 127.0.0.0/8
    action: transfer
  - id: keyed
    key: ${KEY.name}
    action: transfer
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    # A reloaded zone file becomes a journal entry (the difference), which IXFR serves.
    zonefile-load: difference
    journal-content: changes
zone:
${Object.entries(zones)
  .map(
    ([zone, z]) =>
      `  - domain: ${zone}\n    acl: ${z.keyed ? 'keyed' : 'open'}\n` +
      (z.notify.length ? `    notify: [${z.notify.map((p) => `n${p}`).join(', ')}]\n` : '') +
      (z.history === false ? '    zonefile-load: whole\n    journal-content: none\n' : ''),
  )
  .join('')}`,
  );
  const daemon = runDaemon(findTool('knotd')!, ['-c', conf]);
  await daemon.waitForOutput(/control, binding to/, 10_000);
  return {
    port,
    daemon,
    async update(zone, text) {
      writeFileSync(join(dir, 'zones', `${zone}.zone`), text);
      await run(findTool('knotc')!, ['-s', join(dir, 'run', 'knot.sock'), 'zone-reload', zone], { timeout: 5000 });
    },
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const KINDS = [
  ['Knot', startKnotSecondary],
  ['NSD', startNsdSecondary],
] as const;

if (MISSING_PACKAGES.length > 0 && !isRoot) {
  describe.skip(`secondaries harness against a Knot primary (missing ${MISSING_PACKAGES.join(', ')}; install with: ${APT_LINE})`, () => {
    it('transfers', () => {});
  });
} else {
  describe('secondaries harness against a real Knot primary', () => {
    it('has knotd and nsd installed (run: bash scripts/ensure-system-deps.sh)', () => {
      expect(MISSING_PACKAGES).toEqual([]);
    });
    if (!HAVE_KNOT || !HAVE_NSD) return;

    let primary: KnotPrimary;
    /** Per kind: a plain secondary of ZONE, one of SIGNED with the key, one with a wrong key. */
    const plain: Record<string, Secondary> = {};
    const signed: Record<string, Secondary> = {};
    const wrong: Record<string, Secondary> = {};
    const all = () => [...Object.values(plain), ...Object.values(signed), ...Object.values(wrong)];

    beforeAll(async () => {
      const ports = { plain: [await freeUdpTcpPort(), await freeUdpTcpPort()], signed: [await freeUdpTcpPort(), await freeUdpTcpPort()] };
      primary = await startKnotPrimary({
        [ZONE]: { text: zoneText(ZONE, 1, 'gone A 192.0.2.66\n'), notify: ports.plain, keyed: false },
        [SIGNED]: { text: zoneText(SIGNED, 1), notify: ports.signed, keyed: true },
        [FULL]: { text: zoneText(FULL, 1), notify: ports.plain, keyed: false, history: false },
      });
      const from = { host: '127.0.0.1', port: primary.port };
      await Promise.all(
        KINDS.map(async ([kind, start], i) => {
          [plain[kind], signed[kind], wrong[kind]] = await Promise.all([
            start({ zones: [ZONE, FULL], primary: from, port: ports.plain[i]! }),
            start({ zones: [SIGNED], primary: from, tsig: KEY, port: ports.signed[i]! }),
            start({ zones: [SIGNED], primary: from, tsig: WRONG }),
          ]);
        }),
      );
    }, 30_000);

    afterAll(async () => {
      await Promise.all(all().map((s) => s.close()));
      await primary?.stop();
    });

    it.each(KINDS)('%s: the initial AXFR gives it the records the primary serves', async (kind) => {
      const s = plain[kind]!;
      await s.waitForSerial(ZONE, 1);
      expect(await compareWithPrimary(primary.port, s.port, NAMES(ZONE))).toEqual([]);
      expect(s.transfers(ZONE)).toEqual({ axfr: 1, ixfr: 0 });
      expect(s.wire().filter((t) => t.zone === ZONE && t.style === 'full')).toMatchObject([{ type: 'AXFR', transport: 'tcp', rcode: 'NOERROR', serial: 1, complete: true }]);
    });

    it('compareWithPrimary reports what differs, question by question', async () => {
      // The wrong-key secondary has no zone: every question differs, and says how.
      const differences = await compareWithPrimary(primary.port, wrong.Knot!.port, [`www.${SIGNED}`, `nothing.${SIGNED}`], ['A', 'TXT']);
      expect(differences).toHaveLength(4);
      expect(differences[0]).toMatch(/^www\.signed\.test A:\n {2}primary: {3}NOERROR aa \[www\.signed\.test\. 60 A 192\.0\.2\.10\]\n {2}secondary: (SERVFAIL|REFUSED|NOTAUTH) /);
      expect(differences[3]).toMatch(/^nothing\.signed\.test TXT:\n {2}primary: {3}NXDOMAIN aa \[\] authority \[signed\.test\. 30 SOA ns1\.signed\.test\. hostmaster\.signed\.test\. 1 7200 1800 86400 30\]/);
      // Two secondaries of the same zone at the same serial agree with each other.
      expect(await compareWithPrimary(plain.Knot!.port, plain.NSD!.port, NAMES(ZONE))).toEqual([]);
    });

    it('a change on the primary reaches both by NOTIFY and IXFR within 3 s', async () => {
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(ZONE, 1)));
      // Serial 2: one record added, one deleted, one changed.
      await primary.update(ZONE, zoneText(ZONE, 2, 'new A 192.0.2.77\n').replace('www           A   192.0.2.10', 'www           A   192.0.2.11'));
      const started = Date.now();
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(ZONE, 2, 3000)));
      console.info(`NOTIFY → both secondaries at serial 2 in ${Date.now() - started} ms`);
      for (const [kind] of KINDS) {
        const s = plain[kind]!;
        expect(await compareWithPrimary(primary.port, s.port, NAMES(ZONE)), kind).toEqual([]);
        expect(s.transfers(ZONE), kind).toEqual({ axfr: 1, ixfr: 1 });
        expect(
          s.wire().filter((t) => t.style === 'incremental'),
          kind,
        ).toMatchObject([{ type: 'IXFR', fromSerial: 1, serial: 2, rcode: 'NOERROR', complete: true }]);
      }
      // The secondary's NOTIFY was the trigger, and each said so in its own words.
      await plain.Knot!.waitForLog(/\[example\.test\.\] notify, incoming, remote 127\.0\.0\.1@\d+, serial 2/);
      await plain.NSD!.waitForLog(/notify for example\.test\. from 127\.0\.0\.1 serial 2/);
      await plain.NSD!.waitForLog(/zone example\.test committed "received update to serial 2/);
    });

    it('a primary without the history answers IXFR AXFR-style, and both secondaries take it', async () => {
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(FULL, 1)));
      await primary.update(FULL, zoneText(FULL, 2, 'new A 192.0.2.79\n'));
      await Promise.all(Object.values(plain).map((s) => s.waitForSerial(FULL, 2, 3000)));
      for (const [kind] of KINDS) {
        const s = plain[kind]!;
        expect(await compareWithPrimary(primary.port, s.port, NAMES(FULL)), kind).toEqual([]);
        expect(s.transfers(FULL), kind).toEqual({ axfr: 2, ixfr: 0 });
        expect(
          s.wire().filter((t) => t.zone === FULL && t.type === 'IXFR' && t.style === 'full'),
          kind,
        ).toMatchObject([{ fromSerial: 1, serial: 2, rcode: 'NOERROR', complete: true }]);
      }
      await plain.Knot!.waitForLog(/\[full\.test\.\] IXFR, incoming, remote \S+, receiving AXFR-style IXFR/);
    });

    it("the tap and Knot's own log agree on the kind of every transfer", () => {
      const s = plain.Knot!;
      const fromWire = s.wire().filter((t) => t.complete && t.rcode === 'NOERROR' && t.style !== 'soa-only');
      const kinds = fromWire.map((t) => `${t.zone}. ${t.style === 'full' ? 'AXFR' : 'IXFR'}`).sort();
      const logged = [...s.log().matchAll(/\[(\S+)\] (AXFR|IXFR), incoming, remote [^,]*, finished/g)].map((m) => `${m[1]} ${m[2]}`).sort();
      expect(kinds).toEqual(logged);
      expect(kinds).toEqual(['example.test. AXFR', 'example.test. IXFR', 'full.test. AXFR', 'full.test. AXFR']);
    });

    it.each(KINDS)('%s: TSIG with the key the primary requires: AXFR, then a signed NOTIFY and IXFR', async (kind) => {
      const s = signed[kind]!;
      await s.waitForSerial(SIGNED, 1);
      expect(await compareWithPrimary(primary.port, s.port, NAMES(SIGNED))).toEqual([]);
      await primary.update(SIGNED, zoneText(SIGNED, 2, 'new A 192.0.2.78\n'));
      await s.waitForSerial(SIGNED, 2, 3000);
      expect((await compareWithPrimary(primary.port, s.port, [`new.${SIGNED}`])).length).toBe(0);
      expect(s.transfers(SIGNED)).toEqual({ axfr: 1, ixfr: 1 });
      // Unsigned, the primary refuses the same request (the ACL wants the key).
      const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(primary.port), SIGNED, 'AXFR', '+time=2', '+tries=1']);
      expect(stdout).toMatch(/Transfer failed/);
    });

    it.each(KINDS)('%s: with a wrong key it gets no zone, and its log says why', async (kind) => {
      const s = wrong[kind]!;
      // The primary answers NOTAUTH (RFC 8945 §5.2: BADSIG); each secondary logs the refusal.
      if (kind === 'Knot') await s.waitForLog(/\[signed\.test\.\] refresh, remote primary, address \S+, failed \(failed to verify TSIG\)/);
      else await s.waitForLog(/xfrd: zone signed\.test, from \S+: tsig error \(Bad Signature\)/);
      expect(await s.serial(SIGNED)).toBeUndefined();
      expect(s.transfers(SIGNED)).toEqual({ axfr: 0, ixfr: 0 });
      expect(s.wire().length).toBeGreaterThan(0);
      expect(s.wire().every((t) => t.rcode === 'NOTAUTH' && !t.complete)).toBe(true);
    });
  });
}

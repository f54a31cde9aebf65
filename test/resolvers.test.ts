/**
 * etcdns as the resolvers of the Internet meet it: Unbound and the PowerDNS Recursor (and Knot
 * Resolver, kresd, for the SkyDNS names below), all real
 * (Debian packages, installed by scripts/ensure-system-deps.sh), in front of a real etcdns on
 * loopback (a stub zone and a forward zone), must hand their clients the answers etcdns gives
 * when asked straight: A, AAAA, SRV with additional data, CNAME and DNAME chains, MX, long TXT,
 * wildcards, NXDOMAIN (negatively cached from our SOA), an answer too big for UDP (TC, then TCP)
 * and a referral to a delegated child. And Knot, serving the same zone, must give the same DNAME
 * answers (RFC 6672) as etcdns. SkyDNS names from a real etcd whose services are host names (an
 * SRV service, a mail name, aliases) are asked in both orders, A first and SRV/MX first, through
 * all three resolvers: with `--compat coredns` unbound and pdns_recursor give other answers than
 * etcdns (a cached CNAME answers SRV from its target); the default mode must not.
 * Every process is started here, on loopback, and stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, type DigRecord, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { freePort } from './support/ports.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';
import { findTool } from './support/tools.js';
import { knotConfHead } from './support/secondaries.js';

/** The programs, and the Debian packages that hold them. */
const TOOLS = { unbound: 'unbound', pdns_recursor: 'pdns-recursor', kresd: 'knot-resolver', knotd: 'knot' } as const;


const missing = Object.entries(TOOLS).flatMap(([tool, pkg]) => (findTool(tool) ? [] : [pkg]));
const isRoot = process.getuid?.() === 0;
const APT_LINE = `sudo apt-get install ${missing.join(' ')}`;

/**
 * A loopback address on which we may take port 53 for the delegated child's server: resolvers
 * follow a referral to port 53 of the glue address, always. Only root may bind it (undefined
 * otherwise, and the referral case is skipped); a random 127.x.y.z keeps clear of anything else.
 */
async function childAddress(): Promise<string | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const address = `127.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
    const socket = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(53, address, () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (bound) return address;
  }
  return undefined;
}

const CHILD = missing.length === 0 ? await childAddress() : undefined;
const ZONE = 'resolvers.test';
const LONG_TEXT = 'v=long;' + 'a'.repeat(300) + 'b'.repeat(100);
/** Three 63-octet labels: a DNAME to them overflows 255 octets for a long enough query name. */
const FAR = ['a', 'b', 'c'].map((c) => c.repeat(63)).join('.');
/** 100 A records, 1.6 kB: over UDP's 512 octets and EDNS's 1232 alike, so TC and then TCP. */
const BIG = Array.from({ length: 100 }, (_, i) => `big A 10.1.0.${i}`).join('\n');

const PARENT_ZONE = `
$ORIGIN ${ZONE}.
$TTL 60
@        3600 SOA ns1 hostmaster 2026120301 7200 1800 86400 30
@             NS  ns1
ns1           A   192.0.2.53
www           A   192.0.2.10
www           AAAA 2001:db8::10
docs          CNAME alias
alias         CNAME www
_http._tcp.api SRV 10 60 8080 api1
_http._tcp.api SRV 10 40 8081 api2
api1          A   192.0.2.31
api1          AAAA 2001:db8::31
api2          A   192.0.2.32
@             MX  10 mail
mail          A   192.0.2.25
long          TXT "${LONG_TEXT}" "second string"
*.apps        A   192.0.2.80
redirect  300 DNAME target.${ZONE}.
redirect      A   192.0.2.1
www.target    CNAME final
final         A   192.0.2.2
host.target   A   192.0.2.3
chain         DNAME redirect.${ZONE}.
far           DNAME ${FAR}.${ZONE}.
${BIG}
child         NS  ns.child
ns.child      A   ${CHILD ?? '192.0.2.99'}
`;
const CHILD_ZONE = `
$ORIGIN child.${ZONE}.
$TTL 60
@   SOA ns.child.${ZONE}. hostmaster.child.${ZONE}. 1 7200 1800 86400 30
@   NS  ns
ns  A   ${CHILD ?? '192.0.2.99'}
www A   192.0.2.77
`;

/**
 * SkyDNS names in an etcd zone below the file zone, whose services point at host names: an SRV
 * service and a mail name with targets in the etcd zone and in the file zone, and two aliases.
 * Written once per order of questions (`a`: A first; `b`: SRV/MX first), so that one order's
 * answers are not in a resolver's cache when the other order asks.
 */
const SKY = `sky.${ZONE}`;
const ORDERS = ['a', 'b'] as const;
function skyServices(o: string): [name: string, value: object][] {
  const at = (n: string) => `${n}.${o}.${SKY}`;
  return [
    [`x1._sip._tcp.${o}.${SKY}`, { host: at('sip1'), port: 5060, priority: 10 }],
    [`x2._sip._tcp.${o}.${SKY}`, { host: at('sip2'), port: 5060, priority: 20 }],
    [`x3._sip._tcp.${o}.${SKY}`, { host: `www.${ZONE}`, port: 5061, priority: 30 }],
    [at('sip1'), { host: '192.0.2.41' }],
    [`x.${at('sip2')}`, { host: '192.0.2.42' }],
    [`y.${at('sip2')}`, { host: '2001:db8::42' }],
    [`m1.${at('mail')}`, { host: at('mx1'), mail: true, priority: 10 }],
    [`m2.${at('mail')}`, { host: `mail.${ZONE}`, mail: true, priority: 20 }],
    [at('mx1'), { host: '192.0.2.45' }],
    [at('alias'), { host: `www.${ZONE}` }],
    [at('inalias'), { host: at('sip1') }],
  ];
}
/** The SkyDNS key of a name (labels reversed under /skydns). */
const skyKey = (name: string) => `/skydns/${name.split('.').reverse().join('/')}`;

/** A third-party daemon run in the foreground as the current user; stopped by its PID. */
interface Daemon {
  readonly port: number;
  readonly output: () => string;
  stop(): Promise<void>;
}

function startDaemon(command: string, args: readonly string[], port: number): Daemon {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  return {
    port,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls until the daemon answers `name` (it has no readiness signal of its own). */
async function waitForAnswer(daemon: Daemon, name: string, recurse: boolean): Promise<void> {
  const started = Date.now();
  for (;;) {
    const r = await dig(daemon.port, [name, 'SOA', ...(recurse ? ['+recurse'] : [])]).catch(() => undefined);
    if (r?.status === 'NOERROR') return;
    if (Date.now() - started > 15_000) throw new Error(`no answer for ${name} on port ${daemon.port} within 15 s; output:\n${daemon.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startUnbound(dir: string, port: number, etcdnsPort: number): Daemon {
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:
  directory: "${dir}"
  chroot: ""
  username: ""
  pidfile: ""
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  interface: 127.0.0.1@${port}
  access-control: 127.0.0.0/8 allow
  do-ip6: no
  num-threads: 1
  so-reuseport: no
  # Our data is on loopback: the stub, and the delegated child's glue.
  do-not-query-localhost: no
  # Random case in query names (draft-vixie-dnsext-dns0x20): etcdns must echo it.
  use-caps-for-id: yes
  # No DNSSEC: no validator module, and the test zone is insecure.
  module-config: "iterator"
  domain-insecure: "${ZONE}"
  # Unbound answers test. itself by default (RFC 6761 §6.2); let the stub have it.
  local-zone: "test." nodefault
stub-zone:
  name: "${ZONE}"
  stub-addr: 127.0.0.1@${etcdnsPort}
remote-control:
  control-enable: no
`,
  );
  return startDaemon(findTool('unbound')!, ['-d', '-c', conf], port);
}

function startPdnsRecursor(dir: string, port: number, etcdnsPort: number): Daemon {
  const confDir = join(dir, 'pdns');
  mkdirSync(confDir);
  writeFileSync(join(confDir, 'recursor.conf'), '');
  return startDaemon(
    findTool('pdns_recursor')!,
    [
      `--config-dir=${confDir}`,
      `--socket-dir=${confDir}`,
      '--daemon=no',
      '--write-pid=no',
      '--disable-syslog=yes',
      '--threads=1',
      '--local-address=127.0.0.1',
      `--local-port=${port}`,
      // Non-recursive queries to etcdns as the zone's authority (forward-zones, not -recurse).
      `--forward-zones=${ZONE}=127.0.0.1:${etcdnsPort}`,
      '--dnssec=off',
      // 127.0.0.0/8 is in the default dont-query list; the delegated child's glue is there.
      '--dont-query=',
      '--security-poll-suffix=',
      '--loglevel=4',
    ],
    port,
  );
}

function startKresd(dir: string, port: number, etcdnsPort: number): Daemon {
  const run = join(dir, 'kresd');
  mkdirSync(run);
  writeFileSync(
    join(run, 'config'),
    `net.listen('127.0.0.1', ${port}, { kind = 'dns' })
-- No DNSSEC: the test zone is insecure, and no root trust anchor is reachable from loopback.
trust_anchors.remove('.')
-- The zone's authority is etcdns (as unbound's stub-zone).
policy.add(policy.suffix(policy.STUB({'127.0.0.1@${etcdnsPort}'}), {todname('${ZONE}.')}))
`,
  );
  return startDaemon(findTool('kresd')!, ['-n', '-c', join(run, 'config'), run], port);
}

function startKnot(dir: string, port: number, zoneText: string): Daemon {
  for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'zones', `${ZONE}.zone`), zoneText);
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    `${knotConfHead(dir, port, 'warning')}template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: ${ZONE}
`,
  );
  return startDaemon(findTool('knotd')!, ['-c', conf], port);
}

/** A section as a resolver may reorder it: sorted, names lower-cased (0x20), no TTLs. */
function records(section: readonly DigRecord[]): string[] {
  return section.map((r) => `${r.name.toLowerCase()} ${r.type} ${r.type === 'TXT' ? r.data : r.data.toLowerCase()}`).sort();
}

/** Sum of every sample of a metric family on etcdns's /metrics whose labels match. */
async function metric(server: ServerProcess, name: string, labels: RegExp = /.*/): Promise<number> {
  const url = String(server.logs.find((l) => l.msg === 'listening')!.metrics);
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))) if (labels.test(m[1] ?? '')) sum += Number(m[2]);
  return sum;
}

if (missing.length > 0 && !isRoot) {
  describe.skip(`real resolvers and Knot in front of etcdns (missing ${missing.join(', ')}; install with: ${APT_LINE})`, () => {
    it('answers as etcdns does', () => {});
  });
} else {
  describe('real resolvers and Knot with etcdns', () => {
    it('has unbound, pdns_recursor and knotd installed (run: bash scripts/ensure-system-deps.sh)', () => {
      expect(missing).toEqual([]);
    });
    if (missing.length > 0) return;

    let tmp: string;
    let zones: ReturnType<typeof tempZones>;
    let childZones: ReturnType<typeof tempZones>;
    let etcdns: ServerProcess;
    let child: ServerProcess | undefined;
    let unbound: Daemon;
    let pdns: Daemon;
    let kresd: Daemon;
    let knot: Daemon;
    let etcd: EtcdCluster;

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'etcdns-resolvers-'));
      zones = tempZones({ [`${ZONE}.zone`]: PARENT_ZONE });
      childZones = tempZones({ [`child.${ZONE}.zone`]: CHILD_ZONE });
      etcd = await startEtcd();
      for (const o of ORDERS) for (const [name, value] of skyServices(o)) await etcd.client.put(skyKey(name)).value(JSON.stringify(value));
      etcdns = await startServer(['--zones', zones.dir, '--etcd', etcd.endpoints[0]!, '--etcd-zone', SKY]);
      if (CHILD) child = await startServer(['--zones', childZones.dir, '--listen', `${CHILD}:53`]);
      mkdirSync(join(tmp, 'knot'));
      unbound = startUnbound(tmp, await freePort(), etcdns.port);
      pdns = startPdnsRecursor(tmp, await freePort(), etcdns.port);
      kresd = startKresd(tmp, await freePort(), etcdns.port);
      knot = startKnot(join(tmp, 'knot'), await freePort(), PARENT_ZONE);
      await Promise.all([waitForAnswer(unbound, ZONE, true), waitForAnswer(pdns, ZONE, true), waitForAnswer(kresd, ZONE, true), waitForAnswer(knot, ZONE, false)]);
      // The etcd zone is served once etcdns has synced (it answers SOA at the apex then).
      await waitForAnswer({ port: etcdns.port, output: () => '', stop: async () => {} }, SKY, false);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([unbound?.stop(), pdns?.stop(), kresd?.stop(), knot?.stop(), etcdns?.stop(), child?.stop()]);
      await etcd?.stop();
      zones?.remove();
      childZones?.remove();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    const straight = (name: string, type: string, ...extra: string[]) => dig(etcdns.port, [name, type, ...extra]);
    const through = (resolver: Daemon, name: string, type: string, ...extra: string[]) => dig(resolver.port, [name, type, '+recurse', '+time=5', ...extra]);

    /** What a resolver hands on must be what etcdns said: same rcode, records and no longer TTLs. */
    function expectSameAnswer(got: DigResult, want: DigResult): void {
      expect(got.status).toBe(want.status);
      expect(records(got.answer)).toEqual(records(want.answer));
      const ttl = new Map(want.answer.map((r) => [`${r.name.toLowerCase()} ${r.type}`, r.ttl]));
      for (const r of got.answer) expect(r.ttl).toBeLessThanOrEqual(ttl.get(`${r.name.toLowerCase()} ${r.type}`)!);
    }

    describe.each([
      ['A', `www.${ZONE}`, 'A'],
      ['AAAA', `www.${ZONE}`, 'AAAA'],
      ['SRV (targets in the additional section)', `_http._tcp.api.${ZONE}`, 'SRV'],
      ['a CNAME chain', `docs.${ZONE}`, 'A'],
      ['a DNAME, its synthesized CNAME and the chain after it', `www.redirect.${ZONE}`, 'A'],
      ['a DNAME into a DNAME', `www.chain.${ZONE}`, 'A'],
      ['MX (exchange address in the additional section)', ZONE, 'MX'],
      ['a TXT record over 255 octets', `long.${ZONE}`, 'TXT'],
      ['a wildcard', `anything.apps.${ZONE}`, 'A'],
    ])('%s', (_, name, type) => {
      it.each([['unbound'], ['pdns_recursor']])('through %s, as straight from etcdns', async (which) => {
        const want = await straight(name, type);
        expect(want.status).toBe('NOERROR');
        expect(want.flags).toContain('aa');
        expect(want.answer.length).toBeGreaterThan(0);
        if (type === 'SRV' || type === 'MX') expect(want.additional.length).toBeGreaterThan(0);
        const resolver = which === 'unbound' ? unbound : pdns;
        expectSameAnswer(await through(resolver, name, type), want);
      });
    });

    describe('SkyDNS names whose services are host names, asked in either order (RFC 2181 §10.1)', () => {
      const resolvers = () => ({ unbound, pdns_recursor: pdns, kresd });
      const ADDRESS = ['A', 'AAAA'];
      const OTHER = ['SRV', 'MX', 'TXT', 'CNAME'];
      const NAMES = ['_sip._tcp', 'mail', 'alias', 'inalias'];
      it('straight from etcdns: the service and the mail name have no CNAME; A is their in-zone targets’ addresses; an alias is a CNAME for every type', async () => {
        const o = ORDERS[0];
        expect(records((await straight(`_sip._tcp.${o}.${SKY}`, 'SRV')).answer)).toHaveLength(3);
        expect(records((await straight(`_sip._tcp.${o}.${SKY}`, 'A')).answer)).toEqual([`_sip._tcp.${o}.${SKY}. A 192.0.2.41`, `_sip._tcp.${o}.${SKY}. A 192.0.2.42`]);
        expect(records((await straight(`mail.${o}.${SKY}`, 'MX')).answer)).toEqual([`mail.${o}.${SKY}. MX 10 mx1.${o}.${SKY}.`, `mail.${o}.${SKY}. MX 20 mail.${ZONE}.`]);
        expect(records((await straight(`mail.${o}.${SKY}`, 'A')).answer)).toEqual([`mail.${o}.${SKY}. A 192.0.2.45`]);
        for (const type of [...ADDRESS, ...OTHER]) expect((await straight(`alias.${o}.${SKY}`, type)).answer[0], type).toMatchObject({ type: 'CNAME', data: `www.${ZONE}.` });
      });
      it.each([['unbound'], ['pdns_recursor'], ['kresd']] as const)('through %s: A and AAAA first, then SRV, MX, TXT, CNAME; then the other order: every answer as straight from etcdns', async (which) => {
        const resolver = resolvers()[which];
        for (const [o, types] of [[ORDERS[0], [...ADDRESS, ...OTHER]], [ORDERS[1], [...OTHER, ...ADDRESS]]] as const) {
          for (const label of NAMES) {
            const name = `${label}.${o}.${SKY}`;
            for (const type of types) {
              const want = await straight(name, type);
              const got = await through(resolver, name, type);
              try {
                expectSameAnswer(got, want);
              } catch (error) {
                throw new Error(`${which}, ${o === 'a' ? 'A first' : 'SRV/MX first'}: ${name} ${type}\nstraight:\n${want.raw}\nthrough ${which}:\n${got.raw}`, { cause: error });
              }
            }
          }
        }
      }, 60_000);
    });

    it('gives the DNAME chain in order straight from etcdns (RFC 6672 §3.2)', async () => {
      const r = await straight(`www.redirect.${ZONE}`, 'A');
      expect(r.answer.map((a) => `${a.name} ${a.ttl} ${a.type} ${a.data}`)).toEqual([
        `redirect.${ZONE}. 300 DNAME target.${ZONE}.`,
        `www.redirect.${ZONE}. 300 CNAME www.target.${ZONE}.`,
        `www.target.${ZONE}. 60 CNAME final.${ZONE}.`,
        `final.${ZONE}. 60 A 192.0.2.2`,
      ]);
    });

    it.each([['unbound'], ['pdns_recursor']])('NXDOMAIN through %s, negatively cached for the SOA minimum (RFC 2308 §5)', async (which) => {
      const resolver = which === 'unbound' ? unbound : pdns;
      const name = `missing-${which}.${ZONE}`;
      const want = await straight(name, 'A');
      expect(want.status).toBe('NXDOMAIN');
      expect(want.authority).toMatchObject([{ name: `${ZONE}.`, type: 'SOA', ttl: 30 }]);
      const first = await through(resolver, name, 'A');
      expectSameAnswer(first, want);
      expect(records(first.authority)).toEqual(records(want.authority));
      expect(first.authority[0]!.ttl).toBeLessThanOrEqual(30);
      // Asked again, the resolver answers from its negative cache: etcdns sees no query.
      const before = await metric(etcdns, 'etcdns_dns_requests_total');
      expect(before).toBeGreaterThan(0);
      const again = await through(resolver, name, 'A');
      expect(again.status).toBe('NXDOMAIN');
      expect(again.authority[0]!.ttl).toBeLessThanOrEqual(30);
      expect(await metric(etcdns, 'etcdns_dns_requests_total')).toBe(before);
    });

    it('truncates the 100-record answer over UDP and gives it whole over TCP, straight', async () => {
      const udp = await straight(`big.${ZONE}`, 'A', '+ignore', '+bufsize=1232');
      expect(udp.flags).toContain('tc');
      const tcp = await straight(`big.${ZONE}`, 'A', '+tcp');
      expect(tcp.answer).toHaveLength(100);
    });

    it.each([['unbound'], ['pdns_recursor']])('gets the 100-record answer through %s, which retries over TCP after TC', async (which) => {
      const resolver = which === 'unbound' ? unbound : pdns;
      const want = await straight(`big.${ZONE}`, 'A', '+tcp');
      const truncatedBefore = await metric(etcdns, 'etcdns_dns_truncated_total', /proto="udp"/);
      const tcpBefore = await metric(etcdns, 'etcdns_dns_requests_total', /proto="tcp"/);
      // The client side over TCP too: the point is how the resolver reached etcdns.
      const got = await through(resolver, `big.${ZONE}`, 'A', '+tcp');
      expectSameAnswer(got, want);
      expect(await metric(etcdns, 'etcdns_dns_truncated_total', /proto="udp"/)).toBeGreaterThan(truncatedBefore);
      // Our own +tcp query above is counted before `tcpBefore`; only the resolver's comes after.
      expect(await metric(etcdns, 'etcdns_dns_requests_total', /proto="tcp"/)).toBeGreaterThan(tcpBefore);
    });

    describe('a referral to a delegated child', () => {
      it('is a referral straight from etcdns: NS and glue, AA clear (RFC 1034 §4.3.2 step 3b)', async () => {
        const r = await straight(`www.child.${ZONE}`, 'A');
        expect(r.status).toBe('NOERROR');
        expect(r.flags).not.toContain('aa');
        expect(r.answer).toEqual([]);
        expect(records(r.authority)).toEqual([`child.${ZONE}. NS ns.child.${ZONE}.`]);
        expect(records(r.additional)).toEqual([`ns.child.${ZONE}. A ${CHILD ?? '192.0.2.99'}`]);
      });
      it.skipIf(!CHILD).each([['unbound'], ['pdns_recursor']])('is followed by %s to the child, whose answer it gives (needs root for port 53)', async (which) => {
        const resolver = which === 'unbound' ? unbound : pdns;
        const want = await dig(53, [`www.child.${ZONE}`, 'A'], CHILD);
        expect(want.answer).toMatchObject([{ type: 'A', data: '192.0.2.77' }]);
        expectSameAnswer(await through(resolver, `www.child.${ZONE}`, 'A'), want);
      });
    });

    describe('DNAME answers equal Knot’s (answer section, rcode, AA)', () => {
      const over = `${'q'.repeat(60)}.x.far.${ZONE}`;
      it.each([
        ['below the apex’s child, the chain going on in the zone', `www.redirect.${ZONE}`, 'A'],
        ['a second name below the same DNAME', `host.redirect.${ZONE}`, 'A'],
        ['NXDOMAIN for the substituted name', `nope.redirect.${ZONE}`, 'A'],
        ['a CNAME query (stops at the synthesized CNAME)', `www.redirect.${ZONE}`, 'CNAME'],
        ['a DNAME query below the owner', `www.redirect.${ZONE}`, 'DNAME'],
        ['the owner’s own data (§2.3)', `redirect.${ZONE}`, 'A'],
        ['the owner’s DNAME', `redirect.${ZONE}`, 'DNAME'],
        ['a DNAME into a DNAME', `www.chain.${ZONE}`, 'A'],
        ['a substitution that just fits', `x.far.${ZONE}`, 'A'],
      ])('%s: %s %s', async (_, name, type) => {
        const ours = await straight(name, type);
        const theirs = await dig(knot.port, [name, type]);
        expect(ours.status).toBe(theirs.status);
        expect(ours.flags.includes('aa')).toBe(theirs.flags.includes('aa'));
        expect(ours.answer).toEqual(theirs.answer);
      });
      it('a substitution over 255 octets: the DNAME alone, YXDOMAIN (RFC 6672 §2.2)', async () => {
        const ours = await straight(over, 'A');
        const theirs = await dig(knot.port, [over, 'A']);
        expect(ours.status).toBe('YXDOMAIN');
        expect(ours.flags).toContain('aa');
        expect(ours.answer).toEqual([{ name: `far.${ZONE}.`, ttl: 60, class: 'IN', type: 'DNAME', data: `${FAR}.${ZONE}.` }]);
        expect(ours.answer).toEqual(theirs.answer);
        expect(theirs.flags).toContain('aa');
        // Knot 3.2 answers NXDOMAIN here, against §2.2's YXDOMAIN (which BIND gives).
        expect(['YXDOMAIN', 'NXDOMAIN']).toContain(theirs.status);
      });
    });
  });
}

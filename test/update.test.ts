/**
 * DNS UPDATE (RFC 2136) against a real etcd and the built server, driven by BIND's `nsupdate`
 * and judged against Knot DNS as a primary taking the same updates: every step gets the same
 * rcode from both, and after every step each name and type the script has touched answers the
 * same from both (status and answer section, compared by the real `dig`), nested names, the
 * apex and the addresses of a name holding an MX included (docs/etcd-data.md, "What a client
 * reads back": etcdns reads UPDATE's records as a plain zone has them).
 *
 * Then what is refused (unsigned, unknown key, wrong secret, wrong time, a key outside its
 * grant, a zone-file zone) leaves etcd's revision where it was; certbot's rfc2136 flow (an SOA
 * query with RD clear that must come back with AA, then a signed TXT add and delete); and an
 * Update Lease (RFC 9664) kept by refreshes across a replica restart, then expiring.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RRClass, RRType } from '../src/dns/constants.js';
import { parseTsigKeySpec } from '../src/dns/tsig-key.js';
import { signRequest } from '../src/wire/tsig.js';
import { udpExchange } from './support/client.js';
import { buildQuery, parseReply } from './support/packets.js';
import { seeded } from './support/random.js';
import { dig, digUntil, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { startKnotPrimary, type KnotPrimary } from './support/knot-primary.js';
import { nsupdate } from './support/nsupdate.js';
import { rawUpdate, type RawRecord } from './support/raw-update.js';
import { MessageWriter } from '../src/wire/writer.js';
import { findTool, type Tsig } from './support/secondaries.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const HAVE_TOOLS = findTool('nsupdate') !== undefined && findTool('knotd') !== undefined;
const ZONE = 'example.test';
const REVERSE = '2.0.192.in-addr.arpa';
/** A layered zone: a zone file and etcd data for one origin (docs/etcd-data.md, "Zone files and etcd together"). */
const LAYERED = 'layered.test';
const ddns: Tsig = { name: 'ddns', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
const acme: Tsig = { name: 'acme', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };

const knotZone = (origin: string) => `$ORIGIN ${origin}.
$TTL 300
@ SOA ns.${ZONE}. hostmaster.${ZONE}. 1 7200 1800 86400 30
@ NS ns.${ZONE}.
`;

/** What a comparison looks at: the status and the answer records, sorted. */
function answerOf(r: DigResult): string[] {
  return [r.status, ...r.answer.map((a) => `${a.name.toLowerCase()} ${a.ttl} ${a.class} ${a.type} ${a.data}`).sort()];
}


/** An UPDATE adding one A record, built by hand: signed at any time, with an Update Lease (RFC 9664) when asked. */
function updateMessage(name: string, address: number[], leaseSeconds?: number, prerequisite?: 'nxdomain'): Buffer {
  const w = new MessageWriter(128);
  for (const n of [0x4242, 5 << 11, 1, prerequisite ? 1 : 0, 1, leaseSeconds === undefined ? 0 : 1]) w.u16(n);
  w.name(ZONE);
  w.u16(RRType.SOA);
  w.u16(RRClass.IN);
  if (prerequisite) {
    // RFC 2136 §2.4.5: "name is not in use": class NONE, type ANY, TTL 0, no RDATA.
    w.name(name);
    w.u16(RRType.ANY);
    w.u16(RRClass.NONE);
    w.u32(0);
    w.u16(0);
  }
  w.name(name);
  w.u16(RRType.A);
  w.u16(RRClass.IN);
  w.u32(300);
  w.u16(4);
  w.bytes(Uint8Array.from(address));
  if (leaseSeconds !== undefined) {
    w.u8(0);
    w.u16(RRType.OPT);
    w.u16(1232);
    w.u32(0);
    w.u16(8);
    w.u16(2); // Update Lease
    w.u16(4);
    w.u32(leaseSeconds);
  }
  return w.toBuffer();
}

/** A reply's RCODE and the Update Lease option of its OPT, if any. */
function readLeaseReply(reply: Buffer): { rcode: number; lease: number | undefined } {
  return { rcode: reply[3]! & 0xf, lease: optionsOf(reply).get(2)?.readUInt32BE(0) };
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** Sends `message` signed with `tsig` over UDP; resolves with the reply's RCODE name and its Extended DNS Error text, if any. */
async function sendSigned(port: number, tsig: Tsig, message: Buffer): Promise<{ rcode: string; ede: string | undefined }> {
  const key = parseTsigKeySpec(`${tsig.name}:${tsig.algorithm}:${tsig.secret}`);
  const reply = await udpExchange(port, signRequest(message, key, Date.now() / 1000).message, { timeoutMs: 5000 });
  if (!reply) return { rcode: 'no reply', ede: undefined };
  const ede = optionsOf(reply).get(15);
  return { rcode: RCODES[reply[3]! & 0xf] ?? String(reply[3]! & 0xf), ede: ede && ede.subarray(2).toString('utf8') };
}

/** The EDNS options of a reply's OPT record, by code. */
function optionsOf(reply: Buffer): Map<number, Buffer> {
  let at = 12;
  while (reply[at] !== 0) at += 1 + reply[at]!;
  at += 5;
  const options = new Map<number, Buffer>();
  for (let i = 0; i < reply.readUInt16BE(10); i++) {
    while (reply[at] !== 0 && (reply[at]! & 0xc0) !== 0xc0) at += 1 + reply[at]!;
    at += reply[at] === 0 ? 1 : 2;
    const type = reply.readUInt16BE(at);
    const rdlength = reply.readUInt16BE(at + 8);
    if (type === RRType.OPT) {
      for (let p = at + 10; p < at + 10 + rdlength; p += 4 + reply.readUInt16BE(p + 2)) options.set(reply.readUInt16BE(p), reply.subarray(p + 4, p + 4 + reply.readUInt16BE(p + 2)));
    }
    at += 10 + rdlength;
  }
  return options;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!HAVE_TOOLS)('DNS UPDATE: etcdns against Knot, with nsupdate over UDP and TCP', () => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  let knot: KnotPrimary;
  let zones: ReturnType<typeof tempZones>;

  beforeAll(async () => {
    etcd = await startEtcd();
    zones = tempZones({
      'files.test.zone': `$ORIGIN files.test.\n$TTL 300\n@ SOA ns hostmaster 1 7200 1800 86400 30\n@ NS ns\nns A 192.0.2.53\n`,
      [`${LAYERED}.zone`]: `$ORIGIN ${LAYERED}.
$TTL 300
@ SOA ns hostmaster 1 7200 1800 86400 30
@ NS ns
ns A 192.0.2.53
www A 192.0.2.10
alias CNAME www
sub NS ns.elsewhere.test.
`,
    });
    server = await startServer(serverArgs());
    await server.waitForLog((l) => l.msg === 'serving zones' && Array.isArray(l.zones) && l.zones.length === 4);
    knot = await startKnotPrimary({ [ZONE]: knotZone(ZONE), [REVERSE]: knotZone(REVERSE) }, ddns, { key: acme, name: `_acme-challenge.${ZONE}`, types: ['TXT'] });
  }, 60_000);

  const serverArgs = () => [
    '--etcd', etcd.endpoints.join(','),
    '--etcd-zone', ZONE,
    '--etcd-zone', REVERSE,
    '--etcd-zone', LAYERED,
    '--zones', zones.dir,
    '--tsig-key', `${ddns.name}:${ddns.algorithm}:${ddns.secret}`,
    '--tsig-key', `${acme.name}:${acme.algorithm}:${acme.secret}`,
    '--update-policy', `ddns subdomain ${ZONE}`,
    '--update-policy', `ddns subdomain ${REVERSE}`,
    '--update-policy', `ddns subdomain files.test`,
    '--update-policy', `ddns subdomain ${LAYERED}`,
    '--update-policy', `acme name _acme-challenge.${ZONE} TXT`,
  ];

  afterAll(async () => {
    await server?.stop();
    await knot?.stop();
    await etcd?.stop();
    zones?.remove();
  });

  /** The script: each step's zone, nsupdate lines, the rcode both must give, and the names/types it touches. */
  const steps: { zone: string; lines: string[]; rcode: string; touches: [string, string][] }[] = [
    { zone: ZONE, lines: ['prereq nxdomain www.example.test.', 'update add www.example.test. 300 A 192.0.2.10'], rcode: 'NOERROR', touches: [['www.example.test', 'A']] },
    { zone: ZONE, lines: ['prereq nxdomain www.example.test.', 'update add www.example.test. 300 A 192.0.2.99'], rcode: 'YXDOMAIN', touches: [] },
    { zone: ZONE, lines: ['prereq nxrrset www.example.test. AAAA', 'update add www.example.test. 300 AAAA 2001:db8::10'], rcode: 'NOERROR', touches: [['www.example.test', 'AAAA']] },
    { zone: ZONE, lines: ['prereq nxrrset www.example.test. AAAA', 'update add www.example.test. 300 AAAA 2001:db8::99'], rcode: 'YXRRSET', touches: [] },
    { zone: ZONE, lines: ['prereq yxrrset www.example.test. TXT', 'update add www.example.test. 300 TXT "no"'], rcode: 'NXRRSET', touches: [['www.example.test', 'TXT']] },
    { zone: ZONE, lines: ['prereq yxrrset www.example.test. A', 'update add www.example.test. 300 A 192.0.2.11'], rcode: 'NOERROR', touches: [] },
    { zone: ZONE, lines: ['prereq yxrrset www.example.test. A 192.0.2.10', 'update add www.example.test. 300 A 192.0.2.98'], rcode: 'NXRRSET', touches: [] },
    {
      zone: ZONE,
      lines: ['prereq yxrrset www.example.test. A 192.0.2.10', 'prereq yxrrset www.example.test. A 192.0.2.11', 'update delete www.example.test. A 192.0.2.10'],
      rcode: 'NOERROR',
      touches: [],
    },
    { zone: ZONE, lines: ['prereq yxdomain nope.example.test.', 'update add nope.example.test. 300 A 192.0.2.97'], rcode: 'NXDOMAIN', touches: [['nope.example.test', 'A']] },
    {
      zone: ZONE,
      lines: [
        'prereq yxdomain www.example.test.',
        'update add _sip._tcp.example.test. 300 SRV 10 100 5060 sip.example.test.',
        'update add txt.example.test. 300 TXT "hello world"',
        'update add mx.example.test. 300 MX 5 mail.example.test.',
        'update add alias.example.test. 300 CNAME www.example.test.',
      ],
      rcode: 'NOERROR',
      touches: [['_sip._tcp.example.test', 'SRV'], ['txt.example.test', 'TXT'], ['mx.example.test', 'MX'], ['alias.example.test', 'CNAME']],
    },
    { zone: ZONE, lines: ['prereq nxrrset alias.example.test. CNAME', 'update add alias.example.test. 300 CNAME txt.example.test.'], rcode: 'YXRRSET', touches: [] },
    // RFC 2136 §3.4.2.2: other data beside a CNAME is ignored, and the update still succeeds.
    { zone: ZONE, lines: ['update add alias.example.test. 300 A 192.0.2.96'], rcode: 'NOERROR', touches: [['alias.example.test', 'A']] },
    { zone: REVERSE, lines: ['update add 10.2.0.192.in-addr.arpa. 300 PTR www.example.test.'], rcode: 'NOERROR', touches: [['10.2.0.192.in-addr.arpa', 'PTR']] },
    { zone: ZONE, lines: ['update delete txt.example.test. TXT', 'update delete mx.example.test.'], rcode: 'NOERROR', touches: [] },
    { zone: ZONE, lines: ['prereq nxdomain txt.example.test.', 'update delete www.example.test. A'], rcode: 'NOERROR', touches: [] },
    // A nested name (b is an empty non-terminal, no subtree answers), the apex, and an MX whose
    // exchange has an address (the MX's name has none).
    {
      zone: ZONE,
      lines: ['update add a.b.example.test. 300 A 192.0.2.30', 'update add example.test. 300 A 192.0.2.31', 'update add mx2.example.test. 300 MX 10 www.example.test.'],
      rcode: 'NOERROR',
      touches: [['a.b.example.test', 'A'], ['b.example.test', 'A'], ['example.test', 'A'], ['mx2.example.test', 'MX'], ['mx2.example.test', 'AAAA']],
    },
    { zone: ZONE, lines: ['update add www.other.test. 300 A 192.0.2.1'], rcode: 'NOTZONE', touches: [] },
    // external-dns's rfc2136 shape: one message of class NONE deletes of the old records and adds
    // of the new, with its ownership TXT, no prerequisites.
    {
      zone: ZONE,
      lines: [
        'update delete www.example.test. AAAA 2001:db8::10',
        'update add www.example.test. 300 AAAA 2001:db8::20',
        'update add a-www.example.test. 300 TXT "heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/www"',
      ],
      rcode: 'NOERROR',
      touches: [['a-www.example.test', 'TXT']],
    },
    { zone: REVERSE, lines: ['update delete 10.2.0.192.in-addr.arpa. PTR www.example.test.'], rcode: 'NOERROR', touches: [] },
  ];

  it('gives every step the rcode Knot gives, and leaves every touched name answering as Knot does', async () => {
    const touched: [string, string][] = [];
    for (const [i, step] of steps.entries()) {
      // Every other step over TCP (nsupdate -v), the rest over UDP.
      const tcp = i % 2 === 1;
      const [ours, theirs] = [await nsupdate(server.port, step.zone, step.lines, { key: ddns, tcp }), await nsupdate(knot.port, step.zone, step.lines, { key: ddns, tcp })];
      expect({ step: i, rcode: ours }).toEqual({ step: i, rcode: step.rcode });
      expect({ step: i, rcode: theirs }).toEqual({ step: i, rcode: step.rcode });
      for (const t of step.touches) if (!touched.some(([n, ty]) => n === t[0] && ty === t[1])) touched.push(t);
      for (const [name, type] of touched) {
        const [a, b] = await Promise.all([dig(server.port, [name, type]), dig(knot.port, [name, type])]);
        expect({ step: i, name, type, answer: answerOf(a) }).toEqual({ step: i, name, type, answer: answerOf(b) });
      }
    }
    // The last steps removed most of it: what is left is what both still answer.
    expect(answerOf(await dig(server.port, ['www.example.test', 'AAAA']))).toEqual(['NOERROR', 'www.example.test. 300 IN AAAA 2001:db8::20']);
  }, 120_000);

  it('orders its checks as Knot does: permission, then prerequisites (RFC 2136 §3.2), then the update section\'s form (§3.4.1)', async () => {
    const name = `order.${ZONE}`;
    for (const port of [server.port, knot.port]) expect(await nsupdate(port, ZONE, [`update add ${name}. 300 A 192.0.2.30`], { key: ddns })).toBe('NOERROR');
    const inUse: RawRecord = { name, type: RRType.ANY, class: RRClass.NONE, ttl: 0 }; // "name is not in use": fails (YXDOMAIN)
    const holds: RawRecord = { name, type: RRType.ANY, class: RRClass.ANY, ttl: 0 }; // "name is in use": holds
    const badPrerequisite: RawRecord = { name, type: RRType.A, class: RRClass.ANY, ttl: 300 }; // TTL not 0: FORMERR (§3.2.1)
    const add: RawRecord = { name, type: RRType.A, class: RRClass.IN, ttl: 300, rdata: [192, 0, 2, 31] };
    const badDelete: RawRecord = { name, type: RRType.ANY, class: RRClass.NONE, ttl: 0 }; // class NONE of a meta type: FORMERR (§3.4.1.3)
    // Class ANY with a TTL is FORMERR too (§3.4.1.3; etcdns and named), but Knot 3.2 takes it as
    // an RRset delete when the prerequisites hold, so it is compared only behind a failed one.
    const ttlDelete: RawRecord = { name, type: RRType.A, class: RRClass.ANY, ttl: 300 };
    const outside: RawRecord = { name: 'x.other.test', type: RRType.A, class: RRClass.IN, ttl: 300, rdata: [192, 0, 2, 32] };
    // [what, key, prerequisites, updates, etcdns's rcode, Knot's]. Knot answers a denial by its ACL
    // NOTAUTH; RFC 2136 §3.3 and BIND's named answer it REFUSED, as etcdns does. BIND 9.18's named
    // prescans the update section before the prerequisites (FORMERR, NOTZONE where Knot and
    // etcdns give the prerequisite's RCODE); both check permission before the prerequisites.
    const cases: [string, Tsig, RawRecord[], RawRecord[], string, string][] = [
      ['a prerequisite that fails, then a malformed update', ddns, [inUse], [badDelete], 'YXDOMAIN', 'YXDOMAIN'],
      ['a prerequisite that fails, then a class ANY delete with a TTL', ddns, [inUse], [ttlDelete], 'YXDOMAIN', 'YXDOMAIN'],
      ['a prerequisite that fails, then a name outside the zone', ddns, [inUse], [outside], 'YXDOMAIN', 'YXDOMAIN'],
      ['a prerequisite that holds, then a malformed update', ddns, [holds], [badDelete], 'FORMERR', 'FORMERR'],
      ['a malformed prerequisite, then a good update', ddns, [badPrerequisite], [add], 'FORMERR', 'FORMERR'],
      ['a prerequisite that fails, with an update the key may not make', acme, [inUse], [add], 'REFUSED', 'NOTAUTH'],
      ['a malformed update the key may not make', acme, [holds], [badDelete], 'REFUSED', 'NOTAUTH'],
    ];
    for (const [what, key, prerequisites, updates, ours, theirs] of cases) {
      const before = await etcd.revision();
      const message = rawUpdate(ZONE, prerequisites, updates);
      const [a, b] = [await sendSigned(server.port, key, message), await sendSigned(knot.port, key, message)];
      expect({ what, etcdns: a.rcode, knot: b.rcode }).toEqual({ what, etcdns: ours, knot: theirs });
      expect({ what, ede: a.ede !== undefined }).toEqual({ what, ede: true });
      expect({ what, revision: await etcd.revision() }).toEqual({ what, revision: before });
      const [x, y] = await Promise.all([dig(server.port, [name, 'A']), dig(knot.port, [name, 'A'])]);
      expect({ what, answer: answerOf(x) }).toEqual({ what, answer: answerOf(y) });
    }
  });

  describe('refusals leave etcd untouched', () => {
    it.each<[string, () => Promise<string>, string]>([
      ['unsigned', () => nsupdate(server.port, ZONE, ['update add x.example.test. 300 A 192.0.2.1']), 'REFUSED'],
      ['signed with a key the server does not have', () => nsupdate(server.port, ZONE, ['update add x.example.test. 300 A 192.0.2.1'], { key: { ...ddns, name: 'stranger' } }), 'NOTAUTH'],
      ['signed with the wrong secret', () => nsupdate(server.port, ZONE, ['update add x.example.test. 300 A 192.0.2.1'], { key: { ...ddns, secret: randomBytes(32).toString('base64') } }), 'NOTAUTH'],
      ['by a key outside its grant', () => nsupdate(server.port, ZONE, ['update add www.example.test. 300 TXT "x"'], { key: acme }), 'REFUSED'],
      ['of a zone-file zone', () => nsupdate(server.port, 'files.test', ['update add x.files.test. 300 A 192.0.2.1'], { key: ddns }), 'REFUSED'],
      ['of a zone this server does not have', () => nsupdate(server.port, 'other.test', ['update add x.other.test. 300 A 192.0.2.1'], { key: ddns }), 'NOTAUTH'],
      ['of a record the SkyDNS layout cannot hold (NS below the apex: a delegation)', () => nsupdate(server.port, ZONE, ['update add x.example.test. 300 NS ns.example.test.'], { key: ddns }), 'REFUSED'],
      [
        'signed 20 minutes ago (fudge 300 s)',
        async () => {
          const key = parseTsigKeySpec(`${ddns.name}:${ddns.algorithm}:${ddns.secret}`);
          const signed = signRequest(updateMessage(`late.${ZONE}`, [192, 0, 2, 77]), key, Date.now() / 1000 - 1200).message;
          const reply = await udpExchange(server.port, signed);
          return reply ? ['NOERROR', '', '', '', '', '', '', '', '', 'NOTAUTH'][reply[3]! & 0xf] ?? String(reply[3]! & 0xf) : 'no reply';
        },
        'NOTAUTH',
      ],
    ])('%s', async (_, send, rcode) => {
      const before = await etcd.revision();
      expect(await send()).toBe(rcode);
      expect(await etcd.revision()).toBe(before);
    });

    it('a signed UPDATE sent again (a replay) gets NOTAUTH and writes nothing', async () => {
      const key = parseTsigKeySpec(`${ddns.name}:${ddns.algorithm}:${ddns.secret}`);
      const signed = signRequest(updateMessage(`replay.${ZONE}`, [192, 0, 2, 88]), key, Date.now() / 1000).message;
      expect((await udpExchange(server.port, signed))![3]! & 0xf).toBe(0);
      const before = await etcd.revision();
      expect((await udpExchange(server.port, signed))![3]! & 0xf).toBe(9);
      expect(await etcd.revision()).toBe(before);
    });
  });

  it("takes certbot's rfc2136 flow: SOA with RD clear answered with AA, then a signed TXT add and delete", async () => {
    const soa = await dig(server.port, [ZONE, 'SOA', '+norecurse']);
    expect(soa.status).toBe('NOERROR');
    expect(soa.flags).toContain('aa');
    const name = `_acme-challenge.${ZONE}.`;
    expect(await nsupdate(server.port, ZONE, [`update add ${name} 120 TXT "token-1"`], { key: acme })).toBe('NOERROR');
    // Read your write: the same address answers at once.
    expect(answerOf(await dig(server.port, [name, 'TXT']))).toEqual(['NOERROR', `${name} 120 IN TXT "token-1"`]);
    const [key] = (await etcd.etcdctl(['get', '--prefix', '--keys-only', '/skydns/test/example/_acme-challenge/'])).split('\n').filter(Boolean);
    expect(key).toMatch(/^\/skydns\/test\/example\/_acme-challenge\/_rr-txt-[0-9a-f]{16}$/);
    expect(await nsupdate(server.port, ZONE, [`update delete ${name} TXT "token-1"`], { key: acme })).toBe('NOERROR');
    expect((await dig(server.port, [name, 'TXT'])).status).toBe('NXDOMAIN');
    expect(await etcd.etcdctl(['get', '--prefix', '--keys-only', '/skydns/test/example/_acme-challenge/'])).toBe('');
  });



  it('updates a layered zone (zone file + etcd) per RRset: etcd\'s RRsets change, the file\'s are refused, prerequisites see both', async () => {
    const at = (label: string) => `${label}.${LAYERED}.`;
    // [nsupdate lines, rcode, the reason logged and sent as an Extended DNS Error when refused]
    const steps: [string[], string, string?][] = [
      [[`update add ${at('www')} 300 A 192.0.2.11`], 'REFUSED', `the A RRset at ${at('www')} is the zone file's`],
      [[`update add ${at('www')} 300 TXT "from-etcd"`], 'NOERROR'],
      [[`update delete ${at('www')} A 192.0.2.10`], 'REFUSED', `the A RRset at ${at('www')} is the zone file's`],
      [[`update delete ${at('www')}`], 'REFUSED', `the A RRset at ${at('www')} is the zone file's`],
      [[`update add ${at('www')} 300 CNAME elsewhere.test.`], 'REFUSED', `a CNAME at ${at('www')} would stand beside the zone file's data there`],
      [[`update add ${at('alias')} 300 TXT "hidden"`], 'REFUSED', `the name (a CNAME) at ${at('alias')} is the zone file's`],
      [[`update add ${at('host.sub')} 300 A 192.0.2.12`], 'REFUSED', `${at('host.sub')} is below the delegation (NS) the zone file has at ${at('sub')}`],
      // Prerequisites are judged on what a query answers: the file's www A is 192.0.2.10.
      [[`prereq yxrrset ${at('www')} A 192.0.2.10`, `update add ${at('new')} 300 A 192.0.2.20`], 'NOERROR'],
      [[`prereq nxrrset ${at('www')} A`, `update add ${at('new2')} 300 A 192.0.2.21`], 'YXRRSET'],
      [[`prereq yxrrset ${at('www')} A 192.0.2.99`, `update add ${at('new2')} 300 A 192.0.2.21`], 'NXRRSET'],
      [[`prereq yxdomain ${at('ns')}`, `update add ${at('ns')} 300 TXT "beside the file's A"`], 'NOERROR'],
      [[`prereq nxdomain ${at('alias')}`, `update add ${at('new3')} 300 A 192.0.2.22`], 'YXDOMAIN'],
    ];
    for (const [i, [lines, rcode, reason]] of steps.entries()) {
      const before = await etcd.revision();
      expect({ i, rcode: await nsupdate(server.port, LAYERED, lines, { key: ddns }) }).toEqual({ i, rcode });
      if (rcode !== 'NOERROR') expect({ i, revision: await etcd.revision() }).toEqual({ i, revision: before });
      if (reason) expect(server.logs.some((l) => l.msg === 'update refused' && l.reason === reason)).toBe(true);
    }
    // The same refusal over the wire carries its reason as an Extended DNS Error (RFC 8914, 18 Prohibited).
    const wire = await sendSigned(server.port, ddns, rawUpdate(LAYERED, [], [{ name: `www.${LAYERED}`, type: RRType.A, class: RRClass.ANY, ttl: 0 }]));
    expect(wire).toEqual({ rcode: 'REFUSED', ede: `the A RRset at www.${LAYERED}. is the zone file's` });
    // What the zone answers: the file's RRsets untouched, etcd's beside them.
    expect(answerOf(await dig(server.port, [`www.${LAYERED}`, 'A']))).toEqual(['NOERROR', `www.${LAYERED}. 300 IN A 192.0.2.10`]);
    expect(answerOf(await dig(server.port, [`www.${LAYERED}`, 'TXT']))).toEqual(['NOERROR', `www.${LAYERED}. 300 IN TXT "from-etcd"`]);
    expect(answerOf(await dig(server.port, [`new.${LAYERED}`, 'A']))).toEqual(['NOERROR', `new.${LAYERED}. 300 IN A 192.0.2.20`]);
    expect(answerOf(await dig(server.port, [`ns.${LAYERED}`, 'TXT']))).toEqual(['NOERROR', `ns.${LAYERED}. 300 IN TXT "beside the file's A"`]);
    expect(answerOf(await dig(server.port, [`alias.${LAYERED}`, 'TXT']))[0]).toBe('NOERROR');
    expect((await dig(server.port, [`new2.${LAYERED}`, 'A'])).status).toBe('NXDOMAIN');
    // etcd's own RRsets stay the client's to delete.
    expect(await nsupdate(server.port, LAYERED, [`update delete ${at('www')} TXT`], { key: ddns })).toBe('NOERROR');
    expect(answerOf(await dig(server.port, [`www.${LAYERED}`, 'TXT']))).toEqual(['NOERROR']);
  });

  it('counts updates by zone and outcome, and logs one line per refusal with its reason', async () => {
    const url = String(server.logs.find((l) => l.msg === 'listening')!.metrics);
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = (zone: string, outcome: string) =>
      Number(new RegExp(`^etcdns_updates_total\\{zone="${zone.replaceAll('.', '\\.')}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    // The script above: its NOERROR steps, its failed prerequisites; the refusals.
    expect(count('example.test.', 'done')).toBeGreaterThanOrEqual(8);
    // The order test's two failed prerequisites besides; its FORMERRs are bad requests.
    expect(count('example.test.', 'prerequisite')).toBe(9);
    expect(count('example.test.', 'refused')).toBeGreaterThanOrEqual(3);
    expect(count('files.test.', 'refused')).toBe(1);
    expect(count('example.test.', 'bad-request')).toBe(3);
    expect(count('layered.test.', 'refused')).toBe(7);
    const refusals = server.logs.filter((l) => l.component === 'update' && typeof l.msg === 'string' && l.msg.startsWith('update '));
    expect(refusals.some((l) => l.msg === 'update refused' && String(l.reason).includes('unsigned'))).toBe(true);
    expect(refusals.some((l) => l.msg === 'update prerequisite' && String(l.reason).startsWith('prerequisite'))).toBe(true);
  });

  it('takes conflicting UPDATEs sent to two replicas at once one at a time: exactly one wins, the other gets YXDOMAIN (100 rounds)', async () => {
    const second = await startServer(serverArgs());
    try {
      await second.waitForLog((l) => l.msg === 'serving zones' && Array.isArray(l.zones) && l.zones.length === 4);
      const key = parseTsigKeySpec(`${ddns.name}:${ddns.algorithm}:${ddns.secret}`);
      // Each side's reply time, to time the other replica from the moment the change was confirmed.
      const send = async (port: number, name: string, last: number) => {
        const reply = await udpExchange(port, signRequest(updateMessage(name, [192, 0, 2, last], undefined, 'nxdomain'), key, Date.now() / 1000).message, { timeoutMs: 5000 });
        return { rcode: reply ? reply[3]! & 0xf : -1, at: performance.now() };
      };
      const wins = [0, 0];
      // Per round: the other replica's first answer, from the winner's reply (what a client sees:
      // nsupdate returned, then it asks the other replica), and from the send (an upper bound on
      // the time from etcd's commit, which lies between the two, with the UPDATE's own work in it).
      const catchUp: number[] = [];
      const fromSend: number[] = [];
      for (let round = 0; round < 100; round++) {
        const name = `race-${round}.${ZONE}`;
        const sent = performance.now();
        const replies = await Promise.all([send(server.port, name, 1), send(second.port, name, 2)]);
        const rcodes = replies.map((r) => r.rcode);
        // NOERROR once, YXDOMAIN (6) once: the prerequisite saw the other's write, never both missed it.
        expect({ round, rcodes: [...rcodes].sort() }).toEqual({ round, rcodes: [0, 6] });
        const winner = rcodes[0] === 0 ? 0 : 1;
        wins[winner]!++;
        // Both replicas answer the winner's record; the loser's replica at once (read your write of the
        // rejected UPDATE is not owed), so it is waited for, and the wait is measured.
        const expected = ['NOERROR', `${name}. 300 IN A 192.0.2.${winner + 1}`];
        // Polled at once, in a tight loop of queries from this process (no dig process to start);
        // the time is the first answer's arrival.
        const started = replies[winner]!.at;
        const other = [second, server][winner]!.port;
        for (;;) {
          const reply = parseReply((await udpExchange(other, buildQuery({ name, type: 'A' }), { timeoutMs: 2000 }))!);
          if (reply.header.rcode === 0) {
            expect(reply.answers.map((a) => (a as { address?: string }).address)).toEqual([`192.0.2.${winner + 1}`]);
            break;
          }
          expect(performance.now() - started).toBeLessThan(2000);
        }
        const answered = performance.now();
        catchUp.push(Math.max(0, answered - started));
        fromSend.push(answered - sent);
        expect(answerOf(await dig([server, second][winner]!.port, [name, 'A']))).toEqual(expected);
        expect(answerOf(await dig(other, [name, 'A']))).toEqual(expected);
      }
      // Each replica won some rounds: the race was real, not one replica always first.
      expect(Math.min(...wins)).toBeGreaterThan(0);
      const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
      const show = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms, max ${quantile(xs, 1).toFixed(1)} ms`;
      console.log(`update race: wins ${wins.join('/')}; the other replica answered each change ${show(catchUp)} after the winner's reply (${show(fromSend)} after the send)`);
      // Seen from this process, which shares the CPU with both replicas and etcd: the 50 ms
      // bound is asserted in the next test, on the replicas' own clocks.
      expect(quantile(catchUp, 0.5)).toBeLessThanOrEqual(50);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it("has a second replica serve each change within 50 ms of its commit (100 changes, on the replicas' own clocks)", async () => {
    // Both replicas log at debug: the first when etcd committed an UPDATE ('update committed',
    // its revision, as soon as the commit's reply reaches it), the second when it starts
    // answering a revision ('etcd revision served', right after the new snapshot is swapped in).
    // Their timestamps come from the one machine clock, so the lag excludes this process's own
    // scheduling, sockets and dig, which the race above includes.
    const debug = [...serverArgs(), '--log-level', 'debug'];
    const [a, b] = await Promise.all([startServer(debug), startServer(debug)]);
    try {
      await Promise.all([a, b].map((s) => s.waitForLog((l) => l.msg === 'serving zones' && Array.isArray(l.zones) && l.zones.length === 4)));
      const key = parseTsigKeySpec(`${ddns.name}:${ddns.algorithm}:${ddns.secret}`);
      const committed = () => a.logs.filter((l) => l.msg === 'update committed');
      const lags: number[] = [];
      for (let i = 0; i < 100; i++) {
        const name = `lag-${i}.${ZONE}`;
        const reply = await udpExchange(a.port, signRequest(updateMessage(name, [192, 0, 2, 1 + (i % 250)]), key, Date.now() / 1000).message, { timeoutMs: 5000 });
        expect({ i, rcode: reply && reply[3]! & 0xf }).toEqual({ i, rcode: 0 });
        await a.waitForLog(() => committed().length > i, 5000);
        const commit = committed()[i]!;
        const revision = Number(commit.revision);
        const served = await b.waitForLog((l) => l.msg === 'etcd revision served' && Number(l.revision) >= revision, 5000);
        lags.push(Number(served.time) - Number(commit.time));
      }
      // The second replica answers the last change (what it serves is what it answers).
      expect(answerOf(await dig(b.port, [`lag-99.${ZONE}`, 'A']))).toEqual(['NOERROR', `lag-99.${ZONE}. 300 IN A 192.0.2.100`]);
      const sorted = [...lags].sort((x, y) => x - y);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      console.log(`second replica, commit → served on the replicas' clocks (ms, 1 ms resolution): median ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${at(1)}`);
      // The bound, on the median and p90 of 100 changes, not the max: on a loaded CI box
      // (2 cores, load average 10 and more) a replica or etcd can lose the CPU for a scheduler
      // slice or two (tens of ms) in a round or two, whatever etcdns does; anything etcdns itself
      // adds to every change (a poll, a timer, batching in the watch path) moves the median and
      // p90, which are 1-3 ms on a quiet box. Each change is still bounded by the 5 s waits above,
      // and the max is reported.
      expect(at(0.5)).toBeLessThanOrEqual(50);
      expect(at(0.9)).toBeLessThanOrEqual(50);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  it('survives 10,000 fuzzed UPDATEs (random bytes, signed valid ones mutated): no write but what the valid ones ask', async () => {
    const key = parseTsigKeySpec(`${ddns.name}:${ddns.algorithm}:${ddns.secret}`);
    const random = seeded(23);
    const valid = [
      updateMessage(`fuzz.${ZONE}`, [192, 0, 2, 1]),
      updateMessage(`fuzz.${ZONE}`, [192, 0, 2, 2], 60),
      updateMessage(`fuzz.${ZONE}`, [192, 0, 2, 3], undefined, 'nxdomain'),
    ];
    // Every key and value under the prefix, as etcdctl prints them (key line, value line).
    const contents = async () => {
      const lines = (await etcd.etcdctl(['get', '--prefix', '/skydns/'])).split('\n');
      const out = new Map<string, string>();
      for (let i = 0; i + 1 < lines.length; i += 2) out.set(lines[i]!, lines[i + 1]!);
      return out;
    };
    const before = await contents();
    const rcodes = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      let message: Buffer;
      if (i % 4 === 0) {
        message = Buffer.from(Array.from({ length: 12 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
        message[2] = (message[2]! & 0x07) | (5 << 3); // opcode UPDATE, QR clear
      } else {
        // A signed valid UPDATE with 1-4 octets changed after signing (each change a real one).
        // Most no longer verify; a few still do and are the valid update (the MAC does not cover
        // the header ID, the MAC field, and compares the key and algorithm names case-blind:
        // RFC 8945 §4.3), so they may write what the valid ones ask, nothing else.
        message = Buffer.from(signRequest(valid[i % valid.length]!, key, Date.now() / 1000).message);
        for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
          const at = 2 + Math.floor(random() * (message.length - 2));
          message[at] = message[at]! ^ (1 + Math.floor(random() * 255));
        }
        message[2] = message[2]! & 0x7f;
      }
      const reply = await udpExchange(server.port, message, { timeoutMs: 2000 });
      if (reply) rcodes.set(reply[3]! & 0xf, (rcodes.get(reply[3]! & 0xf) ?? 0) + 1);
    }
    // Nothing changed but fuzz.example.test's A records, with the addresses the valid updates add.
    const after = await contents();
    for (const [k, v] of after) {
      if (before.get(k) === v) continue;
      expect(k).toMatch(/^\/skydns\/test\/example\/fuzz\/_rr-a-[0-9a-f]{16}$/);
      expect(['192.0.2.1', '192.0.2.2', '192.0.2.3']).toContain(JSON.parse(v).host);
    }
    for (const k of before.keys()) expect(after.has(k)).toBe(true);
    // Still answering, and still taking a valid signed update.
    expect((await dig(server.port, [ZONE, 'SOA'])).status).toBe('NOERROR');
    console.log(`update fuzz: replies by rcode ${JSON.stringify(Object.fromEntries(rcodes))}`);
    expect(await nsupdate(server.port, ZONE, [`update add fuzz.${ZONE}. 300 A 192.0.2.9`], { key: ddns })).toBe('NOERROR');
  }, 300_000);

  it('writes records with an Update Lease (RFC 9664) under an etcd lease: refreshed twice, across a replica restart, gone within lease + 2 s', async () => {
    const key = parseTsigKeySpec(`${ddns.name}:${ddns.algorithm}:${ddns.secret}`);
    const send = async () => {
      // A new ID each time: two refreshes signed within one second would otherwise be one message, a replay.
      const message = updateMessage(`leased.${ZONE}`, [192, 0, 2, 55], 5);
      message.writeUInt16BE(randomBytes(2).readUInt16BE(0), 0);
      const reply = await udpExchange(server.port, signRequest(message, key, Date.now() / 1000).message);
      return readLeaseReply(reply!);
    };
    const answered = async () => answerOf(await dig(server.port, [`leased.${ZONE}`, 'A']));
    expect(await send()).toEqual({ rcode: 0, lease: 5 });
    // The record's TTL never outlives its lease (the index caps it at the lease's TTL).
    expect(await answered()).toEqual(['NOERROR', `leased.${ZONE}. 5 IN A 192.0.2.55`]);
    const [leaseLine] = (await etcd.etcdctl(['get', '--prefix', '-w', 'json', '/skydns/test/example/leased/'])).match(/"lease":\d+/) ?? [];
    expect(leaseLine).toBeDefined();

    await sleep(2000);
    expect(await send()).toEqual({ rcode: 0, lease: 5 });
    // A restart of the replica: the lease lives in etcd, not here; the new process takes the next
    // refresh at once (it writes etcd, its mirror need not have synced) and answers the record.
    // Refreshed first, so that a slow restart on a loaded machine does not outlast the 5 s lease.
    await server.stop();
    server = await startServer(serverArgs());
    expect(await send()).toEqual({ rcode: 0, lease: 5 });
    // Until its first etcd sync, an etcd zone answers SERVFAIL.
    await digUntil(server.port, [`leased.${ZONE}`, 'A'], (r) => r.status !== 'SERVFAIL', 4000);
    expect(await answered()).toEqual(['NOERROR', `leased.${ZONE}. 5 IN A 192.0.2.55`]);
    expect(await send()).toEqual({ rcode: 0, lease: 5 });
    const lastRefresh = Date.now();
    await sleep(3000);
    expect((await answered())[0]).toBe('NOERROR');
    for (;;) {
      if ((await answered())[0] === 'NXDOMAIN') break;
      expect(Date.now() - lastRefresh).toBeLessThan(7000);
      await sleep(100);
    }
    expect(await etcd.etcdctl(['get', '--prefix', '--keys-only', '/skydns/test/example/leased/'])).toBe('');
    // The replica restarted after the first two: it counted the last two refreshes.
    const url = String(server.logs.find((l) => l.msg === 'listening')!.metrics);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^etcdns_update_leased_records_total\{zone="example\.test\."\} 2$/m);
  }, 60_000);
});

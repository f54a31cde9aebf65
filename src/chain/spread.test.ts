import { describe, expect, it } from 'vitest';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { RecordTable } from '../table/table.js';
import { testChain } from '../../test/support/chain.js';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { seeded } from '../../test/support/random.js';

const ZONE = `
$ORIGIN lb.test.
$TTL 30
@        SOA ns hostmaster 1 7200 1800 86400 30
@        NS  ns
ns       A   192.0.2.53
web      A   192.0.2.1
web      A   192.0.2.2
web      A   192.0.2.3
web      A   192.0.2.4
web      AAAA 2001:db8::1
web      AAAA 2001:db8::2
alias    CNAME web
one      A   192.0.2.9
_http._tcp.api SRV 0 10 80 a.api
_http._tcp.api SRV 0 30 80 b.api
_http._tcp.api SRV 0 60 80 c.api
_http._tcp.api SRV 9 50 80 backup.api
a.api    A   192.0.2.11
a.api    A   192.0.2.12
b.api    A   192.0.2.21
c.api    A   192.0.2.31
backup.api AAAA 2001:db8::99
child    NS  ns1.child
child    NS  ns2.child
ns1.child A  192.0.2.101
ns1.child A  192.0.2.102
ns2.child A  192.0.2.103
`;

const udp = { transport: 'udp' as const, remoteAddress: '127.0.0.1', remotePort: 5000, localPort: 53 };

function setup(random: () => number = Math.random, rotate = true) {
  const parsed = parseZoneFile(ZONE, { file: 'lb.test.zone' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const table = new RecordTable({ sources: ['files'] });
  table.publish('files', new Map([[parsed.zone.origin, parsed.zone]]));
  const handle = testChain({ snapshot: () => table.current, spread: rotate ? random : undefined });
  return (name: string, type: string, edns?: { udpSize?: number }) => {
    const reply = handle(buildQuery({ name, type, edns }), udp);
    if (!(reply instanceof Buffer)) throw new Error('expected a synchronous reply');
    return parseReply(reply);
  };
}

type Rec = { name: string; type: number; address?: string; target?: string; weight?: number; priority?: number; port?: number; ns?: string; domain?: string };
const recs = (list: unknown[]) => list as Rec[];

describe('spreadLoad stage (--rotate on)', () => {
  it('rotates an A RRset one step per query: each of 4 addresses is first exactly 100 times in 400', () => {
    const ask = setup();
    const first = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const answers = recs(ask('web.lb.test', 'A').answers);
      // Every reply still holds the whole RRset, well formed.
      expect(answers.map((r) => r.address).sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
      first.set(answers[0]!.address!, (first.get(answers[0]!.address!) ?? 0) + 1);
    }
    expect(Object.fromEntries(first)).toEqual({ '192.0.2.1': 100, '192.0.2.2': 100, '192.0.2.3': 100, '192.0.2.4': 100 });
  });

  it('rotates in round-robin order (each address moves up one place per query), AAAA too, and behind a CNAME', () => {
    const ask = setup();
    const orders = Array.from({ length: 3 }, () => recs(ask('web.lb.test', 'A').answers).map((r) => r.address!.slice(-1)).join(''));
    expect(orders).toEqual(['1234', '2341', '3412']);
    const v6 = Array.from({ length: 3 }, () => recs(ask('web.lb.test', 'AAAA').answers).map((r) => r.address));
    expect(v6).toEqual([['2001:db8::1', '2001:db8::2'], ['2001:db8::2', '2001:db8::1'], ['2001:db8::1', '2001:db8::2']]);
    const behindCname = Array.from({ length: 2 }, () => recs(ask('alias.lb.test', 'A').answers).map((r) => r.address ?? r.domain));
    expect(behindCname).toEqual([
      ['web.lb.test', '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'],
      ['web.lb.test', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.1'],
    ]);
  });

  it('rotates glue in the additional section of a referral', () => {
    const ask = setup();
    const glue = Array.from({ length: 2 }, () => recs(ask('www.child.lb.test', 'A').additionals).filter((r) => r.name === 'ns1.child.lb.test').map((r) => r.address));
    expect(glue).toEqual([['192.0.2.101', '192.0.2.102'], ['192.0.2.102', '192.0.2.101']]);
  });

  it('orders SRV records by priority, then weighted: first in 10/30/60% of 10,000 (seeded), glue still matching the targets', () => {
    const ask = setup(seeded(7));
    const first = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const reply = ask('_http._tcp.api.lb.test', 'SRV');
      const answers = recs(reply.answers);
      expect(answers).toHaveLength(4);
      // Priority 9 always last: lower priorities first (RFC 2782).
      expect(answers[3]!.target).toBe('backup.api.lb.test');
      first.set(answers[0]!.target!, (first.get(answers[0]!.target!) ?? 0) + 1);
      // The additional section's owners were re-aimed at the moved targets: same names, same addresses.
      if (i < 200) {
        const glue = recs(reply.additionals).map((r) => `${r.name} ${r.address}`).sort();
        expect(glue).toEqual(['a.api.lb.test 192.0.2.11', 'a.api.lb.test 192.0.2.12', 'b.api.lb.test 192.0.2.21', 'backup.api.lb.test 2001:db8::99', 'c.api.lb.test 192.0.2.31']);
      }
    }
    const share = (t: string) => (first.get(`${t}.api.lb.test`) ?? 0) / 10_000;
    expect(Math.abs(share('a') - 0.1)).toBeLessThan(0.03);
    expect(Math.abs(share('b') - 0.3)).toBeLessThan(0.03);
    expect(Math.abs(share('c') - 0.6)).toBeLessThan(0.03);
  });

  it('is deterministic with a seeded generator: the same orders run after run', () => {
    const orders = () => {
      const ask = setup(seeded(99));
      return Array.from({ length: 20 }, () => recs(ask('_http._tcp.api.lb.test', 'SRV').answers).map((r) => r.target![0]).join(''));
    };
    expect(orders()).toEqual(orders());
  });

  it('answers in the written order with --rotate off', () => {
    const ask = setup(Math.random, false);
    for (let i = 0; i < 3; i++) expect(recs(ask('web.lb.test', 'A').answers).map((r) => r.address!.slice(-1)).join('')).toBe('1234');
    for (let i = 0; i < 3; i++) expect(recs(ask('_http._tcp.api.lb.test', 'SRV').answers).map((r) => r.target![0]).join('')).toBe('abcb');
  });

  it('does not touch single records or other types', () => {
    const ask = setup();
    for (let i = 0; i < 3; i++) expect(recs(ask('one.lb.test', 'A').answers).map((r) => r.address)).toEqual(['192.0.2.9']);
  });
});

import { describe, expect, it } from 'vitest';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { RecordTable } from '../table/table.js';
import { layerZones } from '../table/layered.js';
import type { ZoneView } from '../table/zone.js';
import { testChain } from '../../test/support/chain.js';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { ReplyCache, replyKey } from './reply-cache.js';
import fc from 'fast-check';

function zone(text: string): ZoneView {
  const parsed = parseZoneFile(text, { file: 't' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.zone;
}
const zoneA = (address: string, serial = 1) => zone(`$ORIGIN a.test.\n$TTL 30\n@ SOA ns h ${serial} 2 3 4 5\nwww A ${address}\nalias CNAME www.b.test.\nsrv SRV 0 0 80 host.b.test.`);
const zoneB = (address: string, serial = 1) => zone(`$ORIGIN b.test.\n$TTL 30\n@ SOA ns h ${serial} 2 3 4 5\nwww A ${address}\nhost A ${address}`);

const udp = { transport: 'udp' as const, remoteAddress: '127.0.0.1', remotePort: 5000, localPort: 53 };

/** Two sources like app.ts: zone files win over etcd; each publishes its own zones. */
function setup() {
  const table = new RecordTable({ sources: ['files', 'etcd'], combine: layerZones });
  const cache = new ReplyCache();
  const handle = testChain({ snapshot: () => table.current, cache });
  const ask = (name: string, type: string) => {
    const reply = handle(buildQuery({ name, type }), udp);
    if (!(reply instanceof Buffer)) throw new Error('expected a synchronous reply');
    return parseReply(reply);
  };
  const addresses = (name: string, type = 'A') => [...ask(name, type).answers, ...ask(name, type).additionals].map((r) => (r as unknown as { address?: string; domain?: string }).address ?? (r as unknown as { domain: string }).domain);
  return { table, cache, ask, addresses };
}

describe('ReplyCache (per zone view)', () => {
  it("keeps one zone's cached replies when another zone changes", () => {
    const { table, cache, ask } = setup();
    const a = zoneA('192.0.2.1');
    table.publish('files', new Map([['a.test', a]]));
    table.publish('etcd', new Map([['b.test', zoneB('198.51.100.1')]]));
    ask('www.a.test', 'A');
    ask('www.b.test', 'A');
    expect(cache.size).toBe(2);
    // An etcd change in b.test: a.test's entry is still served from the cache, b.test's is rebuilt.
    table.publish('etcd', new Map([['b.test', zoneB('198.51.100.2', 2)]]));
    const before = cache.get(table.current, '1:www.a.test');
    expect(before?.zone).toBe('a.test');
    expect(cache.get(table.current, '1:www.b.test')).toBeUndefined();
    expect((ask('www.b.test', 'A').answers[0] as unknown as { address: string }).address).toBe('198.51.100.2');
  });

  it('drops a reply built from a zone that changed, and one whose CNAME chain or additional data entered it', () => {
    const { table, ask } = setup();
    table.publish('files', new Map([['a.test', zoneA('192.0.2.1')]]));
    table.publish('etcd', new Map([['b.test', zoneB('198.51.100.1')]]));
    const alias = () => ask('alias.a.test', 'A').answers.map((r) => (r as unknown as { address?: string; domain?: string }).address ?? (r as unknown as { domain: string }).domain);
    const srvGlue = () => ask('srv.a.test', 'SRV').additionals.map((r) => (r as unknown as { address: string }).address);
    expect(alias()).toEqual(['www.b.test', '198.51.100.1']);
    expect(srvGlue()).toEqual(['198.51.100.1']);
    // Only b.test changes; the cached a.test answers were read partly from it.
    table.publish('etcd', new Map([['b.test', zoneB('198.51.100.9', 2)]]));
    expect(alias()).toEqual(['www.b.test', '198.51.100.9']);
    expect(srvGlue()).toEqual(['198.51.100.9']);
  });

  it('empties itself when the set of zones changes (a new, more specific zone takes names over)', () => {
    const { table, ask } = setup();
    table.publish('files', new Map([['a.test', zone('$ORIGIN a.test.\n$TTL 30\n@ SOA ns h 1 2 3 4 5\nx.sub A 192.0.2.1')]]));
    expect(ask('x.sub.a.test', 'A').answers).toHaveLength(1);
    // a.test is unchanged, but sub.a.test now is a zone of its own (from etcd) without x.
    table.publish('etcd', new Map([['sub.a.test', zone('$ORIGIN sub.a.test.\n$TTL 30\n@ SOA ns h 1 2 3 4 5\ny A 192.0.2.2')]]));
    expect(ask('x.sub.a.test', 'A').header.rcode).toBe(3);
  });

  it('keeps the replies of a layered zone (zone file + etcd) while neither of its layers changes', () => {
    const { table, cache, ask } = setup();
    const etcdA = (text: string, serial: number) => zone(`$ORIGIN a.test.\n$TTL 30\n@ SOA ns h ${serial} 2 3 4 5\nextra TXT "${text}"`);
    const etcdViewOfA = etcdA('from etcd', 1);
    table.publish('files', new Map([['a.test', zoneA('192.0.2.1')]]));
    table.publish('etcd', new Map([['a.test', etcdViewOfA], ['b.test', zoneB('198.51.100.1')]]));
    ask('www.a.test', 'A');
    const layered = table.current.zones.get('a.test');
    // The etcd source republishes: same a.test view, a new b.test.
    table.publish('etcd', new Map([['a.test', etcdViewOfA], ['b.test', zoneB('198.51.100.3', 2)]]));
    expect(table.current.zones.get('a.test')).toBe(layered);
    expect(cache.get(table.current, '1:www.a.test')?.zone).toBe('a.test');
    // A new etcd view of a.test makes a new layered view, and its cached replies go.
    table.publish('etcd', new Map([['a.test', etcdA('changed', 2)], ['b.test', zoneB('198.51.100.3', 2)]]));
    expect(table.current.zones.get('a.test')).not.toBe(layered);
    expect(cache.get(table.current, '1:www.a.test')).toBeUndefined();
    expect(ask('extra.a.test', 'TXT').answers.map((r) => (r as unknown as { data: string[] }).data)).toEqual([['changed']]);
  });

  it('answers every swap right from both zones (hits for the unchanged one, rebuilds for the other)', () => {
    const { table, addresses } = setup();
    table.publish('files', new Map([['a.test', zoneA('192.0.2.1')]]));
    for (let i = 1; i <= 20; i++) {
      table.publish('etcd', new Map([['b.test', zoneB(`198.51.100.${i}`, i)]]));
      expect(addresses('www.a.test')).toEqual(['192.0.2.1']);
      expect(addresses('www.b.test')).toEqual([`198.51.100.${i}`]);
    }
  });
});

describe('replyKey', () => {
  it('is type and name, whichever (type, name) pairs came before', () => {
    // Remembered in a bounded table: what came before must never give another question's key.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.string({ maxLength: 30 })), { minLength: 1, maxLength: 300 }), (questions) => {
        for (const [type, name] of questions) expect(replyKey(type, name)).toBe(`${type}:${name}`);
        for (const [type, name] of questions.toReversed()) expect(replyKey(type, name)).toBe(`${type}:${name}`);
      }),
      { numRuns: 200 },
    );
    expect(replyKey(1, 'a.test')).not.toBe(replyKey(28, 'a.test'));
  });

  it('stays right when more names come than it remembers', () => {
    const names = Array.from({ length: 40_000 }, (_, i) => `n${i}.test`);
    for (const name of names) expect(replyKey(33, name)).toBe(`33:${name}`);
    for (const name of names.slice(0, 100)) expect(replyKey(33, name)).toBe(`33:${name}`);
  });
});

import { describe, expect, it } from 'vitest';
import { buildQuery, parseReply, RCODE } from '../../test/support/packets.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { RecordTable } from '../table/table.js';
import type { ZoneView } from '../table/zone.js';
import { testChain } from '../../test/support/chain.js';
import { chaosNames } from './chaos.js';
import type { QueryEvent } from './request.js';
import type { QueryHandler } from '../transport/types.js';

function zoneMap(text: string): Map<string, ZoneView> {
  const parsed = parseZoneFile(text, { file: 't' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return new Map([[parsed.zone.origin, parsed.zone]]);
}

/** Answers from our own zones are synchronous: the fast path never waits. */
function now(reply: ReturnType<QueryHandler>): Buffer {
  if (!(reply instanceof Buffer)) throw new Error(`expected a synchronous reply, got ${String(reply)}`);
  return reply;
}

const udp = { transport: 'udp' as const, remoteAddress: '127.0.0.1', remotePort: 5000, localPort: 53 };

function setup() {
  const table = new RecordTable({ sources: ['files'] });
  table.publish('files', zoneMap('$ORIGIN a.test.\n$TTL 30\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.1'));
  const events: QueryEvent[] = [];
  const handle = testChain({ snapshot: () => table.current, chaos: chaosNames('1.2.3'), observers: [(e) => events.push({ ...e })] });
  const ask = (name: string, type: string | number, extra: Partial<Parameters<typeof buildQuery>[0]> = {}) =>
    parseReply(now(handle(buildQuery({ name, type, ...extra }), udp)));
  return { table, handle, ask, events };
}

describe('the handler chain', () => {
  it('serves the new snapshot as soon as it is swapped in (no stale cached answer)', () => {
    const { table, ask } = setup();
    expect((ask('www.a.test', 'A').answers[0] as unknown as { address: string }).address).toBe('192.0.2.1');
    table.publish('files', zoneMap('$ORIGIN a.test.\n$TTL 30\n@ SOA ns h 2 2 3 4 5\nwww A 192.0.2.2'));
    expect((ask('www.a.test', 'A').answers[0] as unknown as { address: string }).address).toBe('192.0.2.2');
  });

  it('refuses other classes, zone transfers and names outside our zones; NOTIMP for other meta types', () => {
    const { ask } = setup();
    expect(ask('www.a.test', 'A', { class: 4 }).header.rcode).toBe(RCODE.REFUSED);
    expect(ask('a.test', 'AXFR').header.rcode).toBe(RCODE.REFUSED);
    expect(ask('elsewhere.test', 'A').header.rcode).toBe(RCODE.REFUSED);
    expect(ask('www.a.test', 'MAILB').header.rcode).toBe(RCODE.NOTIMP);
    expect(ask('www.a.test', 41).header.rcode).toBe(RCODE.FORMERR);
  });

  it('answers the identity names in class CH, and refuses CH otherwise', () => {
    const { ask } = setup();
    const v = ask('VERSION.BIND', 'TXT', { class: 3 });
    expect(v.header.aa).toBe(1);
    expect((v.answers[0] as unknown as { data: string[] }).data).toEqual(['etcdns 1.2.3']);
    expect(ask('other.bind', 'TXT', { class: 3 }).header.rcode).toBe(RCODE.REFUSED);
  });

  it('reports every reply to the observer with zone, type and rcode', () => {
    const { ask, events } = setup();
    ask('www.a.test', 'A');
    ask('nope.a.test', 'A');
    ask('x.other', 'A');
    expect(events.map((e) => [e.zone, e.type, e.rcode])).toEqual([
      ['a.test', 1, 0],
      ['a.test', 1, 3],
      [undefined, 1, 5],
    ]);
  });

  it('turns an internal failure into SERVFAIL for that query only', () => {
    let broken = true;
    const { table } = setup();
    const handle = testChain({
      snapshot: () => {
        if (broken) throw new Error('boom');
        return table.current;
      },
    });
    const reply = parseReply(now(handle(buildQuery({ name: 'www.a.test', type: 'A' }), udp)));
    expect(reply.header.rcode).toBe(RCODE.SERVFAIL);
    broken = false;
    expect(parseReply(now(handle(buildQuery({ name: 'www.a.test', type: 'A' }), udp))).header.rcode).toBe(0);
  });

  it('answers SERVFAIL for zones marked unavailable (etcd stale past --max-stale), and serves again after', () => {
    const { table } = setup();
    let unavailable = new Set<string>(['a.test']);
    const handle = testChain({ snapshot: () => table.current, unavailableZones: () => unavailable });
    const ask = () => parseReply(now(handle(buildQuery({ name: 'www.a.test', type: 'A', edns: {} }), udp)));
    expect(ask().header.rcode).toBe(RCODE.SERVFAIL);
    expect(ask().additionals).toHaveLength(1); // OPT still echoed
    unavailable = new Set();
    expect(ask().answers).toHaveLength(1);
  });

  it('computes CHAOS answers per query, so changing values (the revision) are current', () => {
    let revision = 1;
    const { table } = setup();
    const handle = testChain({ snapshot: () => table.current, chaos: chaosNames('1.2.3', [['revision.etcdns', () => [`revision=${revision}`]]]) });
    const ask = () => (parseReply(now(handle(buildQuery({ name: 'revision.etcdns', type: 'TXT', class: 3 }), udp))).answers[0] as unknown as { data: string[] }).data;
    expect(ask()).toEqual(['revision=1']);
    revision = 42;
    expect(ask()).toEqual(['revision=42']);
  });

  describe('recursion for names outside our zones', () => {
    function withRecursion(allowed: boolean) {
      const { table } = setup();
      const forwarded: string[] = [];
      const handle = testChain({
        snapshot: () => table.current,
        recursion: {
          allows: (address) => allowed && address === '127.0.0.1',
          forward: async (query) => {
            forwarded.push(query.name);
            const reply = Buffer.from(query.message);
            reply[2] = 0x81; // QR|RD
            reply[3] = 0x80; // RA, NOERROR
            return reply;
          },
        },
      });
      return { handle, forwarded };
    }

    it('forwards an allowed client that asks for recursion, and sets RA on our own answers too', async () => {
      const { handle, forwarded } = withRecursion(true);
      const reply = await handle(buildQuery({ name: 'Elsewhere.Example', type: 'A' }), udp);
      expect(forwarded).toEqual(['elsewhere.example']);
      expect(parseReply(reply as Buffer).header.ra).toBe(1);
      const own = parseReply(now(handle(buildQuery({ name: 'www.a.test', type: 'A' }), udp)));
      expect(own.header).toMatchObject({ aa: 1, ra: 1 });
    });

    it('refuses clients outside the ACL and queries without RD (never an open resolver)', async () => {
      const denied = withRecursion(false);
      const reply = parseReply(now(denied.handle(buildQuery({ name: 'elsewhere.example', type: 'A' }), udp)));
      expect(reply.header).toMatchObject({ rcode: RCODE.REFUSED, ra: 0 });
      const noRd = withRecursion(true);
      expect(parseReply(now(noRd.handle(buildQuery({ name: 'elsewhere.example', type: 'A', rd: false }), udp))).header.rcode).toBe(RCODE.REFUSED);
      expect([...denied.forwarded, ...noRd.forwarded]).toEqual([]);
    });

    it('never forwards names in our zones, zone transfers or other classes', () => {
      const { handle, forwarded } = withRecursion(true);
      expect(parseReply(now(handle(buildQuery({ name: 'nope.a.test', type: 'A' }), udp))).header.rcode).toBe(RCODE.NXDOMAIN);
      expect(parseReply(now(handle(buildQuery({ name: 'elsewhere.example', type: 'AXFR' }), udp))).header.rcode).toBe(RCODE.REFUSED);
      expect(parseReply(now(handle(buildQuery({ name: 'elsewhere.example', type: 'A', class: 4 }), udp))).header.rcode).toBe(RCODE.REFUSED);
      expect(forwarded).toEqual([]);
    });
  });

  it('drops datagrams shorter than a header instead of answering', () => {
    const { handle } = setup();
    expect(handle(Buffer.from([1, 2, 3]), udp)).toBeNull();
  });
});

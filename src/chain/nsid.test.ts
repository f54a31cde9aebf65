import { describe, expect, it } from 'vitest';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { RecordTable } from '../table/table.js';
import { testChain } from '../../test/support/chain.js';
import { buildQuery } from '../../test/support/packets.js';

const udp = { transport: 'udp' as const, remoteAddress: '127.0.0.1', remotePort: 5000, localPort: 53 };

/** The NSID option's data in a reply whose OPT record is last, or undefined. */
function nsidOf(reply: Buffer): string | undefined {
  for (let at = reply.length - 11; at >= 12; at--) {
    if (reply[at] === 0 && reply.readUInt16BE(at + 1) === 41 && at + 11 + reply.readUInt16BE(at + 9) === reply.length) {
      if (reply.readUInt16BE(at + 9) === 0) return undefined;
      expect(reply.readUInt16BE(at + 11)).toBe(3);
      return reply.subarray(at + 15, at + 15 + reply.readUInt16BE(at + 13)).toString();
    }
  }
  return undefined;
}

function setup() {
  const parsed = parseZoneFile('$ORIGIN a.test.\n$TTL 30\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.1', { file: 't' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const table = new RecordTable({ sources: ['files'] });
  table.publish('files', new Map([[parsed.zone.origin, parsed.zone]]));
  return testChain({
    snapshot: () => table.current,
    nsid: Buffer.from('pod-abc'),
    recursion: {
      allows: () => true,
      forward: async (query) => {
        // An upstream reply as the relay writes it: header, question, our OPT last (without
        // the client's options: here the query minus its 4-octet NSID option).
        const reply = Buffer.from(query.message.subarray(0, query.message.length - 4));
        reply.writeUInt16BE(0, reply.length - 2);
        reply[2] = 0x81;
        reply[3] = 0x80;
        return reply;
      },
    },
  });
}

describe('nsid stage (--nsid)', () => {
  it('answers the identifier only to queries that ask for it', () => {
    const handle = setup();
    expect(nsidOf(handle(buildQuery({ name: 'www.a.test', type: 'A', edns: { nsid: true } }), udp) as Buffer)).toBe('pod-abc');
    expect(nsidOf(handle(buildQuery({ name: 'www.a.test', type: 'A', edns: {} }), udp) as Buffer)).toBeUndefined();
    const noEdns = handle(buildQuery({ name: 'www.a.test', type: 'A' }), udp) as Buffer;
    expect(noEdns.readUInt16BE(10)).toBe(0); // ARCOUNT: nothing added without EDNS
  });

  it('adds it to negative and forwarded answers too', async () => {
    const handle = setup();
    expect(nsidOf(handle(buildQuery({ name: 'nope.a.test', type: 'A', edns: { nsid: true } }), udp) as Buffer)).toBe('pod-abc');
    const forwarded = await handle(buildQuery({ name: 'elsewhere.example', type: 'A', edns: { nsid: true } }), udp);
    expect(nsidOf(forwarded as Buffer)).toBe('pod-abc');
  });
});

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { testChain } from '../../test/support/chain.js';
import { buildQuery, parseReply, RCODE } from '../../test/support/packets.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { Snapshot } from '../table/snapshot.js';
import { ReplyCache } from './reply-cache.js';

const udp = { transport: 'udp' as const, remoteAddress: '127.0.0.1', remotePort: 5000, localPort: 53 };

/** A zone-file name with 5,000 A records: 80,000 octets of answer, more than a TCP message holds. */
function bigZone() {
  const lines = ['$ORIGIN big.test.', '$TTL 30', '@ SOA ns h 1 2 3 4 5', 'small A 192.0.2.1'];
  for (let i = 0; i < 5000; i++) lines.push(`many A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const parsed = parseZoneFile(lines.join('\n'), { file: 't' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return new Snapshot(new Map([['big.test', parsed.zone]]), 1);
}

describe('a reply that cannot be built', () => {
  it('is a SERVFAIL, cached: one attempt and one log line however many queries', () => {
    const snapshot = bigZone();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const cache = new ReplyCache();
    const handle = testChain({ snapshot: () => snapshot, cache, logger });
    const ask = (name: string, type = 'A') => {
      const reply = handle(buildQuery({ name, type }), udp);
      if (!(reply instanceof Buffer)) throw new Error('expected a synchronous reply');
      return parseReply(reply);
    };
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const reply = ask('many.big.test');
      times.push(performance.now() - t);
      expect(reply.header.rcode).toBe(RCODE.SERVFAIL);
      expect(reply.answers).toHaveLength(0);
    }
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'many.big.test.', type: 'A', msg: expect.stringContaining('SERVFAIL until the data changes') });
    expect(cache.size).toBe(1);
    // The first query paid for building 80 kB; the cached ones cost a lookup. Generous for a busy box.
    const later = times.slice(1).sort((a, b) => a - b);
    expect(later[Math.floor(later.length / 2)]!).toBeLessThan(times[0]!);
    // An EDNS client is told why (RFC 8914, option 15 with INFO-CODE 0 and the reason).
    const withEdns = handle(buildQuery({ name: 'many.big.test', type: 'A', edns: {} }), udp);
    if (!(withEdns instanceof Buffer)) throw new Error('expected a synchronous reply');
    expect(parseReply(withEdns).header.rcode).toBe(RCODE.SERVFAIL);
    const ede = withEdns.indexOf(Buffer.from([0, 15]), withEdns.lastIndexOf(Buffer.from([0, 0, 41])) + 11);
    expect(ede).toBeGreaterThan(0);
    expect(withEdns.readUInt16BE(ede + 4)).toBe(0);
    expect(withEdns.subarray(ede + 6).toString('utf8')).toContain('does not fit a DNS message');
    // Other names of the zone are answered as usual.
    expect(ask('small.big.test').answers.map((a) => (a as unknown as { address: string }).address)).toEqual(['192.0.2.1']);
  });
});

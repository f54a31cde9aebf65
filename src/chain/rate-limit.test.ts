import { describe, expect, it } from 'vitest';
import { frozenClock } from '../../test/support/clock.js';
import { Flag, Rcode } from '../dns/constants.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { RecordTable } from '../table/table.js';
import { testChain } from '../../test/support/chain.js';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { ResponseRateLimiter } from './response-rate-limiter.js';

describe('the rate-limit stage (--rate-limit)', () => {
  function setup(slip: number) {
    const parsed = parseZoneFile('$ORIGIN a.test.\n$TTL 30\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.1', { file: 't' });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const table = new RecordTable({ sources: ['files'] });
    table.publish('files', new Map([[parsed.zone.origin, parsed.zone]]));
    const clock = frozenClock();
    const limiter = new ResponseRateLimiter({ responsesPerSecond: 2, slip, clock });
    const handle = testChain({ snapshot: () => table.current, rateLimit: limiter });
    return { handle, clock };
  }
  const ctx = (transport: 'udp' | 'tcp') => ({ transport, remoteAddress: '192.0.2.200', remotePort: 4000, localPort: 53 });

  it('answers up to the limit, then drops or sends an empty TC=1 reply with the ID and question', () => {
    const { handle } = setup(2);
    const q = buildQuery({ name: 'WWW.a.test', type: 'A', id: 77, edns: { udpSize: 4096 } });
    const replies = Array.from({ length: 6 }, () => handle(q, ctx('udp')) as Buffer | null);
    expect(replies.map((r) => (r === null ? 'drop' : r[2]! & (Flag.TC >> 8) ? 'slip' : 'send'))).toEqual(['send', 'send', 'drop', 'slip', 'drop', 'slip']);
    const slipped = parseReply(replies[3]!);
    expect(slipped.header).toMatchObject({ id: 77, qr: 1, tc: 1, rcode: Rcode.NOERROR });
    expect(slipped.questions).toEqual([expect.objectContaining({ name: 'WWW.a.test' })]);
    expect(slipped.answers).toEqual([]);
    expect(replies[3]!.length).toBeLessThanOrEqual(q.length);
  });

  it('never limits TCP (its source address cannot be forged)', () => {
    const { handle } = setup(2);
    const q = buildQuery({ name: 'www.a.test', type: 'A' });
    for (let i = 0; i < 20; i++) expect(parseReply(handle(q, ctx('tcp')) as Buffer).answers).toHaveLength(1);
  });

  it('limits error replies (FORMERR) too, and slips them with their rcode', () => {
    const { handle } = setup(1);
    const bad = Buffer.from([0, 9, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]); // QDCOUNT 2
    const replies = Array.from({ length: 3 }, () => parseReply(handle(bad, ctx('udp')) as Buffer));
    expect(replies.map((r) => [r.header.rcode, r.header.tc])).toEqual([
      [Rcode.FORMERR, 0],
      [Rcode.FORMERR, 0],
      [Rcode.FORMERR, 1],
    ]);
  });
});

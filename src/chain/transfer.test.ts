import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { testChain } from '../../test/support/chain.js';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { RRType } from '../dns/constants.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { Snapshot } from '../table/snapshot.js';
import { TransferJournal } from '../transfer/journal.js';
import { isReplyStream } from '../transport/types.js';
import type { TransferEvent } from './transfer.js';

function setup() {
  const r = parseZoneFile('$ORIGIN a.test.\n$TTL 60\n@ SOA ns h 3 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n', { file: 'a.test.zone' });
  if (!r.ok) throw new Error('zone');
  const snapshot = new Snapshot(new Map([['a.test', r.zone]]), 1);
  const journal = new TransferJournal({ maxEntries: 10, maxBytes: 1 << 20 });
  journal.observe(snapshot);
  const events: TransferEvent[] = [];
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  let now = 1000;
  const handle = testChain({
    snapshot: () => snapshot,
    transfer: { snapshot: () => snapshot, journal, allowedNetworks: { allows: (a) => a === '127.0.0.1' }, nowSeconds: () => now, logger, observe: (e) => events.push(e) },
  });
  return { handle, events, lines, tick: (s: number) => (now += s) };
}

const tcp = (remoteAddress: string) => ({ transport: 'tcp' as const, remoteAddress, remotePort: 5000, localPort: 53 });

async function messages(reply: unknown): Promise<Buffer[]> {
  if (!isReplyStream(reply)) throw new Error('not a stream');
  const out: Buffer[] = [];
  for (let r = await reply.messages.next(); !r.done; r = await reply.messages.next()) out.push(Buffer.from(r.value));
  return out;
}

describe('the transfer stage', () => {
  it('streams the zone to an allowed client, and counts it once it is sent', async () => {
    const { handle, events } = setup();
    const got = await messages(handle(buildQuery({ name: 'a.test', type: RRType.AXFR }), tcp('127.0.0.1')));
    const answers = got.flatMap((m) => parseReply(m).answers.map((a) => `${a.name} ${a.type}`));
    expect(answers).toEqual(['a.test 6', 'a.test 2', 'ns.a.test 1', 'www.a.test 1', 'a.test 6']);
    expect(events).toMatchObject([{ type: 'AXFR', zone: 'a.test', outcome: 'full', records: 5 }]);
  });

  it('refuses others, labels names that are not ours as no zone, and logs at most a line a second', () => {
    const { handle, events, lines, tick } = setup();
    for (let i = 0; i < 5; i++) {
      const reply = handle(buildQuery({ name: `scan${i}.example`, type: RRType.AXFR }), tcp('192.0.2.9')) as Buffer;
      expect(parseReply(reply).header.rcode).toBe(5);
    }
    expect(events.map((e) => [e.outcome, e.zone])).toEqual(Array.from({ length: 5 }, () => ['refused', undefined]));
    expect(lines).toHaveLength(1);
    tick(1);
    handle(buildQuery({ name: 'a.test', type: RRType.AXFR }), tcp('192.0.2.9'));
    expect(events.at(-1)).toMatchObject({ outcome: 'refused', zone: 'a.test' });
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ suppressed: 4, outcome: 'refused' });
  });
});

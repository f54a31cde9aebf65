/**
 * The update stage's order of checks, in process: permission (the policy, a layered zone's
 * file) before anything is read, then prerequisites, then the update section's form, as RFC
 * 2136 §3 orders them and Knot DNS answers (test/update.test.ts compares with a real Knot
 * and a real etcd). The writer here evaluates the real semantics over records held in memory.
 */
import { describe, expect, it } from 'vitest';
import { testChain } from '../../test/support/chain.js';
import { rawUpdate, type RawRecord } from '../../test/support/raw-update.js';
import { RRClass, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { Node, RData, RRset } from '../dns/records.js';
import { silentLogger } from '../log.js';
import { RecordTable } from '../table/table.js';
import { evaluate, type HeldRecords } from '../update/semantics.js';
import { recordHash } from '../wire/update.js';
import type { UpdateStageOptions } from './update.js';

const ZONE = 'example.test';
const a = (address: string): RData => ({ type: RRType.A, address });

/** No OPT: the stage's RCODE is what these cases compare. */
const message = (prerequisites: RawRecord[], updates: RawRecord[]): Buffer => rawUpdate(ZONE, prerequisites, updates, { id: 0x4244, opt: false });

/** etcd holds www A 192.0.2.1; the zone file holds file A 192.0.2.10; the policy refuses TXT. */
function setup() {
  const held: HeldRecords = new Map([[`www.${ZONE}`, [{ id: recordHash(a('192.0.2.1')), data: a('192.0.2.1'), ttl: 300 }]]]);
  const fileNode: Node = new Map<number, RRset>([[RRType.A, { name: `file.${ZONE}`, type: RRType.A, ttl: 300, records: [a('192.0.2.10')] }]]);
  const writes: string[] = [];
  const outcomes: string[] = [];
  const options: UpdateStageOptions = {
    zoneKind: (origin) => (origin === ZONE ? 'etcd' : undefined),
    fileLayer: () => ({ node: (name: Name) => (name === `file.${ZONE}` ? fileNode : undefined) }),
    refusal: (_key, _address, updates) => (updates.some((u) => u.type === RRType.TXT) ? 'no TXT for this key' : undefined),
    unstorable: () => undefined,
    write: (zone, update, rules) => {
      writes.push(zone);
      const e = evaluate(zone, update, held, rules);
      return Promise.resolve('verdict' in e ? { kind: 'refused', verdict: e.verdict, attempts: 1 } : { kind: 'done', revision: 2, written: e.difference.puts.length, attempts: 1 });
    },
    served: () => Promise.resolve(true),
    observe: (_zone, outcome) => outcomes.push(outcome),
    observeLeased: () => undefined,
    logger: silentLogger(),
  };
  const table = new RecordTable({ sources: ['files'] });
  const chain = testChain({ snapshot: () => table.current, update: options });
  const send = async (m: Buffer) => {
    const reply = (await chain(m, { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5353, localPort: 53 })) as Buffer;
    return ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'][reply[3]! & 0xf];
  };
  return { send, writes, outcomes };
}

const www = `www.${ZONE}`;
const notInUse: RawRecord = { name: www, type: RRType.ANY, class: RRClass.NONE, ttl: 0 }; // fails: www is in use
const inUse: RawRecord = { name: www, type: RRType.ANY, class: RRClass.ANY, ttl: 0 }; // holds
const addA: RawRecord = { name: www, type: RRType.A, class: RRClass.IN, ttl: 300, rdata: [192, 0, 2, 2] };
const addTxt: RawRecord = { name: www, type: RRType.TXT, class: RRClass.IN, ttl: 300, rdata: [1, 120] };
const malformed: RawRecord = { name: www, type: RRType.ANY, class: RRClass.NONE, ttl: 0 }; // class NONE of a meta type (§3.4.1.3)
const outside: RawRecord = { name: 'x.other.test', type: RRType.TXT, class: RRClass.IN, ttl: 300, rdata: [1, 120] };
const fileA: RawRecord = { name: `file.${ZONE}`, type: RRType.A, class: RRClass.IN, ttl: 300, rdata: [192, 0, 2, 11] };

describe('the update stage checks permission, then prerequisites, then the update section', () => {
  it.each<[string, RawRecord[], RawRecord[], string, string, boolean]>([
    ['a failed prerequisite beside an update the key may not make: REFUSED, nothing read', [notInUse], [addTxt], 'REFUSED', 'refused', false],
    ['a failed prerequisite beside an RRset the zone file defines: REFUSED, nothing read', [notInUse], [fileA], 'REFUSED', 'refused', false],
    ['a failed prerequisite beside a malformed update: the prerequisite\'s RCODE', [notInUse], [malformed], 'YXDOMAIN', 'prerequisite', true],
    ['a prerequisite that holds beside a malformed update: FORMERR', [inUse], [malformed], 'FORMERR', 'bad-request', true],
    ['a record outside the zone, of a type the key may not change: NOTZONE, not a refusal', [inUse], [outside], 'NOTZONE', 'bad-request', true],
    ['a failed prerequisite beside a record outside the zone: the prerequisite\'s RCODE', [notInUse], [outside], 'YXDOMAIN', 'prerequisite', true],
    ['a good update', [inUse], [addA], 'NOERROR', 'done', true],
  ])('%s', async (_, prerequisites, updates, rcode, outcome, read) => {
    const s = setup();
    expect(await s.send(message(prerequisites, updates))).toBe(rcode);
    expect(s.outcomes).toEqual([outcome]);
    expect(s.writes.length > 0).toBe(read);
  });
});

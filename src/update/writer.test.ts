import type { ICompare, IKeyValue, IRequestOp, ITxnRequest, ITxnResponse } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { RRClass, RRType, Rcode } from '../dns/constants.js';
import type { RData } from '../dns/records.js';
import { MirrorValues } from '../etcd/mirror-values.js';
import { recordKey, recordValue } from '../skydns/update-records.js';
import { recordHash, type UpdateMessage, type UpdateRecord } from '../wire/update.js';
import { UpdateWriter, updateKeys } from './writer.js';

/** RFC 2136 §2.2. */
const YXRRSET = 7;
const PREFIX = '/skydns';
const ZONE = 'example.test';
const WWW = 'www.example.test';
const a = (address: string): RData => ({ type: RRType.A, address });
const rr = (name: string, type: number, cls: number, ttl = 0, data?: RData): UpdateRecord => ({ name, type, class: cls, ttl, rdlength: data ? 4 : 0, data });
const message = (prerequisites: UpdateRecord[], updates: UpdateRecord[]): UpdateMessage => ({ zone: ZONE, zoneClass: RRClass.IN, prerequisites, updates, lease: undefined });
const keyOf = (data: RData) => recordKey(PREFIX, ZONE, WWW, data.type, recordHash(data));

interface Stored {
  value: Buffer;
  mod: number;
  version: number;
}

/** An in-memory etcd: its transaction RPC (compares, ranges, puts, deletes) and revision; `txns` counts the calls. */
class FakeEtcd {
  readonly keys = new Map<string, Stored>();
  revision = 1;
  txns = 0;

  put(key: string, value: string): void {
    this.revision++;
    this.keys.set(key, { value: Buffer.from(value), mod: this.revision, version: (this.keys.get(key)?.version ?? 0) + 1 });
  }

  readonly txn = (request: ITxnRequest): Promise<ITxnResponse> => {
    this.txns++;
    // etcd's --max-txn-ops (default 128) bounds compares and each branch's operations.
    if ([request.compare, request.success, request.failure].some((list) => (list?.length ?? 0) > 128)) {
      return Promise.reject(new Error('etcdserver: too many operations in txn request'));
    }
    const succeeded = (request.compare ?? []).every((c) => this.#holds(c));
    const ops = (succeeded ? request.success : request.failure) ?? [];
    const writes = ops.some((op) => op.request_put || op.request_delete_range);
    const revision = writes ? this.revision + 1 : this.revision;
    const responses = ops.map((op) => this.#apply(op, revision));
    this.revision = revision;
    return Promise.resolve({ header: { revision: String(revision) }, succeeded, responses } as unknown as ITxnResponse);
  };

  /** What a mirror that listed now would hold of UPDATE's keys. */
  view(): MirrorValues {
    const values = new MirrorValues(updateKeys(PREFIX));
    const changes = [...this.keys].map(([key, s]) => ({ type: 'put' as const, key, value: s.value, lease: undefined, leaseTtl: undefined, modRevision: s.mod }));
    values.apply({ reset: true, changes, revision: this.revision });
    return values;
  }

  #range(key: Buffer | string, end: Buffer | string | undefined): [string, Stored][] {
    const [k, e] = [String(key), end === undefined ? undefined : String(end)];
    return [...this.keys].filter(([x]) => (e === undefined ? x === k : x >= k && x < e)).sort(([x], [y]) => (x < y ? -1 : 1));
  }

  #holds(c: ICompare): boolean {
    const target = Number(c.mod_revision);
    if (c.range_end === undefined) {
      const mod = this.keys.get(String(c.key))?.mod ?? 0;
      return c.result === 'Equal' ? mod === target : mod < target;
    }
    expect(c.result).toBe('Less');
    return this.#range(c.key!, c.range_end).every(([, s]) => s.mod < target);
  }

  #apply(op: IRequestOp, revision: number): unknown {
    if (op.request_range) {
      const kvs = this.#range(op.request_range.key!, op.request_range.range_end).map(
        ([key, s]): Partial<IKeyValue> => ({ key: Buffer.from(key), value: s.value, mod_revision: String(s.mod), version: String(s.version), lease: '0' }),
      );
      return { response_range: { kvs } };
    }
    if (op.request_put) {
      const key = String(op.request_put.key);
      this.keys.set(key, { value: Buffer.from(op.request_put.value!), mod: revision, version: (this.keys.get(key)?.version ?? 0) + 1 });
      return { response_put: {} };
    }
    this.keys.delete(String(op.request_delete_range!.key));
    return { response_delete_range: {} };
  }
}

function writer(etcd: FakeEtcd, view: () => MirrorValues | undefined): UpdateWriter {
  return new UpdateWriter({ txn: etcd.txn, prefix: PREFIX, view, lease: { grant: () => Promise.reject(new Error('no leases here')), min: 5, max: 60 } });
}

/** "Replace www's A RRset with `address`", as bench/update.mjs sends it. */
const replaceA = (address: string) => message([], [rr(WWW, RRType.A, RRClass.ANY), rr(WWW, RRType.A, RRClass.IN, 300, a(address))]);

describe('UpdateWriter', () => {
  it('with a current mirror, commits an UPDATE in one etcd transaction', async () => {
    const etcd = new FakeEtcd();
    etcd.put(keyOf(a('192.0.2.1')), recordValue(a('192.0.2.1'), 300));
    const view = etcd.view();
    const outcome = await writer(etcd, () => view).write(ZONE, replaceA('192.0.2.2'));
    expect(outcome).toMatchObject({ kind: 'done', written: 2, attempts: 1 });
    expect(etcd.txns).toBe(1);
    expect([...etcd.keys.keys()]).toEqual([keyOf(a('192.0.2.2'))]);
  });

  it('without a listed mirror, reads etcd first (two transactions)', async () => {
    const etcd = new FakeEtcd();
    etcd.put(keyOf(a('192.0.2.1')), recordValue(a('192.0.2.1'), 300));
    for (const [view, address] of [[undefined, '192.0.2.2'], [new MirrorValues(updateKeys(PREFIX)), '192.0.2.3']] as const) {
      etcd.txns = 0;
      const outcome = await writer(etcd, () => view).write(ZONE, replaceA(address));
      expect(outcome).toMatchObject({ kind: 'done', written: 2, attempts: 1 });
      expect(etcd.txns).toBe(2);
    }
    expect([...etcd.keys.keys()]).toEqual([keyOf(a('192.0.2.3'))]);
  });

  it('with a mirror behind etcd, commits nothing it judged from the mirror: the failed compare’s read decides', async () => {
    const etcd = new FakeEtcd();
    const view = etcd.view(); // www holds nothing here
    etcd.put(keyOf(a('192.0.2.1')), recordValue(a('192.0.2.1'), 300)); // another replica added an A since
    // "nxrrset www A; add www A 192.0.2.9": true in the mirror, false in etcd.
    const outcome = await writer(etcd, () => view).write(ZONE, message([rr(WWW, RRType.A, RRClass.NONE)], [rr(WWW, RRType.A, RRClass.IN, 300, a('192.0.2.9'))]));
    expect(outcome).toMatchObject({ kind: 'refused', verdict: { rcode: YXRRSET } });
    expect(etcd.txns).toBe(1); // the commit's failure branch was the read
    expect([...etcd.keys.keys()]).toEqual([keyOf(a('192.0.2.1'))]);
  });

  it('with a mirror behind etcd, a deletion since is caught too, and the update applied to what etcd holds', async () => {
    const etcd = new FakeEtcd();
    etcd.put(keyOf(a('192.0.2.1')), recordValue(a('192.0.2.1'), 300));
    const view = etcd.view();
    etcd.keys.delete(keyOf(a('192.0.2.1'))); // deleted since (etcd's range compare cannot see that: the key compare does)
    etcd.revision++;
    const outcome = await writer(etcd, () => view).write(ZONE, replaceA('192.0.2.4'));
    expect(outcome).toMatchObject({ kind: 'done', written: 1, attempts: 1 });
    expect(etcd.txns).toBe(2);
    expect([...etcd.keys.keys()]).toEqual([keyOf(a('192.0.2.4'))]);
  });

  it('confirms with etcd a refusal or a no-op judged from the mirror before answering it', async () => {
    const etcd = new FakeEtcd();
    etcd.put(keyOf(a('192.0.2.1')), recordValue(a('192.0.2.1'), 300));
    const stale = etcd.view(); // holds www A
    etcd.keys.delete(keyOf(a('192.0.2.1')));
    etcd.revision++;
    const current = etcd.view();
    const nxrrset = message([rr(WWW, RRType.A, RRClass.NONE)], [rr(WWW, RRType.A, RRClass.IN, 300, a('192.0.2.5'))]);
    // Current mirror: the prerequisite holds, one transaction writes.
    // Stale mirror: it says YXRRSET; the confirming transaction finds the A gone, and the update goes in.
    for (const [view, txns] of [[stale, 2], [current, 1]] as const) {
      etcd.keys.clear();
      etcd.txns = 0;
      expect(await writer(etcd, () => view).write(ZONE, nxrrset)).toMatchObject({ kind: 'done', written: 1 });
      expect(etcd.txns).toBe(txns);
    }
    // A refusal confirmed: one compare-only transaction besides nothing written.
    etcd.txns = 0;
    const now = etcd.view();
    expect(await writer(etcd, () => now).write(ZONE, nxrrset)).toMatchObject({ kind: 'refused', verdict: { rcode: YXRRSET } });
    expect(etcd.txns).toBe(1);
  });

  it('answers a refusal whose confirmation would exceed etcd’s 128 compares from an etcd read instead', async () => {
    const etcd = new FakeEtcd();
    for (let i = 0; i < 130; i++) etcd.put(keyOf(a(`192.0.2.${i}`)), recordValue(a(`192.0.2.${i}`), 300));
    const view = etcd.view();
    const outcome = await writer(etcd, () => view).write(ZONE, message([rr(WWW, RRType.A, RRClass.NONE)], []));
    expect(outcome).toMatchObject({ kind: 'refused', verdict: { rcode: YXRRSET } });
    expect(etcd.txns).toBe(1);
  });

  it('gives up with SERVFAIL when every attempt meets a concurrent write, counting the mirror’s not among them', async () => {
    const etcd = new FakeEtcd();
    const view = etcd.view();
    const txn = etcd.txn;
    const meddling = new UpdateWriter({
      txn: (request) => {
        etcd.put(`${PREFIX}/test/example/www/_rr-a-000000000000000${etcd.txns % 10}`, recordValue(a('192.0.2.7'), 300));
        return txn(request);
      },
      prefix: PREFIX,
      view: () => view,
      maxAttempts: 3,
      lease: { grant: () => Promise.reject(new Error('no leases here')), min: 5, max: 60 },
    });
    expect(await meddling.write(ZONE, replaceA('192.0.2.8'))).toMatchObject({ kind: 'refused', verdict: { rcode: Rcode.SERVFAIL }, attempts: 3 });
    expect(etcd.txns).toBe(4);
  });
});

describe('updateKeys', () => {
  it('keeps record keys and keys under arpa, nothing else', () => {
    const keep = updateKeys(PREFIX);
    const kept = (key: string) => keep(key, key.lastIndexOf('/'));
    expect(kept('/skydns/test/example/www/_rr-a-0123456789abcdef')).toBe(true);
    expect(kept('/skydns/arpa/in-addr/192/0/2/10')).toBe(true);
    expect(kept('/skydns/test/example/www')).toBe(false);
    expect(kept('/skydns/test/example/_rr')).toBe(false);
    expect(kept('/skydns/arpax/y')).toBe(false);
  });
});

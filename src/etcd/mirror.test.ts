import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Etcd3, IRangeRequest, IRangeResponse, IWatchResponse } from 'etcd3';
import { ManualClock } from '../../test/support/clock.js';
import { isEtcdnsError } from '../errors.js';
import type { KeyPut, MirrorBatch } from './changes.js';
import { EtcdMirror } from './mirror.js';
import type { MirrorState } from './mirror-status.js';

// ---------------------------------------------------------------------------------------------
// EtcdMirror against a fake etcd3 client and a hand-driven clock.

/** The hand-driven clock, letting promises settle before and between the timers it runs. */
class FakeClock extends ManualClock {
  constructor() {
    super(1000);
  }

  /** Moves time forward, running due timers in order and letting promises settle between them. */
  override async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      if (!this.runDue(end)) break;
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

class FakeWatcher extends EventEmitter {
  cancelled = false;
  readonly request: { start_revision: string | number };
  constructor(start: string) {
    super();
    this.request = { start_revision: start };
  }
  cancel = vi.fn(async () => {
    this.cancelled = true;
  });
  get start(): number {
    return Number(this.request.start_revision);
  }
}

interface FakeKv {
  key: string;
  value: string;
  mod: number;
  version: number;
  lease?: string;
}

const header = (revision: number, cluster = 'c1') => ({ revision: String(revision), cluster_id: cluster, member_id: 'm', raft_term: '1' });
const ikv = (k: FakeKv) => ({
  key: Buffer.from(k.key),
  value: Buffer.from(k.value),
  mod_revision: String(k.mod),
  create_revision: String(k.mod),
  version: String(k.version),
  lease: k.lease ?? '0',
});

/** The index of the first of the byte-sorted `kvs` at or after `key`. */
function firstAtOrAfter(kvs: readonly [Buffer, FakeKv][], key: Buffer): number {
  let [lo, hi] = [0, kvs.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(kvs[mid]![0], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A fake etcd: a key map at one revision for ranges, and watchers the test drives. */
class FakeEtcd {
  revision = 10;
  cluster = 'c1';
  keys = new Map<string, FakeKv>();
  readonly watchers: FakeWatcher[] = [];
  readonly ranges: IRangeRequest[] = [];
  /** Clock time of each range request, when the test gives the fake a clock. */
  readonly rangeTimes: number[] = [];
  clock: FakeClock | undefined;
  rangeError: Error | undefined;
  /** Pages asked with a larger limit miss their deadline (a loaded etcd). */
  maxLimit: number | undefined;
  leaseTtl: (id: string) => Promise<string> = async () => '30';
  readonly leaseCalls: string[] = [];

  readonly client = {
    kv: {
      range: async (req: IRangeRequest): Promise<IRangeResponse> => {
        this.ranges.push(req);
        if (this.clock) this.rangeTimes.push(this.clock.t);
        if (this.rangeError) throw this.rangeError;
        if (this.maxLimit !== undefined && Number(req.limit) > this.maxLimit) throw new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.002s');
        const start = Buffer.from(req.key!);
        const end = Buffer.from(req.range_end!);
        const sorted = this.sorted();
        const [from, to] = [firstAtOrAfter(sorted, start), firstAtOrAfter(sorted, end)];
        const count = to - from;
        const limit = Number(req.limit ?? 0) || count;
        return {
          header: header(this.revision, this.cluster),
          kvs: sorted.slice(from, from + Math.min(limit, count)).map(([, k]) => ikv(k)),
          more: count > limit,
          count: String(count),
        } as unknown as IRangeResponse;
      },
    },
    leaseClient: {
      leaseTimeToLive: async ({ ID }: { ID: string }) => {
        this.leaseCalls.push(ID);
        return { grantedTTL: await this.leaseTtl(ID), TTL: '1', ID, header: header(this.revision) };
      },
    },
    watch: () => {
      let start = '0';
      const builder = {
        prefix: () => builder,
        withPreviousKV: () => builder,
        startRevision: (r: string) => ((start = r), builder),
        watcher: () => {
          const w = new FakeWatcher(start);
          this.watchers.push(w);
          return w;
        },
      };
      return builder;
    },
  };

  /**
   * The keys in etcd's order (bytes), sorted once per change of the map: the paging tests list
   * 210,000 keys in dozens of pages, and sorting them anew per page (a Buffer per comparison) took
   * tens of seconds when test files ran side by side.
   */
  #sorted: { size: number; revision: number; kvs: [Buffer, FakeKv][] } | undefined;
  sorted(): [Buffer, FakeKv][] {
    if (this.#sorted?.size !== this.keys.size || this.#sorted.revision !== this.revision) {
      const kvs = [...this.keys.values()].map((k): [Buffer, FakeKv] => [Buffer.from(k.key), k]).sort((a, b) => Buffer.compare(a[0], b[0]));
      this.#sorted = { size: this.keys.size, revision: this.revision, kvs };
    }
    return this.#sorted.kvs;
  }

  get watcher(): FakeWatcher {
    return this.watchers[this.watchers.length - 1]!;
  }

  set(key: string, value: string, lease?: string): FakeKv {
    const old = this.keys.get(key);
    const k: FakeKv = { key, value, mod: ++this.revision, version: (old?.version ?? 0) + 1, ...(lease ? { lease } : {}) };
    this.keys.set(key, k);
    return k;
  }

  /** A watch response for `events` (puts of FakeKv, or deletes as [key, rev, prevMod]). */
  response(events: ({ put: FakeKv; prev?: number } | { del: string; rev: number; prev?: number })[], headerRev?: number): IWatchResponse {
    return {
      header: header(headerRev ?? this.revision, this.cluster),
      watch_id: '1',
      created: false,
      canceled: false,
      compact_revision: '0',
      cancel_reason: '',
      fragment: false,
      events: events.map((e) =>
        'put' in e
          ? { type: 'Put', kv: ikv(e.put), prev_kv: e.prev !== undefined ? ikv({ ...e.put, mod: e.prev }) : undefined }
          : { type: 'Delete', kv: ikv({ key: e.del, value: '', mod: e.rev, version: 0 }), prev_kv: e.prev !== undefined ? ikv({ key: e.del, value: '', mod: e.prev, version: 1 }) : undefined },
      ),
    } as unknown as IWatchResponse;
  }
}

function setup(options: { pageSize?: number; random?: () => number; onBatch?: (b: MirrorBatch) => void } = {}) {
  const etcd = new FakeEtcd();
  const clock = new FakeClock();
  etcd.clock = clock;
  const batches: MirrorBatch[] = [];
  const states: MirrorState[] = [];
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void logs.push(JSON.parse(l) as { level: number; msg: string }) });
  const mirror = new EtcdMirror({
    client: etcd.client as unknown as Etcd3,
    prefix: '/p/',
    logger,
    clock,
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    ...(options.random !== undefined ? { random: options.random } : {}),
    onBatch: (b) => {
      batches.push(b);
      options.onBatch?.(b);
    },
    onState: (s) => states.push(s),
  });
  const summary = () => batches.map((b) => `${b.reset ? 'reset' : 'batch'}@${b.revision}: ${b.changes.map((c) => `${c.type === 'put' ? '+' : '-'}${c.key}`).join(' ')}`);
  return { etcd, clock, mirror, batches, states, logs, summary };
}

/** Started and synced, watching from R+1. */
async function started(options: Parameters<typeof setup>[0] = {}) {
  const t = setup(options);
  t.mirror.start();
  await t.clock.advance(0);
  await t.mirror.synced();
  t.etcd.watcher.emit('connected', { header: header(t.etcd.revision) });
  return t;
}

describe('EtcdMirror (fake etcd)', () => {
  it('without a pageSize, lists in pages of 10,000 keys, and past 200,000 keys sizes the pages after the first to ~4 MiB by the bytes per key', async () => {
    const small = setup();
    for (let i = 0; i < 30_000; i++) small.etcd.set(`/p/k${String(i).padStart(6, '0')}`, 'v');
    small.mirror.start();
    await small.clock.advance(0);
    expect(small.etcd.ranges.map((r) => Number(r.limit))).toEqual([10_000, 10_000, 10_000]);
    await small.mirror.stop();
    const t = setup();
    // 210,000 keys of 100 bytes (key + value): 4 MiB / 100 bytes would be 41,943 keys per page.
    const value = 'v'.repeat(100 - '/p/k000000'.length);
    for (let i = 0; i < 210_000; i++) t.etcd.set(`/p/k${String(i).padStart(6, '0')}`, value);
    t.mirror.start();
    await t.clock.advance(0);
    expect(t.etcd.ranges.map((r) => Number(r.limit))).toEqual([10_000, 41_943, 41_943, 41_943, 41_943, 41_943]);
    expect(t.batches[0]!.changes).toHaveLength(210_000);
    await t.mirror.stop();
  });

  it('asks a page that missed its deadline again at half the size, and keeps that size', async () => {
    const t = setup();
    t.etcd.maxLimit = 12_000;
    for (let i = 0; i < 210_000; i++) t.etcd.set(`/p/k${String(i).padStart(6, '0')}`, 'v');
    t.mirror.start();
    await t.clock.advance(0);
    // 10,000, then 50,000 (small keys) misses, 25,000 misses, 12,500 misses, 6,250 is served.
    expect(t.etcd.ranges.map((r) => Number(r.limit))).toEqual([10_000, 50_000, 25_000, 12_500, ...Array<number>(32).fill(6250)]);
    expect(t.batches[0]!.changes.map((c) => c.key)).toEqual([...t.etcd.keys.keys()].sort());
    expect(t.mirror.state.relists).toBe(0);
    await t.mirror.stop();
  });

  it('does not grow pages past 50,000 keys', async () => {
    const small = setup();
    for (let i = 0; i < 200_001; i++) small.etcd.set(`/p/${i}`, '');
    small.mirror.start();
    await small.clock.advance(0);
    expect(small.etcd.ranges.map((r) => Number(r.limit))).toEqual([10_000, 50_000, 50_000, 50_000, 50_000]);
    await small.mirror.stop();
  });


  it('lists in pages pinned to the first page revision, in one reset batch, then watches from R+1', async () => {
    const t = setup({ pageSize: 3 });
    for (let i = 0; i < 10; i++) t.etcd.set(`/p/k${i}`, `v${i}`);
    t.etcd.set('/p0', 'outside the prefix');
    const R = t.etcd.revision;
    t.mirror.start();
    await t.clock.advance(0);
    expect(t.etcd.ranges).toHaveLength(4);
    expect(t.etcd.ranges[0]!.revision).toBeUndefined();
    expect(t.etcd.ranges.slice(1).map((r) => Number(r.revision))).toEqual([R, R, R]);
    expect(t.etcd.ranges.map((r) => Number(r.limit))).toEqual([3, 3, 3, 3]);
    // No sort options: etcd would then read the whole range for every page.
    expect(t.etcd.ranges.every((r) => r.sort_order === undefined && r.sort_target === undefined)).toBe(true);
    expect(Buffer.from(t.etcd.ranges[1]!.key!).toString()).toBe('/p/k2\0');
    expect(t.batches).toHaveLength(1);
    expect(t.batches[0]!.reset).toBe(true);
    expect(t.batches[0]!.revision).toBe(R);
    expect(t.batches[0]!.changes.map((c) => c.key)).toEqual([...Array(10).keys()].map((i) => `/p/k${i}`));
    expect(t.etcd.watcher.start).toBe(R + 1);
    expect(t.mirror.state).toMatchObject({ synced: true, connected: true, revision: R, keys: 10, relists: 0, lastSyncAt: 1000 });
  });

  it('coalesces events arriving in one macrotask into one batch', async () => {
    const t = await started();
    const a = t.etcd.set('/p/a', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }]));
    const b = t.etcd.set('/p/b', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: b }]));
    await t.clock.advance(0);
    const c = t.etcd.set('/p/c', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: c }]));
    await t.clock.advance(0);
    expect(t.summary().slice(1)).toEqual([`batch@${b.mod}: +/p/a +/p/b`, `batch@${c.mod}: +/p/c`]);
    expect(t.mirror.state).toMatchObject({ revision: c.mod, keys: 3, lastEventAt: t.clock.t });
  });

  it('resumes a dropped watch from its own applied revision, not etcd3\'s header revision, and drops replays', async () => {
    const t = await started();
    const first = t.etcd.watcher;
    const a = t.etcd.set('/p/a', '1');
    const b = t.etcd.set('/p/b', '1');
    t.etcd.set('/p/c', '1');
    // The hazard: the response announces revision 13 while only 11 has arrived so far.
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }], 13));
    await t.clock.advance(0);
    expect(t.mirror.state.revision).toBe(a.mod);
    first.emit('disconnected', new Error('14 UNAVAILABLE: Connection dropped'));
    first.emit('disconnected', new Error('stream ended')); // etcd3 emits it twice
    expect(first.cancelled).toBe(true);
    expect(t.mirror.state.connected).toBe(false);
    expect(t.mirror.state.disconnectedSince).toBe(t.clock.t);
    await t.clock.advance(1000);
    expect(t.etcd.watchers).toHaveLength(2);
    const second = t.etcd.watcher;
    expect(second.start).toBe(a.mod + 1);
    // etcd3 would rewrite start_revision from headers before re-sending: pinned back.
    second.request.start_revision = '14';
    second.emit('connecting', second.request);
    expect(second.start).toBe(a.mod + 1);
    second.emit('connected', { header: header(t.etcd.revision) });
    expect(t.mirror.state.connected).toBe(true);
    // Events from the old watcher are ignored; the new one replays a (dropped) and b.
    first.emit('data', t.etcd.response([{ put: t.etcd.keys.get('/p/c')! }]));
    second.emit('data', t.etcd.response([{ put: a }, { put: b }]));
    await t.clock.advance(0);
    expect(t.summary().slice(1)).toEqual([`batch@${a.mod}: +/p/a`, `batch@${b.mod}: +/p/b`]);
    expect(t.batches.length).toBe(3);
  });

  it('keeps the data while etcd is down, logging one warning per 30 s however many attempts fail', async () => {
    const t = await started();
    const warnings = () => t.logs.filter((l) => l.level === 40).map((l) => l.msg);
    for (let i = 0; i < 20; i++) {
      t.etcd.watcher.emit('disconnected', new Error('ECONNREFUSED'));
      await t.clock.advance(1000);
      expect(t.etcd.watcher.cancelled).toBe(false); // a fresh attempt each time
    }
    expect(warnings()).toEqual(['etcd unreachable; serving the last good data']);
    for (let i = 0; i < 11; i++) {
      t.etcd.watcher.emit('disconnected', new Error('ECONNREFUSED'));
      await t.clock.advance(1000);
    }
    expect(warnings()).toEqual(['etcd unreachable; serving the last good data', 'etcd still unreachable']);
    expect(t.batches).toHaveLength(1);
    // Never more than 1 s between attempts.
    expect(t.etcd.watchers.length).toBe(32);
    t.etcd.watcher.emit('connected', { header: header(t.etcd.revision) });
    expect(t.mirror.state).toMatchObject({ connected: true, disconnectedSince: undefined });
    expect(t.logs.at(-1)!.msg).toBe('etcd reachable again');
  });

  it('re-lists on a watch error (compaction) and watches from the new R+1', async () => {
    const t = await started();
    const old = t.etcd.watcher;
    t.etcd.set('/p/x', '1');
    const R2 = t.etcd.revision;
    old.emit('error', new Error('Watcher canceled: '));
    await t.clock.advance(0);
    expect(t.summary()).toEqual(['reset@10: ', `reset@${R2}: +/p/x`]);
    expect(t.mirror.state.relists).toBe(1);
    expect(t.logs.filter((l) => l.level === 30 && /^etcd (synced|re-listed)$/.test(String(l.msg))).map((l) => { const line = l as { msg: string; keys?: number; revision?: number }; return [line.msg, line.keys, line.revision]; })).toEqual([
      ['etcd synced', 0, 10],
      ['etcd re-listed', 1, R2],
    ]);
    expect(t.etcd.watcher).not.toBe(old);
    expect(t.etcd.watcher.start).toBe(R2 + 1);
    // A late error of the old watcher does nothing (and, being listened to, crashes nothing).
    old.emit('error', new Error('Watcher canceled: '));
    await t.clock.advance(0);
    expect(t.mirror.state.relists).toBe(1);
  });

  it('re-lists on a gap in the event stream instead of applying it', async () => {
    const t = await started();
    t.etcd.set('/p/a', '1');
    const a2 = t.etcd.set('/p/a', '2'); // version 2 of a key the mirror never saw created
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a2, prev: a2.mod - 1 }]));
    await t.clock.advance(0);
    expect(t.summary()).toEqual(['reset@10: ', `reset@${a2.mod}: +/p/a`]);
    expect(t.mirror.state.relists).toBe(1);
  });

  it('re-lists when the cluster was replaced or rolled back', async () => {
    const t = await started();
    t.etcd.cluster = 'c2';
    t.etcd.watcher.emit('connected', { header: header(t.etcd.revision, 'c2') });
    await t.clock.advance(0);
    expect(t.mirror.state.relists).toBe(1);
    t.etcd.watcher.emit('connected', { header: header(t.etcd.revision, 'c2') });
    // Restored from an older snapshot: the revision went backwards.
    t.etcd.revision = 3;
    t.etcd.watcher.emit('disconnected', new Error('down'));
    await t.clock.advance(1000);
    t.etcd.watcher.emit('connected', { header: header(3, 'c2') });
    await t.clock.advance(0);
    expect(t.mirror.state.relists).toBe(2);
    expect(t.mirror.state.revision).toBe(3);
  });

  it('looks a lease TTL up once per lease, fills it, and emits undefined when the lookup fails or hangs', async () => {
    const t = await started();
    const a = t.etcd.set('/p/a', '1', '77');
    const b = t.etcd.set('/p/b', '1', '77');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }, { put: b }]));
    await t.clock.advance(0);
    const c = t.etcd.set('/p/c', '1', '77');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: c }]));
    await t.clock.advance(0);
    expect(t.etcd.leaseCalls).toEqual(['77']);
    expect(t.batches.slice(1).flatMap((x) => x.changes).map((x) => (x as KeyPut).leaseTtl)).toEqual([30, 30, 30]);

    t.etcd.leaseTtl = async () => {
      throw new Error('UNAVAILABLE');
    };
    const d = t.etcd.set('/p/d', '1', '88');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: d }]));
    await t.clock.advance(0);
    expect(t.batches.at(-1)!.changes[0]).toMatchObject({ key: '/p/d', lease: '88', leaseTtl: undefined });

    t.etcd.leaseTtl = () => new Promise(() => undefined); // never answers
    const e = t.etcd.set('/p/e', '1', '99');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: e }]));
    await t.clock.advance(0);
    expect(t.batches.at(-1)!.changes[0]!.key).toBe('/p/d'); // held back while looking up...
    await t.clock.advance(2000);
    expect(t.batches.at(-1)!.changes[0]).toMatchObject({ key: '/p/e', leaseTtl: undefined }); // ...but not for long
  });

  it('drops a batch still waiting for a lease lookup when a re-list starts, without delaying the reset', async () => {
    const t = await started();
    let answer: (ttl: string) => void = () => undefined;
    t.etcd.leaseTtl = () => new Promise((resolve) => (answer = resolve));
    const a = t.etcd.set('/p/a', '1', '5');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }]));
    await t.clock.advance(0);
    // The key is gone by the time of the re-list, so the reset needs no lookup: it must not
    // wait for the stale batch's.
    t.etcd.keys.delete('/p/a');
    t.etcd.revision++;
    t.etcd.watcher.emit('error', new Error('Watcher canceled: '));
    await t.clock.advance(0);
    expect(t.summary()).toEqual(['reset@10: ', `reset@${t.etcd.revision}: `]);
    answer('30');
    await t.clock.advance(0);
    expect(t.batches).toHaveLength(2);
  });

  it('holds a batch that needs no lookup behind one still waiting for a lease lookup, so batches stay in revision order', async () => {
    const t = await started();
    let answer: (ttl: string) => void = () => undefined;
    t.etcd.leaseTtl = () => new Promise((resolve) => (answer = resolve));
    const a = t.etcd.set('/p/a', '1', '5');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }]));
    await t.clock.advance(0);
    const b = t.etcd.set('/p/b', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: b }]));
    await t.clock.advance(0);
    expect(t.summary()).toEqual(['reset@10: ']); // b's batch needs nothing, but a's goes first
    answer('30');
    await t.clock.advance(0);
    expect(t.summary()).toEqual(['reset@10: ', `batch@${a.mod}: +/p/a`, `batch@${b.mod}: +/p/b`]);
    // Nothing queued any more: the next batch without a new lease goes straight through.
    const c = t.etcd.set('/p/c', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: c }]));
    await t.clock.advance(0);
    expect(t.summary().at(-1)).toBe(`batch@${c.mod}: +/p/c`);
  });

  it('retries a failing first list with capped backoff, and synced() resolves when it succeeds', async () => {
    // Jitter at its top: the plain delays, 50 ms doubling to 1 s.
    const t = setup({ random: () => 1 });
    t.etcd.rangeError = new Error('14 UNAVAILABLE: No connection established');
    t.mirror.start();
    let synced = false;
    void t.mirror.synced().then(() => (synced = true));
    await t.clock.advance(10_000);
    const gaps = t.etcd.rangeTimes.slice(1).map((at, i) => at - t.etcd.rangeTimes[i]!);
    expect(gaps).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    expect(t.mirror.state).toMatchObject({ connected: false, synced: false, disconnectedSince: 1000 });
    // No data yet: the warning must not promise "the last good data".
    expect(t.logs.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(['etcd unreachable; its zones answer SERVFAIL until the first sync']);
    t.etcd.rangeError = undefined;
    await t.clock.advance(1000);
    expect(synced).toBe(true);
    expect(t.mirror.state).toMatchObject({ connected: true, synced: true, relists: 0 });
    expect(t.logs.filter((l) => l.level === 30 && l.msg === 'etcd synced')).toEqual([expect.objectContaining({ keys: expect.any(Number), revision: expect.any(Number), ms: expect.any(Number) })]);
  });

  it('with jitter at its bottom waits half the plain delay, and starts over after a success', async () => {
    const t = await started({ random: () => 0 });
    const watchAt: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = t.etcd.watchers.length;
      const from = t.clock.t;
      t.etcd.watcher.emit('disconnected', new Error('ECONNREFUSED'));
      while (t.etcd.watchers.length === before) await t.clock.advance(1);
      watchAt.push(t.clock.t - from);
    }
    expect(watchAt).toEqual([25, 50, 100, 200]);
    t.etcd.watcher.emit('connected', { header: header(t.etcd.revision) });
    const from = t.clock.t;
    t.etcd.watcher.emit('disconnected', new Error('ECONNREFUSED'));
    const before = t.etcd.watchers.length;
    while (t.etcd.watchers.length === before) await t.clock.advance(1);
    expect(t.clock.t - from).toBe(25);
  });

  it('restarts a list that hits a compaction between pages', async () => {
    const t = setup({ pageSize: 1 });
    t.etcd.set('/p/a', '1');
    t.etcd.set('/p/b', '1');
    const range = t.etcd.client.kv.range;
    let calls = 0;
    t.etcd.client.kv.range = async (req) => {
      if (++calls === 2) throw new Error('etcdserver: mvcc: required revision has been compacted');
      return range(req);
    };
    t.mirror.start();
    await t.clock.advance(0);
    expect(t.summary()).toEqual(['reset@12: +/p/a +/p/b']);
    expect(t.mirror.state.connected).toBe(true);
  });

  it('survives a throwing onBatch', async () => {
    const t = await started({
      onBatch: (b) => {
        if (!b.reset) throw new Error('consumer bug');
      },
    });
    const a = t.etcd.set('/p/a', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }]));
    await t.clock.advance(0);
    const b = t.etcd.set('/p/b', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: b }]));
    await t.clock.advance(0);
    expect(t.batches).toHaveLength(3);
    expect(t.logs.some((l) => l.msg === 'etcd mirror onBatch threw')).toBe(true);
  });

  it('stop() cancels the watch and every timer, emits nothing more, and rejects a pending synced()', async () => {
    const t = await started();
    const a = t.etcd.set('/p/a', '1');
    t.etcd.watcher.emit('data', t.etcd.response([{ put: a }]));
    t.etcd.watcher.emit('disconnected', new Error('x'));
    await t.mirror.stop();
    expect(t.clock.timers.size).toBe(0);
    expect(t.etcd.watcher.cancelled).toBe(true);
    await t.clock.advance(5000);
    expect(t.batches).toHaveLength(1);

    const cold = setup();
    cold.etcd.rangeError = new Error('down');
    cold.mirror.start();
    await cold.clock.advance(0);
    await cold.mirror.stop();
    const rejection: unknown = await cold.mirror.synced().catch((err: unknown) => err);
    expect(isEtcdnsError(rejection, 'ETCDNS_ERR_ETCD_MIRROR_STOPPED')).toBe(true);
    expect((rejection as Error).message).toBe('etcd mirror stopped before the first sync');
    expect(cold.clock.timers.size).toBe(0);
    expect(() => cold.mirror.start()).toThrow(expect.objectContaining({ code: 'ETCDNS_ERR_ETCD_MIRROR_STOPPED', message: 'etcd mirror: start() after stop()' }));
  });

  it('validates pageSize', () => {
    expect(() => setup({ pageSize: 0 })).toThrow(expect.objectContaining({ code: 'ETCDNS_ERR_ETCD_OPTIONS', message: 'etcd mirror: pageSize must be a positive integer, got 0' }));
    expect(() => setup({ pageSize: 1.5 })).toThrow(/pageSize must be a positive integer, got 1.5/);
  });
});

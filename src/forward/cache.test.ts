import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { buildQuery, TYPE } from '../../test/support/packets.js';
import { systemClock, type Clock } from '../clock.js';
import { Flag, Rcode, RRType } from '../dns/constants.js';
import { decodeQuery, type Query } from '../wire/query.js';
import { inspectUpstreamReply, type StoredReply } from '../wire/relay.js';
import { cacheKey, cacheTtlSeconds, FAILURE_RECHECK_MS, ReplyCache, type FetchResult } from './cache.js';
import type { ForwardCacheOptions } from './types.js';

const { Packet } = dns2;

/** `now` moves only when the test says so; timers are real (none are used by the cache). */
class ManualClock implements Clock {
  // Not 0: lru-cache treats a start time of 0 as "no TTL".
  t = 1_000_000;
  now = (): number => this.t;
  setTimeout = systemClock.setTimeout;
  clearTimeout = systemClock.clearTimeout;
  setInterval = systemClock.setInterval;
  clearInterval = systemClock.clearInterval;
  setImmediate = systemClock.setImmediate;
  clearImmediate = systemClock.clearImmediate;
  advance(ms: number): void {
    this.t += ms;
  }
}

function reply(spec: { rcode?: number; ttl?: number; answers?: number; soa?: { ttl: number; minimum: number } }): StoredReply {
  const p = new Packet();
  p.header = new Packet.Header({ id: 1, qr: 1, rd: 1, ra: 1, rcode: spec.rcode ?? 0 });
  p.questions.push({ name: 'www.example.test', type: TYPE.A, class: 1 } as never);
  for (let i = 0; i < (spec.answers ?? 1); i++) {
    p.answers.push({ name: 'www.example.test', type: TYPE.A, class: 1, ttl: spec.ttl ?? 60, address: `192.0.2.${i + 1}` } as never);
  }
  if (spec.soa) {
    p.authorities.push({
      name: 'example.test',
      type: TYPE.SOA,
      class: 1,
      ttl: spec.soa.ttl,
      primary: 'ns.example.test',
      admin: 'h.example.test',
      serial: 1,
      refresh: 1,
      retry: 1,
      expiration: 1,
      minimum: spec.soa.minimum,
    } as never);
  }
  const bytes = p.toBuffer();
  const info = inspectUpstreamReply(bytes, { id: 1, name: 'www.example.test', type: RRType.A, class: 1 });
  if ('error' in info) throw new Error(info.error);
  return { bytes, info };
}

const limits: ForwardCacheOptions = { maxEntries: 100, maxBytes: 1 << 20, maxTtlSeconds: 3600, maxNegativeTtlSeconds: 300, staleSeconds: 600 };

function setup(options: { limits?: Partial<ForwardCacheOptions> } = {}) {
  const clock = new ManualClock();
  let next: () => Promise<FetchResult> = async () => ({ ok: true, reply: reply({}) });
  let calls = 0;
  const cache = new ReplyCache<{ tag: string }>({
    limits: { ...limits, ...options.limits },
    clock,
    fetch: () => {
      calls++;
      return next();
    },
  });
  return {
    clock,
    cache,
    get calls() {
      return calls;
    },
    answer(r: StoredReply | (() => Promise<FetchResult>)) {
      next = typeof r === 'function' ? r : async () => ({ ok: true, reply: r });
    },
    fail() {
      next = async () => ({ ok: false, reason: 'timeout' });
    },
  };
}

/** A promise the test resolves by hand, to hold a fetch in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('cacheTtlSeconds', () => {
  it('caches positive answers for their smallest TTL, capped', () => {
    expect(cacheTtlSeconds(reply({ ttl: 60 }).info, limits)).toBe(60);
    expect(cacheTtlSeconds(reply({ ttl: 86400 }).info, limits)).toBe(3600);
  });
  it('never caches TTL 0, SERVFAIL, REFUSED or FORMERR', () => {
    expect(cacheTtlSeconds(reply({ ttl: 0 }).info, limits)).toBeUndefined();
    for (const rcode of [Rcode.SERVFAIL, Rcode.REFUSED, Rcode.FORMERR]) {
      expect(cacheTtlSeconds(reply({ rcode, answers: 0 }).info, limits), `rcode ${rcode}`).toBeUndefined();
    }
  });
  it('caches NXDOMAIN and NODATA for the SOA minimum (RFC 2308 §5), capped, and not without an SOA', () => {
    expect(cacheTtlSeconds(reply({ rcode: Rcode.NXDOMAIN, answers: 0, soa: { ttl: 3600, minimum: 120 } }).info, limits)).toBe(120);
    expect(cacheTtlSeconds(reply({ rcode: Rcode.NXDOMAIN, answers: 0, soa: { ttl: 3600, minimum: 7200 } }).info, limits)).toBe(300);
    expect(cacheTtlSeconds(reply({ answers: 0, soa: { ttl: 40, minimum: 7200 } }).info, limits)).toBe(40);
    expect(cacheTtlSeconds(reply({ rcode: Rcode.NXDOMAIN, answers: 0 }).info, limits)).toBeUndefined();
  });
});

describe('cacheKey', () => {
  const q = (extra: { do?: boolean; cd?: boolean; name?: string }): Query => {
    const b = buildQuery({ name: extra.name ?? 'www.example.test', type: 'A', edns: { dnssecOk: extra.do ?? false } });
    if (extra.cd) b.writeUInt16BE(b.readUInt16BE(2) | Flag.CD, 2);
    const d = decodeQuery(b);
    if (d.kind !== 'query') throw new Error('not a query');
    return d.query;
  };
  it('is case-insensitive and tells DO and CD apart', () => {
    expect(cacheKey(q({ name: 'WWW.Example.TEST' }))).toBe(cacheKey(q({})));
    const keys = new Set([cacheKey(q({})), cacheKey(q({ do: true })), cacheKey(q({ cd: true })), cacheKey(q({ do: true, cd: true }))]);
    expect(keys.size).toBe(4);
  });
});

describe('ReplyCache', () => {
  it('answers from the cache until the TTL ends, to the millisecond', async () => {
    const t = setup();
    t.answer(reply({ ttl: 60 }));
    expect((await t.cache.lookup('k', { tag: 'a' })).kind).toBe('fetched');
    t.clock.advance(59_999);
    expect((await t.cache.lookup('k', { tag: 'a' })).kind).toBe('hit');
    expect(t.calls).toBe(1);
    t.clock.advance(1);
    expect((await t.cache.lookup('k', { tag: 'a' })).kind).toBe('fetched');
    expect(t.calls).toBe(2);
  });

  it('shares one upstream query among concurrent identical misses', async () => {
    const t = setup();
    const g = gate();
    t.answer(async () => {
      await g.promise;
      return { ok: true, reply: reply({ ttl: 60 }) };
    });
    const lookups = Array.from({ length: 25 }, () => t.cache.lookup('k', { tag: 'x' }));
    await new Promise((r) => setImmediate(r));
    g.open();
    const results = await Promise.all(lookups);
    expect(t.calls).toBe(1);
    expect(new Set(results.map((r) => r.kind))).toEqual(new Set(['fetched']));
    // All got the same entry object: one reply, one inspection.
    expect(new Set(results.map((r) => (r as { entry: unknown }).entry)).size).toBe(1);
  });

  it('shares one upstream query among concurrent refreshes of an expired entry', async () => {
    const t = setup();
    t.answer(reply({ ttl: 10 }));
    await t.cache.lookup('k', { tag: 'x' });
    t.clock.advance(11_000);
    const g = gate();
    t.answer(async () => {
      await g.promise;
      return { ok: true, reply: reply({ ttl: 20 }) };
    });
    const lookups = Array.from({ length: 10 }, () => t.cache.lookup('k', { tag: 'x' }));
    await new Promise((r) => setImmediate(r));
    g.open();
    const results = await Promise.all(lookups);
    expect(t.calls).toBe(2);
    expect(results.every((r) => r.kind === 'fetched' && r.entry.info.minTtl === 20)).toBe(true);
  });

  it('does not store uncacheable answers but hands them to every waiter', async () => {
    const t = setup();
    t.answer(reply({ ttl: 0 }));
    const [a, b] = await Promise.all([t.cache.lookup('k', { tag: 'x' }), t.cache.lookup('k', { tag: 'x' })]);
    expect(a.kind).toBe('uncached');
    expect(b.kind).toBe('uncached');
    expect(t.calls).toBe(1);
    expect((await t.cache.lookup('k', { tag: 'x' })).kind).toBe('uncached');
    expect(t.calls).toBe(2);
    expect(t.cache.entries).toBe(0);
  });

  it('serves stale within the window when the upstreams fail, rechecking only every 30 s, then fails (RFC 8767)', async () => {
    const t = setup({ limits: { staleSeconds: 120 } });
    t.answer(reply({ ttl: 10 }));
    await t.cache.lookup('k', { tag: 'x' });
    t.fail();
    t.clock.advance(10_000);
    const first = await t.cache.lookup('k', { tag: 'x' });
    expect(first.kind).toBe('stale');
    expect(t.calls).toBe(2);
    // Within the failure recheck time: stale at once, no upstream query.
    t.clock.advance(FAILURE_RECHECK_MS - 1);
    expect((await t.cache.lookup('k', { tag: 'x' })).kind).toBe('stale');
    expect(t.calls).toBe(2);
    t.clock.advance(1);
    expect((await t.cache.lookup('k', { tag: 'x' })).kind).toBe('stale');
    expect(t.calls).toBe(3);
    // The window ends 10 s + 120 s after the answer arrived.
    t.clock.advance(130_000 - 10_000 - FAILURE_RECHECK_MS);
    const last = await t.cache.lookup('k', { tag: 'x' });
    expect(last.kind).toBe('failed');
  });

  it('serves nothing stale when the window is 0', async () => {
    const t = setup({ limits: { staleSeconds: 0 } });
    t.answer(reply({ ttl: 10 }));
    await t.cache.lookup('k', { tag: 'x' });
    t.fail();
    t.clock.advance(10_000);
    expect((await t.cache.lookup('k', { tag: 'x' })).kind).toBe('failed');
  });

  it('forgets the stale entry once the upstream gives an uncacheable answer', async () => {
    const t = setup();
    t.answer(reply({ ttl: 10 }));
    await t.cache.lookup('k', { tag: 'x' });
    t.clock.advance(10_000);
    t.answer(reply({ rcode: Rcode.NXDOMAIN, answers: 0 })); // no SOA: not cacheable
    expect((await t.cache.lookup('k', { tag: 'x' })).kind).toBe('uncached');
    t.fail();
    expect((await t.cache.lookup('k', { tag: 'x' })).kind).toBe('failed');
  });

  it('is bounded by entries and by bytes', async () => {
    const t = setup({ limits: { maxEntries: 3 } });
    for (let i = 0; i < 10; i++) await t.cache.lookup(`k${i}`, { tag: 'x' });
    expect(t.cache.entries).toBe(3);
    const one = reply({ answers: 10 });
    const b = setup({ limits: { maxBytes: 2000 } });
    b.answer(one);
    for (let i = 0; i < 10; i++) await b.cache.lookup(`k${i}`, { tag: 'x' });
    expect(b.cache.bytes).toBeLessThanOrEqual(2000);
    // Ten entries of one size (same reply, keys of one length): as many as fit are kept, and
    // they are fewer than ten.
    const each = b.cache.bytes / b.cache.entries;
    expect(each).toBeGreaterThan(one.bytes.length);
    expect(b.cache.entries).toBe(Math.floor(2000 / each));
    expect(b.cache.entries).toBeLessThan(10);
  });
});

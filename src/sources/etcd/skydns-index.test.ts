import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import type { KeyChange, KeyPut } from '../../etcd/changes.js';
import { SkyDnsIndex } from './skydns-index.js';
import { zoneSerial } from '../../table/zone.js';
import { answer, ask, at, batch, del, index, key, listed, put, rdata, zone } from './test-support.js';

describe('TTLs', () => {
  const built = listed(
    ['example.test'],
    [
      put('default.example.test', { host: '192.0.2.1' }),
      put('own.example.test', { host: '192.0.2.2', ttl: 300 }),
      put('zero.example.test', { host: '192.0.2.3', ttl: 0 }),
      put('leased.example.test', { host: '192.0.2.4', ttl: 300 }, { lease: '7587862', leaseTtl: 5 }),
      put('leaselong.example.test', { host: '192.0.2.5', ttl: 30 }, { lease: '7587863', leaseTtl: 600 }),
      put('leasenottl.example.test', { host: '192.0.2.6' }, { lease: '7587864', leaseTtl: 3 }),
      put('leaseunknown.example.test', { host: '192.0.2.7', ttl: 40 }, { lease: '7587865', leaseTtl: undefined }),
      put('a.mixed.example.test', { host: '192.0.2.8', ttl: 120 }),
      put('b.mixed.example.test', { host: '192.0.2.9', ttl: 60 }),
    ],
  );

  it.each([
    ['default', 10],
    ['own', 300],
    // ttl 0 is "unset" in CoreDNS (Go uint32 with omitempty): the default applies.
    ['zero', 10],
    // Never longer than the lease's granted TTL.
    ['leased', 5],
    ['leaselong', 30],
    ['leasenottl', 3],
    ['leaseunknown', 40],
    // RFC 2181 §5.2: one TTL per RRset, the lowest.
    ['mixed', 60],
  ])('%s', (label, ttl) => {
    const lines = answer(built.index.zones, `${label}.example.test. A`);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.split(' ')[1]).toBe(String(ttl));
  });
});

describe('lifecycle: put, update, delete, reset', () => {
  it('put -> update -> delete', () => {
    const b = index(['example.test', 'other.test']);
    const other0 = b.index.zones.get('other.test');
    b.index.apply(batch([put('www.example.test', { host: '192.0.2.1' })], 101));
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN A 192.0.2.1']);
    expect(b.index.zones.get('other.test')).toBe(other0);

    b.index.apply(batch([put('www.example.test', { host: '192.0.2.2', ttl: 60 })], 102));
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 60 IN A 192.0.2.2']);
    expect(b.index.recordCount).toBe(1);

    b.index.apply(batch([del('www.example.test')], 103));
    expect(b.index.zones.get('example.test')!.node('www.example.test')).toBeUndefined();
    expect(ask(b.index.zones, 'www.example.test. A').kind).toBe('nxdomain');
    expect(b.index.recordCount).toBe(0);
    expect(b.index.keyCount).toBe(0);
    expect((b.index.zones.get('example.test')!.soa.records[0] as { serial: number }).serial).toBe(103);
    expect(b.index.zones.get('other.test')).toBe(other0);
  });

  it('deleting the last key below a name prunes the name; its siblings stay', () => {
    const b = listed(['example.test'], [put('x1.a.b.example.test', { host: '192.0.2.1' }), put('x2.b.example.test', { host: '192.0.2.2' })]);
    b.index.apply(batch([del('x1.a.b.example.test')], 101));
    const z = zone(b, 'example.test');
    expect(z.node('a.b.example.test')).toBeUndefined();
    expect(rdata(z.node('b.example.test'), 'A')).toEqual(['192.0.2.2']);
    b.index.apply(batch([del('x2.b.example.test')], 102));
    expect(zone(b, 'example.test').node('b.example.test')).toBeUndefined();
  });

  it('deleting an unknown key changes nothing', () => {
    const b = listed(['example.test'], [put('www.example.test', { host: '192.0.2.1' })]);
    const before = b.index.zones;
    expect(b.index.apply(batch([del('nope.example.test')], 101))).toBe(before);
  });

  it('unchanged zones, unchanged subtrees and identical re-puts keep their identity', () => {
    const b = listed(
      ['example.test', 'other.test'],
      [put('x1.api.example.test', { host: '192.0.2.1' }), put('x1.web.example.test', { host: '192.0.2.2' }), put('www.other.test', { host: '192.0.2.3' })],
    );
    const z0 = zone(b, 'example.test');
    const o0 = zone(b, 'other.test');
    const web0 = z0.node('web.example.test')!;
    expect(rdata(web0, 'A')).toEqual(['192.0.2.2']); // computed and memoised
    const api0 = z0.node('api.example.test')!;

    b.index.apply(batch([put('x2.api.example.test', { host: '192.0.2.9' })], 101));
    const z1 = zone(b, 'example.test');
    expect(z1).not.toBe(z0);
    expect(zone(b, 'other.test')).toBe(o0);
    // The untouched subtree's node (and its memoised answers) is shared with the old view.
    expect(z1.node('web.example.test')).toBe(web0);
    expect(z1.node('web.example.test')!.get(RRType.A)).toBe(web0.get(RRType.A));
    expect(z1.node('api.example.test')).not.toBe(api0);
    // The old view is immutable: it still answers the old data.
    expect(rdata(z0.node('api.example.test'), 'A')).toEqual(['192.0.2.1']);
    expect(rdata(z1.node('api.example.test'), 'A')).toEqual(['192.0.2.1', '192.0.2.9']);

    // The same value again is not a change.
    const zones1 = b.index.zones;
    expect(b.index.apply(batch([put('x2.api.example.test', { host: '192.0.2.9' })], 102))).toBe(zones1);
    expect(b.index.revision).toBe(102);
  });

  it('reset replaces everything; keys missing from the listing are gone', () => {
    const b = listed(['example.test'], [put('a.example.test', { host: '192.0.2.1' }), put('b.example.test', { host: '192.0.2.2' }), put('c.example.test', '{bad')]);
    expect(b.index.keyCount).toBe(3);
    expect(b.index.invalidCount).toBe(1);
    b.index.apply(batch([put('b.example.test', { host: '192.0.2.20' }), put('d.example.test', { host: '192.0.2.4' })], 200, true));
    const z = zone(b, 'example.test');
    expect(z.node('a.example.test')).toBeUndefined();
    expect(rdata(z.node('b.example.test'), 'A')).toEqual(['192.0.2.20']);
    expect(rdata(z.node('d.example.test'), 'A')).toEqual(['192.0.2.4']);
    expect(b.index.keyCount).toBe(2);
    expect(b.index.invalidCount).toBe(0);
    expect(b.valid).toEqual([key('c.example.test')]);
    expect((z.soa.records[0] as { serial: number }).serial).toBe(200);
  });

  it('keys outside every zone are ignored and counted apart from invalid ones', () => {
    const b = listed(['example.test'], [put('www.example.test', { host: '192.0.2.1' }), put('www.elsewhere.test', { host: '192.0.2.2' })]);
    expect(b.index.ignoredCount).toBe(1);
    expect(b.index.invalidCount).toBe(0);
    expect(b.index.recordCount).toBe(1);
    expect(b.index.keyCount).toBe(2);
    expect(b.invalid).toEqual([]);
    b.index.apply(batch([del('www.elsewhere.test')], 101));
    expect(b.index.ignoredCount).toBe(0);
  });
});

describe('invalid keys and values', () => {
  it('are skipped and reported while the rest of the batch serves', () => {
    const b = listed(
      ['example.test'],
      [
        put('good.example.test', { host: '192.0.2.1' }),
        put('json.example.test', '{"host": "192.0.2.2"'),
        put('type.example.test', { host: '192.0.2.3', port: '80' }),
        put('host.example.test', { host: 'not a host' }),
        put('huge.example.test', Buffer.alloc(70_000, 0x20)),
        put('/skydns/test/example/a.b', { host: '192.0.2.5' }),
        put('/skydns/test/example//x', { host: '192.0.2.6' }),
        put('/elsewhere/test/example/x', { host: '192.0.2.7' }),
        put('good2.example.test', { host: '192.0.2.8' }),
      ],
    );
    expect(answer(b.index.zones, 'good.example.test. A')).toEqual(['good.example.test. 10 IN A 192.0.2.1']);
    expect(answer(b.index.zones, 'good2.example.test. A')).toEqual(['good2.example.test. 10 IN A 192.0.2.8']);
    expect(ask(b.index.zones, 'json.example.test. A').kind).toBe('nxdomain');
    expect(b.index.invalidCount).toBe(7);
    expect(b.index.recordCount).toBe(2);
    expect(new Map(b.invalid)).toEqual(
      new Map([
        [key('json.example.test'), expect.stringContaining('invalid JSON')],
        [key('type.example.test'), 'port: expected an integer -1..65535, got "80"'],
        [key('host.example.test'), 'host: "not a host" is neither an IP address nor a valid host name'],
        [key('huge.example.test'), 'value is 70000 bytes; the limit is 65536 (64 KiB)'],
        ['/skydns/test/example/a.b', expect.stringContaining('may only hold letters')],
        ['/skydns/test/example//x', expect.stringContaining('empty label')],
        ['/elsewhere/test/example/x', 'key is not under the prefix "/skydns/"'],
      ]),
    );
    expect(b.invalid).toHaveLength(7);
  });

  it('are reported once per key until they change; a valid put or a delete clears them', () => {
    const b = index(['example.test']);
    b.index.apply(batch([put('a.example.test', '{bad'), put('b.example.test', { port: 'x' })], 1, true));
    expect(b.invalid.map(([k]) => k)).toEqual([key('a.example.test'), key('b.example.test')]);

    // The same problem again: no new report (also across a reset).
    b.index.apply(batch([put('a.example.test', '{bad')], 2));
    b.index.apply(batch([put('a.example.test', '{bad'), put('b.example.test', { port: 'x' })], 3, true));
    expect(b.invalid).toHaveLength(2);
    expect(b.index.invalidCount).toBe(2);

    // A different problem is news.
    b.index.apply(batch([put('a.example.test', { ttl: -5 })], 4));
    expect(b.invalid).toHaveLength(3);
    expect(b.invalid[2]).toEqual([key('a.example.test'), 'ttl: expected an integer 0..2147483647, got -5']);

    // A valid put, then a delete, clear them.
    b.index.apply(batch([put('a.example.test', { host: '192.0.2.1' }), del('b.example.test')], 5));
    expect(b.valid).toEqual([key('a.example.test'), key('b.example.test')]);
    expect(b.index.invalidCount).toBe(0);
    expect(rdata(zone(b, 'example.test').node('a.example.test'), 'A')).toEqual(['192.0.2.1']);

    // A valid key turning invalid disappears from the answers.
    b.index.apply(batch([put('a.example.test', 'nope')], 6));
    expect(zone(b, 'example.test').node('a.example.test')).toBeUndefined();
    expect(b.index.invalidCount).toBe(1);
    expect(b.index.recordCount).toBe(0);
  });

  it('a reset that fixes an invalid key reports it valid exactly once', () => {
    const b = listed(['example.test'], [put('a.example.test', '{bad'), put('b.example.test', '{bad')]);
    b.index.apply(batch([put('a.example.test', { host: '192.0.2.1' }), put('b.example.test', '{bad')], 101, true));
    expect(b.valid).toEqual([key('a.example.test')]);
    expect(b.invalid).toHaveLength(2);
    expect(b.index.invalidCount).toBe(1);
    b.index.apply(batch([], 102, true));
    expect(b.valid).toEqual([key('a.example.test'), key('b.example.test')]);
    expect(b.index.keyCount).toBe(0);

    // One key twice in a listing, bad then good: still one onValid.
    const c = listed(['example.test'], [put('c.example.test', '{bad')]);
    c.index.apply(batch([put('c.example.test', '{bad'), put('c.example.test', { host: '192.0.2.3' })], 101, true));
    expect(c.valid).toEqual([key('c.example.test')]);
    expect(c.invalid).toHaveLength(1);
  });

  it('callbacks that throw do not break apply', () => {
    let calls = 0;
    const b = index(['example.test'], {
      onInvalid: () => {
        calls++;
        throw new Error('boom');
      },
    });
    const views = b.index.apply(batch([put('a.example.test', '{'), put('c.example.test', '{'), put('b.example.test', { host: '192.0.2.1' })], 1, true));
    expect(calls).toBe(2);
    expect(views).toBe(b.index.zones);
    expect(rdata(views.get('example.test')!.node('b.example.test'), 'A')).toEqual(['192.0.2.1']);
    expect(b.index.invalidCount).toBe(2);
  });

  it('apply never throws, whatever the bytes', () => {
    // Deterministic PRNG so a failure reproduces.
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const fragments = ['{', '}', '"host"', ':', '"10.0.0.1"', '"::1"', '"a.b"', ',', '"port"', '-1', '1e400', '[', ']', 'null', 'true', '"text"', '"\\u0000"', '"group"', '"ttl"', '99999999999'];
    const labels = ['a', 'b', '*', 'any', 'dns', 'apex', 'ns', '', 'X', 'é', '.', '_tcp'];
    const b = index(['example.test', 'b.example.test']);
    const keys: string[] = [];
    for (let round = 0; round < 200; round++) {
      const changes: KeyChange[] = [];
      for (let i = 0; i < 20; i++) {
        const k =
          rand() < 0.2 && keys.length > 0
            ? pick(keys)
            : `/skydns/test/example/${Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(labels)).join('/')}`;
        keys.push(k);
        const r = rand();
        if (r < 0.15) changes.push({ type: 'delete', key: k, modRevision: round });
        else if (r < 0.45) {
          const bytes = new Uint8Array(Math.floor(rand() * 64));
          for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
          changes.push({ type: 'put', key: k, value: bytes, lease: undefined, leaseTtl: undefined, modRevision: round });
        } else {
          const text = Array.from({ length: Math.floor(rand() * 12) }, () => pick(fragments)).join('');
          changes.push({ type: 'put', key: k, value: Buffer.from(rand() < 0.5 ? text : `{"host":"10.0.0.${round % 250}","port":${i}}`), lease: '1', leaseTtl: rand() < 0.5 ? 5 : undefined, modRevision: round });
        }
      }
      const views = b.index.apply(batch(changes, round, round % 50 === 0));
      expect(views).toBe(b.index.zones);
      expect([...views.keys()]).toEqual(['example.test', 'b.example.test']);
      // Every view stays answerable: an authoritative outcome, and an answer is never empty.
      for (const name of ['example.test', 'a.example.test', 'any.example.test', 'b.a.example.test', '*.example.test', 'x.b.example.test']) {
        for (const type of ['A', 'SRV']) {
          const outcome = ask(views, `${name}. ${type}`);
          expect(['answer', 'nodata', 'nxdomain']).toContain(outcome.kind);
          if (outcome.kind === 'answer') expect(outcome.answer!.length).toBeGreaterThan(0);
          else expect(outcome.authority![0]).toMatch(/ IN SOA /);
        }
      }
      expect(b.index.keyCount).toBe(b.index.recordCount + b.index.invalidCount + b.index.ignoredCount);
    }
    // Malformed batches and changes.
    const before = b.index.zones;
    const revision = b.index.revision;
    expect(b.index.apply({ reset: false, changes: null as unknown as KeyChange[], revision: 1 })).toBe(before);
    expect(b.index.revision).toBe(revision);
    const records = b.index.recordCount;
    const views = b.index.apply(
      batch([{ type: 'put', key: 42 } as unknown as KeyChange, { type: 'put', key: '/skydns/test/example/z', value: 'str' } as unknown as KeyChange, {} as KeyChange], 1000),
    );
    expect([...views.keys()]).toEqual(['example.test', 'b.example.test']);
    expect(b.index.recordCount).toBe(records);
    expect(views.get('example.test')!.node('z.example.test')).toBeUndefined();
  });

  it('reports what it skips instead of throwing: a batch or change of the wrong shape, a callback that throws', () => {
    const skipped: string[] = [];
    const b = index(['example.test'], {
      onSkipped: (what, error) => skipped.push(`${what}: ${error instanceof Error ? 'Error' : typeof error}`),
      onInvalid: () => {
        throw new Error('logger gone');
      },
    });
    b.index.apply({ reset: true, changes: [], revision: 1 });
    // A batch whose changes throw when iterated: the whole batch is skipped, state kept.
    const throwing = { [Symbol.iterator]: () => ({ next: () => { throw new Error('not a batch'); } }) } as unknown as KeyChange[];
    b.index.apply({ reset: false, changes: throwing, revision: 2 });
    // A change object of the wrong shape: that change is skipped, the rest applied.
    b.index.apply({ reset: false, changes: [null as unknown as KeyChange, { ...put('/skydns/test/example/www', { host: '192.0.2.1' }), modRevision: 3 }], revision: 3 });
    // An invalid value whose onInvalid throws: the key is still skipped, and the throw reported.
    b.index.apply(batch([put('/skydns/test/example/bad', { host: 'not a host!' })], 4));
    expect(skipped).toEqual(['batch: Error', 'change: Error', 'callback: Error']);
    expect(b.index.skippedCount).toBe(3);
    expect(b.index.recordCount).toBe(1);
  });

  it('counts stay consistent with a full re-listing of the same data', () => {
    // The incremental state after random churn equals a reset with the surviving keys.
    const b = index(['example.test']);
    const live = new Map<string, KeyPut>();
    let n = 0;
    for (let round = 0; round < 50; round++) {
      const changes: KeyChange[] = [];
      for (let i = 0; i < 10; i++) {
        const name = `x${(round * 7 + i * 13) % 23}.s${i % 3}.example.test`;
        if ((round + i) % 4 === 0) {
          changes.push(del(name));
          live.delete(key(name));
        } else {
          const p = put(name, (n++ % 5 === 0 ? '{' : { host: `192.0.2.${n % 250}`, port: n % 3 === 0 ? -1 : 80 }) as object);
          changes.push(p);
          live.set(p.key, p);
        }
      }
      b.index.apply(batch(changes, round));
    }
    const fresh = listed(['example.test'], [...live.values()]);
    expect(b.index.recordCount).toBe(fresh.index.recordCount);
    expect(b.index.invalidCount).toBe(fresh.index.invalidCount);
    for (const name of ['example.test', 's0.example.test', 's1.example.test', 's2.example.test', 'x1.s1.example.test', 'any.example.test']) {
      for (const type of ['A', 'SRV', 'CNAME'] as const) {
        expect(rdata(zone(b, 'example.test').node(name), type)).toEqual(rdata(zone(fresh, 'example.test').node(name), type));
      }
    }
  });
});

// The server caches encoded replies per zone view (a view is immutable, so a reply read from it
// stays right while the snapshot holds it): a batch must leave the views of the zones it does not
// change as the very same objects, or every etcd change would flush every zone's replies.
describe('zone view identity across batches', () => {
  const zones = ['a.test', 'b.test', 'c.test'];
  const three = () =>
    listed(zones, [put('www.a.test', { host: '192.0.2.1' }), put('www.b.test', { host: '192.0.2.2' }), put('www.c.test', { host: '192.0.2.3' })]);

  it('an incremental batch replaces the views of the zones it changes, and only those', () => {
    const b = three();
    const before = b.index.zones;
    const after = b.index.apply(batch([put('api.b.test', { host: '192.0.2.20' }), del('www.c.test')], 101));
    expect(after).not.toBe(before);
    expect(after.get('a.test')).toBe(before.get('a.test'));
    expect(after.get('b.test')).not.toBe(before.get('b.test'));
    expect(after.get('c.test')).not.toBe(before.get('c.test'));
    expect([...after.keys()]).toEqual([...before.keys()]);
    // The new views carry the batch's revision as serial; the untouched one keeps its own.
    const serial = (z: string) => (after.get(z)!.soa.records[0] as { serial: number }).serial;
    expect([serial('a.test'), serial('b.test'), serial('c.test')]).toEqual([100, 101, 101]);
  });

  it('a batch whose changes come to nothing (re-puts, unknown deletes, invalid or out-of-zone keys) keeps every view and the map', () => {
    const b = three();
    const before = b.index.zones;
    const after = b.index.apply(
      batch([put('www.a.test', { host: '192.0.2.1' }), del('nope.b.test'), put('bad.c.test', '{'), put('www.elsewhere.test', { host: '192.0.2.9' })], 101),
    );
    expect(after).toBe(before);
    expect(b.index.invalidCount).toBe(1);
  });

  it('a re-list that finds a zone as it was keeps its view; a zone it finds changed gets a new one', () => {
    const b = three();
    const before = b.index.zones;
    const a0 = before.get('a.test')!;
    const memo = a0.node('www.a.test')!;
    // Listed again in another order, with b.test's value changed.
    const after = b.index.apply(
      batch([put('www.c.test', { host: '192.0.2.3' }), put('www.b.test', { host: '192.0.2.22' }), put('www.a.test', { host: '192.0.2.1' })], 200, true),
    );
    expect(after.get('a.test')).toBe(a0);
    expect(after.get('c.test')).toBe(before.get('c.test'));
    expect(after.get('b.test')).not.toBe(before.get('b.test'));
    expect(rdata(after.get('b.test')!.node('www.b.test'), 'A')).toEqual(['192.0.2.22']);
    // The kept view's memoised nodes are kept with it.
    expect(after.get('a.test')!.node('www.a.test')).toBe(memo);
    // Nothing changed at all: the very same map.
    const again = b.index.apply(
      batch([put('www.a.test', { host: '192.0.2.1' }), put('www.b.test', { host: '192.0.2.22' }), put('www.c.test', { host: '192.0.2.3' })], 300, true),
    );
    expect(again).toBe(after);
    expect(b.index.revision).toBe(300);
  });

  it('a re-list that differs only in a TTL, a lease TTL or a service field replaces the view', () => {
    const b = listed(['a.test'], [put('www.a.test', { host: '192.0.2.1', ttl: 30 }, { lease: '1', leaseTtl: 60 })]);
    const relist = (p: ReturnType<typeof put>) => {
      const before = b.index.zones.get('a.test');
      return b.index.apply(batch([p], 200, true)).get('a.test') !== before;
    };
    expect(relist(put('www.a.test', { host: '192.0.2.1', ttl: 30 }, { lease: '1', leaseTtl: 60 }))).toBe(false);
    expect(relist(put('www.a.test', { host: '192.0.2.1', ttl: 30 }, { lease: '1', leaseTtl: 20 }))).toBe(true);
    expect(relist(put('www.a.test', { host: '192.0.2.1', ttl: 31 }, { lease: '1', leaseTtl: 60 }))).toBe(true);
    expect(relist(put('www.a.test', { host: '192.0.2.1', ttl: 31, port: 80 }, { lease: '1', leaseTtl: 60 }))).toBe(true);
    expect(relist(put('www2.a.test', { host: '192.0.2.1', ttl: 31, port: 80 }, { lease: '1', leaseTtl: 60 }))).toBe(true);
  });

  it('the first listing replaces every view, even of a zone it finds empty (serial 0 becomes the revision)', () => {
    const b = index(zones);
    const before = b.index.zones;
    const after = b.index.apply(batch([put('www.a.test', { host: '192.0.2.1' })], 100, true));
    for (const z of zones) expect(after.get(z)).not.toBe(before.get(z));
    expect((after.get('c.test')!.soa.records[0] as { serial: number }).serial).toBe(100);
  });
});

describe('options', () => {
  it.each([Number.NaN, -1, 1.5, 2 ** 31])('rejects defaultTtl %s', (defaultTtl) => {
    expect(() => new SkyDnsIndex({ prefix: '/skydns', zones: ['example.test'], defaultTtl })).toThrow(RangeError);
  });

  it('accepts zones with a trailing dot or upper case, and other prefixes', () => {
    const b = index(['Example.Test.'], { prefix: 'dns/records/' });
    b.index.apply(batch([put('/dns/records/test/example/www', { host: '192.0.2.1' })], 1, true));
    expect([...b.index.zones.keys()]).toEqual(['example.test']);
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN A 192.0.2.1']);
  });

  it('serves the root zone too', () => {
    const b = listed([''], [put('www.example.test', { host: '192.0.2.1' })]);
    expect(answer(b.index.zones, 'www.example.test. A')).toEqual(['www.example.test. 10 IN A 192.0.2.1']);
    expect(answer(b.index.zones, '. SOA')).toEqual(['. 10 IN SOA ns.dns. hostmaster. 100 7200 1800 86400 10']);
  });
});

describe('zone serials', () => {
  it('are the revision of the zone’s own last change, whatever else the batch carried; after a re-list, the list’s', () => {
    const built = listed(['a.test', 'b.test'], [put('x.a.test', { host: '10.0.0.1' }), put('x.b.test', { host: '10.0.0.2' })]);
    expect(zoneSerial(zone(built, 'a.test'))).toBe(100);
    // One batch: a.test changed at 202, then 18 keys elsewhere up to 220 (b.test last at 210).
    const changes = [at(put('y.a.test', { host: '10.0.0.3' }), 202)];
    for (let r = 203; r <= 220; r++) changes.push(at(put(r === 210 ? 'y.b.test' : `/skydns/other/k${r}`, { host: '10.0.1.1' }), r));
    built.index.apply(batch(changes, 220));
    expect(zoneSerial(zone(built, 'a.test'))).toBe(202);
    expect(zoneSerial(zone(built, 'b.test'))).toBe(210);
    // A delete dates the zone too.
    built.index.apply(batch([at(del('y.a.test'), 230)], 231));
    expect(zoneSerial(zone(built, 'a.test'))).toBe(230);
    // A re-list that finds a.test changed: the list's revision (a deleted key leaves nothing to
    // date the zone by, and the serial must not go back); b.test unchanged keeps its serial.
    built.index.apply(batch([put('x.a.test', { host: '10.0.0.9' }), put('x.b.test', { host: '10.0.0.2' }), put('y.b.test', { host: '10.0.1.1' })], 300, true));
    expect(zoneSerial(zone(built, 'a.test'))).toBe(300);
    expect(zoneSerial(zone(built, 'b.test'))).toBe(210);
  });
});

import { describe, expect, it } from 'vitest';
import type { KeyChange, MirrorBatch } from '../etcd/changes.js';
import { ServiceCache } from './discovery.js';
import { resolveOptions } from './instance.js';

const o = resolveOptions({ endpoints: ['127.0.0.1:2379'], domain: 'svc.example.test' });
const base = '/skydns/test/example/svc';
let rev = 1;
const put = (path: string, value: unknown): KeyChange => ({
  type: 'put',
  key: `${base}/${path}`,
  value: new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)),
  lease: undefined,
  leaseTtl: undefined,
  modRevision: ++rev,
});
const del = (path: string): KeyChange => ({ type: 'delete', key: `${base}/${path}`, modRevision: ++rev });
const batch = (changes: KeyChange[], reset = false): MirrorBatch => ({ reset, changes, revision: rev });
const ids = (c: ServiceCache, s: string) => c.instances(s).map((i) => i.id);

describe('ServiceCache', () => {
  it('an instance with an RFC 2782 name is listed under its service and under _name._proto.<service>', () => {
    const c = new ServiceCache(o);
    c.apply(batch([put('greeter/_tcp/_grpc/g1', { host: '10.0.0.1', port: 50051 }), put('greeter/h1', { host: '10.0.0.2', port: 80 })], true));
    expect(ids(c, 'greeter')).toEqual(['g1', 'h1']);
    expect(ids(c, '_grpc._tcp.greeter')).toEqual(['g1']);
    const changed = c.apply(batch([del('greeter/_tcp/_grpc/g1')]));
    expect([...changed].sort()).toEqual(['_grpc._tcp.greeter', 'greeter']);
    expect(ids(c, 'greeter')).toEqual(['h1']);
    expect(ids(c, '_grpc._tcp.greeter')).toEqual([]);
  });

  it('groups instance keys by service, sorted by id; nested services are their own', () => {
    const c = new ServiceCache(o);
    const changed = c.apply(
      batch(
        [
          put('payments/p2', { host: '10.0.0.2', port: 80 }),
          put('payments/p1', { host: '10.0.0.1', port: 80 }),
          put('team/payments/t1', { host: '10.0.1.1', port: 80 }),
          put('plain', { host: '10.9.9.9' }), // a record straight under the domain: no service
        ],
        true,
      ),
    );
    expect([...changed].sort()).toEqual(['payments', 'payments.team']);
    expect(ids(c, 'payments')).toEqual(['p1', 'p2']);
    expect(ids(c, 'payments.team')).toEqual(['t1']);
    expect(ids(c, 'team')).toEqual([]);
    expect(c.services()).toEqual(['payments', 'payments.team']);
  });

  it('reports only services whose list really changed; an unchanged list keeps its identity', () => {
    const c = new ServiceCache(o);
    c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 80 }), put('b/y1', { host: '10.0.0.2', port: 80 })], true));
    const a = c.instances('a');
    // A re-put of the same content (e.g. under a new lease after re-registration) is no change.
    expect(c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 80 })]))).toEqual(new Set());
    expect(c.instances('a')).toBe(a);
    expect(c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 81 })]))).toEqual(new Set(['a']));
    expect(c.instances('a')).not.toBe(a);
    expect(c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 81, metadata: { k: 'v' } })]))).toEqual(new Set(['a']));
    // A re-list with the same data changes nothing either.
    expect(
      c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 81, metadata: { k: 'v' } }), put('b/y1', { host: '10.0.0.2', port: 80 })], true)),
    ).toEqual(new Set());
  });

  it('a real removal empties the list (reported); a re-list drops what etcd no longer holds', () => {
    const c = new ServiceCache(o);
    c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 80 }), put('a/x2', { host: '10.0.0.2', port: 80 }), put('b/y1', { host: '10.0.0.3', port: 80 })], true));
    expect(c.apply(batch([del('a/x1')]))).toEqual(new Set(['a']));
    expect(ids(c, 'a')).toEqual(['x2']);
    expect(c.apply(batch([del('a/x2')]))).toEqual(new Set(['a']));
    expect(c.instances('a')).toEqual([]);
    expect(c.services()).toEqual(['b']);
    // The lease of b/y1 expired while the watch was down: the re-list says so.
    expect(c.apply(batch([put('a/x3', { host: '10.0.0.4', port: 80 })], true))).toEqual(new Set(['a', 'b']));
    expect(ids(c, 'b')).toEqual([]);
    expect(ids(c, 'a')).toEqual(['x3']);
  });

  it('skips invalid values as the DNS server does: a bad put removes the instance, and is reported', () => {
    const invalid: string[] = [];
    const c = new ServiceCache(o, (key, reason) => invalid.push(`${key}: ${reason}`));
    c.apply(batch([put('a/x1', { host: '10.0.0.1', port: 80 }), put('a/x2', '{oops')], true));
    expect(ids(c, 'a')).toEqual(['x1']);
    expect(c.apply(batch([put('a/x1', { host: 'not a host!', port: 80 })]))).toEqual(new Set(['a']));
    expect(ids(c, 'a')).toEqual([]);
    expect(invalid).toEqual([
      expect.stringMatching(/^\/skydns\/test\/example\/svc\/a\/x2: invalid JSON/),
      expect.stringMatching(/^\/skydns\/test\/example\/svc\/a\/x1: host:/),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseService, type Service } from '../../skydns/codec.js';
import { leafNode } from './leaf-node.js';
import { Entry, Kids, TNode } from './name-trie.js';
import { EtcdNode } from './skydns-answers.js';
import { put, listed, zone } from './test-support.js';

const NAME = 'x1.api.example.test';
const KEY = '/skydns/test/example/api/x1';

function leaf(value: unknown, ttl = 10, key = KEY): TNode {
  const service = parseService(Buffer.from(JSON.stringify(value))) as Service;
  expect(service).not.toHaveProperty('error');
  return new TNode(NAME, 0, [new Entry(key, NAME, service, ttl)], undefined, 1);
}

/** What EtcdNode gives for the same trie node: type → RRset, in iteration order. */
const aggregated = (t: TNode, rfc: boolean) => [...new EtcdNode(t.name, [t], t.entries!, undefined, undefined, rfc).entries()];

const ADDRESS_VALUES: unknown[] = [
  { host: '10.0.0.1' },
  { host: '10.0.0.1', port: 80 },
  { host: '10.0.0.1', port: 0 },
  { host: '10.0.0.2', port: -1 },
  { host: '2001:DB8::1', port: 443, priority: 5, weight: 30 },
  { host: '::ffff:10.0.0.7', port: 53 },
  { host: '10.0.0.3', mail: true, priority: 20 },
  { host: '10.0.0.3', mail: true, port: -1 },
  { host: '10.0.0.4', text: 'hello' },
  { host: '10.0.0.4', text: 'x'.repeat(600), port: 1 },
  { host: '10.0.0.5', ttl: 60, targetstrip: 1, port: 8080 },
  { host: '10.0.0.5', targetstrip: 9, port: 8080, mail: true },
  { host: '10.0.0.6', group: 'g', weight: 7, port: 9 },
  { host: '10.0.0.6', weight: 65535, priority: 65535, port: 65535 },
];

describe('leafNode (a name with one address key and nothing below it)', () => {
  it('gives exactly the RRsets EtcdNode gives, in its order, for every field of an address service, in both --compat modes', () => {
    for (const value of ADDRESS_VALUES) {
      for (const rfc of [true, false]) {
        const t = leaf(value, 7);
        const fast = leafNode(t);
        expect(fast, JSON.stringify(value)).toBeDefined();
        expect([...fast!.entries()], `${JSON.stringify(value)} rfc=${rfc}`).toEqual(aggregated(t, rfc));
        // The trie keeps such a name as its key's Entry itself: the same RRsets from it.
        expect([...leafNode(t.entries![0]!)!.entries()], `${JSON.stringify(value)} rfc=${rfc}, as a leaf`).toEqual(aggregated(t, rfc));
      }
    }
  });

  it('leaves every other shape to EtcdNode: a name host, a text-only key, an UPDATE record key, several keys, children', () => {
    expect(leafNode(leaf({ host: 'svc.example.org', port: 80 }))).toBeUndefined();
    expect(leafNode(leaf({ text: 'only text' }))).toBeUndefined();
    expect(leafNode(leaf({ host: '10.0.0.1' }, 10, '/skydns/test/example/api/x1/_rr-a-0123456789abcdef'))).toBeUndefined();
    const one = leaf({ host: '10.0.0.1' });
    const first = one.entries![0]!;
    const two = new TNode(NAME, 0, [first, new Entry(`${KEY}X`, first.name, first.service, first.ttl)], undefined, 2);
    expect(leafNode(two)).toBeUndefined();
    const parent = new TNode('api.example.test', 0, one.entries, new Kids(['x1'], [one], undefined), 2);
    expect(leafNode(parent)).toBeUndefined();
  });

  it('a zone transfer lists, name by name, what queries answer (the fast path and the aggregates alike)', () => {
    for (const compat of ['rfc', 'coredns'] as const) {
      const b = listed(
        ['example.test'],
        [
          ...ADDRESS_VALUES.map((v, i) => put(`i${i}.svc.example.test`, v)),
          put('n1.svc.example.test', { host: 'i1.svc.example.test', port: 80 }),
          put('t1.svc.example.test', { text: 'txt only' }),
          put('deep.i2.svc.example.test', { host: '10.9.9.9' }),
        ],
        { compat },
      );
      const view = zone(b, 'example.test');
      const queried = view.detached!();
      const transferred = [...view.transferNodes()];
      expect(transferred.length).toBeGreaterThan(ADDRESS_VALUES.length);
      for (const [name, node] of transferred) expect([...node.entries()], `${name} ${compat}`).toEqual([...queried.node(name)!.entries()]);
    }
  });
});

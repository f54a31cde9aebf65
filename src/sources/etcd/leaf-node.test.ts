import { describe, expect, it } from 'vitest';
import { parseService, type Service } from '../../skydns/codec.js';
import { leafNode, serviceLeavesNode } from './leaf-node.js';
import { Entry, Kids, TNode, type TrieNode } from './name-trie.js';
import { RRType } from '../../dns/constants.js';
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
const aggregated = (t: TNode, rfc: boolean) => [...new EtcdNode(t.name, [t], t.entries ?? [], undefined, undefined, rfc).entries()];

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

const SERVICE = 'api.example.test';

/** A child of SERVICE: its key's Entry, as the trie keeps a name with one key and nothing below. */
function child(label: string, value: unknown, ttl = 10): Entry {
  const service = parseService(Buffer.from(JSON.stringify(value))) as Service;
  expect(service, JSON.stringify(value)).not.toHaveProperty('error');
  return new Entry(`/skydns/test/example/api/${label}`, `${label}.${SERVICE}`, service, ttl);
}

/** SERVICE with `kids` below it (set one by one: past 64 the children are chunked, as in the index). */
function service(kids: readonly (readonly [string, TrieNode])[], own?: Entry[]): TNode {
  const t = new TNode(SERVICE, 0, own, undefined, 0);
  for (const [label, node] of kids) t.set(label, node, 0);
  t.size = kids.length + (own?.length ?? 0);
  return t;
}

/** A small deterministic generator (mulberry32): the same shapes every run. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return (((x ^ (x >>> 14)) >>> 0) % n) as number;
  };
}

/** A plain address instance: the fields that change the aggregate (duplicates come from the small pools). */
function plainValue(r: (n: number) => number): Record<string, unknown> {
  const v: Record<string, unknown> = { host: r(3) === 0 ? `2001:db8::${r(6)}` : `10.0.0.${r(8)}` };
  const port = [undefined, -1, 0, 80, 443][r(5)];
  if (port !== undefined) v.port = port;
  const priority = [undefined, 0, 10, 20][r(4)];
  if (priority !== undefined) v.priority = priority;
  const weight = [undefined, 0, 1, 5, 30, 100, 65535][r(7)];
  if (weight !== undefined) v.weight = weight;
  const group = ['', '', 'g1', 'g2'][r(4)]!;
  if (group !== '') v.group = group;
  if (r(3) === 0) v.ttl = 30 + r(3);
  return v;
}

function plainService(r: (n: number) => number, count: number): TNode {
  const kids: [string, TrieNode][] = [];
  for (let i = 0; i < count; i++) kids.push([`x${String(i).padStart(3, '0')}`, child(`x${String(i).padStart(3, '0')}`, plainValue(r), [5, 10, 60][r(3)])]);
  return service(kids);
}

describe('serviceLeavesNode (a name whose children are all plain address leaves)', () => {
  it('gives exactly the RRsets EtcdNode gives, in its order, over generated services, in both --compat modes', () => {
    const r = random(25);
    for (let shape = 0; shape < 400; shape++) {
      const t = plainService(r, 1 + r(shape % 10 === 0 ? 140 : 12));
      const fast = serviceLeavesNode(t);
      expect(fast, `shape ${shape}`).toBeDefined();
      for (const rfc of [true, false]) expect([...fast!.entries()], `shape ${shape} rfc=${rfc}`).toEqual(aggregated(t, rfc));
    }
  });

  it('takes a child kept as a TNode with one key and nothing below, as EtcdNode reads it', () => {
    const one = child('b', { host: '10.0.0.2', port: 81, weight: 3 });
    const t = service([
      ['a', child('a', { host: '10.0.0.1', port: 80 })],
      ['b', new TNode(one.name, 0, [one], undefined, 1)],
    ]);
    for (const rfc of [true, false]) expect([...serviceLeavesNode(t)!.entries()]).toEqual(aggregated(t, rfc));
  });

  // Each shape the fast path must not take; were a guard dropped, these would get its records.
  const spoilers: [string, (t: [string, TrieNode][]) => TNode][] = [
    ['a name host', (k) => service([...k, ['n', child('n', { host: 'db.example.org', port: 5432 })]])],
    ['a name host without a port (an alias child)', (k) => service([...k, ['n', child('n', { host: 'db.example.test' })]])],
    ['a text', (k) => service([...k, ['t', child('t', { host: '10.0.0.9', port: 80, text: 'v=1' })]])],
    ['a text-only key', (k) => service([...k, ['t', child('t', { text: 'only' })]])],
    ['a mail exchanger', (k) => service([...k, ['m', child('m', { host: '10.0.0.9', mail: true })]])],
    ['a targetstrip', (k) => service([...k, ['s', child('s', { host: '10.0.0.9', port: 80, targetstrip: 1 })]])],
    ['a record DNS UPDATE wrote', (k) => service([...k, ['_rr-a-0123456789abcdef', new Entry('/skydns/test/example/api/_rr-a-0123456789abcdef', `_rr-a-0123456789abcdef.${SERVICE}`, child('u', { host: '10.0.0.9' }).service, 10)]])],
    ['a deeper name', (k) => {
      const deep = child('d', { host: '10.0.0.9', port: 80 });
      const below = new Entry('/skydns/test/example/api/d/e', `e.d.${SERVICE}`, deep.service, 10);
      return service([...k, ['d', new TNode(deep.name, 0, [deep], new Kids(['e'], below, undefined), 2)]]);
    }],
    ['two keys at a child', (k) => {
      const a = child('w', { host: '10.0.0.9', port: 80 });
      return service([...k, ['w', new TNode(a.name, 0, [a, new Entry(`${a.key}X`, a.name, a.service, 10)], undefined, 2)]]);
    }],
    ['a key of its own', (k) => service(k, [new Entry('/skydns/test/example/api', SERVICE, child('o', { host: '10.0.0.9' }).service, 10)])],
  ];

  it('leaves every other shape to EtcdNode: each guard dropped fails here', () => {
    const r = random(7);
    for (const [what, make] of spoilers) {
      for (let shape = 0; shape < 20; shape++) {
        const plain = plainService(r, 1 + r(6));
        const kids: [string, TrieNode][] = [];
        plain.forEach((n) => kids.push([n.name.split('.')[0]!, n]));
        const t = make(kids);
        expect(serviceLeavesNode(t), `${what}, shape ${shape}`).toBeUndefined();
      }
    }
    expect(serviceLeavesNode(child('x', { host: '10.0.0.1', port: 80 }))).toBeUndefined();
    expect(serviceLeavesNode(new TNode(SERVICE, 0, undefined, undefined, 0))).toBeUndefined();
  });

  it('leaves a set SetBuilder would cut to EtcdNode (which reports it), and takes one just inside the bounds', () => {
    const addresses = (n: number, label = (i: number) => `i${String(i).padStart(5, '0')}`) =>
      service(Array.from({ length: n }, (_, i) => [label(i), child(label(i), { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: -1 })] as [string, TrieNode]));
    // 48 KiB of A records at 16 octets each (SetBuilder's estimate): 3072 fit.
    const inside = addresses(3072);
    expect([...serviceLeavesNode(inside)!.entries()]).toEqual(aggregated(inside, true));
    const cut = addresses(3073);
    expect(serviceLeavesNode(cut)).toBeUndefined();
    expect(aggregated(cut, true)[0]![1]).toHaveProperty('total', 3073);
    // SRV records of long targets pass 48 KiB long before the A records do.
    const long = (i: number) => `${'l'.repeat(60)}${String(i).padStart(3, '0')}`;
    const srv = service(Array.from({ length: 600 }, (_, i) => [long(i), child(long(i), { host: `10.0.${i >> 8}.${i & 255}`, port: 80 })] as [string, TrieNode]));
    expect(serviceLeavesNode(srv)).toBeUndefined();
    expect(new Map(aggregated(srv, true)).get(RRType.SRV)).toHaveProperty('total', 600);
  });

  it('a zone transfer of services (plain and not) lists, name by name, what queries answer', () => {
    const r = random(3);
    for (const compat of ['rfc', 'coredns'] as const) {
      const changes = [];
      for (let s = 0; s < 30; s++) for (let i = 0; i < 1 + r(8); i++) changes.push(put(`i${i}.s${s}.svc.example.test`, plainValue(r)));
      changes.push(put('n.s1.svc.example.test', { host: 'i0.s2.svc.example.test', port: 80 }), put('t.s3.svc.example.test', { text: 'txt' }), put('s4.svc.example.test', { host: '10.1.1.1' }));
      const view = zone(listed(['example.test'], changes, { compat }), 'example.test');
      const queried = view.detached!();
      const transferred = [...view.transferNodes()];
      expect(transferred.length).toBeGreaterThan(30);
      for (const [name, node] of transferred) expect([...node.entries()], `${name} ${compat}`).toEqual([...queried.node(name)!.entries()]);
    }
  });
});

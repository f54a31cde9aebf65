import { describe, expect, it } from 'vitest';
import type { ZoneView } from '../../table/zone.js';
import type { KeyChange } from '../../etcd/changes.js';
import { child, Entry, insertEntry, removeEntry, sameTrie, TNode, type TrieNode } from './name-trie.js';
import { parseService, splitKey, type Service } from '../../skydns/codec.js';
import { batch, del, index, listed, put, rdata, zone } from './test-support.js';

describe('copy-on-write tries under churn (model check)', () => {
  it('wide names (chunk splits), deep names and old views all stay exact', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Model: instance name -> address. Instances sit under big.example.test (wide: hundreds
    // of children, so the sorted chunks split and shrink) and some one level deeper.
    const model = new Map<string, string>();
    const b = index(['example.test']);
    const history: { view: ZoneView; big: string[] | undefined; sample: [string, boolean][] }[] = [];
    const names = Array.from({ length: 600 }, (_, i) => (i % 5 === 0 ? `d.x${i}.big.example.test` : `x${i}.big.example.test`));
    const expectedBig = () => (model.size === 0 ? undefined : [...new Set(model.values())].sort());
    const exists = (name: string) => [...model.keys()].some((n) => n === name || n.endsWith(`.${name}`));
    for (let round = 0; round < 120; round++) {
      const changes: KeyChange[] = [];
      const count = round === 0 ? 400 : 1 + rand(30);
      for (let i = 0; i < count; i++) {
        const name = names[rand(names.length)]!;
        if (round > 0 && rand(3) === 0) {
          changes.push(del(name));
          model.delete(name);
        } else {
          const address = `10.${rand(4)}.${rand(256)}.${rand(256)}`;
          changes.push(put(name, { host: address }));
          model.set(name, address);
        }
      }
      b.index.apply(batch(changes, round + 1, round === 0));
      const view = zone(b, 'example.test');
      expect(rdata(view.node('big.example.test'), 'A')).toEqual(expectedBig());
      const sample: [string, boolean][] = [];
      for (let i = 0; i < 20; i++) {
        const n = names[rand(names.length)]!;
        const parent = n.startsWith('d.') ? n.slice(2) : n;
        for (const name of [n, parent]) {
          const want = exists(name);
          expect(view.node(name) !== undefined, name).toBe(want);
          if (model.has(name)) expect(rdata(view.node(name), 'A')).toEqual([model.get(name)]);
          sample.push([name, want]);
        }
      }
      history.push({ view, big: expectedBig(), sample });
    }
    expect(b.index.recordCount).toBe(model.size);
    // Every old view still answers exactly what it answered when it was current.
    for (const { view, big, sample } of history) {
      expect(rdata(view.node('big.example.test'), 'A')).toEqual(big);
      for (const [name, existed] of sample) expect(view.node(name) !== undefined).toBe(existed);
    }
    // And the incremental result equals a fresh listing of the same data.
    const fresh = listed(['example.test'], [...model].map(([name, host]) => put(name, { host })));
    expect(rdata(zone(fresh, 'example.test').node('big.example.test'), 'A')).toEqual(expectedBig());
    expect(rdata(zone(fresh, 'example.test').node('any.big.example.test'), 'A')).toEqual(rdata(zone(b, 'example.test').node('any.big.example.test'), 'A'));
  });
});

describe('sameTrie', () => {
  const ZONE = 'example.test';
  /** The entry for `name` in ZONE with a service from `json`, as the index would store it. */
  function entry(name: string, json: object, ttl = 10): { entry: Entry; segments: readonly string[] } {
    const k = `/skydns/${name.split('.').reverse().join('/')}`;
    const parts = splitKey(k, '/skydns');
    if ('error' in parts) throw new Error(parts.error);
    const service = parseService(Buffer.from(JSON.stringify(json))) as Service;
    return { entry: new Entry(k, parts.name, service, ttl), segments: parts.segments };
  }
  let epoch = 0;
  /** A trie built from `ops` in order: an object puts, null removes. */
  function trie(ops: [name: string, json: object | null, ttl?: number][]): TNode {
    const roots = new Map([[ZONE, new TNode(ZONE, ++epoch, undefined, undefined, 0)]]);
    const held = new Map<string, Entry>();
    for (const [name, json, ttl] of ops) {
      // One batch per operation, so later ones copy paths as the index does.
      const e = ++epoch;
      if (json === null) {
        removeEntry(roots, e, ZONE, held.get(name)!);
        held.delete(name);
      } else {
        const { entry: en, segments } = entry(name, json, ttl);
        insertEntry(roots, e, ZONE, en, segments, 2, held.has(name));
        held.set(name, en);
      }
    }
    return roots.get(ZONE)!;
  }
  const wide = Array.from({ length: 200 }, (_, i) => `x${i}.big.example.test`);
  /** The trie node of `name` (in ZONE) below `root`. */
  const at = (root: TNode, name: string): TrieNode | undefined => {
    let t: TrieNode | undefined = root;
    for (const label of name.slice(0, -ZONE.length - 1).split('.').reverse()) t = t && child(t, label);
    return t;
  };

  it('keeps a name with one key and nothing below as the Entry itself, and turns it back into one after deletes', () => {
    const leaf = trie([['x1.api.example.test', { host: '192.0.2.1' }]]);
    expect(at(leaf, 'x1.api.example.test')).toBeInstanceOf(Entry);
    expect(at(leaf, 'api.example.test')).toBeInstanceOf(TNode);
    // A lone child is kept without an array of one; two are a list, and one again after a delete.
    expect(Array.isArray((at(leaf, 'api.example.test') as TNode).nodes)).toBe(false);
    const two = trie([['x1.api.example.test', { host: '192.0.2.1' }], ['x2.api.example.test', { host: '192.0.2.2' }]]);
    expect((at(two, 'api.example.test') as TNode).nodes).toHaveLength(2);
    const one = trie([['x1.api.example.test', { host: '192.0.2.1' }], ['x2.api.example.test', { host: '192.0.2.2' }], ['x1.api.example.test', null]]);
    expect(Array.isArray((at(one, 'api.example.test') as TNode).nodes)).toBe(false);
    expect(at(one, 'x2.api.example.test')).toBeInstanceOf(Entry);
    expect(at(one, 'x1.api.example.test')).toBeUndefined();
    // A name below it: a node holding the key and the child.
    const parent = trie([['x1.api.example.test', { host: '192.0.2.1' }], ['d.x1.api.example.test', { host: '192.0.2.2' }]]);
    expect(at(parent, 'x1.api.example.test')).toBeInstanceOf(TNode);
    expect(at(parent, 'd.x1.api.example.test')).toBeInstanceOf(Entry);
    const back = trie([['x1.api.example.test', { host: '192.0.2.1' }], ['d.x1.api.example.test', { host: '192.0.2.2' }], ['d.x1.api.example.test', null]]);
    expect(at(back, 'x1.api.example.test')).toBeInstanceOf(Entry);
    expect(sameTrie(back, leaf)).toBe(true);
    // The key's entry replaced: still a leaf, the new one.
    const replaced = trie([['x1.api.example.test', { host: '192.0.2.1' }], ['x1.api.example.test', { host: '192.0.2.3' }]]);
    expect((at(replaced, 'x1.api.example.test') as Entry).service.address).toBe('192.0.2.3');
    expect(replaced.size).toBe(1);
    // A wide name (chunked children) emptied by deletes and filled again.
    const refilled = trie([...wide.map((n): [string, object] => [n, { host: '192.0.2.1' }]), ...wide.map((n): [string, null] => [n, null]), ['x7.big.example.test', { host: '192.0.2.7' }]]);
    expect(refilled.size).toBe(1);
    expect(at(refilled, 'x7.big.example.test')).toBeInstanceOf(Entry);
    expect(at(refilled, 'x8.big.example.test')).toBeUndefined();
    expect(sameTrie(refilled, trie([['x7.big.example.test', { host: '192.0.2.7' }]]))).toBe(true);
    const emptied = trie([...wide.map((n): [string, object] => [n, { host: '192.0.2.1' }]), ...wide.map((n): [string, null] => [n, null])]);
    expect(emptied.kids).toBeUndefined();
    expect(sameTrie(emptied, trie([]))).toBe(true);
  });

  it('is true for the same entries however they were put (order, chunk splits, deletes on the way)', () => {
    const a = trie(wide.map((n) => [n, { host: '192.0.2.1' }]));
    const b = trie([...wide].reverse().map((n) => [n, { host: '192.0.2.1' }]));
    const c = trie([['gone.example.test', { host: '192.0.2.9' }], ...wide.map((n): [string, object] => [n, { host: '192.0.2.1' }]), ['gone.example.test', null]]);
    expect(a.size).toBe(200);
    expect(sameTrie(a, b)).toBe(true);
    expect(sameTrie(a, c)).toBe(true);
    expect(sameTrie(a, a)).toBe(true);
    expect(sameTrie(trie([]), trie([]))).toBe(true);
  });

  it('is false when a key, a TTL or any service field differs', () => {
    const base: [string, object][] = [
      ['www.example.test', { host: '192.0.2.1', port: 80 }],
      ['x1.api.example.test', { host: '192.0.2.2' }],
    ];
    const a = trie(base);
    expect(sameTrie(a, trie([base[0]!, ['x2.api.example.test', { host: '192.0.2.2' }]]))).toBe(false);
    expect(sameTrie(a, trie([base[0]!, ['x1.api.example.test', { host: '192.0.2.2' }, 11]]))).toBe(false);
    expect(sameTrie(a, trie([base[0]!, ['x1.api.example.test', { host: '192.0.2.2', weight: 5 }]]))).toBe(false);
    expect(sameTrie(a, trie([base[0]!, ['x1.api.example.test', { host: '192.0.2.3' }]]))).toBe(false);
    expect(sameTrie(a, trie([base[0]!]))).toBe(false);
    // Same size and shape, one label differs deep in a wide node.
    const w = trie(wide.map((n) => [n, { host: '192.0.2.1' }]));
    const v = trie(wide.map((n, i) => [i === 150 ? 'y150.big.example.test' : n, { host: '192.0.2.1' }]));
    expect(sameTrie(w, v)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { LabelTable } from './label-table.js';
import { child, Entry, insertEntry, TNode } from './name-trie.js';
import { nameToKey, parseService, splitKey, type KeyParts, type Service } from '../../skydns/codec.js';
import { listed, put, rdata, zone } from './test-support.js';

describe('LabelTable', () => {
  it('gives back an equal label, for labels seen before, pushed out, or never seen', () => {
    const t = new LabelTable();
    const made = (s: string) => [...s].join(''); // a new string each time
    expect(t.intern(made('x1'))).toBe('x1');
    expect(t.intern(made('x1'))).toBe('x1');
    // Far more distinct labels than slots: each still comes back as itself.
    for (let i = 0; i < 50_000; i++) expect(t.intern(`svc${i}`)).toBe(`svc${i}`);
    expect(t.intern(made('_tcp'))).toBe('_tcp');
  });

  it('gives back an equal list of labels handed out before, and only an equal one', () => {
    const t = new LabelTable();
    const kept = t.internList(['x1', 'x2']);
    expect(t.internList(['x1', 'x2'])).toBe(kept);
    expect(t.internList(['x1', 'x3'])).not.toBe(kept);
    expect(t.internList(['x1x2'])).toEqual(['x1x2']);
    expect(t.internList(['x', '1x2'])).toEqual(['x', '1x2']);
    const long = Array.from({ length: 9 }, (_, i) => `l${i}`);
    expect(t.internList(long)).toBe(long);
    expect(t.internList([...long])).not.toBe(long); // long lists are not shared
    for (let i = 0; i < 50_000; i++) expect(t.internList([`svc${i}`, '_tcp'])).toEqual([`svc${i}`, '_tcp']);
  });

  it('lets the names whose children have the same labels share one list of them', () => {
    const table = new LabelTable();
    const roots = new Map([['example.test', new TNode('example.test', 1, undefined, undefined, 0)]]);
    for (const name of ['x1._http._tcp.a.example.test', 'x1._http._tcp.b.example.test']) {
      const parts = splitKey(nameToKey(name, '/skydns'), '/skydns') as KeyParts;
      insertEntry(roots, 1, 'example.test', new Entry(nameToKey(name, '/skydns'), parts.name, parseService(Buffer.from('{"host":"10.0.0.1"}')) as Service, 10), parts.segments, 2, false, table);
    }
    const root = roots.get('example.test')!;
    const a = child(child(root, 'a')!, '_tcp') as TNode;
    const b = child(child(root, 'b')!, '_tcp') as TNode;
    expect(a).not.toBe(b);
    expect(a.labels).toEqual(['_http']);
    expect(a.labels).toBe(b.labels);
  });

  it('leaves the index answering every name whose labels it interned', () => {
    const b = listed(
      ['example.test'],
      Array.from({ length: 3000 }, (_, i) => put(`x${i % 3}._http._tcp.svc${Math.floor(i / 3)}.example.test`, { host: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 80 })),
    );
    const view = zone(b, 'example.test');
    for (let i = 0; i < 3000; i += 7) expect(rdata(view.node(`x${i % 3}._http._tcp.svc${Math.floor(i / 3)}.example.test`), 'A')).toEqual([`10.0.${(i >> 8) & 255}.${i & 255}`]);
    expect(rdata(view.node('_http._tcp.svc999.example.test'), 'A')).toHaveLength(3);
  });
});

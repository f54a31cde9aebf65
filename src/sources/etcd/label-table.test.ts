import { describe, expect, it } from 'vitest';
import { LabelTable } from './label-table.js';
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
